package storage_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/storage"
)

// forbidding answers every request 403 with the given Azure error code, as
// Azure Storage does for an identity without the role (the answers Azurite,
// which has no RBAC, never gives).
func forbidding(t *testing.T, code string) *storage.Account {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-ms-error-code", code)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="utf-8"?><Error><Code>` + code + `</Code><Message>no</Message></Error>`))
	}))
	t.Cleanup(srv.Close)
	cs := strings.NewReplacer("http://127.0.0.1:10001", srv.URL, "http://127.0.0.1:10002", srv.URL).Replace(storage.AzuriteConnectionString)
	acc, err := storage.Connect(cs)
	require.NoError(t, err)
	return acc
}

func TestProvisioningSkipsWhatTheIdentityMayNotCreate(t *testing.T) {
	ctx := context.Background()
	acc := forbidding(t, "AuthorizationPermissionMismatch")
	assert.NoError(t, acc.EnsureTables(ctx, "events"), "least privilege: the deployment created it")
	assert.NoError(t, acc.EnsureQueues(ctx, "commands"))

	wrongKey := forbidding(t, "AuthenticationFailed")
	assert.Error(t, wrongKey.EnsureTables(ctx, "events"), "a wrong key still fails")
	assert.Error(t, wrongKey.EnsureQueues(ctx, "commands"))
	assert.Error(t, wrongKey.PingQueues(ctx, "commands"))
}
