package aggregate

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventstore"
)

// load returns the stream's state: from the cache unless fresh is set. A
// fresh load catches a cached state up with the events stored after it (it
// may be stale, never wrong: events are immutable); without a cached state
// it starts from the latest snapshot.
func (h *Handler) load(ctx context.Context, agg Aggregate, stream string, fresh bool) (c cached, fromCache bool, err error) {
	c, hit := h.cache.get(stream)
	switch {
	case hit && !fresh:
		cacheLookups.WithLabelValues("hit").Inc()
		return c, true, nil
	case hit:
		cacheLookups.WithLabelValues("catch-up").Inc()
		return h.catchUp(ctx, agg, stream, c)
	}
	cacheLookups.WithLabelValues("miss").Inc()
	_, id, _ := strings.Cut(stream, "-")
	c = cached{state: agg.Initial(id)}
	if h.deps.Snapshots != nil && h.cfg.SnapshotEvery > 0 {
		snap, ok, err := h.deps.Snapshots.Get(ctx, stream, agg.StateVersion())
		if err != nil {
			// A snapshot is only a speed-up: fold the events instead.
			slog.WarnContext(ctx, "snapshot not read; folding the stream from its first event", "stream", stream, "err", err)
			snapshotReadFailures.Inc()
		}
		if ok {
			if st, err := agg.DecodeState(snap.State); err == nil {
				c = cached{state: st, version: snap.Version}
			}
		}
	}
	return h.catchUp(ctx, agg, stream, c)
}

// catchUp folds the events stored after c's version into it and caches it.
func (h *Handler) catchUp(ctx context.Context, agg Aggregate, stream string, c cached) (cached, bool, error) {
	events, err := h.deps.Store.Load(ctx, stream, c.version+1)
	if err != nil {
		return cached{}, false, err
	}
	for _, e := range events {
		if c.state, err = agg.Evolve(c.state, e); err != nil {
			return cached{}, false, err
		}
		c.version = e.Version
	}
	h.cache.put(stream, c)
	return c, false, nil
}

// lookup reads another aggregate's state for Prepare. Only states of
// aggregates that exist are cached, so a product defined a moment ago on
// another replica is found; fresh catches a cached state up with the store.
func (h *Handler) lookup(ctx context.Context, aggregateType, id string, fresh bool) (any, error) {
	agg, ok := h.reg.Get(aggregateType)
	if !ok {
		return nil, nil
	}
	stream := envelope.StreamID(aggregateType, id)
	if c, ok := h.cache.get(stream); ok && agg.Exists(c.state) && !fresh {
		return c.state, nil
	}
	c, _, err := h.load(ctx, agg, stream, true)
	if err != nil {
		return nil, err
	}
	if !agg.Exists(c.state) {
		h.cache.forget(stream)
	}
	return c.state, nil
}

// maybeSnapshot stores a snapshot when the stream crossed a multiple of
// SnapshotEvery. Failures are logged: a snapshot is only a speed-up.
func (h *Handler) maybeSnapshot(ctx context.Context, agg Aggregate, stream string, before int64, after cached) {
	n := int64(h.cfg.SnapshotEvery)
	if h.deps.Snapshots == nil || n <= 0 || after.version/n == before/n {
		return
	}
	state, err := json.Marshal(after.state)
	if err == nil {
		err = h.deps.Snapshots.Put(ctx, eventstore.Snapshot{Stream: stream, Version: after.version, StateVersion: agg.StateVersion(), State: state})
	}
	if err != nil {
		slog.WarnContext(ctx, "snapshot not written", "stream", stream, "err", err)
	}
}

// publish sends every event to the queue of every subscriber that wants
// it, each send in g.
func (h *Handler) publish(ctx context.Context, g *errgroup.Group, events []envelope.Event) error {
	for _, e := range events {
		body, err := json.Marshal(e)
		if err != nil {
			return err
		}
		for _, s := range h.deps.Subscribers {
			if s.Wants(e.AggregateType, e.Type) {
				g.Go(func() error { return s.Queue.Send(ctx, body) })
			}
		}
	}
	return nil
}
