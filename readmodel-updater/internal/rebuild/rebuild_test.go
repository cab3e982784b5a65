package rebuild_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/readmodel-updater/internal/projections/carts"
	"github.com/prism-es/prism/readmodel-updater/internal/rebuild"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventcatalog"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/projection"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/readmodel"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

func event(id string, v int64, typ string, data any) envelope.Event {
	b, _ := json.Marshal(data)
	return envelope.Event{EventID: uuid.NewString(), Type: typ, SchemaVersion: eventcatalog.Default().Latest(typ), AggregateType: "cart", AggregateID: id,
		Version: v, OccurredAt: envelope.Now(), Data: b, Metadata: envelope.EventMetadata{CommandID: fmt.Sprintf("c%d", v)}}
}

// TestRebuildMatchesTheLiveRows builds 200 carts through the live runner,
// rebuilds the projection while more events keep arriving, and checks that
// the rebuilt table is what the live projection would hold.
func TestRebuildMatchesTheLiveRows(t *testing.T) {
	ctx := context.Background()
	acc, err := storage.Connect(env.ConnString)
	require.NoError(t, err)
	eventsTable := testenv.TableName("events")
	p := carts.Projection()
	p.Name = testenv.TableName("carts") // this test's own live table
	require.NoError(t, acc.EnsureTables(ctx, eventsTable, readmodel.CatalogTable, p.Name))
	events := eventstore.NewTableStore(acc, eventsTable, eventcatalog.Upcasters())
	store := readmodel.NewStore(acc)
	catalog := readmodel.NewCatalog(acc, 200*time.Millisecond)
	runner := projection.NewRunner(store, catalog, events, nil, p)

	deliver := func(e envelope.Event) {
		require.NoError(t, events.Append(ctx, e.StreamID(), e.Version-1, []envelope.Event{e}, e.Metadata.CommandID))
		b, _ := json.Marshal(e)
		require.NoError(t, runner.Handle(ctx, &queue.Message{Body: b}))
	}
	const n = 200
	ids := make([]string, n)
	versions := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		ids[i] = uuid.NewString()
		wg.Add(1)
		go func() {
			defer wg.Done()
			deliver(event(ids[i], 1, "CartCreated", map[string]string{"owner": fmt.Sprintf("user-%d", i%7)}))
			for v := int64(2); v <= int64(2+i%4); v++ {
				deliver(event(ids[i], v, "ItemAdded", map[string]any{"sku": fmt.Sprintf("S%d", v), "name": "n", "quantity": i%5 + 1, "unitPriceCents": 10 * v}))
			}
			versions[i] = int64(2 + i%4)
		}()
	}
	wg.Wait()

	r := &rebuild.Rebuilder{Account: acc, Store: store, Catalog: catalog, Events: events, Workers: 8}
	done, err := r.Start(ctx, p)
	require.NoError(t, err)
	_, err = r.Start(ctx, p)
	assert.Error(t, err, "one rebuild of a projection at a time")
	// Keep the system live while it runs: more events for ten carts.
	for i := range 10 {
		versions[i]++
		deliver(event(ids[i], versions[i], "ItemAdded", map[string]any{"sku": "LATE", "name": "late", "quantity": 1, "unitPriceCents": 1}))
	}
	var prog rebuild.Progress
	select {
	case prog = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("rebuild did not finish")
	}
	require.Empty(t, prog.Error)
	assert.Equal(t, rebuild.PhaseDone, prog.Phase)
	assert.Equal(t, int64(n), prog.Streams)
	assert.NotEqual(t, p.Name, prog.Table)
	live, err := catalog.Live(ctx, p.Name)
	require.NoError(t, err)
	assert.Equal(t, prog.Table, live, "the rebuilt table is live")

	// Deliver once more after the switch: the live runner now writes there.
	versions[0]++
	deliver(event(ids[0], versions[0], "ItemAdded", map[string]any{"sku": "AFTER", "name": "after", "quantity": 1, "unitPriceCents": 1}))

	for i, id := range ids {
		row, ok, err := store.Get(ctx, prog.Table, id, "cart")
		require.NoError(t, err)
		require.True(t, ok, "cart %d missing from the rebuilt table", i)
		assert.Equal(t, versions[i], row.Version, "cart %d", i)
		// The rebuilt document equals a fold of the cart's events.
		evs, err := events.Load(ctx, "cart-"+id, 1)
		require.NoError(t, err)
		var want carts.View
		for _, e := range evs {
			require.NoError(t, carts.Apply(&want, e))
		}
		want.CartID = id
		var got carts.View
		require.NoError(t, json.Unmarshal(row.Doc, &got))
		assert.Equal(t, want.Items, got.Items, "cart %d", i)
		assert.Equal(t, want.TotalCents, got.TotalCents, "cart %d", i)
		assert.Equal(t, want.UserID, got.UserID, "cart %d", i)
	}
}
