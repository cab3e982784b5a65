package handling

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/domain-service/internal/checkout"
	"github.com/prism-es/prism/domain-service/internal/order"
	"github.com/prism-es/prism/domain-service/internal/payment"
	"github.com/prism-es/prism/domain-service/internal/paymentprovider"
	"github.com/prism-es/prism/domain-service/internal/product"
	"github.com/prism-es/prism/shared/aggregate"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/process"
)

// The checkout saga must reach the same end whatever order it hears its
// inputs in (events-saga gives no ordering guarantee), however late its
// deadlines fire, and however often anything is delivered again. These tests
// run the real aggregates (order, products, payment, checkout), the saga's
// reactions and its event-to-command mapping in a world with no I/O, where a
// seeded scheduler picks which pending message is handled next: commands,
// deadlines (which may fire at any time: that is what pipeline lag looks
// like to them), the saga's events, an administrator's ShipOrder and a
// customer's CancelOrder; any message may be delivered again. Every
// interleaving must end with the stock, the payment and the order agreeing.

// fakeProvider is an idempotent payment provider: the first answer per key
// stands; it counts the money actually moved.
type fakeProvider struct {
	answers          map[string]paymentprovider.Result
	charges, refunds map[string]int
	refunded         map[string]bool
}

func newFakeProvider() *fakeProvider {
	return &fakeProvider{answers: map[string]paymentprovider.Result{}, charges: map[string]int{}, refunds: map[string]int{}, refunded: map[string]bool{}}
}

func (p *fakeProvider) Charge(_ context.Context, key string, _ int64, token string) (paymentprovider.Result, error) {
	if r, ok := p.answers[key]; ok {
		return r, nil
	}
	r := paymentprovider.Result{Approved: true, PaymentID: "pay-" + key}
	if token == paymentprovider.TokenDeclined {
		r = paymentprovider.Result{Reason: "card declined"}
	} else {
		p.charges[key]++
	}
	p.answers[key] = r
	return r, nil
}

func (p *fakeProvider) Refund(_ context.Context, key, _ string) error {
	if !p.refunded[key] {
		p.refunded[key] = true
		p.refunds[key]++
	}
	return nil
}

// simStream is one aggregate in the simulated event store.
type simStream struct {
	state   any
	version int64
	// applied keeps each handled command's events (a rejection keeps none
	// and is marked in rejected): the store's cmd- rows.
	applied  map[string][]envelope.Event
	rejected map[string]bool
}

// simMessage is a pending delivery: a command, or an event on events-saga.
type simMessage struct {
	cmd   *envelope.Command
	event *envelope.Event
	// deliveries left: a message may be delivered more than once.
	left int
}

type sim struct {
	t        *testing.T
	rng      *rand.Rand
	aggs     map[string]aggregate.Aggregate
	streams  map[string]*simStream
	pending  []simMessage
	provider *fakeProvider
	saga     config.Subscription
	pm       aggregate.Listener
	patience int
	// held, when set, keeps a message back while any other is pending.
	held func(simMessage) bool
	// lost, when set, drops the messages it matches: a step whose command
	// was poisoned, or an event that never reaches the saga.
	lost func(simMessage) bool
	log  []string
}

func newSim(t *testing.T, seed uint64) *sim {
	p := newFakeProvider()
	s := &sim{t: t, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), aggs: map[string]aggregate.Aggregate{}, streams: map[string]*simStream{},
		provider: p, saga: config.SubscriptionNamed("saga"), patience: []int{0, 1, 2, 4, 8}[seed%5]}
	s.pm = process.Of(checkout.Process(time.Second, time.Minute))
	for _, a := range []aggregate.Aggregate{aggregate.Of(product.Definition()), aggregate.Of(order.Definition()), aggregate.Of(payment.Definition(p)), s.pm} {
		s.aggs[a.Type()] = a
	}
	return s
}

func (s *sim) stream(aggType, id string) *simStream {
	key := envelope.StreamID(aggType, id)
	st, ok := s.streams[key]
	if !ok {
		st = &simStream{state: s.aggs[aggType].Initial(id), applied: map[string][]envelope.Event{}, rejected: map[string]bool{}}
		s.streams[key] = st
	}
	return st
}

func (s *sim) lookup(_ context.Context, aggType, id string, _ bool) (any, error) {
	return s.stream(aggType, id).state, nil
}

