package handling_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/domain-service/internal/handling"
	"github.com/prism-es/prism/domain-service/internal/product"
	"github.com/prism-es/prism/shared/aggregate"
	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/commandstatus"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/testenv"
)

func TestCommandsBecomeEventsWithMarkerAndStatus(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	startReplica(t, w, handling.Config{})
	sku := skus(1)[0]
	defineProduct(t, w, sku, 250, 100)

	cart := uuid.NewString()
	create := command("alice", "cart", cart, "CreateCart", map[string]any{})
	add := command("alice", "cart", cart, "AddItem", map[string]any{"sku": sku, "quantity": 2})
	send(t, w, create)
	require.Equal(t, commandstatus.Succeeded, settle(t, create.CommandID).Status)
	send(t, w, add)
	st := settle(t, add.CommandID)
	require.Equal(t, commandstatus.Succeeded, st.Status)
	assert.Equal(t, int64(2), st.Version)
	assert.Equal(t, cart, st.AggregateID)

	events := loadStream(t, w, "cart", cart)
	require.Len(t, events, 2)
	assert.Equal(t, "CartCreated", events[0].Type)
	assert.Equal(t, "ItemAdded", events[1].Type)
	assert.JSONEq(t, `{"sku":"`+sku+`","name":"Widget `+sku+`","quantity":2,"unitPriceCents":250}`, string(events[1].Data), "the price comes from the product")
	assert.Equal(t, add.CommandID, events[1].Metadata.CommandID)
	assert.Equal(t, add.Metadata.Traceparent, events[1].Metadata.Traceparent)
	assert.Equal(t, "alice", events[1].Metadata.UserID)

	rec, found, err := eventstore.NewTableStore(account(t), w.events, nil).Recorded(context.Background(), "cart-"+cart, add.CommandID)
	require.NoError(t, err)
	require.True(t, found, "the cmd- row is recorded with the events")
	require.Len(t, rec, 1)

	published := drain(t, w)
	var types []string
	for _, e := range published {
		types = append(types, e.Type)
	}
	assert.ElementsMatch(t, []string{"ProductDefined", "CartCreated", "ItemAdded"}, types, "every event goes to the subscriber queue once")
}

func TestRejectionIsRecordedWithReasonAndNotRetried(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	startReplica(t, w, handling.Config{})
	cart := uuid.NewString()
	create := command("alice", "cart", cart, "CreateCart", map[string]any{})
	send(t, w, create)
	settle(t, create.CommandID)

	unknown := command("alice", "cart", cart, "AddItem", map[string]any{"sku": "NOPE", "quantity": 1})
	foreign := command("mallory", "cart", cart, "AddItem", map[string]any{"sku": "NOPE", "quantity": 1})
	empty := command("alice", "cart", cart, "CheckoutCart", map[string]any{"orderId": uuid.NewString()})
	send(t, w, unknown, foreign, empty)
	for id, reason := range map[string]string{unknown.CommandID: "unknown product NOPE", foreign.CommandID: "cart not found", empty.CommandID: "cart is empty"} {
		st := settle(t, id)
		assert.Equal(t, commandstatus.Rejected, st.Status)
		assert.Equal(t, reason, st.Reason)
	}
	assert.Len(t, loadStream(t, w, "cart", cart), 1, "a rejection appends nothing")
	q := queue.Open(account(t), w.commands, nil)
	require.Eventually(t, func() bool { d, _ := q.Depth(context.Background()); return d == 0 }, 5*time.Second, 20*time.Millisecond)
	pd, err := q.PoisonDepth(context.Background())
	require.NoError(t, err)
	assert.Zero(t, pd, "rejections are not retried into the poison queue")
}

func TestARejectedCommandIsNeverAppliedByALaterDelivery(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	startReplica(t, w, handling.Config{})
	cart := uuid.NewString()
	create := command("alice", "cart", cart, "CreateCart", map[string]any{})
	send(t, w, create)
	settle(t, create.CommandID)
	sku := skus(1)[0]
	add := command("alice", "cart", cart, "AddItem", map[string]any{"sku": sku, "quantity": 1})
	send(t, w, add)
	st := settle(t, add.CommandID)
	require.Equal(t, commandstatus.Rejected, st.Status)

	// The product exists now; the same command delivered again (a
	// redelivery, or a client's retry under the same Idempotency-Key) must
	// not turn the recorded rejection into an item in the cart.
	defineProduct(t, w, sku, 100, 10)
	send(t, w, add)
	q := queue.Open(account(t), w.commands, nil)
	require.Eventually(t, func() bool { d, _ := q.Depth(context.Background()); return d == 0 }, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		ok, err := recorded(t, w, "cart-"+cart, add.CommandID)
		return err == nil && ok
	}, 10*time.Second, 20*time.Millisecond)
	st = settle(t, add.CommandID)
	assert.Equal(t, commandstatus.Rejected, st.Status)
	assert.Equal(t, "unknown product "+sku, st.Reason, "the first outcome stands")
	assert.Len(t, loadStream(t, w, "cart", cart), 1, "the redelivery appended nothing")
}

