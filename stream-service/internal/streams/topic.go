package streams

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/r3labs/sse/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/tracing"
)

// errDropped says a client was dropped while it was being attached.
var errDropped = errors.New("client buffer overflowed during replay")

// topic is one logical stream with at least one client: a live listener, a
// cursor (the last notice id it delivered) and its clients. Its goroutine
// delivers notices in history order, filling gaps from the history, so
// every client gets each notice after its own lastSent exactly once.
type topic struct {
	hub    *Hub
	stream string

	// Set up by start; refs is guarded by hub.mu.
	refs  int
	ready chan struct{} // closed once start finished
	err   error         // why start failed

	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}     // closed when run returns (nil if never started)
	listener *notices.Listener // owned by run

	mu      sync.Mutex
	cursor  string
	clients map[*client]struct{}
}

func newTopic(h *Hub, stream string) *topic {
	return &topic{hub: h, stream: stream, ready: make(chan struct{}), clients: map[*client]struct{}{}}
}

// start subscribes (Listen returns once Redis confirmed it), THEN reads the
// newest history id as the cursor: a notice published in between arrives
// live and is skipped if the cursor already covers it.
func (t *topic) start() error {
	ctx, cancel := context.WithTimeout(context.Background(), t.hub.cfg.RedisTimeout)
	defer cancel()
	l, err := t.hub.sub.Listen(ctx, t.stream, t.hub.cfg.TopicBuffer)
	if err != nil {
		return err
	}
	cursor, err := t.hub.reader.Last(ctx, t.stream)
	if err != nil {
		l.Close()
		return err
	}
	t.listener, t.cursor = l, cursor
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.done = make(chan struct{})
	topicsGauge.Inc()
	go t.run()
	return nil
}

// stop ends the goroutine (which closes the listener) and waits for it.
func (t *topic) stop() {
	if t.done == nil {
		return
	}
	t.cancel()
	<-t.done
	topicsGauge.Dec()
}

func (t *topic) run() {
	defer close(t.done)
	defer func() {
		if t.listener != nil {
			t.listener.Close()
		}
	}()
	hb := time.NewTicker(t.hub.cfg.Heartbeat)
	defer hb.Stop()
	resync := time.NewTicker(t.hub.cfg.Resync)
	defer resync.Stop()
	for {
		var live <-chan notices.Notice
		if t.listener != nil {
			live = t.listener.C()
		}
		select {
		case <-t.ctx.Done():
			return
		case n, ok := <-live:
			if !ok {
				t.relisten()
				continue
			}
			t.onNotice(n)
		case <-resync.C:
			if t.listener == nil {
				t.relisten()
			}
			t.resync()
		case <-hb.C:
			t.heartbeat()
		}
	}
}

// relisten replaces a listener whose channel closed (it was dropped for
// falling behind) and reads what it missed from the history. On failure the
// listener stays nil and the next resync tick tries again.
func (t *topic) relisten() {
	if t.listener != nil {
		slog.Warn("topic listener closed; resubscribing", "stream", t.stream, "dropped", t.listener.Dropped())
	}
	t.listener = nil
	if t.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(t.ctx, t.hub.cfg.RedisTimeout)
	defer cancel()
	l, err := t.hub.sub.Listen(ctx, t.stream, t.hub.cfg.TopicBuffer)
	if err != nil {
		slog.Warn("topic cannot resubscribe; retrying at the next resync", "stream", t.stream, "err", err)
		return
	}
	t.listener = l
	resubscribes.Inc()
	t.fill()
}

// The run goroutine alone moves the cursor (always under mu), so it reads
// the cursor without the lock and does its Redis reads outside it: a slow
// history read holds up this topic's own next notices (they must follow in
// order) and heartbeats (for at most RedisTimeout), never a client
// attaching or leaving, and never another topic.

