package handling

import (
	"context"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
)

// Replayed is a stream's events (upcast to their current schemas) and the
// state folded from them, from the events alone (no snapshot, no cache).
type Replayed struct {
	AggregateType string           `json:"aggregateType"`
	AggregateID   string           `json:"aggregateId"`
	Version       int64            `json:"version"`
	State         any              `json:"state"`
	Events        []envelope.Event `json:"events"`
}

// Replay loads a stream and folds it.
func (h *Handler) Replay(ctx context.Context, aggregateType, id string) (Replayed, error) {
	agg, ok := h.aggs[aggregateType]
	if !ok {
		return Replayed{}, apperr.New(apperr.NotFound, "no aggregate type %q (there are cart, product, order)", aggregateType)
	}
	if !envelope.ValidID(id) {
		return Replayed{}, apperr.New(apperr.NotFound, "stream not found")
	}
	events, err := h.deps.Store.Load(ctx, envelope.StreamID(aggregateType, id), 1)
	if err != nil {
		return Replayed{}, err
	}
	if len(events) == 0 {
		return Replayed{}, apperr.New(apperr.NotFound, "stream %s has no events", envelope.StreamID(aggregateType, id))
	}
	state := agg.initial(id)
	for _, e := range events {
		if state, err = agg.evolve(state, e); err != nil {
			return Replayed{}, err
		}
	}
	return Replayed{AggregateType: aggregateType, AggregateID: id, Version: events[len(events)-1].Version, State: state, Events: events}, nil
}
