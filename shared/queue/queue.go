// Package queue carries Prism's commands and events on Azure Storage Queues:
// a Queue adapter (send with size check, receive, delete, visibility,
// poison queue, redrive) and the Consumer loop every service runs
// (DESIGN.md "Queues").
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/storage"
)

// MaxMessageBytes is the Storage Queue message size limit.
const MaxMessageBytes = 64 * 1024

// MaxBatch is the most messages one receive may return.
const MaxBatch = 32

// Sender puts messages on a queue. Services depend on this port.
type Sender interface {
	Send(ctx context.Context, body []byte, opts ...SendOption) error
}

// SendOption adjusts one send.
type SendOption func(*sendOptions)

type sendOptions struct {
	delay time.Duration
}

// WithDelay keeps the message invisible for d after sending (Storage Queues
// allow up to 7 days). Saga deadlines are sent this way.
func WithDelay(d time.Duration) SendOption { return func(o *sendOptions) { o.delay = d } }

// Waker lets a sender wake an idle consumer of a queue at once. The Redis
// implementation lives in package nudge.
type Waker interface {
	// Wake tells one sleeping consumer of the queue that a message is waiting.
	Wake(ctx context.Context, queue string) error
	// Wait sleeps up to d, returning early when woken or when ctx ends.
	Wait(ctx context.Context, queue string, d time.Duration)
}

// Message is one received message. Its pop receipt changes whenever its
// visibility is extended, so it is guarded.
type Message struct {
	ID           string
	Body         []byte
	DequeueCount int64
	InsertedAt   time.Time

	mu         sync.Mutex
	popReceipt string
}

// Queue is one Storage Queue and its poison twin.
type Queue struct {
	name   string
	client *azqueue.QueueClient
	poison *azqueue.QueueClient
	waker  Waker
}

var _ Sender = (*Queue)(nil)

// Open returns the named queue of the account. waker may be nil. Its sent
// counter starts at zero (the operations console reads "has the queue open
// and does not consume it" as "sends to it").
func Open(account *storage.Account, name string, waker Waker) *Queue {
	sentTotal.WithLabelValues(name)
	return open(account, name, waker)
}

// open is Open without the metric: for looking at a queue (List), which is
// not sending to it.
func open(account *storage.Account, name string, waker Waker) *Queue {
	return &Queue{
		name:   name,
		client: account.Queues.NewQueueClient(name),
		poison: account.Queues.NewQueueClient(storage.PoisonQueue(name)),
		waker:  waker,
	}
}

// Name is the queue's name.
func (q *Queue) Name() string { return q.name }

// neverExpire keeps messages until they are handled (the default is 7 days).
var neverExpire = int32(-1)

// Send puts body on the queue after checking its size, then wakes idle
// consumers (unless the message is delayed).
func (q *Queue) Send(ctx context.Context, body []byte, opts ...SendOption) error {
	var o sendOptions
	for _, f := range opts {
		f(&o)
	}
	if err := checkBody(body); err != nil {
		return err
	}
	eo := &azqueue.EnqueueMessageOptions{TimeToLive: &neverExpire}
	if o.delay > 0 {
		secs := int32((o.delay + time.Second - 1) / time.Second)
		eo.VisibilityTimeout = &secs
	}
	if _, err := q.client.EnqueueMessage(ctx, string(body), eo); err != nil {
		return storage.Classify(err, "send to "+q.name)
	}
	sentTotal.WithLabelValues(q.name).Inc()
	if o.delay == 0 && q.waker != nil {
		_ = q.waker.Wake(ctx, q.name) // best effort: consumers also poll
	}
	return nil
}

func checkBody(body []byte) error {
	if len(body) > MaxMessageBytes {
		return apperr.New(apperr.TooLarge, "message is %d bytes; the queue limit is %d", len(body), MaxMessageBytes)
	}
	if len(body) == 0 || !utf8.Valid(body) {
		return apperr.New(apperr.Invalid, "message must be non-empty UTF-8 text")
	}
	return nil
}