// send queues a command; redeliver gives it extra deliveries.
func (s *sim) send(c envelope.Command) { s.queue(simMessage{cmd: &c, left: 1 + s.redeliveries()}) }

func (s *sim) queue(m simMessage) {
	if s.lost == nil || !s.lost(m) {
		s.pending = append(s.pending, m)
	}
}

func (s *sim) redeliveries() int {
	if s.rng.IntN(5) == 0 { // one message in five comes twice
		return 1
	}
	return 0
}

// execute handles one command as the handler does: a command handled before
// re-publishes its recorded events and re-sends its reactions; a rejection
// stands; otherwise decide, append, publish, react.
func (s *sim) execute(c envelope.Command) {
	agg := s.aggs[c.AggregateType]
	st := s.stream(c.AggregateType, c.AggregateID)
	if st.rejected[c.CommandID] {
		return
	}
	events, done := st.applied[c.CommandID]
	if !done {
		pending, err := agg.Decide(context.Background(), st.state, c, s.lookup)
		if err != nil {
			require.True(s.t, aggregate.IsRejection(err), "%s on %s: %v", c.Type, c.StreamID(), err)
			st.rejected[c.CommandID] = true
			s.log = append(s.log, fmt.Sprintf("%s %s rejected: %v", c.Type, c.StreamID(), err))
			return
		}
		events = aggregate.NewEvents(c, "", st.version, pending)
		for _, e := range events {
			next, err := agg.Evolve(st.state, e)
			require.NoError(s.t, err)
			st.state, st.version = next, e.Version
		}
		st.applied[c.CommandID] = events
		s.log = append(s.log, fmt.Sprintf("%s %s → %d events", c.Type, c.StreamID(), len(events)))
	}
	for _, e := range events {
		if s.saga.Wants(e.AggregateType, e.Type) {
			s.queue(simMessage{event: &e, left: 1 + s.redeliveries()})
		}
		reactions, err := agg.React(e)
		require.NoError(s.t, err)
		for _, r := range reactions {
			s.send(r.Command)
		}
	}
}

// step delivers one pending message chosen at random; false when none is left.
func (s *sim) step() bool {
	if len(s.pending) == 0 {
		return false
	}
	if s.held != nil {
		var free []int
		for j, m := range s.pending {
			if !s.held(m) {
				free = append(free, j)
			}
		}
		if len(free) > 0 && len(free) < len(s.pending) {
			return s.deliver(free[s.rng.IntN(len(free))])
		}
	}
	i := s.rng.IntN(len(s.pending))
	for tries := 0; s.isDeadline(s.pending[i]) && tries < s.patience; tries++ {
		// Deadlines fire at any time, but mostly late: redraw (how often
		// is the run's "patience", from eager deadlines to lazy ones).
		i = s.rng.IntN(len(s.pending))
	}
	return s.deliver(i)
}

// deliver delivers pending message i (keeping it if it has deliveries left).
func (s *sim) deliver(i int) bool {
	m := &s.pending[i]
	m.left--
	msg := *m
	if m.left == 0 {
		s.pending = append(s.pending[:i], s.pending[i+1:]...)
	}
	if msg.event != nil {
		c, ok, err := s.pm.Hear(*msg.event)
		require.NoError(s.t, err)
		if ok {
			s.execute(c)
		}
		return true
	}
	s.execute(*msg.cmd)
	return true
}

func (s *sim) isDeadline(m simMessage) bool {
	return m.cmd != nil && (m.cmd.Type == checkout.CmdExpire || m.cmd.Type == checkout.CmdExpirePayment)
}

func (s *sim) command(user, aggType, id, typ string, payload any, idParts ...string) envelope.Command {
	b, err := json.Marshal(payload)
	require.NoError(s.t, err)
	return envelope.Command{CommandID: envelope.DerivedID(idParts...), Type: typ, AggregateType: aggType, AggregateID: id, Payload: b,
		Metadata: envelope.CommandMetadata{CorrelationID: "corr", UserID: user, IssuedAt: time.Now().UTC()}}
}

// scenario is one checkout and what happens around it.
type scenario struct {
	name  string
	token string
	// stock per line; a line asks for 2 units.
	stock []int
	// ship: an administrator ships as soon as the order reads confirmed
	// (racing the saga hearing it); cancel: the customer cancels at a
	// random moment.
	ship, cancel bool
}

