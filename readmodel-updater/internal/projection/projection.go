// Package projection runs read-model projections: for each event it reads
// the row the event concerns, applies the event only if it is the next
// version (older ones are no-ops; a gap is filled from the event store),
// writes the row with an ETag condition and publishes change notices.
package projection

import (
	"encoding/json"

	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/notices"
)

// Projection turns one aggregate type's events into read-model rows.
type Projection struct {
	// Name names the projection and its default live table ("carts").
	Name string
	// AggregateType is the type of the events it projects ("cart").
	AggregateType string
	// Key is the row of an aggregate.
	Key func(aggregateID string) (pk, rk string)
	// Apply folds one event into the document (nil: no row yet). It must set
	// the document's version to the event's.
	Apply func(doc json.RawMessage, e envelope.Event) (json.RawMessage, error)
	// Secondary, if set, returns further rows derived from the document (in
	// the same table), such as the per-user order index.
	Secondary func(doc json.RawMessage, version int64) ([]SecondaryRow, error)
	// Notices are published after the row changed.
	Notices func(doc json.RawMessage) ([]notices.Item, error)
}

// SecondaryRow is a row derived from a projection's document.
type SecondaryRow struct {
	PartitionKey, RowKey string
	Doc                  json.RawMessage
}

// Document makes an Apply over a typed document V: it decodes the stored
// document (or starts from fresh for the aggregate's first row), folds the
// event in with apply, and encodes the result.
func Document[V any](fresh func(e envelope.Event) V, apply func(*V, envelope.Event) error) func(json.RawMessage, envelope.Event) (json.RawMessage, error) {
	return func(doc json.RawMessage, e envelope.Event) (json.RawMessage, error) {
		v := fresh(e)
		if doc != nil {
			if err := json.Unmarshal(doc, &v); err != nil {
				return nil, err
			}
		}
		if err := apply(&v, e); err != nil {
			return nil, err
		}
		return json.Marshal(v)
	}
}