// onNotice delivers a live notice, first filling the gap from the history if
// the notice's predecessor is not the cursor.
func (t *topic) onNotice(n notices.Notice) {
	if notices.CompareIDs(n.ID, t.cursor) <= 0 {
		return
	}
	if n.PrevID != t.cursor && notices.CompareIDs(n.PrevID, t.cursor) > 0 {
		if !t.fill() {
			return // keep the cursor: the next resync reads n from the history
		}
	}
	if notices.CompareIDs(n.ID, t.cursor) > 0 {
		t.mu.Lock()
		t.deliverLocked(n)
		t.mu.Unlock()
	}
}

// resync catches notices that never arrived live (pub/sub is at-most-once,
// e.g. while Redis reconnected).
func (t *topic) resync() {
	ctx, cancel := context.WithTimeout(t.ctx, t.hub.cfg.RedisTimeout)
	defer cancel()
	last, err := t.hub.reader.Last(ctx, t.stream)
	if err != nil {
		if t.ctx.Err() == nil {
			slog.Warn("topic resync failed", "stream", t.stream, "err", err)
		}
		return
	}
	if notices.CompareIDs(last, t.cursor) > 0 {
		t.fill()
	}
}

// fill delivers every history entry after the cursor, in order, reading
// each page outside the lock and delivering it under the lock. If the
// history no longer reaches back to the cursor, every client gets a reset.
// It reports false if the history could not be read. Run goroutine only.
func (t *topic) fill() bool {
	ctx, cancel := context.WithTimeout(t.ctx, t.hub.cfg.RedisTimeout)
	defer cancel()
	gapFills.Inc()
	for {
		var (
			page  []notices.Notice
			reset bool
			err   error
		)
		if t.cursor == "" {
			// The history was empty when the topic started: all of it is new.
			page, err = t.hub.reader.Head(ctx, t.stream, t.hub.cfg.ReplayPage)
		} else {
			page, reset, err = t.hub.reader.After(ctx, t.stream, t.cursor, t.hub.cfg.ReplayPage)
		}
		if err != nil {
			if t.ctx.Err() == nil {
				slog.Warn("topic cannot read the history", "stream", t.stream, "after", t.cursor, "err", err)
			}
			return false
		}
		if reset {
			return t.reset(ctx)
		}
		t.mu.Lock()
		for _, n := range page {
			if notices.CompareIDs(n.ID, t.cursor) > 0 {
				t.deliverLocked(n)
			}
		}
		t.mu.Unlock()
		if int64(len(page)) < t.hub.cfg.ReplayPage {
			return true
		}
	}
}

// reset moves the cursor to the newest entry and tells every client to
// refetch its state: the topic cannot tell what it missed. Run goroutine
// only.
func (t *topic) reset(ctx context.Context) bool {
	last, err := t.hub.reader.Last(ctx, t.stream)
	if err != nil {
		slog.Warn("topic cannot read the history", "stream", t.stream, "err", err)
		return false
	}
	slog.Warn("topic lost its place in the history; resetting its clients", "stream", t.stream, "cursor", t.cursor, "newest", last)
	t.mu.Lock()
	defer t.mu.Unlock()
	ev := resetEvent(t.cursor, last)
	for c := range t.clients {
		if t.sendLocked(c, ev) {
			c.lastSent = last
			resetsSent.Inc()
		}
	}
	t.cursor = last
	return true
}

// deliverLocked hands n to every client that has not had it and advances
// the cursor.
func (t *topic) deliverLocked(n notices.Notice) {
	// One span per notice and topic (not per client), continuing the trace
	// of the change it announces.
	ctx, span := tracing.StartFrom(context.Background(), n.Traceparent, "sse.deliver "+n.Type, trace.SpanKindProducer,
		attribute.String("prism.stream", t.stream), attribute.Int("prism.clients", len(t.clients)))
	defer span.End()
	slog.Debug("notice delivered", "stream", t.stream, "type", n.Type, "noticeId", n.ID, "clients", len(t.clients), "traceId", tracing.TraceID(ctx))
	ev := eventOf(n)
	for c := range t.clients {
		if notices.CompareIDs(n.ID, c.lastSent) <= 0 {
			continue
		}
		if t.sendLocked(c, ev) {
			c.lastSent = n.ID
		}
	}
	t.cursor = n.ID
}

