package queue

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/prism-es/prism/shared/storage"
)

// Stats are one queue's numbers as storage reports them.
type Stats struct {
	Queue string `json:"queue"`
	// Depth and Poison are the approximate message counts of the queue and
	// its poison twin (delayed messages, such as saga deadlines, included).
	Depth  int `json:"depth"`
	Poison int `json:"poison"`
	// OldestAt is when the message at the front of the queue was sent (zero:
	// no visible message).
	OldestAt time.Time `json:"oldestAt,omitzero"`
}

// Names lists the account's main queues (not their -poison twins), sorted.
func Names(ctx context.Context, account *storage.Account) ([]string, error) {
	var names []string
	pager := account.Queues.NewListQueuesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, storage.Classify(err, "list queues")
		}
		for _, q := range page.Queues {
			if q.Name != nil && !strings.HasSuffix(*q.Name, storage.PoisonQueue("")) {
				names = append(names, *q.Name)
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

// List returns the Stats of every main queue of the account (one listing,
// then three requests per queue). A queue whose poison twin does not exist
// has Poison 0.
func List(ctx context.Context, account *storage.Account) ([]Stats, error) {
	names, err := Names(ctx, account)
	if err != nil {
		return nil, err
	}
	out := make([]Stats, 0, len(names))
	for _, n := range names {
		st, err := open(account, n, nil).Stats(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Peek returns the named queue for looking at it and its poison twin
// (Stats, PeekParked, redrives): unlike Open, it does not count this
// process as one that sends to it.
func Peek(account *storage.Account, name string) *Queue { return open(account, name, nil) }

// Stats reads the queue's depth, its poison queue's depth and the age of
// its front message.
func (q *Queue) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Queue: q.name}
	var err error
	if st.Depth, err = q.Depth(ctx); err != nil {
		return st, err
	}
	if st.Poison, err = q.PoisonDepth(ctx); err != nil && !IsNotFound(err) {
		return st, err
	}
	one := int32(1)
	resp, err := q.client.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: &one})
	if err != nil {
		return st, storage.Classify(err, "peek "+q.name)
	}
	if len(resp.Messages) > 0 && resp.Messages[0].InsertionTime != nil {
		st.OldestAt = resp.Messages[0].InsertionTime.UTC()
	}
	return st, nil
}

// Parked is a message of the poison queue: its own id there (what
// RedriveOne takes), when it was parked, and the record of why.
type Parked struct {
	ID       string       `json:"id"`
	ParkedAt time.Time    `json:"parkedAt"`
	Record   PoisonRecord `json:"record"`
}

// PeekParked returns up to want (at most 32, a Storage Queues limit) parked
// messages from the front of the poison queue without taking them.
func (q *Queue) PeekParked(ctx context.Context, want int) ([]Parked, error) {
	n := int32(min(max(want, 1), MaxBatch))
	resp, err := q.poison.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: &n})
	if err != nil {
		return nil, storage.Classify(err, "peek "+storage.PoisonQueue(q.name))
	}
	out := make([]Parked, 0, len(resp.Messages))
	for _, m := range resp.Messages {
		p := Parked{ID: deref(m.MessageID), Record: q.poisonRecord(deref(m.MessageID), deref(m.MessageText))}
		if m.InsertionTime != nil {
			p.ParkedAt = m.InsertionTime.UTC()
		}
		out = append(out, p)
	}
	return out, nil
}

// RedriveOne moves the parked message with poison-queue id id back to the
// main queue (sent before its poison copy is deleted, as Redrive does) and
// reports whether it found it. Storage Queues cannot take a message by id:
// it receives the poison queue in batches, hidden for a minute, moves the
// one it looks for and makes every other visible again at once.
func (q *Queue) RedriveOne(ctx context.Context, id string) (bool, error) {
	depth, err := q.PoisonDepth(ctx)
	if err != nil || depth == 0 {
		return false, err
	}
	seen := 0
	var held []*Message
	defer func() {
		// Put back what was looked at, whatever happened.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		for _, m := range held {
			_, _ = q.poison.UpdateMessage(rctx, m.ID, m.popReceipt, string(m.Body), &azqueue.UpdateMessageOptions{VisibilityTimeout: new(int32)})
		}
	}()
	for seen < depth {
		n := int32(min(MaxBatch, depth-seen))
		vis := int32(60)
		resp, err := q.poison.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: &n, VisibilityTimeout: &vis})
		if err != nil {
			return false, storage.Classify(err, "receive from "+storage.PoisonQueue(q.name))
		}
		if len(resp.Messages) == 0 {
			return false, nil
		}
		var found *Message
		for _, m := range resp.Messages {
			seen++
			msg := &Message{ID: deref(m.MessageID), Body: []byte(deref(m.MessageText)), popReceipt: deref(m.PopReceipt)}
			if msg.ID == id && found == nil {
				found = msg
			} else {
				held = append(held, msg)
			}
		}
		if found == nil {
			continue
		}
		if err := q.Send(ctx, q.poisonRecord(id, string(found.Body)).Original()); err != nil {
			held = append(held, found)
			return false, err
		}
		if _, err := q.poison.DeleteMessage(ctx, id, found.popReceipt, nil); err != nil && !IsNotFound(err) {
			return true, storage.Classify(err, "delete from "+storage.PoisonQueue(q.name))
		}
		return true, nil
	}
	return false, nil
}
