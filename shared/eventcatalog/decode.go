package eventcatalog

import (
	"sync"

	"github.com/prism-es/prism/shared/envelope"
)

// upcasters is the one registry DecodeEvent uses.
var upcasters = sync.OnceValue(Upcasters)

// DecodeEvent decodes an event envelope from a queue message and upcasts it
// to its current schema version, as every read of the event store does: an
// old event still queued at a rollout, or redriven from a poison queue, is
// handled as the current schema, never as zero values. Every consumer of
// events decodes through it.
func DecodeEvent(body []byte) (envelope.Event, error) {
	e, err := envelope.DecodeEvent(body)
	if err != nil {
		return e, err
	}
	return upcasters().Upcast(e)
}
