// Package handling runs commands against aggregates: load (cache, snapshot,
// events) → decide → append atomically with the command's marker → publish
// the events to every subscriber queue → record the outcome.
package handling

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
type Lookup func(ctx context.Context, aggregateType, id string, fresh bool) (any, error)

// Definition ties a pure aggregate package (state S, commands C, events E)
// to the envelopes on queues and in the event store.
type Definition[S any, C any, E interface{ EventType() string }] struct {
	// Type is the aggregate type ("cart").
	Type string
	// StateVersion is the snapshot schema version of S.
	StateVersion int
	// New is the state of an aggregate with no events.
	New func(id string) S
	// Exists reports whether the state is of an aggregate that exists; only
	// existing states are cached for lookups.
	Exists func(S) bool
	// Parse decodes a command envelope.
	Parse func(cmd envelope.Command) (C, error)
	// Prepare, if set, completes a command before Decide with what it needs
	// from elsewhere: another aggregate's state, or an external provider's
	// answer (which must then be idempotent: Prepare may run more than once).
	Prepare func(ctx context.Context, state S, c C, lookup Lookup) (C, error)
	// Decide and Evolve are the aggregate's pure rules.
	Decide func(S, C) ([]E, error)
	Evolve func(S, E) S
	// DecodeEvent decodes stored event data; SchemaVersion names the current
	// schema version of an event type.
	DecodeEvent   func(typ string, data []byte) (E, error)
	SchemaVersion func(typ string) int
	// React, if set, returns the commands that follow from a recorded event
	// (CartCheckedOut → PlaceOrder). They must have deterministic ids, since
	// a redelivered command sends them again.
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
// saga deadline) or at once.
type Reaction struct {
	Command envelope.Command
	Delay   time.Duration
}

// aggregate is a Definition with its types erased, so one Handler serves all.
type aggregate interface {
	typ() string
	stateVersion() int
	initial(id string) any
	exists(state any) bool
	evolve(state any, e envelope.Event) (any, error)
	decide(ctx context.Context, state any, cmd envelope.Command, lookup Lookup) ([]pendingEvent, error)
	react(e envelope.Event) ([]Reaction, error)
	rearm(state any, cmd envelope.Command, lastChange func() (time.Time, error)) ([]Reaction, error)
	decodeState(raw json.RawMessage) (any, error)
}

// pendingEvent is a decided event before it has a version.
type pendingEvent struct {
	typ           string
	schemaVersion int
	data          json.RawMessage
}

func (d Definition[S, C, E]) typ() string           { return d.Type }
func (d Definition[S, C, E]) stateVersion() int     { return d.StateVersion }
func (d Definition[S, C, E]) initial(id string) any { return d.New(id) }
func (d Definition[S, C, E]) exists(state any) bool { return d.Exists(state.(S)) }
func (d Definition[S, C, E]) decodeState(raw json.RawMessage) (any, error) {
	var s S
	err := json.Unmarshal(raw, &s)
	return s, err
}

func (d Definition[S, C, E]) evolve(state any, e envelope.Event) (any, error) {
	ev, err := d.DecodeEvent(e.Type, e.Data)
	if err != nil {
		return nil, fmt.Errorf("%s v%d (%s): %w", e.StreamID(), e.Version, e.Type, err)
	}
	return d.Evolve(state.(S), ev), nil
}

func (d Definition[S, C, E]) decide(ctx context.Context, state any, cmd envelope.Command, lookup Lookup) ([]pendingEvent, error) {
	c, err := d.Parse(cmd)
	if err != nil {
		return nil, err
	}
	if d.Prepare != nil {
		if c, err = d.Prepare(ctx, state.(S), c, lookup); err != nil {
			return nil, err
		}
	}
	events, err := d.Decide(state.(S), c)
	if err != nil {
		return nil, err
	}
	out := make([]pendingEvent, len(events))
	for i, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		out[i] = pendingEvent{typ: e.EventType(), schemaVersion: d.SchemaVersion(e.EventType()), data: data}
	}
	return out, nil
}

func (d Definition[S, C, E]) react(e envelope.Event) ([]Reaction, error) {
	if d.React == nil {
		return nil, nil
	}
	ev, err := d.DecodeEvent(e.Type, e.Data)
	if err != nil {
		return nil, err
	}
	return d.React(e, ev)
}

func (d Definition[S, C, E]) rearm(state any, cmd envelope.Command, lastChange func() (time.Time, error)) ([]Reaction, error) {
	if d.Rearm == nil {
		return nil, nil
	}
	c, err := d.Parse(cmd)
	if err != nil {
		return nil, err
	}
	return d.Rearm(state.(S), c, cmd, lastChange)
}
