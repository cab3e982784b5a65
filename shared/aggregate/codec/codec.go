// Package codec decodes command payloads and event data for the aggregate
// packages: strictly for commands (an unknown field is a contract break),
// leniently for stored events (newer fields are ignored by older code).
package codec

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/prism-es/prism/shared/apperr"
)

// Payload decodes a command payload strictly into a T.
func Payload[T any](payload []byte) (T, error) {
	var v T
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, apperr.Wrap(apperr.Rejected, err, "malformed command payload")
	}
	return v, nil
}

// Data decodes stored event data into a T.
func Data[T any](data []byte) (T, error) {
	var v T
	err := json.Unmarshal(data, &v)
	return v, err
}

// EventDecoder decodes the data of one event type.
type EventDecoder[E any] func(data []byte) (E, error)

// As returns an EventDecoder producing the concrete type T as an E.
func As[E any, T any]() EventDecoder[E] {
	return func(data []byte) (E, error) {
		v, err := Data[T](data)
		var e E
		if err != nil {
			return e, err
		}
		return any(v).(E), nil
	}
}

// Decoders are an aggregate's event decoders by event type.
type Decoders[E any] map[string]EventDecoder[E]

// Decode decodes event data of type typ; aggregate names the aggregate in
// the error for a type it does not know.
func (d Decoders[E]) Decode(aggregate, typ string, data []byte) (E, error) {
	dec, ok := d[typ]
	if !ok {
		var zero E
		return zero, fmt.Errorf("%s: unknown event type %q", aggregate, typ)
	}
	return dec(data)
}

// EventType is one event type of an aggregate: its name, its current schema
// version and its decoder. Make one with Event.
type EventType[E any] struct {
	// Name is the event type on the wire ("ItemAdded").
	Name string
	// Version is its current schema version (older rows are upcast on read).
	Version int
	decode  EventDecoder[E]
}

// Event declares event type T, named by its EventType method, at schema
// version, decoded as an E (the aggregate's event interface).
func Event[E any, T interface{ EventType() string }](version int) EventType[E] {
	var t T
	return EventType[E]{Name: t.EventType(), Version: version, decode: As[E, T]()}
}

// Events are an aggregate's event types: its Definition's DecodeEvent and
// SchemaVersion in one declaration.
//
//	var events = codec.NewEvents[Event]("cart",
//		codec.Event[Event, Created](1),
//		codec.Event[Event, ItemAdded](2))
type Events[E any] struct {
	aggregate string
	types     map[string]EventType[E]
}

// NewEvents declares the event types of aggregate (named in errors).
func NewEvents[E any](aggregate string, types ...EventType[E]) Events[E] {
	m := make(map[string]EventType[E], len(types))
	for _, t := range types {
		m[t.Name] = t
	}
	return Events[E]{aggregate: aggregate, types: m}
}

// Decode decodes stored event data of type typ; a type not declared is an
// error naming the aggregate.
func (e Events[E]) Decode(typ string, data []byte) (E, error) {
	t, ok := e.types[typ]
	if !ok {
		var zero E
		return zero, fmt.Errorf("%s: unknown event type %q", e.aggregate, typ)
	}
	return t.decode(data)
}

// SchemaVersion is the current schema version of typ (1 if not declared).
func (e Events[E]) SchemaVersion(typ string) int {
	if t, ok := e.types[typ]; ok && t.Version > 0 {
		return t.Version
	}
	return 1
}