const simOrder = "order-sim"

func (s *sim) run(sc scenario) {
	skus := make([]string, len(sc.stock))
	var lines []order.Line
	for i, stock := range sc.stock {
		skus[i] = fmt.Sprintf("SKU-%d", i)
		s.execute(s.command("admin", product.AggregateType, skus[i], product.CmdDefine,
			map[string]any{"sku": skus[i], "name": skus[i], "priceCents": 100, "stock": stock}, "define", skus[i]))
		lines = append(lines, order.Line{SKU: skus[i], Name: skus[i], Quantity: 2, UnitPriceCents: 100})
	}
	s.send(s.command("alice", order.AggregateType, simOrder, order.CmdPlace,
		order.PlacePayload{CartID: "cart-1", Owner: "alice", Lines: lines, TotalCents: int64(200 * len(lines)), PaymentToken: sc.token}, simOrder, "place"))
	cancelAt := -1
	if sc.cancel {
		cancelAt = s.rng.IntN(40)
	}
	shipped := false
	for n := 0; ; n++ {
		if n == cancelAt {
			s.send(s.command("alice", order.AggregateType, simOrder, order.CmdCancel, map[string]any{}, simOrder, "customer-cancel"))
		}
		if sc.ship && !shipped && s.orderState().Status == order.StatusConfirmed && s.rng.IntN(2) == 0 {
			shipped = true
			s.send(s.command("admin", order.AggregateType, simOrder, order.CmdShip, map[string]any{}, simOrder, "ship"))
		}
		if !s.step() {
			if sc.ship && !shipped && s.orderState().Status == order.StatusConfirmed {
				continue // the ship comes once the order is confirmed
			}
			return
		}
		require.Less(s.t, n, 10_000, "the saga never settles")
	}
}

func (s *sim) orderState() order.State {
	return s.stream(order.AggregateType, simOrder).state.(order.State)
}

// check asserts that the order, the stock, the money and the saga agree.
func (s *sim) check(sc scenario) {
	t := s.t
	o := s.orderState()
	saga := s.stream(checkout.AggregateType, simOrder).state.(checkout.State)
	charges, refunds := s.provider.charges[simOrder], s.provider.refunds[simOrder]
	require.LessOrEqual(t, charges, 1, "charged at most once")
	require.LessOrEqual(t, refunds, 1, "refunded at most once")
	for i, stock := range sc.stock {
		sku := fmt.Sprintf("SKU-%d", i)
		p := s.stream(product.AggregateType, sku).state.(product.State)
		committed := 0
		for _, evs := range s.stream(product.AggregateType, sku).applied {
			for _, e := range evs {
				if e.Type == "StockCommitted" {
					committed += 2
				}
			}
		}
		held := p.Reserved[simOrder]
		require.Equal(t, stock, p.Available+held+committed, "%s: stock is conserved", sku)
		switch o.Status {
		case order.StatusCancelled:
			require.Zero(t, held, "%s: a cancelled order holds no stock", sku)
			require.Zero(t, committed, "%s: a cancelled order committed no stock", sku)
		case order.StatusConfirmed:
			require.Equal(t, 2, held, "%s: a confirmed order holds its stock until it ships", sku)
		case order.StatusShipped:
			require.Zero(t, held, "%s: a shipped order's reservation is committed", sku)
			require.Equal(t, 2, committed, "%s: committed once", sku)
		}
	}
	switch o.Status {
	case order.StatusCancelled:
		require.Contains(t, []string{checkout.PhaseFailed, checkout.PhaseCancelled}, saga.Phase)
		require.Equal(t, charges, refunds, "every charge of a cancelled order is refunded")
		require.Empty(t, saga.Held(), "the saga holds nothing")
	case order.StatusConfirmed:
		require.Equal(t, checkout.PhaseConfirmed, saga.Phase)
		require.Equal(t, 1, charges)
		require.Zero(t, refunds)
	case order.StatusShipped:
		require.Equal(t, checkout.PhaseShipped, saga.Phase)
		require.Equal(t, 1, charges)
		require.Zero(t, refunds)
	default:
		t.Fatalf("the order ended %q: stuck", o.Status)
	}
}

