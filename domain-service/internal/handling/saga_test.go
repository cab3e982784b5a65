package handling_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/domain-service/internal/checkout"
	"github.com/prism-es/prism/domain-service/internal/handling"
	"github.com/prism-es/prism/domain-service/internal/order"
	"github.com/prism-es/prism/domain-service/internal/product"
	"github.com/prism-es/prism/shared/aggregate"
	"github.com/prism-es/prism/shared/commandstatus"
	"github.com/prism-es/prism/shared/envelope"
)

// shop drives one test world through carts and checkouts.
type shop struct {
	t *testing.T
	w world
	r *replica
}

// checkoutCart creates a cart for user with the lines and checks it out.
func (s shop) checkoutCart(user string, lines map[string]int, token string) string {
	s.t.Helper()
	return s.checkoutCartThen(user, lines, token, nil)
}

// checkoutCartThen is checkoutCart, running before (if set) just before the
// checkout.
func (s shop) checkoutCartThen(user string, lines map[string]int, token string, before func()) string {
	s.t.Helper()
	cart, orderID := uuid.NewString(), uuid.NewString()
	cmds := []envelope.Command{command(user, "cart", cart, "CreateCart", map[string]any{})}
	for sku, q := range lines {
		cmds = append(cmds, command(user, "cart", cart, "AddItem", map[string]any{"sku": sku, "quantity": q}))
	}
	for _, c := range cmds {
		send(s.t, s.w, c)
		require.Equal(s.t, commandstatus.Succeeded, settle(s.t, c.CommandID).Status)
	}
	if before != nil {
		before()
	}
	co := command(user, "cart", cart, "CheckoutCart", map[string]any{"orderId": orderID, "paymentToken": token})
	send(s.t, s.w, co)
	require.Equal(s.t, commandstatus.Succeeded, settle(s.t, co.CommandID).Status)
	return orderID
}

func (s shop) order(id string) order.State {
	s.t.Helper()
	got, err := s.r.handler.Replay(context.Background(), "order", id)
	require.NoError(s.t, err)
	return got.State.(order.State)
}

// waitOrder polls until the order reaches status (any of them).
func (s shop) waitOrder(id string, statuses ...string) order.State {
	s.t.Helper()
	var st order.State
	var lastErr error
	ok := assert.Eventually(s.t, func() bool {
		got, err := s.r.handler.Replay(context.Background(), "order", id)
		if err != nil {
			lastErr = err
			return false
		}
		st = got.State.(order.State)
		for _, want := range statuses {
			if st.Status == want {
				return true
			}
		}
		return false
	}, 40*time.Second, 20*time.Millisecond, "order %s never reached %v", id, statuses)
	if !ok {
		s.t.Fatalf("last state %+v, last error %v", st, lastErr)
	}
	return st
}

func (s shop) product(sku string) product.State {
	s.t.Helper()
	got, err := s.r.handler.Replay(context.Background(), "product", sku)
	require.NoError(s.t, err)
	return got.State.(product.State)
}

func (s shop) checkout(orderID string) checkout.State {
	s.t.Helper()
	got, err := s.r.handler.Replay(context.Background(), "checkout", orderID)
	require.NoError(s.t, err)
	return got.State.(checkout.State)
}

// waitQuiet waits until the saga's stream stops growing (compensation done).
func (s shop) waitSaga(orderID string, phase string, cond func(checkout.State) bool) {
	s.t.Helper()
	require.Eventually(s.t, func() bool {
		got, err := s.r.handler.Replay(context.Background(), "checkout", orderID)
		if err != nil {
			return false
		}
		st := got.State.(checkout.State)
		return st.Phase == phase && (cond == nil || cond(st))
	}, 40*time.Second, 20*time.Millisecond, "checkout %s never reached %s", orderID, phase)
}