// TestConcurrentAddsOnOneCartAcrossThreeReplicas is the hot-aggregate race:
// 300 AddItem on one cart, three replicas competing, each with its own cache
// and clients. Versions must be 1..301 without a gap, every command applied
// exactly once.
func TestConcurrentAddsOnOneCartAcrossThreeReplicas(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for range 3 {
		startReplica(t, w, handling.Config{})
	}
	products := skus(10)
	for _, s := range products {
		defineProduct(t, w, s, 100, 1000)
	}
	cart := uuid.NewString()
	create := command("alice", "cart", cart, "CreateCart", map[string]any{})
	send(t, w, create)
	require.Equal(t, commandstatus.Succeeded, settle(t, create.CommandID).Status)

	const n = 300
	cmds := make([]envelope.Command, n)
	for i := range cmds {
		cmds[i] = command("alice", "cart", cart, "AddItem", map[string]any{"sku": products[i%len(products)], "quantity": 1})
	}
	var wg sync.WaitGroup
	for part := range 6 { // six concurrent senders
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := part; i < n; i += 6 {
				send(t, w, cmds[i])
			}
		}()
	}
	wg.Wait()
	for _, c := range cmds {
		require.Equal(t, commandstatus.Succeeded, settle(t, c.CommandID).Status, c.CommandID)
	}

	events := loadStream(t, w, "cart", cart)
	require.Len(t, events, n+1)
	applied := map[string]int{}
	for i, e := range events {
		require.Equal(t, int64(i+1), e.Version, "versions are contiguous")
		applied[e.Metadata.CommandID]++
	}
	for _, c := range cmds {
		assert.Equal(t, 1, applied[c.CommandID], "command %s applied exactly once", c.CommandID)
	}
	qty := map[string]int{}
	for _, e := range events[1:] {
		var d struct {
			SKU      string `json:"sku"`
			Quantity int    `json:"quantity"`
		}
		require.NoError(t, json.Unmarshal(e.Data, &d))
		qty[d.SKU] += d.Quantity
	}
	for _, s := range products {
		assert.Equal(t, n/len(products), qty[s])
	}
}

// TestReplicaDyingBetweenAppendAndDeleteRepublishes simulates a replica that
// appended the events and died before publishing and deleting: the message
// comes back, the next delivery finds the cmd- row and publishes the
// recorded events; nothing is applied twice.
func TestReplicaDyingBetweenAppendAndDeleteRepublishes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var crashes atomic.Int32
	startReplica(t, w, handling.Config{Config: aggregate.Config{AfterAppend: func(_ context.Context, cmd envelope.Command) error {
		if cmd.Type == "CreateCart" && crashes.Add(1) == 1 {
			return errors.New("simulated crash after append")
		}
		return nil
	}}})
	cart := uuid.NewString()
	create := command("alice", "cart", cart, "CreateCart", map[string]any{})
	send(t, w, create)
	st := settle(t, create.CommandID)
	// The first delivery stopped before recording any status, so success
	// proves the redelivery ran, found the marker and was not rejected as
	// "already exists".
	assert.Equal(t, commandstatus.Succeeded, st.Status)
	assert.Equal(t, int32(1), crashes.Load(), "the redelivery took the duplicate path, not a second append")
	events := loadStream(t, w, "cart", cart)
	require.Len(t, events, 1, "applied once")

	published := drain(t, w)
	require.Len(t, published, 1, "published once (the crash came before publishing)")
	assert.Equal(t, events[0].EventID, published[0].EventID, "the recorded event, not a new one")
}

func TestRedeliveredCommandIsNotAppliedTwice(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	startReplica(t, w, handling.Config{})
	sku := skus(1)[0]
	defineProduct(t, w, sku, 100, 10)
	cart := uuid.NewString()
	create := command("alice", "cart", cart, "CreateCart", map[string]any{})
	send(t, w, create)
	settle(t, create.CommandID)
	add := command("alice", "cart", cart, "AddItem", map[string]any{"sku": sku, "quantity": 1})
	send(t, w, add, add, add) // the same message three times, as at-least-once delivery may
	require.Equal(t, commandstatus.Succeeded, settle(t, add.CommandID).Status)
	q := queue.Open(account(t), w.commands, nil)
	require.Eventually(t, func() bool { d, _ := q.Depth(context.Background()); return d == 0 }, 10*time.Second, 20*time.Millisecond)
	events := loadStream(t, w, "cart", cart)
	require.Len(t, events, 2)
	assert.Equal(t, commandstatus.Succeeded, settle(t, add.CommandID).Status)
}

