package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/redisconn"
	"github.com/prism-es/prism/shared/testenv"
)

func TestRedisDownAnswers503AndQueuesNothing(t *testing.T) {
	t.Parallel()
	port, err := testenv.FreePort()
	require.NoError(t, err)
	a := newAPI(t, env.ConnString, fmt.Sprintf("redis://127.0.0.1:%d/0", port))
	alice := a.token(t, "alice")
	res := a.command(t, "POST", "/api/carts", alice, `{}`)
	require.Equal(t, 503, res.status, string(res.body))
	assert.Equal(t, "application/problem+json", res.header.Get("Content-Type"))
	assert.NotEmpty(t, res.header.Get("Retry-After"))
	assert.Empty(t, a.queued(t), "nothing half-done")
	st := a.do(t, "GET", "/api/commands/some-id", alice, "")
	assert.Equal(t, 503, st.status)
}

func TestStorageDownAnswers503AndReleasesTheKey(t *testing.T) {
	t.Parallel()
	redisURL := strings.TrimSuffix(env.RedisURL, "/0") + "/7" // a database of its own, to see every key
	rdb, err := redisconn.Connect(redisURL)
	require.NoError(t, err)
	defer rdb.Close()

	down := newAPI(t, testenv.ConnectionString(1, 1, 1), redisURL) // nothing listens on port 1
	alice := down.token(t, "alice")
	res := down.do(t, "POST", "/api/carts", alice, `{}`, "Idempotency-Key", "retry-me")
	require.Equal(t, 503, res.status, string(res.body))
	assert.NotEmpty(t, res.header.Get("Retry-After"))
	keys, err := rdb.Keys(context.Background(), "*").Result()
	require.NoError(t, err)
	assert.Empty(t, keys, "no pending status and no claimed key are left behind")

	up := newAPI(t, env.ConnString, redisURL)
	again := up.do(t, "POST", "/api/carts", alice, `{}`, "Idempotency-Key", "retry-me")
	assert.Equal(t, 202, again.status, "the same key works once storage is back")
	assert.Len(t, up.queued(t), 1)
}
