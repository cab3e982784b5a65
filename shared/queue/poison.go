package queue

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/prism-es/prism/shared/storage"
)

// maxReasonBytes bounds the failure reason kept with a poisoned message.
const maxReasonBytes = 1024

// PoisonRecord is the body of a message in a "-poison" queue: the original
// message and why it was given up on.
type PoisonRecord struct {
	Queue        string          `json:"queue"`
	MessageID    string          `json:"messageId"`
	Reason       string          `json:"reason"`
	DequeueCount int64           `json:"dequeueCount"`
	FailedAt     time.Time       `json:"failedAt"`
	Body         json.RawMessage `json:"body,omitempty"`
	BodyText     string          `json:"bodyText,omitempty"`
}

// Original returns the message body as it was on the main queue.
func (r PoisonRecord) Original() []byte {
	if len(r.Body) > 0 {
		return r.Body
	}
	return []byte(r.BodyText)
}

// poisonHold is how long MoveToPoison hides the message while it moves it:
// long enough for the send and the delete.
const poisonHold = 30 * time.Second

// MoveToPoison puts the message, with reason, on the poison queue and then
// deletes it from the main queue. It first renews the message's visibility,
// which only its holder can do: a message that is no longer ours is left
// alone and ErrLost returned (poisoning it would race the delivery that
// holds it now). If the delete fails the message may later be poisoned twice,
// never lost. A body too large to wrap in a record (near the 64 KiB limit)
// is poisoned bare, its reason only logged: PeekPoison and Redrive take bare
// bodies as they are.
func (q *Queue) MoveToPoison(ctx context.Context, m *Message, reason string) error {
	if err := q.SetVisibility(ctx, m, poisonHold); err != nil {
		return err
	}
	if err := q.poisonCopy(ctx, m, m.Body, int(m.DequeueCount), reason); err != nil {
		return err
	}
	return q.Delete(ctx, m)
}

// poisonCopy puts body (m's, or one item of m's batch) on the poison queue
// with the record of why it failed after tries deliveries. It leaves m
// alone: the caller holds it and settles it.
func (q *Queue) poisonCopy(ctx context.Context, m *Message, body []byte, tries int, reason string) error {
	rec := PoisonRecord{Queue: q.name, MessageID: m.ID, Reason: truncate(reason, maxReasonBytes), DequeueCount: int64(tries), FailedAt: time.Now().UTC()}
	if raw, ok := bodyJSON(body); ok {
		rec.Body = raw
	} else {
		rec.BodyText = string(body)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if len(b) > MaxMessageBytes {
		slog.WarnContext(ctx, "message too large for a poison record; poisoned bare", "queue", q.name, "messageId", m.ID, "reason", rec.Reason)
		b = body
	}
	if err := checkBody(b); err != nil {
		return err
	}
	if _, err := q.poison.EnqueueMessage(ctx, string(b), &azqueue.EnqueueMessageOptions{TimeToLive: &neverExpire}); err != nil {
		return storage.Classify(err, "send to "+storage.PoisonQueue(q.name))
	}
	poisonTotal.WithLabelValues(q.name).Inc()
	return nil
}

// poisonRecord reads a poison-queue message: a PoisonRecord, or a bare body
// (poisoned too large to wrap, or put there by hand).
func (q *Queue) poisonRecord(id, text string) PoisonRecord {
	var rec PoisonRecord
	if json.Unmarshal([]byte(text), &rec) != nil || len(rec.Original()) == 0 {
		return PoisonRecord{Queue: q.name, MessageID: id, Reason: "(not a poison record)", BodyText: text}
	}
	return rec
}

// PeekPoison returns up to want (at most 32) poisoned messages without taking them.
func (q *Queue) PeekPoison(ctx context.Context, want int) ([]PoisonRecord, error) {
	parked, err := q.PeekParked(ctx, want)
	if err != nil {
		return nil, err
	}
	out := make([]PoisonRecord, len(parked))
	for i, p := range parked {
		out[i] = p.Record
	}
	return out, nil
}

// Redrive moves up to limit poisoned messages (limit <= 0: as many as the
// poison queue holds when it starts, so messages that fail again while it
// runs are not chased for ever) back to the main queue with their original
// bodies and returns how many it moved. Each is sent before its poison copy
// is deleted, so none is lost.
func (q *Queue) Redrive(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		depth, err := q.PoisonDepth(ctx)
		if err != nil || depth == 0 {
			return 0, err
		}
		limit = depth
	}
	moved := 0
	for moved < limit {
		n := int32(min(MaxBatch, limit-moved))
		vis := int32(60)
		resp, err := q.poison.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: &n, VisibilityTimeout: &vis})
		if err != nil {
			return moved, storage.Classify(err, "receive from "+storage.PoisonQueue(q.name))
		}
		if len(resp.Messages) == 0 {
			return moved, nil
		}
		for _, m := range resp.Messages {
			body := q.poisonRecord(deref(m.MessageID), deref(m.MessageText)).Original()
			if err := q.Send(ctx, body); err != nil {
				return moved, err
			}
			if _, err := q.poison.DeleteMessage(ctx, deref(m.MessageID), deref(m.PopReceipt), nil); err != nil && !IsNotFound(err) {
				return moved, storage.Classify(err, "delete from "+storage.PoisonQueue(q.name))
			}
			moved++
		}
	}
	return moved, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