// Receive takes up to want messages (at most 32), hiding them for visibility.
func (q *Queue) Receive(ctx context.Context, want int, visibility time.Duration) ([]*Message, error) {
	n := int32(min(max(want, 1), MaxBatch))
	vis := int32(max(visibility/time.Second, 1))
	resp, err := q.client.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: &n, VisibilityTimeout: &vis})
	if err != nil {
		return nil, storage.Classify(err, "receive from "+q.name)
	}
	out := make([]*Message, 0, len(resp.Messages))
	for _, m := range resp.Messages {
		msg := &Message{ID: deref(m.MessageID), Body: []byte(deref(m.MessageText)), popReceipt: deref(m.PopReceipt)}
		if m.DequeueCount != nil {
			msg.DequeueCount = *m.DequeueCount
		}
		if m.InsertionTime != nil {
			msg.InsertedAt = *m.InsertionTime
		}
		out = append(out, msg)
	}
	return out, nil
}

// ErrLost says a received message is no longer this receiver's: its
// visibility ran out and the queue gave it to someone else (a new pop
// receipt), or it was deleted. Azure answers MessageNotFound (404) or
// PopReceiptMismatch (400) for a stale pop receipt; both mean the same here.
var ErrLost = errors.New("the message is no longer ours (its visibility ran out or it was deleted)")

// lostOr returns ErrLost (wrapped) when err says the pop receipt is stale,
// else err classified as a storage failure.
func lostOr(err error, op string) error {
	if queueerror.HasCode(err, queueerror.MessageNotFound, queueerror.PopReceiptMismatch) {
		return fmt.Errorf("%s: %w", op, ErrLost)
	}
	return storage.Classify(err, op)
}

// Delete removes a handled message. It returns ErrLost when the message is
// no longer ours to delete: another receiver holds it (or deleted it).
func (q *Queue) Delete(ctx context.Context, m *Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := q.client.DeleteMessage(ctx, m.ID, m.popReceipt, nil); err != nil {
		return lostOr(err, "delete from "+q.name)
	}
	return nil
}

// SetVisibility hides the message for d from now (0: visible at once). It
// keeps the new pop receipt, so a later Delete still works, and returns
// ErrLost when the message is no longer ours.
func (q *Queue) SetVisibility(ctx context.Context, m *Message, d time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	secs := int32((d + time.Second - 1) / time.Second) // whole seconds, a positive delay at least one
	resp, err := q.client.UpdateMessage(ctx, m.ID, m.popReceipt, string(m.Body), &azqueue.UpdateMessageOptions{VisibilityTimeout: &secs})
	if err != nil {
		return lostOr(err, "update visibility on "+q.name)
	}
	if resp.PopReceipt != nil {
		m.popReceipt = *resp.PopReceipt
	}
	return nil
}

// Depth is the queue's approximate message count.
func (q *Queue) Depth(ctx context.Context) (int, error) {
	return depth(ctx, q.client, q.name)
}

// PoisonDepth is the poison queue's approximate message count.
func (q *Queue) PoisonDepth(ctx context.Context) (int, error) {
	return depth(ctx, q.poison, storage.PoisonQueue(q.name))
}

func depth(ctx context.Context, c *azqueue.QueueClient, name string) (int, error) {
	p, err := c.GetProperties(ctx, nil)
	if err != nil {
		return 0, storage.Classify(err, "read depth of "+name)
	}
	if p.ApproximateMessagesCount == nil {
		return 0, nil
	}
	return int(*p.ApproximateMessagesCount), nil
}

// IsNotFound reports whether err says the queue or message does not exist.
func IsNotFound(err error) bool {
	return queueerror.HasCode(err, queueerror.QueueNotFound, queueerror.MessageNotFound) || storage.HasStatus(err, http.StatusNotFound)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// errPermanent marks failures that retrying cannot fix.
var errPermanent = errors.New("permanent failure")

// Permanent wraps err so the consumer moves the message to the poison queue at
// once instead of retrying it (an undecodable body, say).
func Permanent(err error) error { return errors.Join(errPermanent, err) }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool { return errors.Is(err, errPermanent) }

// bodyJSON returns the body as raw JSON when it is JSON, for embedding.
func bodyJSON(b []byte) (json.RawMessage, bool) {
	if json.Valid(b) {
		return json.RawMessage(b), true
	}
	return nil, false
}
