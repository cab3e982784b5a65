package streams

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/r3labs/sse/v2"

	"github.com/prism-es/prism/shared/notices"
)

// Close reasons, in logs.
const (
	reasonGone       = "client went away"
	reasonBufferFull = "buffer full"
	reasonShutdown   = "shutting down"
	reasonReplay     = "replay failed"
)

// heartbeat is the comment event that keeps proxies and clients from
// timing the connection out.
var heartbeat = &sse.Event{Comment: []byte("hb")}

// client is one SSE connection: its own r3labs stream (id = conn id), so a
// slow client fills only its own buffer.
type client struct {
	id      string
	topic   *topic // the logical stream's topic
	kind    string
	lastID  string // Last-Event-ID the client resumes after ("" = live only)
	srv     *sse.Server
	w       http.ResponseWriter
	ctx     context.Context // passed to r3labs ServeHTTP; cancelling it ends the stream
	cancel  context.CancelFunc
	started time.Time

	// lastSent is the id of the last notice handed to the client; guarded
	// by its topic's mu.
	lastSent string

	mu        sync.Mutex
	reason    string
	closed    bool
	finished  bool           // the handler is done with w
	ended     bool           // r3labs ServeHTTP returned: no attach may start
	attaching sync.WaitGroup // an attach in progress
}

// send hands ev to the client's r3labs stream without blocking; false means
// the client's buffer is full.
func (c *client) send(ev *sse.Event) bool { return c.srv.TryPublish(c.id, ev) }

// close ends the client's stream: a write deadline in the past makes a write
// blocked on a stalled peer return, and cancelling the context makes r3labs
// deregister the subscriber and close its channel, so ServeHTTP returns. The
// handler removes the r3labs stream after that (removing it first would
// strand r3labs' deregister goroutine). Closing twice is harmless.
func (c *client) close(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed, c.reason = true, reason
	if !c.finished {
		_ = http.NewResponseController(c.w).SetWriteDeadline(time.Now())
	}
	c.cancel()
}

// closeReason is why the client was closed ("" if it was not).
func (c *client) closeReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// beginAttach reports whether an attach may start (ServeHTTP has not returned).
func (c *client) beginAttach() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended || c.closed {
		return false
	}
	c.attaching.Add(1)
	return true
}

// end marks that ServeHTTP returned and waits for an attach in progress.
func (c *client) end() {
	c.mu.Lock()
	c.ended = true
	c.mu.Unlock()
	c.attaching.Wait()
}

// finish marks that the handler no longer uses w.
func (c *client) finish() {
	c.mu.Lock()
	c.finished = true
	c.mu.Unlock()
}

// eventOf is the SSE event of a notice: id = the notice's history id,
// event = its type, data = its data as compact JSON.
func eventOf(n notices.Notice) *sse.Event {
	data := []byte(n.Data)
	var buf bytes.Buffer
	if json.Compact(&buf, data) == nil {
		data = buf.Bytes()
	}
	if len(data) == 0 {
		// r3labs ends the stream on an event without data or comment.
		data = []byte("null")
	}
	return &sse.Event{ID: []byte(n.ID), Event: []byte(n.Type), Data: data}
}

// resetEvent tells a client to refetch its state: the history cannot say
// what followed from, and it resumes from cursor.
func resetEvent(from, cursor string) *sse.Event {
	const maxShown = 128
	if len(from) > maxShown {
		from = from[:maxShown] + "…"
	}
	data, _ := json.Marshal(struct {
		Reason      string `json:"reason"`
		LastEventID string `json:"lastEventId"`
	}{"history does not reach back to " + from + "; refetch your state", cursor})
	return &sse.Event{ID: []byte(cursor), Event: []byte("reset"), Data: data}
}
