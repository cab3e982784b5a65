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