func TestCheckoutPlacesTheOrder(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	startReplica(t, w, handling.Config{})
	sku := skus(1)[0]
	defineProduct(t, w, sku, 300, 10)
	cart, orderID := uuid.NewString(), uuid.NewString()
	create := command("alice", "cart", cart, "CreateCart", map[string]any{})
	send(t, w, create)
	settle(t, create.CommandID)
	add := command("alice", "cart", cart, "AddItem", map[string]any{"sku": sku, "quantity": 3})
	send(t, w, add)
	settle(t, add.CommandID)
	co := command("alice", "cart", cart, "CheckoutCart", map[string]any{"orderId": orderID, "paymentToken": "pm_ok"})
	send(t, w, co)
	require.Equal(t, commandstatus.Succeeded, settle(t, co.CommandID).Status)

	var orderEvents []envelope.Event
	require.Eventually(t, func() bool { orderEvents = loadStream(t, w, "order", orderID); return len(orderEvents) == 1 }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, "OrderPlaced", orderEvents[0].Type)
	assert.JSONEq(t, `{"cartId":"`+cart+`","owner":"alice","lines":[{"sku":"`+sku+`","name":"Widget `+sku+`","quantity":3,"unitPriceCents":300}],"totalCents":900,"paymentToken":"pm_ok"}`, string(orderEvents[0].Data))
	assert.Equal(t, co.Metadata.CorrelationID, orderEvents[0].Metadata.CorrelationID, "the order carries the checkout's correlation id")
	assert.Equal(t, envelope.DerivedID(orderID, "place"), orderEvents[0].Metadata.CommandID)

	late := command("alice", "cart", cart, "AddItem", map[string]any{"sku": sku, "quantity": 1})
	send(t, w, late)
	st := settle(t, late.CommandID)
	assert.Equal(t, commandstatus.Rejected, st.Status)
	assert.Equal(t, "cart is checked out", st.Reason)
}

func TestInfrastructureFailureEndsFailedInPoison(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.subscriber = testenv.QueueName("missing") // never created: every publish fails
	startReplica(t, w, handling.Config{})
	c := command("alice", "cart", uuid.NewString(), "CreateCart", map[string]any{})
	send(t, w, c)
	st := settle(t, c.CommandID)
	assert.Equal(t, commandstatus.Failed, st.Status)
	assert.Equal(t, aggregate.FailedReason, st.Reason)
	q := queue.Open(account(t), w.commands, nil)
	recs, err := q.PeekPoison(context.Background(), 1)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, int64(5), recs[0].DequeueCount)
}

func TestSnapshotsAreWrittenAndUsed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	startReplica(t, w, handling.Config{Config: aggregate.Config{SnapshotEvery: 10, CacheSize: -1}})
	sku := skus(1)[0]
	defineProduct(t, w, sku, 100, 1000)
	for range 12 {
		c := command("admin", "product", sku, "RestockProduct", map[string]any{"quantity": 1})
		send(t, w, c)
		require.Equal(t, commandstatus.Succeeded, settle(t, c.CommandID).Status)
	}
	snaps := eventstore.NewSnapshots(account(t), w.snapshots)
	snap, ok, err := snaps.Get(context.Background(), "product-"+sku, 1)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, int64(10), snap.Version)
	assert.Contains(t, string(snap.State), `"available":1009`)

	// A lying snapshot proves it is read: with it, the state starts from it.
	require.NoError(t, snaps.Put(context.Background(), eventstore.Snapshot{Stream: "product-" + sku, Version: 13, StateVersion: 1,
		State: json.RawMessage(`{"sku":"` + sku + `","exists":true,"name":"x","priceCents":1,"available":5}`)}))
	reserve := command("system", "product", sku, "ReserveStock", map[string]any{"orderId": uuid.NewString(), "quantity": 6})
	send(t, w, reserve)
	require.Equal(t, commandstatus.Succeeded, settle(t, reserve.CommandID).Status)
	events := loadStream(t, w, "product", sku)
	last := events[len(events)-1]
	assert.Equal(t, "StockReservationFailed", last.Type)
	assert.Contains(t, string(last.Data), `"available":5`, "the snapshot's 5 available, not the events' 1012")
}

