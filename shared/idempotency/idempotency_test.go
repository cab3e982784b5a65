package idempotency_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/idempotency"
	"github.com/prism-es/prism/shared/redisconn"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.MainRedis(m, &env) }

func TestFingerprintIgnoresJSONKeyOrderAndSpacing(t *testing.T) {
	a := idempotency.Fingerprint("POST", "/api/carts/1/items", []byte(`{"sku":"A","quantity":2}`))
	b := idempotency.Fingerprint("POST", "/api/carts/1/items", []byte(` { "quantity" : 2, "sku":"A" } `))
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, idempotency.Fingerprint("POST", "/api/carts/1/items", []byte(`{"sku":"A","quantity":3}`)))
	assert.NotEqual(t, a, idempotency.Fingerprint("POST", "/api/carts/2/items", []byte(`{"sku":"A","quantity":2}`)))
	assert.NotEqual(t, a, idempotency.Fingerprint("PUT", "/api/carts/1/items", []byte(`{"sku":"A","quantity":2}`)))
	big := idempotency.Fingerprint("POST", "/x", []byte(`{"n":12345678901234567890123}`))
	assert.NotEqual(t, big, idempotency.Fingerprint("POST", "/x", []byte(`{"n":12345678901234567890124}`)), "large numbers are not rounded")
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	s := idempotency.New(env.Redis(t))
	user, key := "u-"+uuid.NewString(), uuid.NewString()

	out, _, err := s.Begin(ctx, user, key, "fp1")
	require.NoError(t, err)
	assert.Equal(t, idempotency.Claimed, out)

	out, _, err = s.Begin(ctx, user, key, "fp1")
	require.NoError(t, err)
	assert.Equal(t, idempotency.InFlight, out)

	out, _, err = s.Begin(ctx, user, key, "fp2")
	require.NoError(t, err)
	assert.Equal(t, idempotency.Mismatch, out, "a different request under an in-flight key")

	corr := uuid.NewString()
	require.NoError(t, s.Complete(ctx, user, key, "fp1", corr))

	out, got, err := s.Begin(ctx, user, key, "fp1")
	require.NoError(t, err)
	assert.Equal(t, idempotency.Replay, out)
	require.NotNil(t, got)
	assert.Equal(t, corr, got.CorrelationID, "what the first answer carried comes back")
	assert.Nil(t, got.Legacy)

	out, _, err = s.Begin(ctx, user, key, "fp2")
	require.NoError(t, err)
	assert.Equal(t, idempotency.Mismatch, out)

	// Keys are per user: another user may use the same key.
	out, _, err = s.Begin(ctx, "other-"+user, key, "fp2")
	require.NoError(t, err)
	assert.Equal(t, idempotency.Claimed, out)

	// A completed key cannot be abandoned.
	require.NoError(t, s.Abandon(ctx, user, key, "fp1"))
	out, _, err = s.Begin(ctx, user, key, "fp1")
	require.NoError(t, err)
	assert.Equal(t, idempotency.Replay, out)
}

// TestUsersNeverShareARecord: user ids may contain ":" (and keys may too), so
// "u:x" + "k" and "u" + "x:k" must not meet in one Redis key.
func TestUsersNeverShareARecord(t *testing.T) {
	ctx := context.Background()
	s := idempotency.New(env.Redis(t))
	u := "u-" + uuid.NewString()
	out, _, err := s.Begin(ctx, u, "x:k", "fp-first")
	require.NoError(t, err)
	require.Equal(t, idempotency.Claimed, out)
	require.NoError(t, s.Complete(ctx, u, "x:k", "fp-first", "corr"))

	out, got, err := s.Begin(ctx, u+":x", "k", "fp-first")
	require.NoError(t, err)
	assert.Equal(t, idempotency.Claimed, out, "another user's key is not replayed")
	assert.Nil(t, got)
	out, _, err = s.Begin(ctx, u+"%3Ax", "k", "fp-first")
	require.NoError(t, err)
	assert.Equal(t, idempotency.Claimed, out, "nor is an escaped look-alike's")
}

func TestAbandonReleasesTheKey(t *testing.T) {
	ctx := context.Background()
	s := idempotency.New(env.Redis(t))
	user, key := "u", uuid.NewString()
	out, _, err := s.Begin(ctx, user, key, "fp")
	require.NoError(t, err)
	require.Equal(t, idempotency.Claimed, out)
	require.NoError(t, s.Abandon(ctx, user, key, "other-fp"), "someone else's abandon is a no-op")
	out, _, _ = s.Begin(ctx, user, key, "fp")
	assert.Equal(t, idempotency.InFlight, out)
	require.NoError(t, s.Abandon(ctx, user, key, "fp"))
	out, _, err = s.Begin(ctx, user, key, "fp")
	require.NoError(t, err)
	assert.Equal(t, idempotency.Claimed, out)
}

