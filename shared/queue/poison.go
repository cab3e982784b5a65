package queue

import (
	"context"
	"encoding/json"
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

// MoveToPoison puts the message, with reason, on the poison queue and then
// deletes it from the main queue. If the delete fails the message may later
// be poisoned twice, never lost.
func (q *Queue) MoveToPoison(ctx context.Context, m *Message, reason string) error {
	rec := PoisonRecord{Queue: q.name, MessageID: m.ID, Reason: truncate(reason, maxReasonBytes), DequeueCount: m.DequeueCount, FailedAt: time.Now().UTC()}
	if raw, ok := bodyJSON(m.Body); ok {
		rec.Body = raw
	} else {
		rec.BodyText = string(m.Body)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := checkBody(b); err != nil {
		return err
	}
	if _, err := q.poison.EnqueueMessage(ctx, string(b), &azqueue.EnqueueMessageOptions{TimeToLive: &neverExpire}); err != nil {
		return storage.Classify(err, "send to "+storage.PoisonQueue(q.name))
	}
	poisonTotal.WithLabelValues(q.name).Inc()
	return q.Delete(ctx, m)
}

// PeekPoison returns up to want (at most 32) poisoned messages without taking them.
func (q *Queue) PeekPoison(ctx context.Context, want int) ([]PoisonRecord, error) {
	n := int32(min(max(want, 1), MaxBatch))
	resp, err := q.poison.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: &n})
	if err != nil {
		return nil, storage.Classify(err, "peek "+storage.PoisonQueue(q.name))
	}
	out := make([]PoisonRecord, 0, len(resp.Messages))
	for _, m := range resp.Messages {
		var rec PoisonRecord
		if json.Unmarshal([]byte(deref(m.MessageText)), &rec) != nil {
			rec = PoisonRecord{Queue: q.name, MessageID: deref(m.MessageID), Reason: "(not a poison record)", BodyText: deref(m.MessageText)}
		}
		out = append(out, rec)
	}
	return out, nil
}

// Redrive moves up to limit poisoned messages (limit <= 0: all) back to the
// main queue with their original bodies and returns how many it moved. Each
// is sent before its poison copy is deleted, so none is lost.
func (q *Queue) Redrive(ctx context.Context, limit int) (int, error) {
	moved := 0
	for limit <= 0 || moved < limit {
		want := MaxBatch
		if limit > 0 {
			want = min(want, limit-moved)
		}
		n := int32(want)
		vis := int32(60)
		resp, err := q.poison.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: &n, VisibilityTimeout: &vis})
		if err != nil {
			return moved, storage.Classify(err, "receive from "+storage.PoisonQueue(q.name))
		}
		if len(resp.Messages) == 0 {
			return moved, nil
		}
		for _, m := range resp.Messages {
			text := deref(m.MessageText)
			body := []byte(text)
			var rec PoisonRecord
			if json.Unmarshal(body, &rec) == nil && len(rec.Original()) > 0 {
				body = rec.Original()
			}
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
