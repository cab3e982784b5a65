package aggregate

import (
	"context"
	"strings"
	"time"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/tracing"
)

// Point says how far a replay goes and which events it lists. Zero fields
// do not limit.
type Point struct {
	// AsOf folds only the events that occurred at or before it.
	AsOf time.Time
	// Version folds only the events up to that version.
	Version int64
	// From lists only the events that occurred at or after it (the state is
	// still folded from the first event).
	From time.Time
}

// InspectedEvent is a stored event as the inspector shows it: upcast, with
// its trace id taken from the traceparent.
type InspectedEvent struct {
	envelope.Event
	TraceID string `json:"traceId,omitempty"`
}

// Replayed is a stream's events (upcast to their current schemas) and the
// state folded from them, from the events alone (no snapshot, no cache), as
// of a point.
type Replayed struct {
	AggregateType string `json:"aggregateType"`
	AggregateID   string `json:"aggregateId"`
	// Version is the version the state is at (0: before the first event).
	Version int64 `json:"version"`
	// LatestVersion and LatestAt are the stream's newest event, so a client
	// can step through versions.
	LatestVersion int64            `json:"latestVersion"`
	LatestAt      time.Time        `json:"latestAt"`
	AsOf          time.Time        `json:"asOf,omitzero"`
	State         any              `json:"state"`
	Events        []InspectedEvent `json:"events"`
}

// Replay loads a stream and folds all of it.
func (h *Handler) Replay(ctx context.Context, aggregateType, id string) (Replayed, error) {
	return h.ReplayAt(ctx, aggregateType, id, Point{})
}

// ReplayAt loads a stream and folds it up to the point.
func (h *Handler) ReplayAt(ctx context.Context, aggregateType, id string, at Point) (Replayed, error) {
	agg, ok := h.reg.Get(aggregateType)
	if !ok {
		return Replayed{}, apperr.New(apperr.NotFound, "no aggregate type %q (there are %s)", aggregateType, strings.Join(h.reg.Types(), ", "))
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
	last := events[len(events)-1]
	out := Replayed{AggregateType: aggregateType, AggregateID: id, LatestVersion: last.Version, LatestAt: last.OccurredAt, AsOf: at.AsOf, Events: []InspectedEvent{}}
	state := agg.Initial(id)
	for _, e := range events {
		if (at.Version > 0 && e.Version > at.Version) || (!at.AsOf.IsZero() && e.OccurredAt.After(at.AsOf)) {
			break
		}
		if state, err = agg.Evolve(state, e); err != nil {
			return Replayed{}, err
		}
		out.Version = e.Version
		if at.From.IsZero() || !e.OccurredAt.Before(at.From) {
			out.Events = append(out.Events, InspectedEvent{Event: e, TraceID: tracing.TraceIDOf(e.Metadata.Traceparent)})
		}
	}
	out.State = state
	return out, nil
}