// unreadableSnapshots is a snapshot port whose reads fail (its table is
// unreachable); writes are kept, so the test sees the handler still works.
type unreadableSnapshots struct{ puts atomic.Int32 }

func (u *unreadableSnapshots) Get(context.Context, string, int) (eventstore.Snapshot, bool, error) {
	return eventstore.Snapshot{}, false, apperr.New(apperr.Unavailable, "snapshots table is unavailable (test)")
}

func (u *unreadableSnapshots) Put(context.Context, eventstore.Snapshot) error {
	u.puts.Add(1)
	return nil
}

func TestAFailedSnapshotReadFallsBackToTheEvents(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	snaps := &unreadableSnapshots{}
	h := handling.New(handling.Deps{Deps: aggregate.Deps{
		Store:     storeOf(t, w),
		Snapshots: snaps,
		Commands:  queue.Open(account(t), w.commands, nil),
		Outcomes:  aggregate.Outcomes{Status: commandstatus.New(env.Redis(t)), Notices: notices.NewPublisher(env.Redis(t), notices.Config{})},
	}}, handling.Config{Config: aggregate.Config{SnapshotEvery: 1, CacheSize: -1}})
	sku := skus(1)[0]
	ctx := context.Background()
	require.NoError(t, h.Execute(ctx, command("admin", "product", sku, "DefineProduct", map[string]any{"sku": sku, "name": "n", "priceCents": 1, "stock": 1})))
	restock := command("admin", "product", sku, "RestockProduct", map[string]any{"quantity": 4})
	require.NoError(t, h.Execute(ctx, restock), "a snapshot is a speed-up: its failure never fails a command")
	assert.Equal(t, commandstatus.Succeeded, settle(t, restock.CommandID).Status)
	got, err := h.Replay(ctx, "product", sku)
	require.NoError(t, err)
	assert.Equal(t, 5, got.State.(product.State).Available)
	assert.Positive(t, snaps.puts.Load())
}

