package queue

import (
	"context"
	"encoding/json"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/shard"
	"github.com/prism-es/prism/shared/storage"
)

// Commands are a deployment's command queues (DESIGN.md "Command shards"):
// N shard queues, shard k in account k mod len(accounts), and the deadlines
// queue on the primary account, where commands sent with a delay (a cart's
// expiry, the saga's payment deadline) wait, out of the autoscaler's sight,
// until they are due. Send routes each command to the shard of its stream,
// so every sender (prism-api, follow-ups, the saga) puts one aggregate's
// commands on one queue.
type Commands struct {
	shards    []*Queue
	accounts  []*storage.Account // of each shard
	deadlines *Queue
	primary   *storage.Account
}

var _ Sender = (*Commands)(nil)

// DeadlinesQueue names the queue of delayed commands.
const DeadlinesQueue = "deadlines"

// OpenCommands opens the n shard queues of the family base (the single queue
// base when n is 1) and the deadlines queue. waker may be nil.
func OpenCommands(accounts storage.Spread, base string, n int, waker Waker) *Commands {
	accs := accounts.Spread()
	c := &Commands{primary: accs.Primary(), deadlines: Open(accs.Primary(), DeadlinesQueue, waker)}
	for k, name := range shard.Names(base, n) {
		acc := accs.ForShard(k)
		c.shards = append(c.shards, Open(acc, name, waker))
		c.accounts = append(c.accounts, acc)
	}
	return c
}

// Send puts a command envelope on the queue of its stream's shard, or, sent
// WithDelay, on the deadlines queue (where no autoscaler counts it while it
// is hidden). A body that names no aggregate is refused as invalid.
func (c *Commands) Send(ctx context.Context, body []byte, opts ...SendOption) error {
	delayed, k, err := route(len(c.shards), body, opts)
	switch {
	case err != nil:
		return err
	case delayed:
		return c.deadlines.Send(ctx, body, opts...)
	}
	return c.shards[k].Send(ctx, body)
}

// streamOf reads the stream a command envelope addresses.
func streamOf(body []byte) (string, error) {
	var head struct {
		AggregateType string `json:"aggregateType"`
		AggregateID   string `json:"aggregateId"`
	}
	if err := json.Unmarshal(body, &head); err != nil || head.AggregateType == "" || head.AggregateID == "" {
		return "", apperr.New(apperr.Invalid, "not a command envelope: no aggregateType and aggregateId to route it by")
	}
	return envelope.StreamID(head.AggregateType, head.AggregateID), nil
}

// For is the shard queue of stream.
func (c *Commands) For(stream string) *Queue { return c.shards[shard.Of(stream, len(c.shards))] }

// Shards are the shard queues, in shard order.
func (c *Commands) Shards() []*Queue { return c.shards }

// Deadlines is the queue of delayed commands.
func (c *Commands) Deadlines() *Queue { return c.deadlines }

// Names are the shard queues' names, then the deadlines queue's.
func (c *Commands) Names() []string {
	out := make([]string, 0, len(c.shards)+1)
	for _, q := range c.shards {
		out = append(out, q.Name())
	}
	return append(out, c.deadlines.Name())
}

// Named is the command queue called name (a shard or the deadlines queue),
// or nil.
func (c *Commands) Named(name string) *Queue {
	if name == c.deadlines.Name() {
		return c.deadlines
	}
	for _, q := range c.shards {
		if q.Name() == name {
			return q
		}
	}
	return nil
}

// Ensure creates every shard queue in its account and the deadlines queue
// on the primary, each with its poison twin.
func (c *Commands) Ensure(ctx context.Context) error {
	for k, q := range c.shards {
		if err := c.accounts[k].EnsureQueues(ctx, q.Name()); err != nil {
			return err
		}
	}
	return c.primary.EnsureQueues(ctx, c.deadlines.Name())
}

// Ping checks that every command queue answers, each in its account.
func (c *Commands) Ping(ctx context.Context) error {
	for k, q := range c.shards {
		if err := c.accounts[k].PingQueues(ctx, q.Name()); err != nil {
			return err
		}
	}
	return c.primary.PingQueues(ctx, c.deadlines.Name())
}

// BatchedCommands routes as Commands does, through a Batcher per shard
// queue and one for the deadlines queue: commands sent at the same time to
// one shard (or delayed alike) share messages.
type BatchedCommands struct {
	c         *Commands
	shards    []*Batcher
	deadlines *Batcher
}

var _ Sender = (*BatchedCommands)(nil)

// Batched returns the commands' batching sender.
func (c *Commands) Batched() *BatchedCommands {
	b := &BatchedCommands{c: c, deadlines: NewBatcher(c.deadlines)}
	for _, q := range c.shards {
		b.shards = append(b.shards, NewBatcher(q))
	}
	return b
}

// Sender is the commands' batching sender when batch is set, else the
// commands themselves (a message per command).
func (c *Commands) Sender(batch bool) Sender {
	if batch {
		return c.Batched()
	}
	return c
}

// Send routes body as Commands.Send does, into the queue's batcher.
func (b *BatchedCommands) Send(ctx context.Context, body []byte, opts ...SendOption) error {
	delayed, k, err := route(len(b.shards), body, opts)
	switch {
	case err != nil:
		return err
	case delayed:
		return b.deadlines.Send(ctx, body, opts...)
	}
	return b.shards[k].Send(ctx, body)
}

// route says where a command goes among n shards: the deadlines queue when
// it is sent with a delay, else shard k of its stream.
func route(n int, body []byte, opts []SendOption) (delayed bool, k int, err error) {
	var o sendOptions
	for _, f := range opts {
		f(&o)
	}
	if o.delay > 0 {
		return true, 0, nil
	}
	stream, err := streamOf(body)
	if err != nil {
		return false, 0, err
	}
	return false, shard.Of(stream, n), nil
}
