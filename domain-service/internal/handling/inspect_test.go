package handling_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/domain-service/internal/handling"
	"github.com/prism-es/prism/domain-service/internal/order"
	"github.com/prism-es/prism/shared/aggregate"
	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/commandstatus"
)

// TestReplayAtAVersionOrATime folds a product's stream as of each of its
// versions and times, lists only the events from a date when asked, and
// before the first event answers version 0 with no events.
func TestReplayAtAVersionOrATime(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := startReplica(t, w, handling.Config{})
	sku := skus(1)[0]
	defineProduct(t, w, sku, 100, 50)
	for _, q := range []int{7, 3} {
		c := command("admin", "product", sku, "RestockProduct", map[string]any{"quantity": q})
		send(t, w, c)
		require.Equal(t, commandstatus.Succeeded, settle(t, c.CommandID).Status)
	}
	ctx := context.Background()
	all, err := r.handler.Replay(ctx, "product", sku)
	require.NoError(t, err)
	require.Len(t, all.Events, 3)
	assert.Equal(t, int64(3), all.LatestVersion)
	assert.Equal(t, all.Events[2].OccurredAt, all.LatestAt)
	available := func(rp aggregate.Replayed) int {
		b, err := json.Marshal(rp.State)
		require.NoError(t, err)
		var s struct{ Available int }
		require.NoError(t, json.Unmarshal(b, &s))
		return s.Available
	}
	assert.Equal(t, 60, available(all))

	v2, err := r.handler.ReplayAt(ctx, "product", sku, aggregate.Point{Version: 2})
	require.NoError(t, err)
	assert.Equal(t, int64(2), v2.Version)
	assert.Equal(t, int64(3), v2.LatestVersion, "the latest version is always told, for stepping")
	assert.Len(t, v2.Events, 2)
	assert.Equal(t, 57, available(v2))

	asOf, err := r.handler.ReplayAt(ctx, "product", sku, aggregate.Point{AsOf: all.Events[0].OccurredAt})
	require.NoError(t, err)
	assert.Equal(t, int64(1), asOf.Version)
	assert.Equal(t, 50, available(asOf))

	before, err := r.handler.ReplayAt(ctx, "product", sku, aggregate.Point{AsOf: all.Events[0].OccurredAt.Add(-time.Hour)})
	require.NoError(t, err)
	assert.Zero(t, before.Version)
	assert.Empty(t, before.Events)

	both, err := r.handler.ReplayAt(ctx, "product", sku, aggregate.Point{Version: 3, AsOf: all.Events[1].OccurredAt})
	require.NoError(t, err)
	assert.Equal(t, int64(2), both.Version, "the earlier of the two limits wins")

	from, err := r.handler.ReplayAt(ctx, "product", sku, aggregate.Point{From: all.Events[2].OccurredAt})
	require.NoError(t, err)
	assert.Equal(t, int64(3), from.Version)
	require.Len(t, from.Events, 1, "only the events from that date are listed")
	assert.Equal(t, int64(3), from.Events[0].Version)
	assert.Equal(t, 60, available(from), "the state is still folded from the first event")
}

// TestTraceFollowsACheckoutToItsNotification: from the CheckoutCart command,
// the trace reaches the order, the saga's steps (reservation, charge,
// confirmation) and the notification of the confirmed order, each command
// with the events it recorded, in causal order.
func TestTraceFollowsACheckoutToItsNotification(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := startReplica(t, w, handling.Config{})
	s := shop{t, w, r}
	sku := skus(1)[0]
	defineProduct(t, w, sku, 250, 10)
	cart, orderID := uuid.NewString(), uuid.NewString()
	for _, c := range []struct {
		typ     string
		payload map[string]any
	}{{"CreateCart", map[string]any{}}, {"AddItem", map[string]any{"sku": sku, "quantity": 2}}} {
		cmd := command("alice", "cart", cart, c.typ, c.payload)
		send(t, w, cmd)
		require.Equal(t, commandstatus.Succeeded, settle(t, cmd.CommandID).Status)
	}
	co := command("alice", "cart", cart, "CheckoutCart", map[string]any{"orderId": orderID, "paymentToken": "pm_ok"})
	send(t, w, co)
	require.Equal(t, commandstatus.Succeeded, settle(t, co.CommandID).Status)
	s.waitOrder(orderID, order.StatusConfirmed)

	ctx := context.Background()
	var tr aggregate.Traced
	require.Eventually(t, func() bool { // the saga notes the confirmation a moment after it
		var err error
		tr, err = r.handler.Trace(ctx, co.CommandID, cart)
		require.NoError(t, err)
		return count(tr.Root, func(n aggregate.TraceNode) bool { return n.Type == "NoteOrderConfirmed" && n.Status == "applied" }) == 1
	}, 20*time.Second, 50*time.Millisecond)
	root := tr.Root
	assert.Equal(t, aggregate.NodeCommand, root.Kind)
	assert.Equal(t, co.CommandID, root.ID)
	assert.Equal(t, "cart-"+cart, root.Stream)
	assert.Equal(t, "applied", root.Status)
	require.Len(t, root.Children, 1)
	assert.Equal(t, "CartCheckedOut", root.Children[0].Type)
	for _, typ := range []string{"PlaceOrder", "StartCheckout", "ReserveStock", "MarkOrderStockReserved", "ChargePayment", "MarkOrderPaid", "ConfirmOrder"} {
		assert.Equal(t, 1, count(root, func(n aggregate.TraceNode) bool {
			return n.Kind == aggregate.NodeCommand && n.Type == typ && n.Status == "applied"
		}),
			"the trace has the applied %s", typ)
	}
	assert.Equal(t, 1, count(root, func(n aggregate.TraceNode) bool { return n.Kind == aggregate.NodeNotification }), "the confirmation's notification")
	assert.Equal(t, tr.Nodes, count(root, func(aggregate.TraceNode) bool { return true }))
	// Causes come before their effects.
	var walk func(n aggregate.TraceNode)
	walk = func(n aggregate.TraceNode) {
		for _, c := range n.Children {
			if !n.At.IsZero() && !c.At.IsZero() {
				assert.False(t, c.At.Before(n.At), "%s %s at %s is before its cause %s at %s", c.Kind, c.Type, c.At, n.Type, n.At)
			}
			if c.Kind == aggregate.NodeCommand && n.Kind == aggregate.NodeEvent {
				assert.Equal(t, n.ID, c.CausationID, "a caused command names its event")
			}
			walk(c)
		}
	}
	walk(root)

	_, err := r.handler.Trace(ctx, uuid.NewString(), cart)
	assert.Equal(t, apperr.NotFound, apperr.KindOf(err))
}

func count(n aggregate.TraceNode, pred func(aggregate.TraceNode) bool) int {
	c := 0
	if pred(n) {
		c++
	}
	for _, ch := range n.Children {
		c += count(ch, pred)
	}
	return c
}
