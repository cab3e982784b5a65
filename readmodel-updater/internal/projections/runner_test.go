package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/readmodel-updater/internal/projections/carts"
	"github.com/prism-es/prism/readmodel-updater/internal/projections/orders"
	"github.com/prism-es/prism/readmodel-updater/internal/projections/products"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventcatalog"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/projection"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/readmodel"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// fixture is an isolated event table, catalog and runner.
type fixture struct {
	acc     *storage.Account
	events  *eventstore.TableStore
	store   *readmodel.Store
	catalog *readmodel.Catalog
	runner  *projection.Runner
	rdb     *notices.Reader
	suffix  string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	acc, err := storage.Connect(env.ConnString)
	require.NoError(t, err)
	eventsTable := testenv.TableName("events")
	suffix := testenv.TableName("x")
	require.NoError(t, acc.EnsureTables(context.Background(), eventsTable, readmodel.CatalogTable))
	catalog := readmodel.NewCatalog(acc, 100*time.Millisecond)
	// Point each projection at a table of this test's own.
	for _, name := range []string{carts.Name, orders.Name, products.Name} {
		require.NoError(t, acc.EnsureTables(context.Background(), name+suffix))
	}
	f := &fixture{acc: acc, events: eventstore.NewTableStore(acc, eventsTable, eventcatalog.Upcasters()), store: readmodel.NewStore(acc), catalog: catalog, suffix: suffix}
	rdb := env.Redis(t)
	f.rdb = notices.NewReader(rdb)
	f.runner = projection.NewRunner(f.store, catalog, f.events, notices.NewPublisher(rdb, notices.Config{}), f.projections()...)
	return f
}

// projections renames the projections so their live tables are this
// fixture's (the catalog resolves an unswitched projection to its name).
func (f *fixture) projections() []projection.Projection {
	ps := []projection.Projection{carts.Projection(), orders.Projection(), products.Projection()}
	for i := range ps {
		ps[i].Name += f.suffix
	}
	return ps
}

func event(aggType, id string, v int64, typ string, data any) envelope.Event {
	b, _ := json.Marshal(data)
	schema := eventcatalog.Default().Latest(typ)
	return envelope.Event{EventID: uuid.NewString(), Type: typ, SchemaVersion: schema, AggregateType: aggType, AggregateID: id,
		Version: v, OccurredAt: envelope.Now(), Data: b, Metadata: envelope.EventMetadata{CommandID: fmt.Sprintf("c%d", v), UserID: "alice"}}
}

// cartHistory appends a cart's history to the event store: created, then n
// ItemAdded of 1 unit of SKU-A at 100.
func (f *fixture) cartHistory(t *testing.T, cart string, n int) []envelope.Event {
	return f.ownedCartHistory(t, "alice", cart, n)
}

func (f *fixture) ownedCartHistory(t *testing.T, owner, cart string, n int) []envelope.Event {
	t.Helper()
	evs := []envelope.Event{event("cart", cart, 1, "CartCreated", map[string]string{"owner": owner})}
	for i := range n {
		evs = append(evs, event("cart", cart, int64(i+2), "ItemAdded", map[string]any{"sku": "SKU-A", "name": "A", "quantity": 1, "unitPriceCents": 100}))
	}
	for _, e := range evs {
		require.NoError(t, f.events.Append(context.Background(), e.StreamID(), e.Version-1, []envelope.Event{e}, e.Metadata.CommandID))
	}
	return evs
}

func (f *fixture) deliver(t *testing.T, e envelope.Event) {
	t.Helper()
	b, err := json.Marshal(e)
	require.NoError(t, err)
	require.NoError(t, f.runner.Handle(context.Background(), &queue.Message{Body: b}))
}

func (f *fixture) cart(t *testing.T, id string) (carts.View, readmodel.Row) {
	t.Helper()
	row, ok, err := f.store.Get(context.Background(), carts.Name+f.suffix, id, "cart")
	require.NoError(t, err)
	require.True(t, ok, "cart row %s missing", id)
	var v carts.View
	require.NoError(t, json.Unmarshal(row.Doc, &v))
	return v, row
}

