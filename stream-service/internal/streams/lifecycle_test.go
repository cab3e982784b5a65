package streams

import (
	"context"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/notices"
)

// Not parallel: it counts the process's goroutines.
func TestTopicsAndGoroutinesGoAwayWithTheirClients(t *testing.T) {
	h := newHarness(t, Config{}, true)
	alice := newID("alice-")
	cart := h.create(t, "cart", alice)
	order := h.create(t, "order", alice)
	tok := h.token(t, alice)

	// Warm up: the shared pub/sub connection and its goroutines stay.
	h.open(t, "/streams/products", "").close()
	require.True(t, waitFor(t, func() bool { return h.hub.Topics() == 0 }, "the warm-up topic is removed"))
	base := runtime.NumGoroutine()

	conns := []*sseConn{
		h.open(t, "/streams/carts/"+cart, tok),
		h.open(t, "/streams/carts/"+cart, tok),
		h.open(t, "/streams/orders/"+order, tok),
		h.open(t, "/streams/me", tok),
		h.open(t, "/streams/products", ""),
	}
	assert.Equal(t, 4, h.hub.Topics())
	h.publish(t, h.pub, notices.CartStream(cart), "cart.updated", `{}`)
	conns[0].next(t)
	conns[1].next(t)

	for _, c := range conns {
		c.close()
	}
	require.True(t, waitFor(t, func() bool { return h.hub.Topics() == 0 }, "topics are removed"))
	if !waitFor(t, func() bool { return runtime.NumGoroutine() <= base }, "goroutines return to baseline") {
		buf := make([]byte, 1<<20)
		t.Logf("base %d now %d\n%s", base, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
	}
	h.hub.mu.Lock()
	assert.Empty(t, h.hub.clients)
	h.hub.mu.Unlock()
}

func TestShutdownWithConnectedClientsIsQuick(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}, false)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h.url = "http://" + l.Addr().String()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() {
		served <- httpapi.Serve(ctx, &http.Server{Handler: h.handler}, l, 5*time.Second, func() {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			assert.NoError(t, h.hub.Close(cctx))
		})
	}()

	alice := newID("alice-")
	cart := h.create(t, "cart", alice)
	tok := h.token(t, alice)
	conns := []*sseConn{
		h.open(t, "/streams/carts/"+cart, tok),
		h.open(t, "/streams/me", tok),
		h.open(t, "/streams/products", ""),
	}

	start := time.Now()
	stop()
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(wait):
		require.FailNow(t, "shutdown hangs")
	}
	assert.Less(t, time.Since(start), 2*time.Second)
	for _, c := range conns {
		c.ended(t, 2*time.Second)
	}
	assert.Equal(t, 0, h.hub.Topics())
}

func TestHeartbeatCommentsKeepTheStreamAlive(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Heartbeat: 50 * time.Millisecond}, true)
	alice := newID("alice-")
	s := h.open(t, "/streams/me", h.token(t, alice)) // open already saw the comment sent on connect
	for range 3 {
		assert.Equal(t, "hb", s.comment(t).Comment)
	}
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	c := LoadConfig(config.FromMap(nil))
	assert.Equal(t, Config{
		ClientBuffer: 1024, Heartbeat: 15 * time.Second, Resync: 5 * time.Second, ReplayPage: 500,
		TopicBuffer: 1024, RedisTimeout: 5 * time.Second,
	}, c)

	r := config.FromMap(map[string]string{
		"PRISM_SSE_CLIENT_BUFFER": "16", "PRISM_SSE_HEARTBEAT": "1s", "PRISM_SSE_RESYNC": "2s",
		"PRISM_SSE_REPLAY_PAGE": "50", "PRISM_SSE_TOPIC_BUFFER": "64",
	})
	c = LoadConfig(r)
	require.NoError(t, r.Err())
	assert.Equal(t, 16, c.ClientBuffer)
	assert.Equal(t, time.Second, c.Heartbeat)
	assert.Equal(t, 2*time.Second, c.Resync)
	assert.Equal(t, int64(50), c.ReplayPage)
	assert.Equal(t, 64, c.TopicBuffer)

	r = config.FromMap(map[string]string{"PRISM_SSE_CLIENT_BUFFER": "0", "PRISM_SSE_HEARTBEAT": "-1s", "PRISM_SSE_RESYNC": "soon"})
	LoadConfig(r)
	require.Error(t, r.Err())
	assert.Contains(t, r.Err().Error(), "PRISM_SSE_CLIENT_BUFFER")
	assert.Contains(t, r.Err().Error(), "PRISM_SSE_HEARTBEAT")
	assert.Contains(t, r.Err().Error(), "PRISM_SSE_RESYNC")
}
