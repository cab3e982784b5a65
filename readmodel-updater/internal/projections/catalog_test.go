// Package projections_test checks the projections against the event catalog.
package projections_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/readmodel-updater/internal/projection"
	"github.com/prism-es/prism/readmodel-updater/internal/projections/carts"
	"github.com/prism-es/prism/readmodel-updater/internal/projections/orders"
	"github.com/prism-es/prism/readmodel-updater/internal/projections/products"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventcatalog"
)

// TestEveryCataloguedEventApplies: the read-model subscription delivers every
// event of a projection's aggregate type, and one the projection refuses is
// poisoned and stalls that row for good, so each catalogued event of the type
// must apply (and move the row's version).
func TestEveryCataloguedEventApplies(t *testing.T) {
	sub := config.SubscriptionNamed("readmodel")
	for _, p := range []projection.Projection{carts.Projection(), orders.Projection(), products.Projection()} {
		seen := 0
		for _, entry := range eventcatalog.Default().Entries() {
			if entry.AggregateType != p.AggregateType || !sub.Wants(entry.AggregateType, entry.EventType) {
				continue
			}
			seen++
			e := envelope.Event{EventID: "e1", Type: entry.EventType, SchemaVersion: entry.SchemaVersion,
				AggregateType: entry.AggregateType, AggregateID: "a1", Version: 7, OccurredAt: time.Now(), Data: json.RawMessage(`{}`)}
			doc, err := p.Apply(nil, e)
			if assert.NoError(t, err, "%s: %s v%d", p.Name, entry.EventType, entry.SchemaVersion) {
				var v struct{ Version int64 }
				require.NoError(t, json.Unmarshal(doc, &v))
				assert.Equal(t, int64(7), v.Version, "%s: %s moves the version", p.Name, entry.EventType)
			}
		}
		assert.Positive(t, seen, "%s: no catalogued events", p.Name)
	}
}
