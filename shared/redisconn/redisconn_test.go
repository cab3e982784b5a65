package redisconn_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/redisconn"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.MainRedis(m, &env) }

// Redis runs with maxmemory-policy noeviction (docs/operations.md): at its
// memory limit it refuses writes instead of evicting idempotency records.
// That refusal is a dependency that cannot take work now (503 with
// Retry-After), not a bug (500).
func TestRedisOutOfMemoryIsUnavailable(t *testing.T) {
	ctx := context.Background()
	rdb := env.Redis(t)
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err())
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory", "1").Err())
	t.Cleanup(func() { rdb.ConfigSet(context.Background(), "maxmemory", "0") })

	err := rdb.Set(ctx, "idem:alice:k1", "x", 0).Err()
	require.Error(t, err)
	require.Contains(t, err.Error(), "OOM")
	classified := redisconn.Classify(err, "claim key")
	assert.Equal(t, apperr.Unavailable, apperr.KindOf(classified))

	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory", "0").Err())
	require.NoError(t, rdb.Set(ctx, "k-string", "x", 0).Err())
	err = rdb.LPush(ctx, "k-string", "x").Err()
	require.Error(t, err)
	assert.Equal(t, apperr.Internal, apperr.KindOf(redisconn.Classify(err, "push")), "a real bug stays a 500")
}