func TestEventsOutOfOrderAndTwiceGiveTheExactRow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cart := uuid.NewString()
	evs := f.cartHistory(t, cart, 9) // versions 1..10
	// Shuffle, and deliver every event twice.
	order := append(append([]envelope.Event{}, evs...), evs...)
	rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for _, e := range order {
		f.deliver(t, e)
	}
	v, row := f.cart(t, cart)
	assert.Equal(t, int64(10), row.Version)
	assert.Equal(t, int64(10), v.Version)
	require.Len(t, v.Items, 1)
	assert.Equal(t, 9, v.Items[0].Quantity, "each ItemAdded applied exactly once")
	assert.Equal(t, int64(900), v.TotalCents)
	assert.Equal(t, "alice", v.UserID)
}

func TestConcurrentDeliveriesOfOneCart(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cart := uuid.NewString()
	evs := f.cartHistory(t, cart, 40)
	var wg sync.WaitGroup
	for _, e := range evs {
		wg.Add(1)
		go func() { defer wg.Done(); f.deliver(t, e) }()
	}
	wg.Wait()
	v, row := f.cart(t, cart)
	assert.Equal(t, int64(41), row.Version)
	assert.Equal(t, 40, v.Items[0].Quantity)
}

func TestDeletedRowIsRebuiltFromTheGapFill(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cart := uuid.NewString()
	evs := f.cartHistory(t, cart, 5)
	for _, e := range evs[:4] {
		f.deliver(t, e)
	}
	require.NoError(t, f.store.Delete(context.Background(), carts.Name+f.suffix, cart, "cart"))
	f.deliver(t, evs[5]) // version 6: the row is gone, versions 1..5 are read back
	v, row := f.cart(t, cart)
	assert.Equal(t, int64(6), row.Version)
	assert.Equal(t, 5, v.Items[0].Quantity)
}

func TestChangesArePublishedOnTheRightStreams(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cart := uuid.NewString()
	ctx := context.Background()
	owner := "u-" + uuid.NewString()
	evs := f.ownedCartHistory(t, owner, cart, 1)
	for _, e := range evs {
		f.deliver(t, e)
	}
	f.deliver(t, evs[0]) // stale: no notice
	got, err := f.rdb.Tail(ctx, notices.CartStream(cart), 100)
	require.NoError(t, err)
	require.Len(t, got, 2, "one notice per change, none for the stale redelivery")
	assert.Equal(t, "cart.updated", got[1].Type)
	var v carts.View
	require.NoError(t, json.Unmarshal(got[1].Data, &v))
	assert.Equal(t, int64(2), v.Version)
	mine, err := f.rdb.Tail(ctx, notices.UserStream(owner), 100)
	require.NoError(t, err)
	require.Len(t, mine, 2, "the owner's me stream gets them too")
	for _, n := range mine {
		assert.Equal(t, "cart.updated", n.Type)
	}
}

func TestOrdersAndTheUserIndex(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	user := "u-" + uuid.NewString()
	var ids []string
	for i := range 3 {
		id := uuid.NewString()
		ids = append(ids, id)
		placed := event("order", id, 1, "OrderPlaced", map[string]any{"cartId": uuid.NewString(), "owner": user, "totalCents": 100 * (i + 1),
			"lines": []map[string]any{{"sku": "A", "name": "A", "quantity": i + 1, "unitPriceCents": 100}}})
		placed.OccurredAt = envelope.Now().Add(time.Duration(i) * time.Second)
		require.NoError(t, f.events.Append(ctx, placed.StreamID(), 0, []envelope.Event{placed}, "c1"))
		f.deliver(t, placed)
	}
	cancel := event("order", ids[0], 2, "OrderCancelled", map[string]string{"reason": "customer"})
	require.NoError(t, f.events.Append(ctx, cancel.StreamID(), 1, []envelope.Event{cancel}, "c2"))
	f.deliver(t, cancel)

	row, ok, err := f.store.Get(ctx, orders.Name+f.suffix, ids[0], "order")
	require.NoError(t, err)
	require.True(t, ok)
	var o orders.View
	require.NoError(t, json.Unmarshal(row.Doc, &o))
	assert.Equal(t, "cancelled", o.Status)
	assert.Equal(t, "customer", o.CancelReason)
	require.Len(t, o.History, 2)
	assert.Equal(t, "placed", o.History[0].Status)

	rows, next, err := f.store.List(ctx, orders.Name+f.suffix, readmodel.UserOrdersPartition(user), 10, "")
	require.NoError(t, err)
	assert.Empty(t, next)
	require.Len(t, rows, 3)
	var listed []string
	for _, r := range rows {
		var s orders.Summary
		require.NoError(t, json.Unmarshal(r.Doc, &s))
		listed = append(listed, s.OrderID)
		if s.OrderID == ids[0] {
			assert.Equal(t, "cancelled", s.Status, "the index follows the order")
		}
	}
	assert.Equal(t, []string{ids[2], ids[1], ids[0]}, listed, "newest first")
}

