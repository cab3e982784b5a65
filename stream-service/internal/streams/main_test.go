package streams

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/redisconn"
	"github.com/prism-es/prism/shared/streamtickets"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

// stream-service uses no storage: Redis only.
func TestMain(m *testing.M) { testenv.MainRedis(m, &env) }

const secret = "test-secret-0123456789abcdef0123456789"

// wait is how long a test waits for something that should happen promptly.
const wait = 10 * time.Second

// harness is a stream-service over the private Redis.
type harness struct {
	url     string
	hub     *Hub
	handler http.Handler
	keys    *auth.Keys
	tickets *streamtickets.Tickets
	rdb     *redis.Client
	pub     *notices.Publisher
	http    *http.Client
}

// newHarness builds the service; serve=false leaves serving to the test.
func newHarness(t *testing.T, cfg Config, serve bool) *harness {
	t.Helper()
	keys, err := auth.NewKeys(secret)
	require.NoError(t, err)
	rdb, err := redisconn.Connect(env.RedisURL)
	require.NoError(t, err)
	t.Cleanup(func() { rdb.Close() })
	h := &harness{
		hub: NewHub(rdb, cfg), keys: keys, tickets: streamtickets.New(rdb), rdb: rdb,
		pub:  notices.NewPublisher(rdb, notices.Config{}),
		http: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	}
	h.handler = Handler(Deps{Hub: h.hub, Tokens: keys, Tickets: h.tickets})
	if serve {
		srv := httptest.NewServer(h.handler)
		t.Cleanup(srv.Close) // runs after the hub closed its streams (cleanups are LIFO)
		h.url = srv.URL
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		require.NoError(t, h.hub.Close(ctx))
	})
	return h
}

func (h *harness) token(t *testing.T, user string) string {
	t.Helper()
	tok, _, err := h.keys.Issue(user, nil, time.Hour)
	require.NoError(t, err)
	return tok
}

// newID returns a fresh id (letters and digits).
func newID(prefix string) string { return prefix + strings.ToLower(rand.Text()) }

// create names a new cart or order. Who owns it is prism-api's to check,
// when it issues a ticket; here any token's user may buy one (request).
func (h *harness) create(t *testing.T, aggregateType, owner string) string {
	t.Helper()
	require.Contains(t, []string{"cart", "order"}, aggregateType)
	require.NotEmpty(t, owner)
	return newID("")
}

// ticket issues a ticket for the token's user to open path, as prism-api
// does once it has checked the user may see it.
func (h *harness) ticket(t *testing.T, token, path string) string {
	t.Helper()
	p, err := h.keys.Verify(context.Background(), token)
	require.NoError(t, err)
	tk, err := h.tickets.Issue(context.Background(), streamtickets.Grant{UserID: p.UserID, Stream: path, TokenExpiresAt: p.ExpiresAt})
	require.NoError(t, err)
	return tk.Value
}

// withTicket turns a token into a ticket for the cart and order streams,
// which open only with one.
func (h *harness) withTicket(t *testing.T, path, token string) (string, string) {
	t.Helper()
	if token == "" || !(strings.HasPrefix(path, "/streams/carts/") || strings.HasPrefix(path, "/streams/orders/")) {
		return path, token
	}
	return h.ticketPath(t, path, token), ""
}

// publish publishes notices of one type with the given data and returns their ids.
func (h *harness) publish(t *testing.T, pub *notices.Publisher, stream, typ string, data ...string) []string {
	t.Helper()
	items := make([]notices.Item, len(data))
	for i, d := range data {
		items[i] = notices.Item{Stream: stream, Type: typ, Data: json.RawMessage(d)}
	}
	ids, err := pub.Publish(context.Background(), items...)
	require.NoError(t, err)
	return ids
}

// ticketPath is path with a ticket bought with token.
func (h *harness) ticketPath(t *testing.T, path, token string) string {
	t.Helper()
	bare, query, _ := strings.Cut(path, "?")
	sep := "?"
	if query != "" {
		sep = "&"
	}
	return path + sep + TicketParam + "=" + h.ticket(t, token, bare)
}

