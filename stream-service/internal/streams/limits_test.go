package streams

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/ratelimit"
)

// serveWith serves h's hub through Handler with deps changed by change, on
// a real server (httpapi.Serve, with its timeouts) of the given settings.
func serveWith(t *testing.T, h *harness, srv *http.Server, change func(*Deps)) {
	t.Helper()
	d := Deps{Hub: h.hub, Tokens: h.keys, Tickets: h.tickets}
	if change != nil {
		change(&d)
	}
	srv.Handler = Handler(d)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- httpapi.Serve(ctx, srv, l, 5*time.Second, func() { _ = h.hub.Close(context.Background()) })
	}()
	t.Cleanup(func() { cancel(); <-done })
	h.url = "http://" + l.Addr().String()
}

func TestAStreamClosesWhenItsTokenExpires(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Heartbeat: time.Hour}, true)
	alice := newID("alice-")
	short, _, err := h.keys.Issue(alice, nil, 2*time.Second)
	require.NoError(t, err)
	long := h.token(t, alice)

	began := time.Now()
	byHeader := h.open(t, "/streams/me", short)
	byTicket := h.open(t, "/streams/me?ticket="+h.ticket(t, short, "/streams/me"), "")
	lasting := h.open(t, "/streams/me", long)
	byHeader.ended(t, wait)
	byTicket.ended(t, wait)
	assert.Less(t, time.Since(began), wait, "closed when the token expired")
	assert.GreaterOrEqual(t, time.Since(began), time.Second, "not before")

	ids := h.publish(t, h.pub, notices.UserStream(alice), "notification", `{"id":"n"}`)
	assert.Equal(t, ids[0], lasting.next(t).ID, "a stream whose token is good stays open")
}

func TestAStreamEndsAfterTheMaximumDuration(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Heartbeat: time.Hour}, false)
	serveWith(t, h, &http.Server{}, func(d *Deps) { d.Limits.MaxDuration = time.Second })
	p := h.open(t, "/streams/products", "")
	p.ended(t, wait)
}

// TestStreamsOutliveTheServerTimeouts: every server has read and write
// timeouts; a stream replaces them with its own end, or a read timeout
// would cancel it and a write timeout cut it.
func TestStreamsOutliveTheServerTimeouts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Heartbeat: 100 * time.Millisecond}, false)
	serveWith(t, h, &http.Server{ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond}, nil)
	alice := newID("alice-")
	s := h.open(t, "/streams/me", h.token(t, alice))
	began := time.Now()
	for time.Since(began) < time.Second { // heartbeats mark the time: well past both timeouts
		assert.Equal(t, "hb", s.comment(t).Comment)
	}
	ids := h.publish(t, h.pub, notices.UserStream(alice), "notification", `{"id":"n"}`)
	assert.Equal(t, ids[0], s.next(t).ID)
}

// status opens path and answers the status, closing whatever opened.
func (h *harness) status(t *testing.T, path, token string, headers ...string) (int, http.Header) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := h.request(t, ctx, path, token, headers...)
	res.Body.Close()
	return res.StatusCode, res.Header
}

func TestConcurrentStreamLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Heartbeat: time.Hour}, false)
	serveWith(t, h, &http.Server{}, func(d *Deps) {
		ips, err := httpapi.ParseTrustedProxies([]string{"127.0.0.1"})
		require.NoError(t, err)
		d.Redis = h.rdb
		d.Limits = Limits{PerUser: 2, PerIP: 3, ClientIPs: ips}
	})
	from := func(ip string) []string { return []string{"X-Forwarded-For", ip} }
	alice, bob, carol := h.token(t, newID("alice-")), h.token(t, newID("bob-")), h.token(t, newID("carol-"))

	a1 := h.open(t, "/streams/me", alice, from("203.0.113.1")...)
	h.open(t, "/streams/me", alice, from("203.0.113.2")...)
	code, header := h.status(t, "/streams/me", alice, from("203.0.113.3")...)
	require.Equal(t, http.StatusTooManyRequests, code, "a user's third stream at once")
	assert.Equal(t, `"streams-user";q=2`, header.Get("RateLimit-Policy"))
	assert.Regexp(t, `^"streams-user";r=0;t=\d+$`, header.Get("RateLimit"))
	assert.NotEmpty(t, header.Get("Retry-After"))
	assert.Equal(t, "application/problem+json", header.Get("Content-Type"))
	a1.close()
	waitFor(t, func() bool {
		code, _ := h.status(t, "/streams/me", alice, from("203.0.113.3")...)
		return code == http.StatusOK
	}, "a closed stream gives its slot back")

	// Per address: three streams from one address, whoever holds them,
	// public ones included.
	shared := "198.51.100.20"
	h.open(t, "/streams/products", "", from(shared)...)
	h.open(t, "/streams/me", bob, from(shared)...)
	h.open(t, "/streams/me", carol, from(shared)...)
	code, header = h.status(t, "/streams/products", "", from(shared)...)
	assert.Equal(t, http.StatusTooManyRequests, code, "an address's fourth stream")
	assert.Equal(t, `"streams-ip";q=3`, header.Get("RateLimit-Policy"))
	code, _ = h.status(t, "/streams/products", "", from("198.51.100.21")...)
	assert.Equal(t, http.StatusOK, code, "another address is not affected")
}

func TestAReplicaServesAtMostItsCap(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Heartbeat: time.Hour}, false)
	serveWith(t, h, &http.Server{}, func(d *Deps) { d.Limits = Limits{PerReplica: 2} })
	first := h.open(t, "/streams/products", "")
	h.open(t, "/streams/products", "")
	code, header := h.status(t, "/streams/products", "")
	assert.Equal(t, http.StatusServiceUnavailable, code, "over the replica's cap: go to another replica")
	assert.NotEmpty(t, header.Get("Retry-After"))
	first.close()
	waitFor(t, func() bool {
		code, _ := h.status(t, "/streams/products", "")
		return code == http.StatusOK
	}, "a closed stream frees its place")
}

func TestStreamOpensPerAddress(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Heartbeat: time.Hour}, false)
	opens, err := ratelimit.Parse("stream-opens-ip", "1/m:3")
	require.NoError(t, err)
	serveWith(t, h, &http.Server{}, func(d *Deps) {
		d.Redis = h.rdb
		d.Limits = Limits{OpensPerIP: opens}
	})
	codes := map[int]int{}
	for range 5 {
		code, _ := h.status(t, "/streams/products", "")
		codes[code]++
	}
	assert.Equal(t, map[int]int{200: 3, 429: 2}, codes, "reconnecting in a loop is limited too")
}

func TestLoadLimits(t *testing.T) {
	t.Parallel()
	l := LoadLimits(config.FromMap(nil))
	assert.Equal(t, DefaultStreamsPerUser, l.PerUser)
	assert.Equal(t, DefaultStreamsPerIP, l.PerIP)
	assert.Equal(t, DefaultStreamsPerReplica, l.PerReplica)
	assert.Equal(t, time.Hour, l.MaxDuration)
	assert.Equal(t, "10/s:100", l.OpensPerIP.String())
	r := config.FromMap(map[string]string{"PRISM_LIMIT_STREAM_OPENS_PER_IP": "fast", "PRISM_SSE_MAX_DURATION": "0s", "PRISM_TRUSTED_PROXIES": "nope"})
	LoadLimits(r)
	for _, key := range []string{"PRISM_LIMIT_STREAM_OPENS_PER_IP", "PRISM_SSE_MAX_DURATION", "PRISM_TRUSTED_PROXIES"} {
		assert.ErrorContains(t, r.Err(), key)
	}
}