func TestCheckoutPaymentOutcomes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	pay := simulator(t, 2*time.Second)                                              // pm_slow answers after 2 s…
	r := startReplicaWith(t, w, handling.Config{PaymentDeadline: time.Second}, pay) // …the deadline is 1 s
	s := shop{t, w, r}
	a, b := skus(2)[0], skus(2)[1]
	defineProduct(t, w, a, 250, 10)
	defineProduct(t, w, b, 100, 10)
	ctx := context.Background()

	t.Run("pm_ok confirms", func(t *testing.T) {
		id := s.checkoutCart("alice", map[string]int{a: 2, b: 1}, "pm_ok")
		o := s.waitOrder(id, order.StatusConfirmed)
		assert.True(t, o.Paid)
		charges, err := pay.Charges(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, 1, charges, "charged exactly once")
		assert.Equal(t, 8, s.product(a).Available)
		assert.Equal(t, 9, s.product(b).Available)
		assert.Equal(t, 2, s.product(a).Reserved[id], "held until it ships")
	})
	t.Run("pm_declined cancels and releases", func(t *testing.T) {
		beforeA, beforeB := s.product(a).Available, s.product(b).Available
		id := s.checkoutCart("alice", map[string]int{a: 3, b: 2}, "pm_declined")
		o := s.waitOrder(id, order.StatusCancelled)
		assert.Equal(t, order.ReasonPaymentDeclined, o.CancelReason)
		s.waitSaga(id, checkout.PhaseFailed, func(c checkout.State) bool { return len(c.Held()) == 0 })
		require.Eventually(t, func() bool { return s.product(a).Available == beforeA && s.product(b).Available == beforeB }, 20*time.Second, 20*time.Millisecond, "stock back where it was")
		charges, err := pay.Charges(ctx, id)
		require.NoError(t, err)
		assert.Zero(t, charges)
		assert.NotContains(t, s.product(a).Reserved, id)
	})
	t.Run("pm_slow times out, releases and refunds the late charge", func(t *testing.T) {
		before := s.product(a).Available
		id := s.checkoutCart("bob", map[string]int{a: 1}, "pm_slow")
		o := s.waitOrder(id, order.StatusCancelled)
		assert.Equal(t, order.ReasonPaymentTimeout, o.CancelReason)
		require.Eventually(t, func() bool { return s.product(a).Available == before }, 20*time.Second, 20*time.Millisecond)
		s.waitSaga(id, checkout.PhaseFailed, func(c checkout.State) bool { return c.Charged && c.Refunded })
		charges, err := pay.Charges(ctx, id)
		require.NoError(t, err)
		refunds, err := pay.Refunds(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, 1, charges, "the slow charge went through once…")
		assert.Equal(t, 1, refunds, "…and was refunded once")
		assert.Equal(t, order.StatusCancelled, s.order(id).Status, "a late payment does not revive the order")
	})
}

// TestLastTenUnits races 50 checkouts for the last 10 units of one product.
func TestLastTenUnits(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	pay := simulator(t, time.Minute)
	var replicas []*replica
	for range 3 {
		replicas = append(replicas, startReplicaWith(t, w, handling.Config{}, pay))
	}
	s := shop{t, w, replicas[0]}
	sku := skus(1)[0]
	defineProduct(t, w, sku, 100, 10)

	const n = 50
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = s.checkoutCart("racer-"+uuid.NewString()[:6], map[string]int{sku: 1}, "pm_ok")
		}()
	}
	wg.Wait()
	confirmed, outOfStock := 0, 0
	for _, id := range ids {
		o := s.waitOrder(id, order.StatusConfirmed, order.StatusCancelled)
		switch {
		case o.Status == order.StatusConfirmed:
			confirmed++
			charges, err := pay.Charges(context.Background(), id)
			require.NoError(t, err)
			assert.Equal(t, 1, charges)
		case o.CancelReason == order.ReasonOutOfStock:
			outOfStock++
		default:
			t.Errorf("order %s cancelled for %s", id, o.CancelReason)
		}
	}
	assert.Equal(t, 10, confirmed)
	assert.Equal(t, 40, outOfStock)
	// A cancelled order's releases may still be on their way when the order
	// reads cancelled: wait on the product itself, the state asserted.
	var p product.State
	assert.Eventually(t, func() bool { p = s.product(sku); return len(p.Reserved) == 10 }, 30*time.Second, 50*time.Millisecond,
		"only the confirmed orders hold stock: no reservation leaked")
	assert.Equal(t, 0, p.Available)
	assert.Len(t, p.Reserved, 10)
	for id := range p.Reserved {
		assert.Equal(t, order.StatusConfirmed, s.order(id).Status)
	}
}

