package eventcatalog_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventcatalog"
)

func event(agg, typ string, v int, data string) envelope.Event {
	return envelope.Event{EventID: "e1", Type: typ, SchemaVersion: v, AggregateType: agg, AggregateID: "a1", Version: 1,
		OccurredAt: time.Now(), Data: json.RawMessage(data), Metadata: envelope.EventMetadata{CommandID: "c1"}}
}

func TestEverySchemaCompiles(t *testing.T) {
	c, err := eventcatalog.Load()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(c.Entries()), 30)
	assert.Equal(t, 2, c.Latest("ItemAdded"))
	assert.Equal(t, 1, c.Latest("CartCreated"))
	assert.Equal(t, 0, c.Latest("NoSuchEvent"))
}

func TestValidate(t *testing.T) {
	ok := event("cart", "ItemAdded", 2, `{"sku":"A","name":"Apple","quantity":2,"unitPriceCents":30}`)
	require.NoError(t, eventcatalog.Validate(ok))
	for name, e := range map[string]envelope.Event{
		"missing field":     event("cart", "ItemAdded", 2, `{"sku":"A","quantity":2,"unitPriceCents":30}`),
		"unknown field":     event("cart", "ItemAdded", 2, `{"sku":"A","name":"n","quantity":2,"unitPriceCents":30,"x":1}`),
		"wrong type":        event("cart", "ItemAdded", 2, `{"sku":"A","name":"n","quantity":"2","unitPriceCents":30}`),
		"out of range":      event("cart", "ItemAdded", 2, `{"sku":"A","name":"n","quantity":100,"unitPriceCents":30}`),
		"old shape as v2":   event("cart", "ItemAdded", 2, `{"sku":"A","quantity":2,"priceCents":30}`),
		"unknown version":   event("cart", "ItemAdded", 3, `{}`),
		"unknown type":      event("cart", "ItemStolen", 1, `{}`),
		"wrong aggregate":   event("order", "ItemAdded", 2, `{"sku":"A","name":"n","quantity":2,"unitPriceCents":30}`),
		"bad cancel reason": event("order", "OrderCancelled", 1, `{"reason":"bored"}`),
	} {
		assert.Error(t, eventcatalog.Validate(e), name)
	}
	require.NoError(t, eventcatalog.Validate(event("cart", "ItemAdded", 1, `{"sku":"A","quantity":2,"priceCents":30}`)), "v1 has its own schema")
}

func TestItemAddedV1IsUpcastToV2(t *testing.T) {
	up := eventcatalog.Upcasters()
	e, err := up.Upcast(event("cart", "ItemAdded", 1, `{"sku":"TEA-1","quantity":2,"priceCents":450}`))
	require.NoError(t, err)
	assert.Equal(t, 2, e.SchemaVersion)
	assert.JSONEq(t, `{"sku":"TEA-1","name":"TEA-1","quantity":2,"unitPriceCents":450}`, string(e.Data))
	assert.NoError(t, eventcatalog.Validate(e), "the upcast event matches the v2 schema")
}

// TestNewEventsOfTheMobileIssue: CartExpired and LowStockAlert are in the
// catalog, OrderShipped and ProductDefined gained optional fields at v2, and
// their v1 rows are upcast unchanged (and then match v2).
func TestNewEventsOfTheMobileIssue(t *testing.T) {
	for _, e := range []envelope.Event{
		event("cart", "CartExpired", 1, `{"idleSeconds":86400}`),
		event("product", "LowStockAlert", 1, `{"sku":"TEA-1","available":2,"threshold":3}`),
		event("order", "OrderShipped", 2, `{"trackingNumber":"1Z999AA10123456784"}`),
		event("order", "OrderShipped", 2, `{}`),
		event("product", "ProductDefined", 2, `{"sku":"TEA-1","name":"Tea","priceCents":450,"stock":20,"lowStockThreshold":5}`),
		event("product", "ProductDefined", 2, `{"sku":"TEA-1","name":"Tea","priceCents":450,"stock":20}`),
	} {
		assert.NoError(t, eventcatalog.Validate(e), "%s v%d %s", e.Type, e.SchemaVersion, e.Data)
	}
	for name, e := range map[string]envelope.Event{
		"expired without idleSeconds": event("cart", "CartExpired", 1, `{}`),
		"expired, negative":           event("cart", "CartExpired", 1, `{"idleSeconds":-1}`),
		"alert, threshold 0":          event("product", "LowStockAlert", 1, `{"sku":"TEA-1","available":0,"threshold":0}`),
		"alert, negative stock":       event("product", "LowStockAlert", 1, `{"sku":"TEA-1","available":-1,"threshold":3}`),
		"alert on a cart":             event("cart", "LowStockAlert", 1, `{"sku":"TEA-1","available":2,"threshold":3}`),
		"tracking number with a tab":  event("order", "OrderShipped", 2, "{\"trackingNumber\":\"a\\tb\"}"),
		"tracking number on v1":       event("order", "OrderShipped", 1, `{"trackingNumber":"T1"}`),
		"negative threshold":          event("product", "ProductDefined", 2, `{"sku":"T","name":"n","priceCents":1,"stock":1,"lowStockThreshold":-1}`),
	} {
		assert.Error(t, eventcatalog.Validate(e), name)
	}
	up := eventcatalog.Upcasters()
	for _, e := range []envelope.Event{
		event("order", "OrderShipped", 1, `{}`),
		event("product", "ProductDefined", 1, `{"sku":"TEA-1","name":"Tea","priceCents":450,"stock":20}`),
	} {
		got, err := up.Upcast(e)
		require.NoError(t, err)
		assert.Equal(t, 2, got.SchemaVersion, e.Type)
		assert.JSONEq(t, string(e.Data), string(got.Data), e.Type)
		assert.NoError(t, eventcatalog.Validate(got), e.Type)
	}
}

// TestEventsDocIsCurrent fails when docs/events.md was not regenerated
// after a schema changed: run `make catalog`.
func TestEventsDocIsCurrent(t *testing.T) {
	onDisk, err := os.ReadFile("../../docs/events.md")
	require.NoError(t, err)
	assert.Equal(t, string(eventcatalog.Default().Markdown()), string(onDisk), "docs/events.md is stale: run `make catalog`")
}
