package handling

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/prism-es/prism/shared/envelope"
)

// Peers carries freshly appended events to the other replicas (the kit's
// broadcast), so their caches stay current and the next command for the
// same aggregate on another replica does not start from a stale state (a
// failed append and a read). Delivery is best effort: a replica that misses
// a message drops to the conflict path, which is always correct.
type Peers interface {
	Send(ctx context.Context, name string, payload []byte) error
	Receive(ctx context.Context, name string) <-chan []byte
}

// peersChannel names the broadcast of appended events.
const peersChannel = "domain-appended"

type appended struct {
	Replica string           `json:"replica"`
	Events  []envelope.Event `json:"events"`
}

// announce tells the peers what was just appended.
func (h *Handler) announce(ctx context.Context, events []envelope.Event) {
	if h.deps.Peers == nil || len(events) == 0 {
		return
	}
	b, err := json.Marshal(appended{Replica: h.id, Events: events})
	if err == nil {
		err = h.deps.Peers.Send(ctx, peersChannel, b)
	}
	if err != nil {
		slog.DebugContext(ctx, "peers not told of an append", "err", err)
	}
}

// KeepCachesWarm folds the events other replicas append into this replica's
// cache until ctx ends. Run it in its own goroutine.
func (h *Handler) KeepCachesWarm(ctx context.Context) {
	if h.deps.Peers == nil {
		return
	}
	for b := range h.deps.Peers.Receive(ctx, peersChannel) {
		var msg appended
		if json.Unmarshal(b, &msg) != nil || msg.Replica == h.id || len(msg.Events) == 0 {
			continue
		}
		first := msg.Events[0]
		agg, ok := h.aggs[first.AggregateType]
		if !ok {
			continue
		}
		h.cache.advance(first.StreamID(), first.Version-1, func(c cached) (cached, bool) {
			for _, e := range msg.Events {
				next, err := agg.evolve(c.state, e)
				if err != nil {
					return c, false
				}
				c.state, c.version = next, e.Version
			}
			return c, true
		})
	}
}

// CachedVersion reports the version of a stream in this replica's cache.
func (h *Handler) CachedVersion(stream string) (int64, bool) {
	c, ok := h.cache.get(stream)
	return c.version, ok
}
