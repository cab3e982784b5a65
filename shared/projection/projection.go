// Package projection runs read-model projections, the query side of the
// kit: a projection folds one aggregate type's events into one document per
// aggregate, stored as a versioned row of a read-model table
// (shared/readmodel), and announces each change as notices (shared/notices)
// that stream-service sends to live clients.
//
// Declare a projection with [Of], typed by its document, and register it
// with a [Runner] (one line: pass it to [NewRunner]). The runner brings what
// every projection needs:
//
//   - a version gate: an event at or below the row's version is a no-op,
//     so redeliveries and reorderings are harmless;
//   - gap fill: an event more than one version ahead makes the runner read
//     the missing events from the event store ([EventLoader]), never skip;
//   - writes conditioned on the row's ETag, with rows cached (with their
//     ETags) so an update is usually one write;
//   - secondary rows (an index of the document, version-gated too) and
//     notices after each change (and again for an exact redelivery of the
//     row's latest event, whose first notice may not have gone out);
//   - [Runner.Handle], a queue.Handler: consume an events-<subscriber>
//     queue with queue.NewConsumer, which brings batches, retries and the
//     poison queue; an undecodable event or an Apply that fails is
//     permanent (poisoned at once), an outage is retried in place.
//
// Metrics (prism_projection_*) are labelled by projection name. A
// projection's live table is resolved through readmodel.Catalog, so a
// rebuild can fill a new table and switch to it.
package projection

import (
	"encoding/json"

	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/notices"
)

// Projection turns one aggregate type's events into read-model rows: the
// untyped form a [Runner] runs. Most projections are declared with [Of] and
// converted with [Of.Projection].
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
	// PartitionKey and RowKey place the row in the projection's table.
	PartitionKey, RowKey string
	// Doc is the row's document (JSON).
	Doc json.RawMessage
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

// Of declares a projection whose rows hold documents of type V (encoded as
// JSON): its name, the aggregate type it follows, where an aggregate's row
// lives, and how an event changes the document.
//
// V must carry the aggregate version it reflects: Apply sets a field that
// encodes as "version" to e.Version (queries' ?minVersion= and clients read
// it; the runner keeps the row's own Version column in step).
type Of[V any] struct {
	// Name names the projection, its default table and its metrics' label.
	// Table names are 3-63 letters and digits, starting with a letter.
	Name string
	// AggregateType is the aggregate type whose events it projects.
	AggregateType string
	// Key places an aggregate's row (partition key, row key).
	Key func(aggregateID string) (pk, rk string)
	// New returns the document before the aggregate's first event (nil: the
	// zero V).
	New func(first envelope.Event) V
	// Apply folds one event into the document. An error is permanent: the
	// event is poisoned and the row waits for an operator, so Apply must
	// accept every event type of its aggregate.
	Apply func(doc *V, e envelope.Event) error
	// Secondary, if set, derives further rows of the same table from the
	// document (an index); each is written only over an older version.
	Secondary func(doc *V) ([]Entry, error)
	// Notices, if set, are published after each change; data is the encoded
	// document, ready to carry as a notice's Data.
	Notices func(doc *V, data json.RawMessage) []notices.Item
}

// Entry is a secondary row of an [Of] projection: its keys and its document
// (any value that encodes as JSON).
type Entry struct {
	// PartitionKey and RowKey place the row in the projection's table.
	PartitionKey, RowKey string
	// Doc is encoded as the row's document.
	Doc any
}

// Projection returns the untyped projection a [Runner] runs.
func (d Of[V]) Projection() Projection {
	fresh := d.New
	if fresh == nil {
		fresh = func(envelope.Event) V { var v V; return v }
	}
	p := Projection{Name: d.Name, AggregateType: d.AggregateType, Key: d.Key, Apply: Document(fresh, d.Apply)}
	if d.Secondary != nil {
		p.Secondary = func(doc json.RawMessage, _ int64) ([]SecondaryRow, error) {
			var v V
			if err := json.Unmarshal(doc, &v); err != nil {
				return nil, err
			}
			entries, err := d.Secondary(&v)
			if err != nil {
				return nil, err
			}
			rows := make([]SecondaryRow, len(entries))
			for i, e := range entries {
				b, err := json.Marshal(e.Doc)
				if err != nil {
					return nil, err
				}
				rows[i] = SecondaryRow{PartitionKey: e.PartitionKey, RowKey: e.RowKey, Doc: b}
			}
			return rows, nil
		}
	}
	p.Notices = func(json.RawMessage) ([]notices.Item, error) { return nil, nil }
	if d.Notices != nil {
		p.Notices = func(doc json.RawMessage) ([]notices.Item, error) {
			var v V
			if err := json.Unmarshal(doc, &v); err != nil {
				return nil, err
			}
			return d.Notices(&v, doc), nil
		}
	}
	return p
}
