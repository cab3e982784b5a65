package commandstatus_test

import (
	"context"
	"sync"
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

func TestSetGetWithdraw(t *testing.T) {
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
	ttl := env.Redis(t).TTL(ctx, "cmdstatus:"+id).Val()
	assert.Greater(t, ttl, commandstatus.TTL-time.Minute, "pending is kept for 24 h")
	assert.LessOrEqual(t, ttl, commandstatus.TTL)

	require.NoError(t, s.Set(ctx, commandstatus.Status{CommandID: id, Status: commandstatus.Rejected, Reason: "cart is checked out", AggregateID: "cart-1", UserID: "alice"}))
	st, _, err = s.Get(ctx, id)
	require.NoError(t, err)
	assert.True(t, st.Terminal())
	assert.Equal(t, "cart is checked out", st.Reason)
	ttl = env.Redis(t).TTL(ctx, "cmdstatus:"+id).Val()
	assert.Greater(t, ttl, commandstatus.TerminalTTL-time.Minute, "a final status is kept for TerminalTTL")
	assert.LessOrEqual(t, ttl, commandstatus.TerminalTTL)

	// Withdraw removes a pending status only.
	require.NoError(t, s.Withdraw(ctx, id))
	_, ok, err = s.Get(ctx, id)
	require.NoError(t, err)
	assert.True(t, ok, "a final status stays")
	other := uuid.NewString()
	require.NoError(t, s.Set(ctx, commandstatus.Status{CommandID: other, Status: commandstatus.Pending, AggregateID: "cart-1", UserID: "alice"}))
	require.NoError(t, s.Withdraw(ctx, other))
	_, ok, err = s.Get(ctx, other)
	require.NoError(t, err)
	assert.False(t, ok, "a pending status is withdrawn")
}

// TestStatusMovesForwardOnly is issue 12 item 8: pending, then one outcome,
// never changed afterwards; failed (set aside for an operator) gives way
// only to the outcome of a redrive; a late pending changes nothing.
func TestStatusMovesForwardOnly(t *testing.T) {
	ctx := context.Background()
	s := commandstatus.New(env.Redis(t))
	status := func(id, st string) commandstatus.Status {
		return commandstatus.Status{CommandID: id, Status: st, AggregateID: "cart-1", UserID: "alice", Version: 3}
	}
	all := []string{commandstatus.Pending, commandstatus.Failed, commandstatus.Succeeded, commandstatus.Rejected}
	for _, first := range []string{commandstatus.Succeeded, commandstatus.Rejected} {
		for _, via := range []string{commandstatus.Pending, commandstatus.Failed} {
			id := uuid.NewString()
			require.NoError(t, s.Set(ctx, status(id, commandstatus.Pending)))
			_, recorded, err := s.Advance(ctx, status(id, via))
			require.NoError(t, err)
			assert.Equal(t, via == commandstatus.Failed, recorded, "failed over pending")
			_, recorded, err = s.Advance(ctx, status(id, first))
			require.NoError(t, err)
			assert.True(t, recorded, "%s over %s", first, via)
			for _, later := range all {
				kept, recorded, err := s.Advance(ctx, status(id, later))
				require.NoError(t, err)
				assert.False(t, recorded, "%s after %s", later, first)
				assert.Equal(t, first, kept.Status, "%s after %s", later, first)
				st, _, err := s.Get(ctx, id)
				require.NoError(t, err)
				assert.Equal(t, first, st.Status, "%s after %s must not change it", later, first)
			}
			ttl := env.Redis(t).TTL(ctx, "cmdstatus:"+id).Val()
			assert.LessOrEqual(t, ttl, commandstatus.TerminalTTL, "an outcome is kept for TerminalTTL")
		}
	}

	// Failed never goes back to pending, nor is it written twice.
	id := uuid.NewString()
	require.NoError(t, s.Set(ctx, status(id, commandstatus.Failed)))
	for _, later := range []string{commandstatus.Pending, commandstatus.Failed} {
		_, recorded, err := s.Advance(ctx, status(id, later))
		require.NoError(t, err)
		assert.False(t, recorded, "%s after failed", later)
	}
	ttl := env.Redis(t).TTL(ctx, "cmdstatus:"+id).Val()
	assert.Greater(t, ttl, commandstatus.TTL-time.Minute, "failed waits for an operator for 24 h")

	// An outcome without a pending one (Redis lost it) is recorded; a
	// pending that comes later (the client's retry) does not replace it.
	id = uuid.NewString()
	_, recorded, err := s.Advance(ctx, status(id, commandstatus.Succeeded))
	require.NoError(t, err)
	assert.True(t, recorded)
	require.NoError(t, s.Set(ctx, status(id, commandstatus.Pending)))
	st, _, err := s.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, commandstatus.Succeeded, st.Status)
	ttl = env.Redis(t).TTL(ctx, "cmdstatus:"+id).Val()
	assert.LessOrEqual(t, ttl, commandstatus.TerminalTTL, "the late pending did not stretch its life either")
}

// TestRacingOutcomesRecordExactlyOne: outcomes written at once (two replicas
// finishing one command, a redelivery, a late failed) leave exactly one
// outcome, the first.
func TestRacingOutcomesRecordExactlyOne(t *testing.T) {
	ctx := context.Background()
	s := commandstatus.New(env.Redis(t))
	for range 20 {
		id := uuid.NewString()
		require.NoError(t, s.Set(ctx, commandstatus.Status{CommandID: id, Status: commandstatus.Pending}))
		outcomes := []string{commandstatus.Succeeded, commandstatus.Rejected, commandstatus.Failed, commandstatus.Pending}
		won := make([]bool, len(outcomes))
		errs := make([]error, len(outcomes))
		var wg sync.WaitGroup
		for i, o := range outcomes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, won[i], errs[i] = s.Advance(ctx, commandstatus.Status{CommandID: id, Status: o})
			}()
		}
		wg.Wait()
		winners := 0
		var winner string
		for i, o := range outcomes {
			require.NoError(t, errs[i])
			assert.False(t, won[i] && o == commandstatus.Pending)
			if won[i] && (o == commandstatus.Succeeded || o == commandstatus.Rejected) {
				winners++
				winner = o
			}
		}
		require.Equal(t, 1, winners, "exactly one outcome is recorded")
		st, _, err := s.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, winner, st.Status)
	}
}