// TestSagaResumesAfterACrashBetweenReserveAndCharge kills the saga's step
// right after it recorded "charge now" and before it sent the charge.
func TestSagaResumesAfterACrashBetweenReserveAndCharge(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	pay := simulator(t, time.Minute)
	var crashed atomic.Bool
	crashy := startReplicaWith(t, w, handling.Config{Config: aggregate.Config{AfterAppend: func(_ context.Context, cmd envelope.Command) error {
		if cmd.Type == checkout.CmdNoteOrderStockReserved && crashed.CompareAndSwap(false, true) {
			return errors.New("simulated crash: PaymentRequested recorded, ChargePayment not sent")
		}
		return nil
	}}}, pay)
	s := shop{t, w, crashy}
	sku := skus(1)[0]
	defineProduct(t, w, sku, 100, 5)
	id := s.checkoutCart("alice", map[string]int{sku: 2}, "pm_ok")
	require.Eventually(t, crashed.Load, 20*time.Second, 10*time.Millisecond)
	// The crashed replica is gone; another one takes over.
	crashy.stop()
	s.r = startReplicaWith(t, w, handling.Config{}, pay)
	s.waitOrder(id, order.StatusConfirmed)
	charges, err := pay.Charges(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, 1, charges)
	assert.Equal(t, 3, s.product(sku).Available)
}

func TestLateAndRepeatedDeadlinesDoNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := startReplicaWith(t, w, handling.Config{PaymentDeadline: 300 * time.Millisecond}, simulator(t, time.Minute))
	s := shop{t, w, r}
	sku := skus(1)[0]
	defineProduct(t, w, sku, 100, 5)
	id := s.checkoutCart("alice", map[string]int{sku: 1}, "pm_ok")
	// Wait on the saga itself, not on the order: the order reads confirmed
	// before the saga has heard so and appended its own Confirmed.
	s.waitSaga(id, checkout.PhaseConfirmed, nil)
	// The real deadline (300 ms) has fired by now or will: wait until it is
	// recorded as applied, then deliver it again, and a fresh one.
	deadlineID := envelope.DerivedID(id, "payment-deadline")
	require.Eventually(t, func() bool {
		ok, err := recorded(t, w, "checkout-"+id, deadlineID)
		return err == nil && ok
	}, 10*time.Second, 20*time.Millisecond)
	before := loadStream(t, w, "checkout", id)
	again := command("alice", "checkout", id, checkout.CmdExpirePayment, map[string]any{})
	again.CommandID = deadlineID
	again.Metadata.IdempotencyKey = ""
	fresh := command("alice", "checkout", id, checkout.CmdExpirePayment, map[string]any{})
	fresh.Metadata.IdempotencyKey = ""
	require.NoError(t, r.handler.Execute(context.Background(), again))
	require.NoError(t, r.handler.Execute(context.Background(), fresh))
	assert.Equal(t, len(before), len(loadStream(t, w, "checkout", id)), "no new saga events")
	assert.Equal(t, order.StatusConfirmed, s.order(id).Status)
	assert.Equal(t, checkout.PhaseConfirmed, s.checkout(id).Phase)
}

