package ratelimit_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/ratelimit"
	"github.com/prism-es/prism/shared/redisconn"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.MainRedis(m, &env) }

func TestParse(t *testing.T) {
	for spec, want := range map[string]ratelimit.Limit{
		"20/s:100":  {Name: "x", Rate: 20, Period: time.Second, Burst: 100},
		"20/s":      {Name: "x", Rate: 20, Period: time.Second, Burst: 20},
		"600/m:50":  {Name: "x", Rate: 600, Period: time.Minute, Burst: 50},
		"10000/24h": {Name: "x", Rate: 10000, Period: 24 * time.Hour, Burst: 10000},
		"off":       {Name: "x"},
	} {
		got, err := ratelimit.Parse("x", spec)
		require.NoError(t, err, spec)
		assert.Equal(t, want, got, spec)
	}
	for _, bad := range []string{"", "20", "x/s", "0/s", "-1/s", "20/fortnight", "20/s:0", "20/s:x", "20/-1s"} {
		_, err := ratelimit.Parse("x", bad)
		assert.Error(t, err, bad)
	}
	l, _ := ratelimit.Parse("x", "20/s:100")
	assert.Equal(t, int64(5), l.Window(), "a burst of 100 at 20/s takes 5 s to come back")
	assert.Equal(t, "20/s:100", l.String())

	r := config.FromMap(map[string]string{"PRISM_X": "nonsense"})
	got := ratelimit.Setting(r, "PRISM_X", "x", "5/s")
	assert.ErrorContains(t, r.Err(), "PRISM_X")
	assert.Equal(t, 5, got.Rate, "a bad setting falls back to the default (and the service refuses to start)")
}

func limit(t *testing.T, spec string) ratelimit.Limit {
	t.Helper()
	l, err := ratelimit.Parse("test-"+uuid.NewString()[:8], spec)
	require.NoError(t, err)
	return l
}

func TestABurstIsCutAtTheLimitAndOthersAreUntouched(t *testing.T) {
	ctx := context.Background()
	l := ratelimit.New(env.Redis(t))
	perUser := limit(t, "1/m:10")
	allowed, limited := 0, 0
	var last ratelimit.Decision
	for range 25 {
		d, err := l.Allow(ctx, ratelimit.Check{Limit: perUser, Key: "mallory"})
		require.NoError(t, err)
		if d.Allowed {
			allowed++
		} else {
			limited++
			last = d
		}
	}
	assert.Equal(t, 10, allowed, "the burst")
	assert.Equal(t, 15, limited)
	assert.Greater(t, last.RetryAfter, 50*time.Second, "one more a minute: the next in about a minute")
	require.Error(t, last.Err())
	assert.Equal(t, apperr.RateLimited, apperr.KindOf(last.Err()))

	d, err := l.Allow(ctx, ratelimit.Check{Limit: perUser, Key: "alice"})
	require.NoError(t, err)
	assert.True(t, d.Allowed, "another key has its own budget")
	assert.Equal(t, 9, d.Remaining)
}

func TestARefusedRequestDoesNotUseUpLaterLimits(t *testing.T) {
	ctx := context.Background()
	l := ratelimit.New(env.Redis(t))
	user, quota := limit(t, "1/m:1"), limit(t, "1/h:3")
	for range 5 {
		_, err := l.Allow(ctx, ratelimit.Check{Limit: user, Key: "u"}, ratelimit.Check{Limit: quota, Key: "u"})
		require.NoError(t, err)
	}
	d, err := l.Allow(ctx, ratelimit.Check{Limit: quota, Key: "u"})
	require.NoError(t, err)
	assert.True(t, d.Allowed)
	assert.Equal(t, 1, d.Remaining, "only the one request the first limit let through counted against the quota")
}

