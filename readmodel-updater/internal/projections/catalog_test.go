// Package projections_test checks the projections against the event catalog.
package projections_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/readmodel-updater/internal/projections/carts"
	"github.com/prism-es/prism/readmodel-updater/internal/projections/orders"
	"github.com/prism-es/prism/readmodel-updater/internal/projections/products"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventcatalog"
	"github.com/prism-es/prism/shared/projection"
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

// TestMobileIssueFieldsReachTheReadModels: an expired cart reads "expired",
// a shipped order carries its tracking number, a product its threshold.
func TestMobileIssueFieldsReachTheReadModels(t *testing.T) {
	ev := func(agg, typ string, v int64, data string) envelope.Event {
		return envelope.Event{EventID: "e", Type: typ, SchemaVersion: eventcatalog.Default().Latest(typ), AggregateType: agg, AggregateID: "a1",
			Version: v, OccurredAt: time.Now(), Data: json.RawMessage(data)}
	}
	fold := func(p projection.Projection, events ...envelope.Event) map[string]any {
		var doc json.RawMessage
		for _, e := range events {
			var err error
			doc, err = p.Apply(doc, e)
			require.NoError(t, err, e.Type)
		}
		var out map[string]any
		require.NoError(t, json.Unmarshal(doc, &out))
		return out
	}
	c := fold(carts.Projection(), ev("cart", "CartCreated", 1, `{"owner":"alice"}`), ev("cart", "CartExpired", 2, `{"idleSeconds":60}`))
	assert.Equal(t, "expired", c["status"])
	assert.EqualValues(t, 60, c["idleSeconds"])
	o := fold(orders.Projection(), ev("order", "OrderPlaced", 1, `{"cartId":"c","owner":"alice","lines":[],"totalCents":0}`),
		ev("order", "OrderShipped", 2, `{"trackingNumber":"TRK-1"}`))
	assert.Equal(t, "shipped", o["status"])
	assert.Equal(t, "TRK-1", o["trackingNumber"])
	p := fold(products.Projection(), ev("product", "ProductDefined", 1, `{"sku":"a1","name":"A","priceCents":1,"stock":9,"lowStockThreshold":4}`),
		ev("product", "StockReserved", 2, `{"orderId":"o","quantity":6}`), ev("product", "LowStockAlert", 3, `{"sku":"a1","available":3,"threshold":4}`))
	assert.EqualValues(t, 4, p["lowStockThreshold"])
	assert.EqualValues(t, 3, p["available"])
	assert.EqualValues(t, 3, p["version"])
}
