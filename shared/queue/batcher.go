package queue

import (
	"context"
	"encoding/json"
	"sync"
	"time"
)

// Batcher is a Sender that puts concurrent sends to one queue into batch
// messages, the way a database commits a group: a send with nothing in
// flight goes at once, alone (no added latency when the system is quiet);
// sends made while one is in flight wait for it and then go together, up to
// MaxBatch items and the message size limit. Each Send returns only once
// its message is stored (or failed), so a caller that deletes its input
// after Send keeps the outbox rule. Sends with different delays never share
// a message. Consumers unpack batches themselves (Items; the Consumer does
// it for its handler).
type Batcher struct {
	q *Queue
	// MaxInFlight is how many messages of one delay may be in flight at
	// once (default 1: on Azurite more sends at once only make each slower).
	MaxInFlight int

	mu     sync.Mutex
	groups map[time.Duration]*sendGroup
}

var _ Sender = (*Batcher)(nil)

// sendGroup are the pending sends of one delay and whether a flush runs.
type sendGroup struct {
	pending []*pendingSend
	// flushing counts the sends in flight (at most MaxInFlight).
	flushing int
}

type pendingSend struct {
	body []byte
	done chan error
}

// NewBatcher returns a Batcher sending to q.
func NewBatcher(q *Queue) *Batcher {
	return &Batcher{q: q, MaxInFlight: 1, groups: map[time.Duration]*sendGroup{}}
}

// Batching is a Batcher sending to q when batch is set, else q itself.
func Batching(q *Queue, batch bool) Sender {
	if batch {
		return NewBatcher(q)
	}
	return q
}

// Name is the queue's name.
func (b *Batcher) Name() string { return b.q.Name() }

// batchSendTimeout bounds one batch send; it is not any one caller's: a
// caller that gives up early does not cut its neighbours' send short.
const batchSendTimeout = 15 * time.Second

// Send queues body for the next batch of its delay and waits until that
// batch is stored. A body that is not a JSON object goes alone.
func (b *Batcher) Send(ctx context.Context, body []byte, opts ...SendOption) error {
	var o sendOptions
	for _, f := range opts {
		f(&o)
	}
	if len(body) == 0 || body[0] != '{' || !json.Valid(body) {
		return b.q.Send(ctx, body, opts...)
	}
	if err := checkBody(body); err != nil {
		return err
	}
	p := &pendingSend{body: body, done: make(chan error, 1)}
	b.mu.Lock()
	g := b.groups[o.delay]
	if g == nil {
		g = &sendGroup{}
		b.groups[o.delay] = g
	}
	g.pending = append(g.pending, p)
	if g.flushing < max(b.MaxInFlight, 1) {
		g.flushing++
		go b.flush(o.delay, g)
	}
	b.mu.Unlock()
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err() // it may still be sent: at least once, as ever
	}
}

// flush sends the group's pending bodies, a batch at a time, until none is
// left.
func (b *Batcher) flush(delay time.Duration, g *sendGroup) {
	for {
		b.mu.Lock()
		batch := take(&g.pending)
		if len(batch) == 0 {
			g.flushing--
			if g.flushing == 0 && b.groups[delay] == g {
				// Delays differ from send to send (a deadline's time left):
				// keep no group for one that has nothing left to send.
				delete(b.groups, delay)
			}
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		items := make([][]byte, len(batch))
		for i, p := range batch {
			items[i] = p.body
		}
		ctx, cancel := context.WithTimeout(context.Background(), batchSendTimeout)
		var opts []SendOption
		if delay > 0 {
			opts = append(opts, WithDelay(delay))
		}
		err := b.q.Send(ctx, encodeBatch(items, 1), opts...)
		cancel()
		if err == nil && len(batch) > 1 {
			batchedTotal.WithLabelValues(b.q.name).Add(float64(len(batch)))
		}
		for _, p := range batch {
			p.done <- err
		}
	}
}

// take removes from pending the longest prefix that fits one message, and
// at least the first body: alone it goes bare, without a batch's wrapping,
// so a body that fits a message but not a batch still goes (and does not
// stall the sends behind it).
func take(pending *[]*pendingSend) []*pendingSend {
	n, size := 0, batchOverhead
	for _, p := range *pending {
		if n == MaxBatch || (n > 0 && size+len(p.body)+1 > MaxMessageBytes) {
			break
		}
		n++
		size += len(p.body) + 1
	}
	batch := (*pending)[:n:n]
	*pending = (*pending)[n:]
	return batch
}
