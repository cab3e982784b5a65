package notices

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/redisconn"
)

// Reader reads stream histories.
type Reader struct {
	rdb *redis.Client
}

// NewReader returns a Reader on rdb.
func NewReader(rdb *redis.Client) *Reader { return &Reader{rdb: rdb} }

// Last returns the id of the stream's newest notice ("" if it has none).
func (r *Reader) Last(ctx context.Context, stream string) (string, error) {
	msgs, err := r.rdb.XRevRangeN(ctx, historyKey(stream), "+", "-", 1).Result()
	if err != nil {
		return "", redisconn.Classify(err, "read last notice")
	}
	if len(msgs) == 0 {
		return "", nil
	}
	return msgs[0].ID, nil
}

// After returns up to limit notices that follow afterID, oldest first. reset
// is true when the history can no longer say what followed afterID (it was
// trimmed or expired, or afterID is not one of its ids): the client must
// refetch its state instead of resuming.
func (r *Reader) After(ctx context.Context, stream, afterID string, limit int64) (out []Notice, reset bool, err error) {
	if afterID == "" {
		return nil, false, nil
	}
	if !ValidID(afterID) {
		return nil, true, nil
	}
	key := historyKey(stream)
	info, err := r.rdb.XInfoStream(ctx, key).Result()
	if err != nil {
		if isNoSuchKey(err) {
			return nil, true, nil // the history expired or Redis lost it
		}
		return nil, false, redisconn.Classify(err, "inspect notice history")
	}
	// History is trimmed from the oldest end, so everything after an id at or
	// past the first entry is still there. An id before the first entry may
	// have lost its successors; one past the last generated id comes from
	// another history (Redis lost its data). Both ask the client to refetch.
	if CompareIDs(afterID, info.FirstEntry.ID) < 0 || CompareIDs(afterID, info.LastGeneratedID) > 0 {
		return nil, true, nil
	}
	// An inclusive range, dropping afterID itself: exclusive ranges ("(id")
	// need Redis 6.2, and Azure Cache for Redis offers 6.0.
	msgs, err := r.rdb.XRangeN(ctx, key, afterID, "+", limit+1).Result()
	if err != nil {
		return nil, false, redisconn.Classify(err, "read notice history")
	}
	if len(msgs) == 0 || msgs[0].ID != afterID {
		return nil, true, nil // in range, but not an id of this history
	}
	msgs = msgs[1:]
	if int64(len(msgs)) > limit {
		msgs = msgs[:limit]
	}
	prev := afterID
	for _, m := range msgs {
		n := fromXMessage(stream, m)
		n.PrevID = prev
		prev = n.ID
		out = append(out, n)
	}
	return out, false, nil
}

func fromXMessage(stream string, m redis.XMessage) Notice {
	typ, _ := m.Values["type"].(string)
	data, _ := m.Values["data"].(string)
	tp, _ := m.Values["tp"].(string)
	return Notice{ID: m.ID, Stream: stream, Type: typ, Data: json.RawMessage(data), Traceparent: tp}
}

func isNoSuchKey(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && strings.Contains(strings.ToLower(re.Error()), "no such key")
}

// Tail returns up to n of the stream's newest notices, oldest first.
func (r *Reader) Tail(ctx context.Context, stream string, n int64) ([]Notice, error) {
	msgs, err := r.rdb.XRevRangeN(ctx, historyKey(stream), "+", "-", n).Result()
	if err != nil {
		return nil, redisconn.Classify(err, "read notice history")
	}
	out := make([]Notice, len(msgs))
	for i, m := range msgs {
		out[len(msgs)-1-i] = fromXMessage(stream, m)
	}
	for i := 1; i < len(out); i++ {
		out[i].PrevID = out[i-1].ID
	}
	return out, nil
}

// Head returns up to limit of the stream's oldest notices, oldest first: the
// whole retained history when a reader's cursor is "" (it has seen nothing).
func (r *Reader) Head(ctx context.Context, stream string, limit int64) ([]Notice, error) {
	msgs, err := r.rdb.XRangeN(ctx, historyKey(stream), "-", "+", limit).Result()
	if err != nil {
		return nil, redisconn.Classify(err, "read notice history")
	}
	out := make([]Notice, len(msgs))
	prev := ""
	for i, m := range msgs {
		out[i] = fromXMessage(stream, m)
		out[i].PrevID, prev = prev, m.ID
	}
	return out, nil
}
