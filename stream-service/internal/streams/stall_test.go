package streams

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/testenv"
)

// stalledHistory is the hub's history behind a gate: while it is shut,
// reads of one stream's history (After and Head) wait, as during a Redis
// stall or behind a storm of reconnecting clients paging through it.
type stalledHistory struct {
	history
	stream string
	*testenv.Gate
}

func stallHistory(h *harness, stream string) *stalledHistory {
	g := &stalledHistory{history: h.hub.reader, stream: stream, Gate: testenv.NewGate()}
	h.hub.reader = g // before any topic starts: topics read it without a lock
	return g
}

func (g *stalledHistory) After(ctx context.Context, stream, afterID string, limit int64) ([]notices.Notice, bool, error) {
	if stream == g.stream {
		if err := g.Wait(ctx); err != nil {
			return nil, false, err
		}
	}
	return g.history.After(ctx, stream, afterID, limit)
}

func (g *stalledHistory) Head(ctx context.Context, stream string, limit int64) ([]notices.Notice, error) {
	if stream == g.stream {
		if err := g.Wait(ctx); err != nil {
			return nil, err
		}
	}
	return g.history.Head(ctx, stream, limit)
}

// waitEntered waits until a read of the stalled stream waits at the gate.
func (g *stalledHistory) waitEntered(t *testing.T) {
	t.Helper()
	require.True(t, waitFor(t, func() bool { return g.Waiting() > 0 }, "a history read reaches the gate"))
}

// TestAResumingClientHoldsUpNoLiveDelivery is issue 12 item 10: a client
// resuming with Last-Event-ID pages through the history outside the
// topic's lock, so while that read is stalled the topic's other clients
// still get each live notice; once the read completes the resuming client
// gets what it missed, then the live notice, each once and in order.
func TestAResumingClientHoldsUpNoLiveDelivery(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{RedisTimeout: time.Minute}, true)
	alice := newID("alice-")
	cart := h.create(t, "cart", alice)
	stream := notices.CartStream(cart)
	gate := stallHistory(h, stream)
	tok := h.token(t, alice)
	data := make([]string, 20)
	for i := range data {
		data[i] = fmt.Sprintf(`{"n":%d}`, i)
	}
	ids := h.publish(t, h.pub, stream, "cart.updated", data...)
	live := h.open(t, "/streams/carts/"+cart, tok)

	gate.Shut()
	resuming := h.open(t, "/streams/carts/"+cart, tok, "Last-Event-ID", ids[0])
	gate.waitEntered(t)

	now := h.publish(t, h.pub, stream, "cart.updated", `{"live":1}`)
	ev := live.next(t) // fails (after wait) when delivery waits for the stalled read
	assert.Equal(t, now[0], ev.ID, "live delivery goes on while a client pages through the history")

	gate.Release()
	for i, want := range append(ids[1:], now[0]) {
		require.Equal(t, want, resuming.next(t).ID, "resumed event %d", i)
	}
	later := h.publish(t, h.pub, stream, "cart.updated", `{"live":2}`)
	assert.Equal(t, later[0], resuming.next(t).ID, "then live, nothing twice")
	assert.Equal(t, later[0], live.next(t).ID)
}

// TestAStalledGapFillHoldsUpNoOtherTopicNorNewClient: while a topic's gap
// fill waits on the history, a new client of that topic still connects
// (its comment comes at once) and another topic keeps delivering; then the
// fill delivers the lost notice and the live one, in order, to both clients.
func TestAStalledGapFillHoldsUpNoOtherTopicNorNewClient(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{RedisTimeout: time.Minute, Resync: time.Hour}, true)
	alice := newID("alice-")
	cart, other := h.create(t, "cart", alice), h.create(t, "cart", alice)
	stream := notices.CartStream(cart)
	gate := stallHistory(h, stream)
	tok := h.token(t, alice)
	first := h.open(t, "/streams/carts/"+cart, tok)
	elsewhere := h.open(t, "/streams/carts/"+other, tok)

	gate.Shut()
	lost, err := h.pub.Record(context.Background(), notices.Item{Stream: stream, Type: "cart.updated", Data: json.RawMessage(`{"lost":1}`)})
	require.NoError(t, err)
	now := h.publish(t, h.pub, stream, "cart.updated", `{"live":1}`) // its predecessor is missing: a gap fill
	gate.waitEntered(t)

	second := h.open(t, "/streams/carts/"+cart, tok) // waits for its comment
	otherIDs := h.publish(t, h.pub, notices.CartStream(other), "cart.updated", `{"other":1}`)
	assert.Equal(t, otherIDs[0], elsewhere.next(t).ID, "another topic delivers")

	gate.Release()
	for _, c := range []*sseConn{first, second} {
		require.Equal(t, lost[0], c.next(t).ID, "the lost notice first")
		require.Equal(t, now[0], c.next(t).ID, "then the live one")
	}
}
