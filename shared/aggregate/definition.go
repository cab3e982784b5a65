package aggregate

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/prism-es/prism/shared/envelope"
)

// Lookup reads another aggregate's current state (for example the product a
// cart line is priced from). It may come from the replica's cache, so be
// slightly stale, unless fresh is set: then it is caught up with the store.
// The state is the other aggregate's S (use As to type it); an aggregate type
// nobody registered reads as nil.
type Lookup func(ctx context.Context, aggregateType, id string, fresh bool) (any, error)

// As types a state a Lookup returned: ok is false when it is not an S (the
// aggregate type is not registered, or st is nil).
func As[S any](st any) (S, bool) {
	s, ok := st.(S)
	return s, ok
}

// Definition ties a pure aggregate package (state S, commands C, events E)
// to the envelopes on queues and in the event store. Type, New, Exists,
// Parse, Decide, Evolve and DecodeEvent are required; the rest is optional.
type Definition[S any, C any, E interface{ EventType() string }] struct {
	// Type is the aggregate type ("cart"): streams are "<Type>-<id>".
	Type string
	// StateVersion is the snapshot schema version of S: a snapshot of
	// another version is ignored and the stream folded from its events.
	StateVersion int
	// Commands lists the command types the aggregate takes, so their metric
	// series exist (at zero) before the first one is handled.
	Commands []string
	// New is the state of an aggregate with no events.
	New func(id string) S
	// Exists reports whether the state is of an aggregate that exists; only
	// existing states are cached for lookups.
	Exists func(S) bool
	// Parse decodes a command envelope (see the codec package).
	Parse func(cmd envelope.Command) (C, error)
	// Prepare, if set, completes a command before Decide with what it needs
	// from elsewhere: another aggregate's state, or an external provider's
	// answer (which must then be idempotent: Prepare may run more than once).
	Prepare func(ctx context.Context, state S, c C, lookup Lookup) (C, error)
	// Decide is the aggregate's pure rule: the events a command makes, or
	// an error of kind apperr.Rejected (or Invalid, NotFound) refusing it.
	Decide func(S, C) ([]E, error)
	// Evolve folds one event into the state; it never fails.
	Evolve func(S, E) S
	// DecodeEvent decodes stored event data (already upcast to the current
	// schema by the event store's upcasters).
	DecodeEvent func(typ string, data []byte) (E, error)
	// SchemaVersion names the current schema version of an event type
	// (nil: every event type is at version 1).
	SchemaVersion func(typ string) int
	// React, if set, returns the commands that follow from a recorded event
	// (CartCheckedOut → PlaceOrder), or deadlines (a Reaction with a Delay).
	// They must have deterministic ids (see FollowUp), since a redelivered
	// command sends them again.
	React func(e envelope.Event, decoded E) ([]Reaction, error)
	// Rearm, if set, returns the commands that follow from a command that
	// decided nothing: a deadline that found its aggregate changed since it
	// was set sets itself again for the time left, so an aggregate keeps one
	// deadline at a time rather than one per change. lastChange reads when
	// the aggregate's latest event happened (one read, only when asked).
	// Ids must be deterministic, as React's.
	Rearm func(s S, c C, cmd envelope.Command, lastChange func() (time.Time, error)) ([]Reaction, error)
}

// Reaction is a command that follows from an event, sent after Delay (a
// deadline: a delayed message, which survives restarts) or at once.
type Reaction struct {
	// Command is the command to send (see FollowUp for its id).
	Command envelope.Command
	// Delay, when positive, holds it back that long (at most 7 days).
	Delay time.Duration
}

