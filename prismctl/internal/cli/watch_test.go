package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/prismctl/internal/cli"
)

// streamServer plays prism-api's ticket route and a stream: a ticket is
// sold for token T, for a cart stream only; the first connection gets
// events 1 and 2 and is dropped; the second must resume after 2 (with a new
// ticket: each opens once) and gets a reset and event 3.
type streamServer struct {
	mu       sync.Mutex
	requests []*http.Request
	tickets  map[string]string // unused ticket → stream
	sold     int
}

func (s *streamServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/stream-tickets" {
		s.sell(w, r)
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, r.Clone(context.Background()))
	n := len(s.requests)
	stream, ok := s.tickets[r.URL.Query().Get("ticket")]
	delete(s.tickets, r.URL.Query().Get("ticket"))
	s.mu.Unlock()
	if !ok || stream != r.URL.Path {
		problem(w, http.StatusUnauthorized, "invalid, used or expired stream ticket")
		return
	}
	if r.URL.Path != "/streams/carts/"+cartID {
		problem(w, http.StatusNotFound, "no cart")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	switch n {
	case 1:
		fmt.Fprint(w, ": hb\n\nid: 1-0\nevent: cart.updated\ndata: {\"version\":1}\n\nid: 2-0\nevent: cart.updated\ndata: {\"version\":2}\n\n")
		return // drop
	default:
		fmt.Fprint(w, "id: 5-0\nevent: reset\ndata: {\"reason\":\"history does not reach back to 2-0; refetch your state\",\"lastEventId\":\"5-0\"}\n\n")
		fmt.Fprint(w, "id: 6-0\nevent: cart.updated\ndata: {\"version\":3}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
}

func (s *streamServer) sell(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer T" {
		problem(w, http.StatusUnauthorized, "missing or invalid token")
		return
	}
	var req struct{ Stream string }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || !strings.HasPrefix(req.Stream, "/streams/carts/") {
		problem(w, http.StatusNotFound, "no cart")
		return
	}
	s.mu.Lock()
	s.sold++
	ticket := fmt.Sprintf("TK%d", s.sold)
	if s.tickets == nil {
		s.tickets = map[string]string{}
	}
	s.tickets[ticket] = req.Stream
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"ticket": ticket, "expiresAt": "2030-01-01T00:00:00Z", "stream": req.Stream})
}

func (s *streamServer) seen() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.requests...)
}

func watchUntil(t *testing.T, srv *httptest.Server, want string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan result, 1)
	go func() {
		done <- runCLICtx(t, ctx, nil, &out, &errOut, append([]string{"watch", "--streams", srv.URL, "--api", srv.URL}, args...)...)
	}()
	waitFor(t, "the watch output to contain "+want, func() bool { return strings.Contains(out.String(), want) })
	cancel()
	select {
	case r := <-done:
		return out.String(), errOut.String(), r.code
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not stop after cancel")
	}
	return "", "", -1
}

func TestWatchPrintsEventsAndResumesAfterADrop(t *testing.T) {
	t.Parallel()
	s := &streamServer{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	out, errOut, code := watchUntil(t, srv, `{"version":3}`, "cart/"+cartID, "--token", "T")
	assert.Equal(t, cli.ExitOK, code, "Ctrl-C ends a watch normally")

	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4, out)
	assert.Regexp(t, `^\d\d:\d\d:\d\d cart.updated id=1-0 \{"version":1\}$`, lines[0])
	assert.Contains(t, lines[1], `cart.updated id=2-0 {"version":2}`)
	assert.Contains(t, lines[2], "---- reset: history does not reach back to 2-0; refetch your state; resuming from 5-0 ----")
	assert.Contains(t, lines[3], `cart.updated id=6-0 {"version":3}`)

	reqs := s.seen()
	require.Len(t, reqs, 2)
	assert.Empty(t, reqs[0].Header.Get("Last-Event-ID"))
	assert.Equal(t, "2-0", reqs[1].Header.Get("Last-Event-ID"), "resumes after the last event printed")
	assert.Equal(t, "TK1", reqs[0].URL.Query().Get("ticket"))
	assert.Equal(t, "TK2", reqs[1].URL.Query().Get("ticket"), "each connection buys a new ticket")
	for _, r := range reqs {
		assert.NotContains(t, r.URL.String(), "T&", "no token in the stream URL")
		assert.Empty(t, r.URL.Query().Get("access_token"))
		assert.Empty(t, r.Header.Get("Authorization"), "the token goes to the API only")
	}
	assert.Contains(t, errOut, "connection lost")
	assert.Contains(t, errOut, "reconnected; resuming after 2-0")
}

func TestWatchJSONLines(t *testing.T) {
	t.Parallel()
	s := &streamServer{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	out, errOut, _ := watchUntil(t, srv, `"version":3`, "cart/"+cartID, "--token", "T", "--json", "--last-event-id", "0-0")
	assert.Equal(t, "0-0", s.seen()[0].Header.Get("Last-Event-ID"), "--last-event-id is where the first request resumes")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4, out)
	var ev struct {
		ID    string          `json:"id"`
		Event string          `json:"event"`
		Data  json.RawMessage `json:"data"`
		Time  string          `json:"time"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &ev))
	assert.Equal(t, "1-0", ev.ID)
	assert.Equal(t, "cart.updated", ev.Event)
	assert.JSONEq(t, `{"version":1}`, string(ev.Data))
	assert.NotEmpty(t, ev.Time)
	require.NoError(t, json.Unmarshal([]byte(lines[2]), &ev))
	assert.Equal(t, "reset", ev.Event)
	assert.Contains(t, errOut, "reset: history does not reach back")
}

func TestWatchErrors(t *testing.T) {
	t.Parallel()
	s := &streamServer{}
	srv := httptest.NewServer(s)
	defer srv.Close()

	r := runCLI(t, nil, "watch", "cart/"+cartID, "--streams", srv.URL, "--api", srv.URL, "--token", "wrong")
	assert.Equal(t, cli.ExitFailure, r.code)
	assert.Contains(t, r.stderr, "Unauthorized: missing or invalid token")
	assert.NotContains(t, r.stderr, "wrong", "the token is not printed")

	r = runCLI(t, nil, "watch", "order/x", "--streams", srv.URL, "--api", srv.URL, "--token", "T")
	assert.Equal(t, cli.ExitFailure, r.code)
	assert.Contains(t, r.stderr, "not yours")

	r = runCLI(t, nil, "watch", "me", "--streams", srv.URL)
	assert.Equal(t, cli.ExitFailure, r.code)
	assert.Contains(t, r.stderr, "needs a token")

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	r = runCLI(t, nil, "watch", "products", "--streams", closed.URL)
	assert.Equal(t, cli.ExitFailure, r.code)
	assert.Contains(t, r.stderr, "cannot reach the stream service at "+closed.URL+"/streams/products")
	assert.Contains(t, r.stderr, "make up")
}