func TestConcurrentBeginsClaimExactlyOnce(t *testing.T) {
	ctx := context.Background()
	s := idempotency.New(env.Redis(t))
	user, key := "u", uuid.NewString()
	const n = 50
	outcomes := make([]idempotency.Outcome, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			o, _, err := s.Begin(ctx, user, key, "fp")
			assert.NoError(t, err)
			outcomes[i] = o
		}()
	}
	close(start)
	wg.Wait()
	claimed := 0
	for _, o := range outcomes {
		if o == idempotency.Claimed {
			claimed++
		} else {
			assert.Equal(t, idempotency.InFlight, o)
		}
	}
	assert.Equal(t, 1, claimed)
}

func TestRedisDownIsUnavailable(t *testing.T) {
	port, err := testenv.FreePort() // nothing listens there
	require.NoError(t, err)
	c, err := redisconn.Connect(fmt.Sprintf("redis://127.0.0.1:%d/0", port))
	require.NoError(t, err)
	_, _, err = idempotency.New(c).Begin(context.Background(), "u", "k", "fp")
	assert.Equal(t, apperr.Unavailable, apperr.KindOf(err), "%v", err)
}

// TestRecordsAreSmall is issue 19: a completed record holds the fingerprint
// and the correlation id, not the response, whatever form the id takes.
func TestRecordsAreSmall(t *testing.T) {
	ctx := context.Background()
	rdb := env.Redis(t)
	s := idempotency.New(rdb)
	fp := idempotency.Fingerprint("POST", "/api/carts/"+uuid.NewString()+"/items", []byte(`{"sku":"A","quantity":1}`))
	assert.Len(t, fp, 64)
	for _, corr := range []string{"", uuid.NewString(), "corr-abc", strings.ToUpper(uuid.NewString()), strings.Repeat("c", 128)} {
		user, key := "u-"+uuid.NewString()[:8], uuid.NewString()
		out, _, err := s.Begin(ctx, user, key, fp)
		require.NoError(t, err)
		require.Equal(t, idempotency.Claimed, out)
		require.NoError(t, s.Complete(ctx, user, key, fp, corr))
		out, got, err := s.Begin(ctx, user, key, fp)
		require.NoError(t, err)
		require.Equal(t, idempotency.Replay, out)
		assert.Equal(t, corr, got.CorrelationID, "the correlation id round-trips exactly")
		raw, err := rdb.Get(ctx, "idem:"+user+":"+key).Bytes()
		require.NoError(t, err)
		assert.LessOrEqual(t, len(raw), 2+8+1+max(16, len(corr)), "64 bits of fingerprint and the correlation id only")
		if corr == "" {
			assert.Len(t, raw, 2+8+1, "the command's own id costs one byte")
		}
		ttl := rdb.TTL(ctx, "idem:"+user+":"+key).Val()
		assert.Greater(t, ttl, idempotency.TTL-time.Minute, "kept for 24 h")
	}
}

// TestLegacyRecordsStillReplay: records written before issue 19 (the whole
// response as JSON) are answered as they are for the rest of their 24 h.
func TestLegacyRecordsStillReplay(t *testing.T) {
	ctx := context.Background()
	rdb := env.Redis(t)
	s := idempotency.New(rdb)
	user, key := "u-"+uuid.NewString()[:8], uuid.NewString()
	legacy := `{"fingerprint":"fp-old","done":true,"response":{"status":202,"location":"/api/commands/c1","body":{"commandId":"c1"}}}`
	require.NoError(t, rdb.Set(ctx, "idem:"+user+":"+key, legacy, time.Hour).Err())
	out, got, err := s.Begin(ctx, user, key, "fp-old")
	require.NoError(t, err)
	require.Equal(t, idempotency.Replay, out)
	require.NotNil(t, got.Legacy)
	assert.Equal(t, 202, got.Legacy.Status)
	assert.Equal(t, "/api/commands/c1", got.Legacy.Location)
	assert.JSONEq(t, `{"commandId":"c1"}`, string(got.Legacy.Body))
	out, _, err = s.Begin(ctx, user, key, "fp-new")
	require.NoError(t, err)
	assert.Equal(t, idempotency.Mismatch, out)
	require.NoError(t, s.Abandon(ctx, user, key, "fp-old"))
	assert.Equal(t, legacy, rdb.Get(ctx, "idem:"+user+":"+key).Val(), "a finished legacy answer is never abandoned")

	// An unreadable value is an error, not a panic or a replay.
	require.NoError(t, rdb.Set(ctx, "idem:"+user+":bad", "d\xff", time.Hour).Err())
	_, _, err = s.Begin(ctx, user, "bad", "fp")
	assert.Error(t, err)
}
