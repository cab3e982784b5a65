package eventstore

import (
	"encoding/json"
	"fmt"

	"github.com/prism-es/prism/shared/envelope"
)

// Upcaster turns an event's data at one schema version into the data of the
// next version.
type Upcaster func(data json.RawMessage) (json.RawMessage, error)

type upcastKey struct {
	eventType string
	from      int
}

// Upcasters is a registry of upcasters, applied on read so old rows reach the
// code in their current shape. Register everything at start-up, before use;
// reads are then safe from many goroutines.
type Upcasters struct {
	steps map[upcastKey]Upcaster
}

// NewUpcasters returns an empty registry.
func NewUpcasters() *Upcasters { return &Upcasters{steps: map[upcastKey]Upcaster{}} }

// Register adds the step that lifts eventType from schema version from to
// from+1. Registering the same step twice panics: it is a programming error.
func (u *Upcasters) Register(eventType string, from int, step Upcaster) {
	k := upcastKey{eventType, from}
	if _, dup := u.steps[k]; dup {
		panic(fmt.Sprintf("eventstore: upcaster for %s v%d registered twice", eventType, from))
	}
	u.steps[k] = step
}

// Upcast applies the registered steps to e until none matches its schema version.
func (u *Upcasters) Upcast(e envelope.Event) (envelope.Event, error) {
	for {
		step, ok := u.steps[upcastKey{e.Type, e.SchemaVersion}]
		if !ok {
			return e, nil
		}
		data, err := step(e.Data)
		if err != nil {
			return envelope.Event{}, fmt.Errorf("upcast %s v%d (%s v%d): %w", e.Type, e.SchemaVersion, e.StreamID(), e.Version, err)
		}
		e.Data = data
		e.SchemaVersion++
	}
}
