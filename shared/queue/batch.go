package queue

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"

	"github.com/prism-es/prism/shared/apperr"
)

// A batch message carries several envelopes in one queue message, so that
// one send, one receive and one delete serve them all (storage requests are
// what a message costs on Azure). Its body is
//
//	{"prismBatch":[<envelope>,<envelope>,…],"attempt":n}
//
// "attempt" (omitted: 1) counts the failed deliveries its items already had:
// the items of a batch that fail are sent again, alone, as a new batch whose
// attempt is one more, so the retry schedule follows each item, not the
// message. Any other body is a single envelope, as before batches existed.
type batchBody struct {
	Items   []json.RawMessage `json:"prismBatch"`
	Attempt int               `json:"attempt,omitempty"`
}

// batchPrefix starts every batch body (it is how Items tells one apart
// without decoding a single envelope twice).
var batchPrefix = []byte(`{"prismBatch":`)

// batchOverhead is the bytes a batch adds around its items: the prefix,
// the closing bracket and brace, an attempt field of a few digits.
const batchOverhead = len(`{"prismBatch":[],"attempt":1000}`)

// Items returns the envelopes a message body carries: its batch's items,
// or the body itself. attempt is the batch's attempt (1 for a plain body).
// Every reader of raw queue messages (tests, tools) goes through it.
func Items(body []byte) (items [][]byte, attempt int) {
	if !bytes.HasPrefix(body, batchPrefix) {
		return [][]byte{body}, 1
	}
	var b batchBody
	if err := json.Unmarshal(body, &b); err != nil || len(b.Items) == 0 {
		return [][]byte{body}, 1 // not a batch after all: the handler decides
	}
	items = make([][]byte, len(b.Items))
	for i, it := range b.Items {
		items[i] = it
	}
	return items, max(b.Attempt, 1)
}

// encodeBatch is the body carrying items at attempt; a single item at the
// first attempt goes bare, as a plain envelope.
func encodeBatch(items [][]byte, attempt int) []byte {
	if len(items) == 1 && attempt <= 1 {
		return items[0]
	}
	var buf bytes.Buffer
	buf.Grow(batchOverhead + sizeOf(items))
	buf.Write(batchPrefix)
	buf.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(it)
	}
	buf.WriteByte(']')
	if attempt > 1 {
		buf.WriteString(`,"attempt":`)
		buf.WriteString(strconv.Itoa(attempt))
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

func sizeOf(items [][]byte) int {
	n := 0
	for _, it := range items {
		n += len(it) + 1
	}
	return n
}

// SendBatch sends bodies (JSON envelopes) to the queue as one batch message
// (one body goes bare), which must fit the message size limit.
func (q *Queue) SendBatch(ctx context.Context, bodies [][]byte, opts ...SendOption) error {
	if len(bodies) > MaxBatch {
		return apperr.New(apperr.TooLarge, "a batch holds at most %d envelopes, not %d", MaxBatch, len(bodies))
	}
	for _, b := range bodies {
		if len(b) == 0 || b[0] != '{' || !json.Valid(b) {
			return apperr.New(apperr.Invalid, "a batch carries JSON objects only")
		}
	}
	return q.Send(ctx, encodeBatch(bodies, 1), opts...)
}