func TestProductsAvailability(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	sku := "SKU-" + uuid.NewString()[:8]
	evs := []envelope.Event{
		event("product", sku, 1, "ProductDefined", map[string]any{"sku": sku, "name": "Tea", "priceCents": 450, "stock": 10}),
		event("product", sku, 2, "ProductRestocked", map[string]any{"quantity": 5}),
		event("product", sku, 3, "StockReserved", map[string]any{"orderId": "o1", "quantity": 4}),
		event("product", sku, 4, "StockReleased", map[string]any{"orderId": "o1", "quantity": 4}),
		event("product", sku, 5, "StockReserved", map[string]any{"orderId": "o2", "quantity": 15}),
	}
	for _, e := range evs {
		require.NoError(t, f.events.Append(ctx, e.StreamID(), e.Version-1, []envelope.Event{e}, e.Metadata.CommandID))
	}
	f.deliver(t, evs[4]) // only the last: the rest comes from the gap fill
	row, ok, err := f.store.Get(ctx, products.Name+f.suffix, readmodel.ProductsPartition, sku)
	require.NoError(t, err)
	require.True(t, ok)
	assert.JSONEq(t, fmt.Sprintf(`{"sku":%q,"name":"Tea","priceCents":450,"available":0,"version":5,"updatedAt":%q}`, sku, evs[4].OccurredAt.Format(time.RFC3339Nano)), string(row.Doc))
}

// TestGapFillReadsV1RowsUpcast: rows an older release wrote as ItemAdded v1
// reach the projection in the v2 shape, names and prices included.
func TestGapFillReadsV1RowsUpcast(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cart := uuid.NewString()
	created := event("cart", cart, 1, "CartCreated", map[string]string{"owner": "alice"})
	v1 := event("cart", cart, 2, "ItemAdded", map[string]any{"sku": "OLD-1", "quantity": 3, "priceCents": 200})
	v1.SchemaVersion = 1
	v2 := event("cart", cart, 3, "ItemAdded", map[string]any{"sku": "NEW-1", "name": "New", "quantity": 1, "unitPriceCents": 50})
	v2.SchemaVersion = 2
	for _, e := range []envelope.Event{created, v1, v2} {
		require.NoError(t, f.events.Append(context.Background(), e.StreamID(), e.Version-1, []envelope.Event{e}, e.Metadata.CommandID))
	}
	f.deliver(t, v2) // versions 1 and 2 come from the gap fill, upcast
	v, row := f.cart(t, cart)
	assert.Equal(t, int64(3), row.Version)
	assert.Equal(t, []carts.Item{{SKU: "OLD-1", Name: "OLD-1", Quantity: 3, UnitPriceCents: 200}, {SKU: "NEW-1", Name: "New", Quantity: 1, UnitPriceCents: 50}}, v.Items)
	assert.Equal(t, int64(650), v.TotalCents)
}

func TestAV1EventFromTheQueueIsUpcastBeforeItIsProjected(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cart := uuid.NewString()
	created := event("cart", cart, 1, "CartCreated", map[string]string{"owner": "alice"})
	require.NoError(t, f.events.Append(context.Background(), created.StreamID(), 0, []envelope.Event{created}, created.Metadata.CommandID))
	f.deliver(t, created)
	// An ItemAdded in its v1 shape (priceCents, no name), as a message queued
	// before a rollout or redriven from a poison queue carries it.
	old := event("cart", cart, 2, "ItemAdded", map[string]any{"sku": "SKU-OLD", "quantity": 3, "priceCents": 250})
	old.SchemaVersion = 1
	f.deliver(t, old)
	v, row := f.cart(t, cart)
	assert.Equal(t, int64(2), row.Version)
	require.Len(t, v.Items, 1)
	assert.Equal(t, int64(250), v.Items[0].UnitPriceCents, "the v1 price was upcast, not read as zero")
	assert.Equal(t, "SKU-OLD", v.Items[0].Name, "the v1 event's missing name became the SKU")
	assert.Equal(t, int64(750), v.TotalCents)
}
