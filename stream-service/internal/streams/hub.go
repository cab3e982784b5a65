package streams

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/r3labs/sse/v2"
	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/notices"
)

// Hub serves SSE clients from Redis notices: one topic per logical stream
// with at least one client, sharing one Redis pub/sub connection, and one
// r3labs stream per client connection. r3labs is only the SSE writer: its
// own event log is off (it would replace our ids with a counter and grow
// without bound); resume reads the Redis history.
type Hub struct {
	cfg    Config
	sub    *notices.Subscriber
	reader history
	sse    *sse.Server

	closeSub sync.Once
	mu       sync.Mutex
	closed   bool
	topics   map[string]*topic
	clients  map[string]*client // by conn id
	active   sync.WaitGroup     // Serve calls in progress
}

// NewHub returns a hub on rdb; Close it to end every stream.
func NewHub(rdb *redis.Client, cfg Config) *Hub {
	cfg = cfg.withDefaults()
	h := &Hub{
		cfg:     cfg,
		sub:     notices.NewSubscriber(rdb),
		reader:  notices.NewReader(rdb),
		topics:  map[string]*topic{},
		clients: map[string]*client{},
	}
	s := sse.New()
	s.AutoReplay = false
	s.AutoStream = false
	s.SplitData = true
	s.BufferSize = cfg.ClientBuffer
	s.Headers["X-Accel-Buffering"] = "no" // nginx: do not buffer the stream
	s.OnSubscribe = h.onSubscribe
	h.sse = s
	return h
}

// Serve streams the logical stream to the caller until the client leaves, is
// dropped for not keeping up, or the hub closes. The caller has checked that
// the client may see stream; kind labels metrics (cart, order, me, products).
// The client may resume with the Last-Event-ID header (or the lastEventId
// query parameter, for clients that cannot set headers).
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, stream, kind string) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		httpapi.WriteError(w, r, errClosing)
		return
	}
	h.active.Add(1)
	h.mu.Unlock()
	defer h.active.Done()

	t, err := h.acquire(r.Context(), stream)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	defer h.release(t)

	c, err := h.register(w, r, t, kind)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	ctx := r.Context()
	slog.DebugContext(ctx, "sse client connected", "stream", stream, "conn", c.id, "lastEventId", c.lastID)

	// The client goes away: the same close procedure as a drop.
	stopWatch := context.AfterFunc(ctx, func() { c.close(reasonGone) })

	h.sse.ServeHTTP(w, h.sseRequest(r, c))

	stopWatch()
	c.end()
	c.finish()
	t.detach(c)
	h.unregister(c)
	reason := c.closeReason()
	if reason == "" {
		reason = reasonGone
	}
	level := slog.LevelInfo
	if reason == reasonBufferFull {
		level = slog.LevelWarn
	}
	slog.Log(ctx, level, "sse client disconnected", "stream", stream, "conn", c.id, "reason", reason,
		"durationMs", time.Since(c.started).Milliseconds())
}

var errClosing = apperr.New(apperr.Unavailable, "the stream service is shutting down; reconnect")

// sseRequest is the request r3labs sees: our conn id as its stream, no other
// query parameters (no token), and no Last-Event-ID (r3labs answers 400 to
// anything but an integer; we resume from Redis instead).
func (h *Hub) sseRequest(r *http.Request, c *client) *http.Request {
	req := r.Clone(c.ctx)
	u := *r.URL
	u.RawQuery = url.Values{"stream": {c.id}}.Encode()
	req.URL = &u
	req.RequestURI = u.RequestURI()
	req.Header.Del("Last-Event-ID")
	return req
}

// register creates the client's r3labs stream and records the client.
func (h *Hub) register(w http.ResponseWriter, r *http.Request, t *topic, kind string) (*client, error) {
	ctx, cancel := context.WithCancel(r.Context())
	c := &client{
		id: rand.Text(), topic: t, kind: kind, lastID: lastEventID(r),
		srv: h.sse, w: w, ctx: ctx, cancel: cancel, started: time.Now(),
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		cancel()
		return nil, errClosing
	}
	h.sse.CreateStream(c.id)
	h.clients[c.id] = c
	clientsConnected.WithLabelValues(kind).Inc()
	return c, nil
}

// unregister forgets c and removes its r3labs stream. It runs after
// ServeHTTP returned: r3labs deregisters a subscriber through the stream's
// goroutine, which RemoveStream ends.
func (h *Hub) unregister(c *client) {
	h.mu.Lock()
	delete(h.clients, c.id)
	h.mu.Unlock()
	h.sse.RemoveStream(c.id)
	c.cancel()
	clientsConnected.WithLabelValues(c.kind).Dec()
}

// onSubscribe runs (on its own goroutine) once r3labs registered the
// client's subscriber, so nothing is published to the stream before anyone
// listens; it attaches the client to its topic.
func (h *Hub) onSubscribe(connID string, _ *sse.Subscriber) {
	h.mu.Lock()
	c := h.clients[connID]
	h.mu.Unlock()
	if c == nil || !c.beginAttach() {
		return
	}
	defer c.attaching.Done()
	err := c.topic.attach(c)
	switch {
	case errors.Is(err, errDropped):
		c.close(reasonBufferFull)
	case err != nil:
		slog.WarnContext(c.ctx, "sse replay failed", "stream", c.topic.stream, "conn", c.id, "err", err)
		c.close(reasonReplay)
	}
}

// acquire returns the stream's topic, starting it if it is new.
func (h *Hub) acquire(ctx context.Context, stream string) (*topic, error) {
	h.mu.Lock()
	t, ok := h.topics[stream]
	if !ok {
		t = newTopic(h, stream)
		h.topics[stream] = t
	}
	t.refs++
	h.mu.Unlock()

	if !ok {
		t.err = t.start()
		if t.err != nil {
			h.mu.Lock()
			if h.topics[stream] == t {
				delete(h.topics, stream) // let the next client try again
			}
			h.mu.Unlock()
		}
		close(t.ready)
	} else {
		select {
		case <-t.ready:
		case <-ctx.Done():
			h.release(t)
			return nil, apperr.Wrap(apperr.Unavailable, ctx.Err(), "the request ended while subscribing")
		}
	}
	if t.err != nil {
		h.release(t)
		return nil, t.err // classified by the kit

	}
	return t, nil
}

// release drops a reference to t; the last one stops it.
func (h *Hub) release(t *topic) {
	h.mu.Lock()
	t.refs--
	last := t.refs == 0
	if last && h.topics[t.stream] == t {
		delete(h.topics, t.stream)
	}
	h.mu.Unlock()
	if last {
		<-t.ready
		t.stop()
	}
}

// Close ends every stream (the same procedure as a drop) and waits, up to
// ctx, for their handlers to return; new streams are refused with 503. Run
// it before http.Server.Shutdown, which otherwise waits for the streams.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	open := make([]*client, 0, len(h.clients))
	for _, c := range h.clients {
		open = append(open, c)
	}
	h.mu.Unlock()
	for _, c := range open {
		c.close(reasonShutdown)
	}
	done := make(chan struct{})
	go func() {
		h.active.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.New("sse streams did not end in time")
	}
	var serr error
	h.closeSub.Do(func() { serr = h.sub.Close() })
	return errors.Join(err, serr)
}

// Topics is how many logical streams have clients.
func (h *Hub) Topics() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.topics)
}
