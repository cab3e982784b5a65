package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestEveryCommandHasHelp(t *testing.T) {
	t.Parallel()
	var paths []string
	leaves(root(), "", func(p string) { paths = append(paths, p) })
	assert.GreaterOrEqual(t, len(paths), 20)
	for _, p := range paths {
		for _, form := range [][]string{
			append(strings.Fields(p), "--help"),
			append(strings.Fields(p), "-h"),
			append([]string{"help"}, strings.Fields(p)...),
		} {
			var out, errOut bytes.Buffer
			app := New(&out, &errOut, func(string) (string, bool) { return "", false })
			err := app.Run(context.Background(), form)
			assert.Equal(t, ExitOK, ExitCode(err), "%q: %v", form, err)
			assert.True(t, strings.HasPrefix(out.String(), "Usage: prismctl "+p), "%q:\n%s", form, out.String())
			assert.Regexp(t, `\nExamples:\n  .*prismctl `+strings.Fields(p)[0], out.String(), "%q", form)
			assert.Contains(t, out.String(), "Global flags:")
			assert.Empty(t, errOut.String())
		}
	}
}

func TestGroupAndRootHelp(t *testing.T) {
	t.Parallel()
	for _, form := range [][]string{{"--help"}, {"-h"}, {"help"}, {"cart", "--help"}, {"cart", "help"}, {"help", "poison"}, {"order", "-h"}} {
		var out bytes.Buffer
		app := New(&out, &out, func(string) (string, bool) { return "", false })
		err := app.Run(context.Background(), form)
		assert.Equal(t, ExitOK, ExitCode(err), "%q", form)
		assert.Contains(t, out.String(), "Usage: prismctl", "%q", form)
	}
	var out bytes.Buffer
	_ = New(&out, &out, nil).Run(context.Background(), []string{"--help"})
	assert.Contains(t, out.String(), "Exit codes:")
	for _, c := range root().subs {
		assert.Contains(t, out.String(), "  "+c.name+" ")
	}
}

func TestCommandsThatSendDocumentExitCodes(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"cart add", "cart checkout", "order cancel", "product define", "status", "rebuild"} {
		var out bytes.Buffer
		_ = New(&out, &out, nil).Run(context.Background(), append(strings.Fields(p), "--help"))
		assert.Contains(t, out.String(), "Exit codes:", p)
	}
}