func TestReplayFoldsTheStream(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := startReplica(t, w, handling.Config{})
	sku := skus(1)[0]
	defineProduct(t, w, sku, 100, 50)
	restock := command("admin", "product", sku, "RestockProduct", map[string]any{"quantity": 7})
	send(t, w, restock)
	settle(t, restock.CommandID)

	got, err := r.handler.Replay(context.Background(), "product", sku)
	require.NoError(t, err)
	assert.Equal(t, int64(2), got.Version)
	require.Len(t, got.Events, 2)
	assert.Equal(t, "ProductRestocked", got.Events[1].Type)
	b, err := json.Marshal(got.State)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"available":57`)

	_, err = r.handler.Replay(context.Background(), "product", "NO-SUCH")
	assert.Equal(t, apperr.NotFound, apperr.KindOf(err))
	_, err = r.handler.Replay(context.Background(), "spaceship", "x")
	assert.Equal(t, apperr.NotFound, apperr.KindOf(err))
}

// TestStaleCacheNeverTurnsACommandIntoANoop: a decision of "nothing to do"
// on a cached state has no version row to conflict on, so it must be
// re-decided on the stored state. Replica A caches the cart at quantity 1;
// replica B changes it to 5; A is then asked to set 1 again.
func TestStaleCacheNeverTurnsACommandIntoANoop(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a, b := startReplica(t, w, handling.Config{}), startReplica(t, w, handling.Config{})
	a.stop() // drive both by hand, not through the queue
	b.stop()
	ctx := context.Background()
	sku := skus(1)[0]
	require.NoError(t, a.handler.Execute(ctx, command("admin", "product", sku, "DefineProduct", map[string]any{"sku": sku, "name": "x", "priceCents": 1, "stock": 1})))
	cart := uuid.NewString()
	require.NoError(t, a.handler.Execute(ctx, command("alice", "cart", cart, "CreateCart", map[string]any{})))
	require.NoError(t, a.handler.Execute(ctx, command("alice", "cart", cart, "AddItem", map[string]any{"sku": sku, "quantity": 1})))
	require.NoError(t, b.handler.Execute(ctx, command("alice", "cart", cart, "ChangeQuantity", map[string]any{"sku": sku, "quantity": 5})))
	require.NoError(t, a.handler.Execute(ctx, command("alice", "cart", cart, "ChangeQuantity", map[string]any{"sku": sku, "quantity": 1})))

	events := loadStream(t, w, "cart", cart)
	require.Len(t, events, 4)
	assert.Equal(t, "ItemQuantityChanged", events[3].Type)
	assert.JSONEq(t, `{"sku":"`+sku+`","quantity":1}`, string(events[3].Data))
}

// TestStreamWithV1RowsFromTheOldCodePath: a cart whose ItemAdded rows were
// written at schema version 1 by an older release ({sku, quantity,
// priceCents}, no name) keeps working: the rows are upcast on read.
func TestStreamWithV1RowsFromTheOldCodePath(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := startReplica(t, w, handling.Config{})
	ctx := context.Background()
	sku := skus(1)[0]
	defineProduct(t, w, sku, 300, 100)
	cart := uuid.NewString()
	old := []envelope.Event{
		{EventID: uuid.NewString(), Type: "CartCreated", SchemaVersion: 1, AggregateType: "cart", AggregateID: cart, Version: 1,
			OccurredAt: envelope.Now(), Data: json.RawMessage(`{"owner":"alice"}`), Metadata: envelope.EventMetadata{CommandID: "old-1", UserID: "alice"}},
		{EventID: uuid.NewString(), Type: "ItemAdded", SchemaVersion: 1, AggregateType: "cart", AggregateID: cart, Version: 2,
			OccurredAt: envelope.Now(), Data: json.RawMessage(`{"sku":"LEGACY-1","quantity":2,"priceCents":125}`), Metadata: envelope.EventMetadata{CommandID: "old-2", UserID: "alice"}},
	}
	// The old release appended them one command at a time.
	raw := eventstore.NewTableStore(account(t), w.events, nil)
	require.NoError(t, raw.Append(ctx, "cart-"+cart, 0, old[:1], "old-1"))
	require.NoError(t, raw.Append(ctx, "cart-"+cart, 1, old[1:], "old-2"))

	add := command("alice", "cart", cart, "AddItem", map[string]any{"sku": sku, "quantity": 1})
	send(t, w, add)
	require.Equal(t, commandstatus.Succeeded, settle(t, add.CommandID).Status)

	got, err := r.handler.Replay(ctx, "cart", cart)
	require.NoError(t, err)
	require.Len(t, got.Events, 3)
	assert.Equal(t, 2, got.Events[1].SchemaVersion, "read as v2")
	assert.JSONEq(t, `{"sku":"LEGACY-1","name":"LEGACY-1","quantity":2,"unitPriceCents":125}`, string(got.Events[1].Data))
	assert.Equal(t, 2, got.Events[2].SchemaVersion, "new rows are written as v2")
	state, err := json.Marshal(got.State)
	require.NoError(t, err)
	assert.Contains(t, string(state), `"sku":"LEGACY-1","name":"LEGACY-1","quantity":2,"unitPriceCents":125`)

	orderID := uuid.NewString()
	co := command("alice", "cart", cart, "CheckoutCart", map[string]any{"orderId": orderID, "paymentToken": "pm_ok"})
	send(t, w, co)
	require.Equal(t, commandstatus.Succeeded, settle(t, co.CommandID).Status)
	events := loadStream(t, w, "cart", cart)
	assert.Contains(t, string(events[len(events)-1].Data), `"totalCents":550`, "2×125 from the v1 row + 1×300")
}

// TestAStaleCacheCatchesUpOnConflict: replicas do not tell each other what
// they append (shard ownership keeps an aggregate on one replica); when a
// command still reaches a replica whose cached state is behind (a shard that
// moved), the append conflicts and the replica decides again on the current
// state.
func TestAStaleCacheCatchesUpOnConflict(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a, b := startReplica(t, w, handling.Config{}), startReplica(t, w, handling.Config{})
	ctx := context.Background()
	cart := uuid.NewString()
	sku := skus(1)[0]
	require.NoError(t, a.handler.Execute(ctx, command("admin", "product", sku, "DefineProduct", map[string]any{"sku": sku, "name": "x", "priceCents": 1, "stock": 1})))
	require.NoError(t, a.handler.Execute(ctx, command("alice", "cart", cart, "CreateCart", map[string]any{})))
	require.NoError(t, b.handler.Execute(ctx, command("alice", "cart", cart, "AddItem", map[string]any{"sku": sku, "quantity": 1})))
	require.NoError(t, a.handler.Execute(ctx, command("alice", "cart", cart, "ChangeQuantity", map[string]any{"sku": sku, "quantity": 3})))
	evs := loadStream(t, w, "cart", cart)
	require.Len(t, evs, 3)
	assert.JSONEq(t, `{"sku":"`+sku+`","quantity":3}`, string(evs[2].Data), "decided again on the current state")
}