func TestHeaders(t *testing.T) {
	ctx := context.Background()
	l := ratelimit.New(env.Redis(t))
	lim := limit(t, "2/s:4")
	d, err := l.Allow(ctx, ratelimit.Check{Limit: lim, Key: "k"})
	require.NoError(t, err)
	h := http.Header{}
	d.SetHeaders(h)
	assert.Equal(t, fmt.Sprintf("%q;q=4;w=2", lim.Name), h.Get("RateLimit-Policy"))
	assert.Regexp(t, fmt.Sprintf(`^%q;r=3;t=\d+$`, lim.Name), h.Get("RateLimit"))
	assert.Empty(t, h.Get("Retry-After"))
	for range 4 {
		d, err = l.Allow(ctx, ratelimit.Check{Limit: lim, Key: "k"})
		require.NoError(t, err)
	}
	require.False(t, d.Allowed)
	h = http.Header{}
	d.SetHeaders(h)
	assert.Regexp(t, fmt.Sprintf(`^%q;r=0;t=[1-9]\d*$`, lim.Name), h.Get("RateLimit"))
	secs, err := strconv.Atoi(h.Get("Retry-After"))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, secs, 1)
}

func TestEnforceAnswers429AndGoesOnWhenRedisIsDown(t *testing.T) {
	l := ratelimit.New(env.Redis(t))
	lim := limit(t, "1/m:1")
	serve := func(l *ratelimit.Limiter) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/api/carts", nil)
		if l.Enforce(w, r, ratelimit.Check{Limit: lim, Key: "k"}) {
			w.WriteHeader(http.StatusAccepted)
		}
		return w
	}
	assert.Equal(t, http.StatusAccepted, serve(l).Code)
	w := serve(l)
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
	assert.NotEmpty(t, w.Header().Get("Retry-After"))
	assert.NotEmpty(t, w.Header().Get("RateLimit"))
	assert.NotEmpty(t, w.Header().Get("RateLimit-Policy"))

	port, err := testenv.FreePort()
	require.NoError(t, err)
	dead, err := redisconn.Connect(fmt.Sprintf("redis://127.0.0.1:%d/0", port))
	require.NoError(t, err)
	defer dead.Close()
	began := time.Now()
	assert.Equal(t, http.StatusAccepted, serve(ratelimit.New(dead)).Code, "no Redis: not limited")
	assert.Less(t, time.Since(began), 3*time.Second)
}

func TestSlots(t *testing.T) {
	ctx := context.Background()
	s := ratelimit.NewSlots(env.Redis(t), time.Minute)
	name := "streams-" + uuid.NewString()[:8]
	for i := range 3 {
		ok, err := s.Acquire(ctx, name, 3, "alice", fmt.Sprint("conn-", i))
		require.NoError(t, err)
		require.True(t, ok)
	}
	ok, err := s.Acquire(ctx, name, 3, "alice", "conn-3")
	require.NoError(t, err)
	assert.False(t, ok, "the fourth at once is refused")
	ok, err = s.Acquire(ctx, name, 3, "alice", "conn-1")
	require.NoError(t, err)
	assert.True(t, ok, "a holder asking again keeps its slot")
	ok, err = s.Acquire(ctx, name, 3, "bob", "conn-9")
	require.NoError(t, err)
	assert.True(t, ok, "another key is not affected")

	require.NoError(t, s.Release(ctx, name, 3, "alice", "conn-0"))
	ok, err = s.Acquire(ctx, name, 3, "alice", "conn-3")
	require.NoError(t, err)
	assert.True(t, ok, "a released slot is free again")
}

func TestSlotsOfADeadReplicaLapse(t *testing.T) {
	ctx := context.Background()
	rdb := env.Redis(t)
	short := ratelimit.NewSlots(rdb, 300*time.Millisecond)
	name := "streams-" + uuid.NewString()[:8]
	ok, err := short.Acquire(ctx, name, 1, "alice", "crashed-replica-conn")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = short.Acquire(ctx, name, 1, "alice", "new-conn")
	require.NoError(t, err)
	require.False(t, ok)
	// Nobody renews or releases the first slot (its replica died): it lapses.
	require.Eventually(t, func() bool {
		ok, err := short.Acquire(ctx, name, 1, "alice", "new-conn")
		return err == nil && ok
	}, 10*time.Second, 50*time.Millisecond)

	// A renewed slot does not lapse.
	require.NoError(t, short.Renew(ctx, name, 1, "alice", "new-conn"))
	ok, err = short.Acquire(ctx, name, 1, "alice", "third")
	require.NoError(t, err)
	assert.False(t, ok)
}
