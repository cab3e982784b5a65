package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/prism-es/prism/prismctl/internal/cli"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

// TestMain starts a private Azurite (and Redis) for the poison tests.
func TestMain(m *testing.M) { testenv.Main(m, &env) }

// runArgs runs prismctl as main does and returns its output and exit code.
func runArgs(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), cli.ExitCode(err)
}

func TestHelpExits0(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"cart", "add", "--help"}, {"poison", "redrive", "-h"}, {"help", "watch"}} {
		out, errOut, code := runArgs(t, args...)
		assert.Equal(t, 0, code, "%q", args)
		assert.Contains(t, out, "Usage: prismctl", "%q", args)
		assert.Empty(t, errOut)
	}
}

func TestRunReportsErrorsWithExitCodes(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	_, errOut, code := runArgs(t, "order", "list", "--api", srv.URL, "--token", "T")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "prismctl: cannot reach the API at "+srv.URL+"/api/orders")
	assert.Contains(t, errOut, "make up")

	_, errOut, code = runArgs(t, "cart", "frobnicate")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `unknown command "cart frobnicate"`)
}