// request sends a GET; headers are name, value pairs. A token for a cart
// or order stream is exchanged for a ticket first.
func (h *harness) request(t *testing.T, ctx context.Context, path, token string, headers ...string) *http.Response {
	t.Helper()
	path, token = h.withTicket(t, path, token)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := h.http.Do(req)
	require.NoError(t, err)
	return res
}

// get sends a GET and reads the whole answer (for answers that are not streams).
func (h *harness) get(t *testing.T, path, token string, headers ...string) (*http.Response, string) {
	t.Helper()
	res := h.request(t, context.Background(), path, token, headers...)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

// frame is one SSE message: an event or a comment.
type frame struct {
	ID, Event, Data, Comment string
}

// sseConn is an open SSE stream read by a goroutine into frames.
type sseConn struct {
	res    *http.Response
	frames chan frame
	cancel context.CancelFunc
	done   chan struct{} // closed when the body ended
}

// open opens an SSE stream, expects 200 and waits for the comment sent on
// connect (after it the client is attached to its topic).
func (h *harness) open(t *testing.T, path, token string, headers ...string) *sseConn {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	res := h.request(t, ctx, path, token, headers...)
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		cancel()
		require.FailNow(t, "stream did not open", "%s: %d %s", path, res.StatusCode, b)
	}
	c := &sseConn{res: res, frames: make(chan frame, 8192), cancel: cancel, done: make(chan struct{})}
	go c.read()
	t.Cleanup(c.close)
	c.comment(t)
	return c
}

// read parses the body into frames until it ends.
func (c *sseConn) read() {
	defer close(c.done)
	defer close(c.frames)
	r := bufio.NewReader(c.res.Body)
	var f frame
	var data []string
	var has bool
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if has {
				f.Data = strings.Join(data, "\n")
				c.frames <- f
			}
			f, data, has = frame{}, nil, false
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		has = true
		switch name {
		case "":
			f.Comment = value
		case "id":
			f.ID = value
		case "event":
			f.Event = value
		case "data":
			data = append(data, value)
		}
	}
}

// next returns the next event, skipping comments.
func (c *sseConn) next(t *testing.T) frame {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case f, ok := <-c.frames:
			require.True(t, ok, "the stream ended")
			if f.Comment == "" || f.Event != "" || f.Data != "" {
				return f
			}
		case <-timeout:
			require.FailNow(t, "no event in time")
		}
	}
}

// comment returns the next frame, which must be a comment.
func (c *sseConn) comment(t *testing.T) frame {
	t.Helper()
	select {
	case f, ok := <-c.frames:
		require.True(t, ok, "the stream ended")
		require.NotEmpty(t, f.Comment, "want a comment, got %+v", f)
		return f
	case <-time.After(wait):
		require.FailNow(t, "no comment in time")
	}
	return frame{}
}

// ended waits for the server to end the stream.
func (c *sseConn) ended(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(within):
		require.FailNow(t, "the stream did not end")
	}
}

// close disconnects the client.
func (c *sseConn) close() {
	c.cancel()
	c.res.Body.Close()
	for range c.frames {
		// drain, so the reader is never stuck on a full channel
	}
	<-c.done
}

// waitFor polls cond in the test's goroutine until it holds or wait runs out.
// (testify's Eventually runs cond on a goroutine of its own, which would
// skew goroutine counts.)
func waitFor(t *testing.T, cond func() bool, msg string) bool {
	t.Helper()
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return assert.Fail(t, "condition never held: "+msg)
		}
		<-tick.C
	}
	return true
}

// attachedTo is how many clients receive stream's notices.
func attachedTo(h *Hub, stream string) int {
	h.mu.Lock()
	t := h.topics[stream]
	h.mu.Unlock()
	if t == nil {
		return 0
	}
	return t.attached()
}