// Aggregate is a Definition with its types erased, so one Handler serves
// every aggregate type. Make one with Of; the methods are for the Handler
// and for tests that drive aggregates without I/O.
type Aggregate interface {
	// Type is the aggregate type.
	Type() string
	// StateVersion is the snapshot schema version of the state.
	StateVersion() int
	// CommandTypes are the command types the aggregate takes.
	CommandTypes() []string
	// Initial is the state of aggregate id before its first event.
	Initial(id string) any
	// Exists reports whether state is of an aggregate that exists.
	Exists(state any) bool
	// Evolve folds a stored event into state.
	Evolve(state any, e envelope.Event) (any, error)
	// Decide parses cmd, prepares it and decides its events on state.
	Decide(ctx context.Context, state any, cmd envelope.Command, lookup Lookup) ([]Decided, error)
	// React returns the commands that follow from a recorded event.
	React(e envelope.Event) ([]Reaction, error)
	// Rearm returns the commands that follow from cmd deciding nothing.
	Rearm(state any, cmd envelope.Command, lastChange func() (time.Time, error)) ([]Reaction, error)
	// DecodeState decodes a snapshot's state.
	DecodeState(raw json.RawMessage) (any, error)
}

// Decided is a decided event before it has an envelope (see NewEvents).
type Decided struct {
	// Type and SchemaVersion name the event's type at its current schema.
	Type          string
	SchemaVersion int
	// Data is the event as JSON.
	Data json.RawMessage
}

// Of erases a Definition's types: the one value a registration needs
// (Registry.Add(aggregate.Of(cart.Definition()))).
func Of[S any, C any, E interface{ EventType() string }](d Definition[S, C, E]) Aggregate {
	return typed[S, C, E]{d}
}

// typed is the Aggregate of a Definition.
type typed[S any, C any, E interface{ EventType() string }] struct {
	d Definition[S, C, E]
}

func (t typed[S, C, E]) Type() string           { return t.d.Type }
func (t typed[S, C, E]) StateVersion() int      { return t.d.StateVersion }
func (t typed[S, C, E]) CommandTypes() []string { return t.d.Commands }
func (t typed[S, C, E]) Initial(id string) any  { return t.d.New(id) }
func (t typed[S, C, E]) Exists(state any) bool  { return t.d.Exists(state.(S)) }
func (t typed[S, C, E]) DecodeState(raw json.RawMessage) (any, error) {
	var s S
	err := json.Unmarshal(raw, &s)
	return s, err
}

func (t typed[S, C, E]) Evolve(state any, e envelope.Event) (any, error) {
	ev, err := t.d.DecodeEvent(e.Type, e.Data)
	if err != nil {
		return nil, fmt.Errorf("%s v%d (%s): %w", e.StreamID(), e.Version, e.Type, err)
	}
	return t.d.Evolve(state.(S), ev), nil
}

func (t typed[S, C, E]) Decide(ctx context.Context, state any, cmd envelope.Command, lookup Lookup) ([]Decided, error) {
	c, err := t.d.Parse(cmd)
	if err != nil {
		return nil, err
	}
	if t.d.Prepare != nil {
		if c, err = t.d.Prepare(ctx, state.(S), c, lookup); err != nil {
			return nil, err
		}
	}
	events, err := t.d.Decide(state.(S), c)
	if err != nil {
		return nil, err
	}
	out := make([]Decided, len(events))
	for i, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		version := 1
		if t.d.SchemaVersion != nil {
			version = t.d.SchemaVersion(e.EventType())
		}
		out[i] = Decided{Type: e.EventType(), SchemaVersion: version, Data: data}
	}
	return out, nil
}

func (t typed[S, C, E]) React(e envelope.Event) ([]Reaction, error) {
	if t.d.React == nil {
		return nil, nil
	}
	ev, err := t.d.DecodeEvent(e.Type, e.Data)
	if err != nil {
		return nil, err
	}
	return t.d.React(e, ev)
}

func (t typed[S, C, E]) Rearm(state any, cmd envelope.Command, lastChange func() (time.Time, error)) ([]Reaction, error) {
	if t.d.Rearm == nil {
		return nil, nil
	}
	c, err := t.d.Parse(cmd)
	if err != nil {
		return nil, err
	}
	return t.d.Rearm(state.(S), c, cmd, lastChange)
}
