package sse_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/prismctl/internal/sse"
)

// history is a fake stream server: it holds numbered events, sends those
// after the request's Last-Event-ID, and drops the connection after perConn
// events (0: never), recording each request's Last-Event-ID.
type history struct {
	mu       sync.Mutex
	events   int
	perConn  int
	resumes  []string
	failures int // answer this many requests with 503 first
}

func (h *history) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.resumes = append(h.resumes, r.Header.Get("Last-Event-ID"))
	if h.failures > 0 {
		h.failures--
		h.mu.Unlock()
		w.Header().Set("Retry-After", "0")
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	h.mu.Unlock()
	from := 0
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		n, err := strconv.Atoi(id)
		if err != nil {
			http.Error(w, "bad id", http.StatusBadRequest)
			return
		}
		from = n
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": connected\n\n")
	sent := 0
	for i := from + 1; i <= h.events; i++ {
		fmt.Fprintf(w, "id: %d\nevent: tick\ndata: {\"n\":%d}\n\n", i, i)
		sent++
		if h.perConn > 0 && sent == h.perConn && i < h.events {
			// Drop mid-way: half of the next frame, then close.
			fmt.Fprintf(w, "id: %d\ndata: partial", i+1)
			return
		}
	}
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

func (h *history) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.resumes...)
}

func fastWatcher(url string) *sse.Watcher {
	return &sse.Watcher{URL: url, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

// collect runs w until it has n events (or 10 s pass) and returns them.
func collect(t *testing.T, w *sse.Watcher, n int) []sse.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []sse.Event
	w.OnEvent = func(ev sse.Event) error {
		got = append(got, ev)
		if len(got) == n {
			cancel()
		}
		return nil
	}
	err := w.Run(ctx)
	require.ErrorIs(t, err, context.Canceled, "want %d events, got %d", n, len(got))
	return got
}

func TestWatcherReconnectsWithLastEventIDAndResumesWithoutGapOrDuplicate(t *testing.T) {
	t.Parallel()
	h := &history{events: 7, perConn: 2}
	srv := httptest.NewServer(h)
	defer srv.Close()

	w := fastWatcher(srv.URL)
	var drops int
	w.OnDrop = func(err error, _ time.Duration) { drops++ }
	got := collect(t, w, 7)

	var ids []string
	for i, ev := range got {
		ids = append(ids, ev.ID)
		assert.Equal(t, "tick", ev.Type)
		assert.JSONEq(t, fmt.Sprintf(`{"n":%d}`, i+1), ev.Data)
	}
	assert.Equal(t, []string{"1", "2", "3", "4", "5", "6", "7"}, ids)
	assert.Equal(t, []string{"", "2", "4", "6"}, h.seen(), "each reconnect resumes after the last complete event")
	assert.Equal(t, 3, drops)
	assert.Equal(t, "7", w.LastEventID)
}

func TestWatcherStartsFromAGivenLastEventID(t *testing.T) {
	t.Parallel()
	h := &history{events: 5}
	srv := httptest.NewServer(h)
	defer srv.Close()
	w := fastWatcher(srv.URL)
	w.LastEventID = "3"
	got := collect(t, w, 2)
	assert.Equal(t, "4", got[0].ID)
	assert.Equal(t, "5", got[1].ID)
	assert.Equal(t, []string{"3"}, h.seen())
}

func TestWatcherRetriesTemporaryFailuresAfterConnecting(t *testing.T) {
	t.Parallel()
	h := &history{events: 4, perConn: 2}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		// After the first connection, fail twice with 503 before serving again.
		if len(h.resumes) == 1 {
			h.failures = 2
		}
		h.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	got := collect(t, fastWatcher(srv.URL), 4)
	assert.Len(t, got, 4)
	assert.Equal(t, []string{"", "2", "2", "2"}, h.seen())
}

func TestWatcherStopsOnAClientError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"title":"Not Found","status":404,"detail":"no cart x"}`)
	}))
	defer srv.Close()
	w := fastWatcher(srv.URL)
	w.RetryFirst = true
	w.OnEvent = func(sse.Event) error { return nil }
	err := w.Run(context.Background())
	var re *sse.ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, http.StatusNotFound, re.StatusCode)
	assert.Contains(t, string(re.Body), "no cart x")
}

func TestWatcherReturnsTheFirstConnectFailure(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more
	w := fastWatcher(url)
	w.OnEvent = func(sse.Event) error { return nil }
	err := w.Run(context.Background())
	require.Error(t, err)
	var re *sse.ResponseError
	assert.False(t, errors.As(err, &re))
}

func TestWatcherRefusesANonStreamAnswer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html>")
	}))
	defer srv.Close()
	w := fastWatcher(srv.URL)
	w.OnEvent = func(sse.Event) error { return nil }
	err := w.Run(context.Background())
	assert.ErrorContains(t, err, "not an event stream")
}

func TestWatcherDropsAnIdleConnection(t *testing.T) {
	t.Parallel()
	h := &history{events: 1}
	srv := httptest.NewServer(h) // sends one event, then stays silent
	defer srv.Close()
	w := fastWatcher(srv.URL)
	w.IdleTimeout = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var dropErr error
	w.OnDrop = func(err error, _ time.Duration) {
		dropErr = err
		cancel()
	}
	w.OnEvent = func(sse.Event) error { return nil }
	require.ErrorIs(t, w.Run(ctx), context.Canceled)
	assert.ErrorIs(t, dropErr, sse.ErrIdle)
	assert.Equal(t, "1", w.LastEventID)
}

func TestWatcherStopsWhenOnEventFails(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(&history{events: 3})
	defer srv.Close()
	w := fastWatcher(srv.URL)
	boom := errors.New("boom")
	w.OnEvent = func(sse.Event) error { return boom }
	assert.ErrorIs(t, w.Run(context.Background()), boom)
}