func TestCustomerCancelReleasesAndRefundsShipCommits(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	pay := simulator(t, time.Minute)
	r := startReplicaWith(t, w, handling.Config{}, pay)
	s := shop{t, w, r}
	sku := skus(1)[0]
	defineProduct(t, w, sku, 100, 10)

	cancelled := s.checkoutCart("alice", map[string]int{sku: 4}, "pm_ok")
	s.waitOrder(cancelled, order.StatusConfirmed)
	c := command("alice", "order", cancelled, "CancelOrder", map[string]any{})
	send(t, w, c)
	require.Equal(t, commandstatus.Succeeded, settle(t, c.CommandID).Status)
	s.waitSaga(cancelled, checkout.PhaseCancelled, func(st checkout.State) bool { return st.Refunded })
	require.Eventually(t, func() bool { return s.product(sku).Available == 10 }, 20*time.Second, 20*time.Millisecond)
	refunds, err := pay.Refunds(context.Background(), cancelled)
	require.NoError(t, err)
	assert.Equal(t, 1, refunds)
	assert.Equal(t, order.ReasonCustomer, s.order(cancelled).CancelReason)

	shipped := s.checkoutCart("alice", map[string]int{sku: 3}, "pm_ok")
	s.waitOrder(shipped, order.StatusConfirmed)
	ship := command("admin", "order", shipped, "ShipOrder", map[string]any{})
	send(t, w, ship)
	require.Equal(t, commandstatus.Succeeded, settle(t, ship.CommandID).Status)
	require.Eventually(t, func() bool { _, held := s.product(sku).Reserved[shipped]; return !held }, 20*time.Second, 20*time.Millisecond, "shipping commits the reservation")
	assert.Equal(t, 7, s.product(sku).Available)
	late := command("alice", "order", shipped, "CancelOrder", map[string]any{})
	send(t, w, late)
	st := settle(t, late.CommandID)
	assert.Equal(t, commandstatus.Rejected, st.Status)
	assert.Equal(t, "order has already shipped", st.Reason)
}

func recorded(t *testing.T, w world, stream, commandID string) (bool, error) {
	t.Helper()
	_, found, err := storeOf(t, w).Recorded(context.Background(), stream, commandID)
	return found, err
}

// TestAStuckReservationIsCompensatedAtItsDeadline breaks one product's
// stream after it was added to a cart, so its ReserveStock fails on every
// delivery: without a deadline on the reservation, the order would stay
// placed and the other line reserved for ever.
func TestAStuckReservationIsCompensatedAtItsDeadline(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := startReplicaWith(t, w, handling.Config{StepDeadline: 2 * time.Second}, simulator(t, time.Minute))
	s := shop{t, w, r}
	good, broken := skus(2)[0], skus(2)[1]
	defineProduct(t, w, good, 100, 10)
	defineProduct(t, w, broken, 100, 10)
	id := s.checkoutCartThen("alice", map[string]int{good: 2, broken: 1}, "pm_ok", func() {
		// A row no code can fold: every later load of the product fails.
		bad := envelope.Event{EventID: uuid.NewString(), Type: "ProductRestocked", SchemaVersion: 1, AggregateType: "product", AggregateID: broken,
			Version: 2, OccurredAt: envelope.Now(), Data: []byte(`{"quantity":"lots"}`), Metadata: envelope.EventMetadata{CommandID: "corrupt", UserID: "ops"}}
		require.NoError(t, storeOf(t, w).Append(context.Background(), "product-"+broken, 1, []envelope.Event{bad}, "corrupt"))
	})
	o := s.waitOrder(id, order.StatusCancelled)
	assert.Equal(t, order.ReasonCheckoutTimeout, o.CancelReason)
	assert.Eventually(t, func() bool { p := s.product(good); return p.Available == 10 && p.Reserved[id] == 0 }, 30*time.Second, 50*time.Millisecond,
		"the line that was reserved is released")
	s.waitSaga(id, checkout.PhaseFailed, func(c checkout.State) bool { return c.Reason == checkout.ReasonCheckoutTimeout })
}
