package streamtickets_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/streamtickets"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.MainRedis(m, &env) }

func TestATicketOpensItsStreamOnce(t *testing.T) {
	ctx := context.Background()
	rdb := env.Redis(t)
	tickets := streamtickets.New(rdb)
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	tk, err := tickets.Issue(ctx, streamtickets.Grant{UserID: "alice", Stream: "/streams/me", TokenExpiresAt: exp})
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(streamtickets.TTL), tk.ExpiresAt, 2*time.Second)
	assert.GreaterOrEqual(t, len(tk.Value), 40, "at least 200 bits of randomness")

	keys, err := rdb.Keys(ctx, "prism:ticket:*").Result()
	require.NoError(t, err)
	for _, k := range keys {
		assert.NotContains(t, k, tk.Value, "Redis holds a hash of the ticket, not the ticket")
	}

	g, err := tickets.Redeem(ctx, tk.Value, "/streams/me")
	require.NoError(t, err)
	assert.Equal(t, "alice", g.UserID)
	assert.True(t, exp.Equal(g.TokenExpiresAt))

	_, err = tickets.Redeem(ctx, tk.Value, "/streams/me")
	assert.ErrorIs(t, err, streamtickets.ErrInvalid, "single use")
}

func TestATicketIsBoundToItsStream(t *testing.T) {
	ctx := context.Background()
	tickets := streamtickets.New(env.Redis(t))
	tk, err := tickets.Issue(ctx, streamtickets.Grant{UserID: "alice", Stream: "/streams/carts/c1", TokenExpiresAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	_, err = tickets.Redeem(ctx, tk.Value, "/streams/carts/c2")
	assert.ErrorIs(t, err, streamtickets.ErrInvalid)
	_, err = tickets.Redeem(ctx, tk.Value, "/streams/carts/c1")
	assert.ErrorIs(t, err, streamtickets.ErrInvalid, "a ticket shown for another stream is used up")
	_, err = tickets.Redeem(ctx, "made-up", "/streams/carts/c1")
	assert.Equal(t, apperr.Unauthenticated, apperr.KindOf(err))
}

func TestATicketLivesNoLongerThanItsToken(t *testing.T) {
	ctx := context.Background()
	rdb := env.Redis(t)
	tickets := streamtickets.New(rdb)
	_, err := tickets.Issue(ctx, streamtickets.Grant{UserID: "alice", Stream: "/streams/me", TokenExpiresAt: time.Now().Add(-time.Second)})
	assert.Equal(t, apperr.Unauthenticated, apperr.KindOf(err), "an expired token buys no ticket")

	tk, err := tickets.Issue(ctx, streamtickets.Grant{UserID: "alice", Stream: "/streams/me", TokenExpiresAt: time.Now().Add(5 * time.Second)})
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(5*time.Second), tk.ExpiresAt, time.Second)
	keys, err := rdb.Keys(ctx, "prism:ticket:*").Result()
	require.NoError(t, err)
	for _, k := range keys {
		ttl, err := rdb.PTTL(ctx, k).Result()
		require.NoError(t, err)
		assert.LessOrEqual(t, ttl, streamtickets.TTL, "every ticket expires")
		assert.Positive(t, ttl)
	}
}

func TestConcurrentRedemptionsOneWins(t *testing.T) {
	ctx := context.Background()
	tickets := streamtickets.New(env.Redis(t))
	tk, err := tickets.Issue(ctx, streamtickets.Grant{UserID: "alice", Stream: "/streams/me"})
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := tickets.Redeem(ctx, tk.Value, "/streams/me"); err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, won)
}