func TestTheSagaEndsTheSameForEveryInterleaving(t *testing.T) {
	scenarios := []scenario{
		{name: "paid", token: paymentprovider.TokenOK, stock: []int{5, 5}},
		{name: "paid and shipped", token: paymentprovider.TokenOK, stock: []int{5, 5}, ship: true},
		{name: "declined", token: paymentprovider.TokenDeclined, stock: []int{5, 5}},
		{name: "one line out of stock", token: paymentprovider.TokenOK, stock: []int{5, 1}},
		{name: "customer cancels", token: paymentprovider.TokenOK, stock: []int{5, 5}, cancel: true},
		{name: "customer cancels, admin ships", token: paymentprovider.TokenOK, stock: []int{5, 5}, ship: true, cancel: true},
		{name: "three lines shipped", token: paymentprovider.TokenOK, stock: []int{2, 3, 4}, ship: true},
	}
	const seeds = 1500
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			ends := map[string]int{}
			for seed := range uint64(seeds) {
				s := newSim(t, seed)
				s.run(sc)
				ok := t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
					s.t = t
					s.check(sc)
				})
				if !ok {
					t.Logf("seed %d history:\n%v", seed, s.log)
					return
				}
				ends[s.orderState().Status+"/"+s.orderState().CancelReason]++
			}
			t.Logf("%d interleavings ended: %v", seeds, ends)
		})
	}
}

func TestAPaymentMadeInTimeButHeardLateConfirms(t *testing.T) {
	// The saga's queue is behind: the payment deadline fires after the
	// provider charged and the payment recorded it, but before the saga
	// heard PaymentCharged. The order must be confirmed, not cancelled and
	// refunded: the deadline asks the payment aggregate first.
	for seed := range uint64(50) {
		s := newSim(t, seed)
		s.held = func(m simMessage) bool {
			charged := s.stream("payment", simOrder).state.(payment.State).Charged
			switch {
			case m.event != nil && m.event.Type == "PaymentCharged":
				return true // the news is late…
			case m.cmd != nil && m.cmd.Type == checkout.CmdExpirePayment:
				return !charged // …and the deadline fires after the charge
			case m.cmd != nil && m.cmd.Type == checkout.CmdExpire:
				return true // the other steps are in time
			}
			return false
		}
		sc := scenario{token: paymentprovider.TokenOK, stock: []int{5, 5}}
		s.run(sc)
		s.check(sc)
		require.Equal(t, order.StatusConfirmed, s.orderState().Status, "seed %d: %v", seed, s.log)
		require.Zero(t, s.provider.refunds[simOrder])
	}
}

func TestAStepThatNeverHappensIsCompensatedAtItsDeadline(t *testing.T) {
	// One line's ReserveStock is poisoned: without a deadline on the
	// reservation the order stays placed and the other line reserved for
	// ever. With it the checkout cancels (checkout_timeout) and releases.
	for seed := range uint64(200) {
		s := newSim(t, seed)
		s.lost = func(m simMessage) bool {
			return m.cmd != nil && m.cmd.Type == product.CmdReserve && m.cmd.AggregateID == "SKU-1"
		}
		sc := scenario{token: paymentprovider.TokenOK, stock: []int{5, 5}}
		s.run(sc)
		s.check(sc)
		o := s.orderState()
		require.Equal(t, order.StatusCancelled, o.Status, "seed %d: %v", seed, s.log)
		require.Equal(t, order.ReasonCheckoutTimeout, o.CancelReason)
		require.Zero(t, s.stream(product.AggregateType, "SKU-0").state.(product.State).Reserved[simOrder], "the reserved line was released")
	}
}

func TestAConfirmationThatNeverComesIsCancelledThenCompensated(t *testing.T) {
	// ConfirmOrder is poisoned: the saga asks the order to cancel and only
	// then releases the stock and refunds (check: every charge refunded).
	refunded := 0
	for seed := range uint64(200) {
		s := newSim(t, seed)
		s.lost = func(m simMessage) bool { return m.cmd != nil && m.cmd.Type == order.CmdConfirm }
		sc := scenario{token: paymentprovider.TokenOK, stock: []int{5, 5}}
		s.run(sc)
		s.check(sc)
		o := s.orderState()
		require.Equal(t, order.StatusCancelled, o.Status, "seed %d: %v", seed, s.log)
		refunded += s.provider.refunds[simOrder]
	}
	require.Greater(t, refunded, 100, "most runs got as far as the charge, and were refunded")
}