// sendLocked sends ev to c, dropping c if its buffer is full.
func (t *topic) sendLocked(c *client, ev *sse.Event) bool {
	if c.send(ev) {
		countSent(ev)
		return true
	}
	t.dropLocked(c)
	return false
}

// dropLocked disconnects a client that does not keep up; it will reconnect
// with its Last-Event-ID and resume from the history.
func (t *topic) dropLocked(c *client) {
	delete(t.clients, c)
	clientsDropped.Inc()
	c.close(reasonBufferFull)
}

// heartbeat writes a comment to every client.
func (t *topic) heartbeat() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.clients {
		if !c.send(heartbeat) {
			t.dropLocked(c)
		}
	}
}

// maxCatchUp bounds the rounds an attaching client spends catching up with
// a topic that keeps moving ahead of it (each round reads what was
// published during the one before, so a few suffice); past it the client is
// dropped and resumes from what it received.
const maxCatchUp = 100

// attach adds a registered client: one comment at once (so proxies see
// bytes), then, if it resumes, exactly the history entries after its
// Last-Event-ID (or one reset event when the history cannot say), then live
// notices. The history is read outside the topic's lock, a page at a time,
// while live delivery to the other clients goes on; the client joins them
// under the lock once it has caught up with the cursor, so nothing is sent
// to it twice or out of order (issue 12 item 10).
func (t *topic) attach(c *client) error {
	if c.ctx.Err() != nil {
		return nil
	}
	if !c.send(heartbeat) {
		clientsDropped.Inc()
		return errDropped
	}
	ctx, cancel := context.WithTimeout(c.ctx, t.hub.cfg.RedisTimeout)
	defer cancel()
	from := c.lastID
	for round := 0; ; round++ {
		t.mu.Lock()
		if from == "" || from == t.cursor || (round > 0 && notices.CompareIDs(from, t.cursor) >= 0) {
			// New, holding everything the topic has delivered (a reconnect
			// that missed nothing), or caught up: live from here. Entries of
			// the history the topic has not delivered yet (from > cursor)
			// are skipped by deliverLocked.
			if from == "" {
				from = t.cursor
			}
			c.lastSent = from
			t.clients[c] = struct{}{}
			t.mu.Unlock()
			return nil
		}
		t.mu.Unlock()
		if round == maxCatchUp {
			clientsDropped.Inc()
			return errDropped
		}
		page, reset, err := t.hub.reader.After(ctx, t.stream, from, t.hub.cfg.ReplayPage)
		if err != nil {
			return err
		}
		if reset {
			return t.resetClient(c, c.lastID)
		}
		for _, n := range page {
			if !c.send(eventOf(n)) {
				clientsDropped.Inc()
				return errDropped
			}
			eventsSent.WithLabelValues(n.Type).Inc()
			replayedEvents.Inc()
			from = n.ID
		}
		if len(page) == 0 {
			t.mu.Lock()
			behind := notices.CompareIDs(from, t.cursor) < 0
			t.mu.Unlock()
			if behind {
				// The history ended before the topic's cursor (it was
				// replaced meanwhile): the client cannot be brought up to date.
				return t.resetClient(c, from)
			}
		}
	}
}

// resetClient sends c one reset event and starts it live from the cursor.
func (t *topic) resetClient(c *client, from string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.resetClientLocked(c, from)
}

// resetClientLocked sends c one reset event and starts it live from the cursor.
func (t *topic) resetClientLocked(c *client, from string) error {
	ev := resetEvent(from, t.cursor)
	if !c.send(ev) {
		clientsDropped.Inc()
		return errDropped
	}
	countSent(ev)
	resetsSent.Inc()
	c.lastSent = t.cursor
	t.clients[c] = struct{}{}
	return nil
}

// detach removes c (a no-op if it was dropped or never attached).
func (t *topic) detach(c *client) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.clients, c)
}

// attached is how many clients receive the topic's notices.
func (t *topic) attached() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.clients)
}

func countSent(ev *sse.Event) { eventsSent.WithLabelValues(string(ev.Event)).Inc() }
