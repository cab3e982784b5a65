package commandstatus_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/commandstatus"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.MainRedis(m, &env) }

func TestSetGetDelete(t *testing.T) {
	ctx := context.Background()
	s := commandstatus.New(env.Redis(t))
	id := uuid.NewString()
	_, ok, err := s.Get(ctx, id)
	require.NoError(t, err)
	assert.False(t, ok)

	require.NoError(t, s.Set(ctx, commandstatus.Status{CommandID: id, Status: commandstatus.Pending, AggregateID: "cart-1", UserID: "alice"}))
	st, ok, err := s.Get(ctx, id)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, commandstatus.Pending, st.Status)
	assert.False(t, st.Terminal())
	assert.Equal(t, "alice", st.UserID)
	assert.False(t, st.UpdatedAt.IsZero())

	require.NoError(t, s.Set(ctx, commandstatus.Status{CommandID: id, Status: commandstatus.Rejected, Reason: "cart is checked out", AggregateID: "cart-1", UserID: "alice"}))
	st, _, err = s.Get(ctx, id)
	require.NoError(t, err)
	assert.True(t, st.Terminal())
	assert.Equal(t, "cart is checked out", st.Reason)

	ttl := env.Redis(t).TTL(ctx, "cmdstatus:"+id).Val()
	assert.Greater(t, ttl, commandstatus.TTL-time.Minute, "kept for 24 h")
	assert.LessOrEqual(t, ttl, commandstatus.TTL)

	require.NoError(t, s.Delete(ctx, id))
	_, ok, err = s.Get(ctx, id)
	require.NoError(t, err)
	assert.False(t, ok)
}
