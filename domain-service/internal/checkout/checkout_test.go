package checkout_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/domain-service/internal/checkout"
	"github.com/prism-es/prism/shared/aggregate/aggtest"
	"github.com/prism-es/prism/shared/apperr"
)

const (
	orderID = "order-1"
	owner   = "alice"
)

// lines is the two-line order most tests check out.
func lines() []checkout.Line {
	return []checkout.Line{{SKU: "sku-a", Quantity: 2}, {SKU: "sku-b", Quantity: 1}}
}

// threeLines is an order with a third line, for line-order and late cases.
func threeLines() []checkout.Line {
	return append(lines(), checkout.Line{SKU: "sku-c", Quantity: 3})
}

// startCmd starts the checkout of ls for alice, 2500 cents with token tok.
func startCmd(ls []checkout.Line) checkout.Start {
	return checkout.Start{Owner: owner, Lines: ls, TotalCents: 2500, PaymentToken: "tok"}
}

// startedEvent is the event startCmd(ls) decides.
func startedEvent(ls []checkout.Line) checkout.Started {
	return checkout.Started{Owner: owner, Lines: ls, TotalCents: 2500, PaymentToken: "tok"}
}

// fold evolves s through events.
func fold(s checkout.State, events ...checkout.Event) checkout.State {
	return aggtest.Fold(checkout.Evolve, s, events...)
}

// step is one phase of the happy path and the events that reach it from
// the phase before.
type step struct {
	phase  string
	events []checkout.Event
}

// ladder is the happy path of a checkout of ls, phase by phase.
func ladder(ls []checkout.Line) []step {
	var skus []string
	reserved := make([]checkout.Event, 0, len(ls)+1)
	for _, l := range ls {
		skus = append(skus, l.SKU)
		reserved = append(reserved, checkout.LineReserved{SKU: l.SKU})
	}
	reserved = append(reserved, checkout.ReservationCompleted{})
	return []step{
		{checkout.PhaseReserving, []checkout.Event{startedEvent(ls)}},
		{checkout.PhaseAwaitingReserve, reserved},
		{checkout.PhaseCharging, []checkout.Event{checkout.PaymentRequested{AmountCents: 2500, Token: "tok"}}},
		{checkout.PhaseAwaitingPaid, []checkout.Event{checkout.PaymentSucceeded{PaymentID: "pay-1"}}},
		{checkout.PhaseConfirming, []checkout.Event{checkout.ConfirmRequested{}}},
		{checkout.PhaseConfirmed, []checkout.Event{checkout.Confirmed{}}},
		{checkout.PhaseShipped, []checkout.Event{checkout.StockCommitRequested{SKUs: skus}}},
	}
}

// atWith is the checkout of ls folded along the happy path up to phase.
func atWith(ls []checkout.Line, phase string) checkout.State {
	s := checkout.New(orderID)
	for _, st := range ladder(ls) {
		s = fold(s, st.events...)
		if st.phase == phase {
			return s
		}
	}
	panic("not a happy-path phase: " + phase)
}

// at is the two-line checkout folded along the happy path up to phase.
func at(phase string) checkout.State { return atWith(lines(), phase) }

// ab is the release list of a fully reserved two-line checkout.
func ab() []string { return []string{"sku-a", "sku-b"} }

// Names of the states in allStates.
const (
	notStarted          = "not started"
	reserving           = "reserving"
	reservingA          = "reserving, sku-a reserved"
	awaitingReserve     = "awaiting order stock reserved"
	charging            = "charging"
	awaitingPaid        = "awaiting order paid"
	confirming          = "confirming"
	cancelling          = "cancelling: the confirmation timed out"
	confirmed           = "confirmed"
	shipped             = "shipped"
	failedOutOfStock    = "failed: out of stock"
	failedDeclined      = "failed: payment declined"
	failedTimeout       = "failed: payment timeout"
	failedTimeoutLate   = "failed: payment timeout, charged late"
	failedTimeoutRefund = "failed: payment timeout, charged late, refunded"
	cancelledEarly      = "cancelled before start"
	cancelledReserving  = "cancelled while reserving"
	cancelledCharging   = "cancelled while charging"
	cancelledPaid       = "cancelled after paid"
	cancelledRefunded   = "cancelled after paid, refunded"
)

// namedState is a checkout state with a name for test case names.
type namedState struct {
	name  string
	state checkout.State
}

// allStates is one two-line checkout in every phase it can reach, including
// each way it can fail or be cancelled and what may follow.
func allStates() []namedState {
	late := checkout.LatePaymentReceived{PaymentID: "pay-1"}
	return []namedState{
		{notStarted, checkout.New(orderID)},
		{reserving, at(checkout.PhaseReserving)},
		{reservingA, fold(at(checkout.PhaseReserving), checkout.LineReserved{SKU: "sku-a"})},
		{awaitingReserve, at(checkout.PhaseAwaitingReserve)},
		{charging, at(checkout.PhaseCharging)},
		{awaitingPaid, at(checkout.PhaseAwaitingPaid)},
		{confirming, at(checkout.PhaseConfirming)},
		{cancelling, fold(at(checkout.PhaseConfirming), checkout.CancelRequested{Reason: checkout.ReasonCheckoutTimeout})},
		{confirmed, at(checkout.PhaseConfirmed)},
		{shipped, at(checkout.PhaseShipped)},
		{failedOutOfStock, fold(at(checkout.PhaseReserving), checkout.LineReserved{SKU: "sku-a"},
			checkout.Failed{Reason: checkout.ReasonOutOfStock, Release: []string{"sku-a"}})},
		{failedDeclined, fold(at(checkout.PhaseCharging), checkout.Failed{Reason: checkout.ReasonPaymentDeclined, Release: ab()})},
		{failedTimeout, fold(at(checkout.PhaseCharging), checkout.Failed{Reason: checkout.ReasonPaymentTimeout, Release: ab()})},
		{failedTimeoutLate, fold(at(checkout.PhaseCharging), checkout.Failed{Reason: checkout.ReasonPaymentTimeout, Release: ab()}, late)},
		{failedTimeoutRefund, fold(at(checkout.PhaseCharging), checkout.Failed{Reason: checkout.ReasonPaymentTimeout, Release: ab()}, late,
			checkout.RefundCompleted{})},
		{cancelledEarly, fold(checkout.New(orderID), checkout.Cancelled{})},
		{cancelledReserving, fold(at(checkout.PhaseReserving), checkout.LineReserved{SKU: "sku-a"},
			checkout.Cancelled{Release: []string{"sku-a"}})},
		{cancelledCharging, fold(at(checkout.PhaseCharging), checkout.Cancelled{Release: ab()})},
		{cancelledPaid, fold(at(checkout.PhaseAwaitingPaid), checkout.Cancelled{Release: ab(), Refund: true})},
		{cancelledRefunded, fold(at(checkout.PhaseAwaitingPaid), checkout.Cancelled{Release: ab(), Refund: true},
			checkout.RefundCompleted{})},
	}
}

// stateNamed is the state of allStates called name.
func stateNamed(name string) checkout.State {
	for _, ns := range allStates() {
		if ns.name == name {
			return ns.state
		}
	}
	panic("no state named " + name)
}

// clone deep-copies a state, keeping nil and empty slices and maps apart.
func clone(s checkout.State) checkout.State {
	if s.Lines != nil {
		s.Lines = append(make([]checkout.Line, 0, len(s.Lines)), s.Lines...)
	}
	s.Reserved = maps.Clone(s.Reserved)
	s.Deadlines = slices.Clone(s.Deadlines)
	return s
}

type decideCase struct {
	name  string
	state checkout.State
	cmd   checkout.Command
	want  []checkout.Event // nil with kind "" means: no events
	kind  apperr.Kind      // "" means success
	msg   string           // substring of the error message
}

// runDecide decides tc.cmd on tc.state and checks the events or the error,
// and that Decide left its state alone.
func runDecide(t *testing.T, tc decideCase) {
	t.Helper()
	before := clone(tc.state)
	events, err := checkout.Decide(tc.state, tc.cmd)
	assert.Equal(t, before, tc.state, "Decide must not mutate its state")
	if tc.kind != "" {
		require.Error(t, err, "events: %v", events)
		assert.Equal(t, tc.kind, apperr.KindOf(err), "error: %v", err)
		assert.Contains(t, apperr.MessageOf(err), tc.msg)
		assert.Empty(t, events)
		return
	}
	require.NoError(t, err)
	if tc.want == nil {
		assert.Empty(t, events)
		return
	}
	assert.Equal(t, tc.want, events)
}

// runAll runs every case as a subtest.
func runAll(t *testing.T, tests []decideCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runDecide(t, tc) })
	}
}

// matrix decides cmd in every state of allStates: the states named in want
// expect those events, every other state expects none. It fails the test if
// want names a state allStates does not have, so a typo cannot make a case
// vacuous.
func matrix(t *testing.T, cmd checkout.Command, want map[string][]checkout.Event) []decideCase {
	t.Helper()
	var tests []decideCase
	seen := map[string]bool{}
	for _, ns := range allStates() {
		seen[ns.name] = true
		tests = append(tests, decideCase{name: ns.name, state: ns.state, cmd: cmd, want: want[ns.name]})
	}
	for name := range want {
		require.True(t, seen[name], "want names an unknown state %q", name)
	}
	return tests
}

// unknownCommand is a Command the checkout does not know.
type unknownCommand struct{ checkout.NoteRefunded }

// unknownEvent is an Event the checkout does not know.
type unknownEvent struct{}

// EventType implements checkout.Event.
func (unknownEvent) EventType() string { return "CheckoutAudited" }

func TestNew(t *testing.T) {
	assert.Equal(t, checkout.State{OrderID: orderID}, checkout.New(orderID))
}

func TestDecideStart(t *testing.T) {
	tests := matrix(t, startCmd(lines()), map[string][]checkout.Event{
		notStarted: {startedEvent(lines())},
	})
	tests = append(tests,
		decideCase{name: "without token or total", state: checkout.New(orderID),
			cmd:  checkout.Start{Owner: owner, Lines: lines()[:1]},
			want: []checkout.Event{checkout.Started{Owner: owner, Lines: lines()[:1]}}},
		decideCase{name: "no lines", state: checkout.New(orderID), cmd: checkout.Start{Owner: owner, TotalCents: 2500},
			kind: apperr.Rejected, msg: "a checkout needs at least one line"},
		decideCase{name: "empty lines", state: checkout.New(orderID), cmd: checkout.Start{Owner: owner, Lines: []checkout.Line{}},
			kind: apperr.Rejected, msg: "a checkout needs at least one line"},
		decideCase{name: "again with other data", state: at(checkout.PhaseReserving), cmd: startCmd(threeLines())},
		decideCase{name: "again with no lines", state: at(checkout.PhaseReserving), cmd: checkout.Start{}},
		decideCase{name: "no lines after a cancel before start", state: fold(checkout.New(orderID), checkout.Cancelled{}), cmd: checkout.Start{}},
	)
	runAll(t, tests)
}

func TestStartedLinesDoNotAliasCommand(t *testing.T) {
	cmd := startCmd(lines())
	events, err := checkout.Decide(checkout.New(orderID), cmd)
	require.NoError(t, err)
	require.Len(t, events, 1)
	cmd.Lines[0].Quantity = 77
	assert.Equal(t, 2, events[0].(checkout.Started).Lines[0].Quantity, "the event's lines must be a copy")
}

func TestDecideNoteReserved(t *testing.T) {
	three := atWith(threeLines(), checkout.PhaseReserving)
	tests := []decideCase{
		{name: "not started", state: checkout.New(orderID), cmd: checkout.NoteReserved{SKU: "sku-a"}},
		{name: "cancelled before start", state: fold(checkout.New(orderID), checkout.Cancelled{}), cmd: checkout.NoteReserved{SKU: "sku-a"}},
		{name: "first of two", state: at(checkout.PhaseReserving), cmd: checkout.NoteReserved{SKU: "sku-a"},
			want: []checkout.Event{checkout.LineReserved{SKU: "sku-a"}}},
		{name: "second of two completes", state: fold(at(checkout.PhaseReserving), checkout.LineReserved{SKU: "sku-a"}), cmd: checkout.NoteReserved{SKU: "sku-b"},
			want: []checkout.Event{checkout.LineReserved{SKU: "sku-b"}, checkout.ReservationCompleted{}}},
		{name: "out of line order, first", state: at(checkout.PhaseReserving), cmd: checkout.NoteReserved{SKU: "sku-b"},
			want: []checkout.Event{checkout.LineReserved{SKU: "sku-b"}}},
		{name: "only line completes", state: atWith(lines()[:1], checkout.PhaseReserving), cmd: checkout.NoteReserved{SKU: "sku-a"},
			want: []checkout.Event{checkout.LineReserved{SKU: "sku-a"}, checkout.ReservationCompleted{}}},
		{name: "second of three", state: fold(three, checkout.LineReserved{SKU: "sku-a"}), cmd: checkout.NoteReserved{SKU: "sku-c"},
			want: []checkout.Event{checkout.LineReserved{SKU: "sku-c"}}},
		{name: "last of three, out of order", state: fold(three, checkout.LineReserved{SKU: "sku-c"}, checkout.LineReserved{SKU: "sku-a"}),
			cmd: checkout.NoteReserved{SKU: "sku-b"}, want: []checkout.Event{checkout.LineReserved{SKU: "sku-b"}, checkout.ReservationCompleted{}}},
		{name: "twice while reserving", state: fold(at(checkout.PhaseReserving), checkout.LineReserved{SKU: "sku-a"}), cmd: checkout.NoteReserved{SKU: "sku-a"}},
		{name: "unknown sku", state: at(checkout.PhaseReserving), cmd: checkout.NoteReserved{SKU: "sku-z"}},
		{name: "unknown sku after the end", state: fold(at(checkout.PhaseReserving), checkout.Cancelled{}), cmd: checkout.NoteReserved{SKU: "sku-z"}},

		// Late: a reservation arriving after the end is recorded and given back.
		{name: "late after a customer cancel", state: fold(at(checkout.PhaseReserving), checkout.LineReserved{SKU: "sku-a"}, checkout.Cancelled{Release: []string{"sku-a"}}),
			cmd:  checkout.NoteReserved{SKU: "sku-b"},
			want: []checkout.Event{checkout.LineReserved{SKU: "sku-b"}, checkout.ReleaseRequested{SKU: "sku-b"}}},
		{name: "late after another line was out of stock", state: fold(three, checkout.LineReserved{SKU: "sku-a"},
			checkout.Failed{Reason: checkout.ReasonOutOfStock, Release: []string{"sku-a"}}),
			cmd:  checkout.NoteReserved{SKU: "sku-c"},
			want: []checkout.Event{checkout.LineReserved{SKU: "sku-c"}, checkout.ReleaseRequested{SKU: "sku-c"}}},
		{name: "late after a failure with nothing reserved", state: fold(at(checkout.PhaseReserving), checkout.Failed{Reason: checkout.ReasonOutOfStock}),
			cmd:  checkout.NoteReserved{SKU: "sku-a"},
			want: []checkout.Event{checkout.LineReserved{SKU: "sku-a"}, checkout.ReleaseRequested{SKU: "sku-a"}}},
		// Heard again after the end gave the sku back: already handled.
		{name: "again after a failure released it", state: fold(reservedAB(checkout.PhaseCharging),
			checkout.Failed{Reason: checkout.ReasonPaymentDeclined, Release: ab()}),
			cmd: checkout.NoteReserved{SKU: "sku-a"}},
		{name: "again after a cancel released it", state: fold(reservedAB(checkout.PhaseCharging), checkout.Cancelled{Release: ab()}),
			cmd: checkout.NoteReserved{SKU: "sku-b"}},
		{name: "again after a late reservation was released", state: fold(at(checkout.PhaseReserving), checkout.Failed{Reason: checkout.ReasonOutOfStock},
			checkout.LineReserved{SKU: "sku-a"}, checkout.ReleaseRequested{SKU: "sku-a"}),
			cmd: checkout.NoteReserved{SKU: "sku-a"}},
	}
	for _, phase := range []string{checkout.PhaseAwaitingReserve, checkout.PhaseCharging, checkout.PhaseAwaitingPaid,
		checkout.PhaseConfirming, checkout.PhaseConfirmed, checkout.PhaseShipped} {
		for _, sku := range []string{"sku-a", "sku-b"} {
			tests = append(tests, decideCase{name: "twice when " + phase + ": " + sku, state: at(phase), cmd: checkout.NoteReserved{SKU: sku}})
		}
	}
	runAll(t, tests)
}

func TestDecideNoteReservationFailed(t *testing.T) {
	tests := matrix(t, checkout.NoteReservationFailed{SKU: "sku-b"}, map[string][]checkout.Event{
		reserving:  {checkout.Failed{Reason: checkout.ReasonOutOfStock}},
		reservingA: {checkout.Failed{Reason: checkout.ReasonOutOfStock, Release: []string{"sku-a"}}},
	})
	tests = append(tests, decideCase{name: "releases in line order",
		state: fold(atWith(threeLines(), checkout.PhaseReserving), checkout.LineReserved{SKU: "sku-c"}, checkout.LineReserved{SKU: "sku-b"}),
		cmd:   checkout.NoteReservationFailed{SKU: "sku-a"},
		want:  []checkout.Event{checkout.Failed{Reason: checkout.ReasonOutOfStock, Release: []string{"sku-b", "sku-c"}}}})
	runAll(t, tests)
}

func TestDecideNoteOrderStockReserved(t *testing.T) {
	tests := matrix(t, checkout.NoteOrderStockReserved{}, map[string][]checkout.Event{
		awaitingReserve: {checkout.PaymentRequested{AmountCents: 2500, Token: "tok"}},
	})
	free := fold(checkout.New(orderID), checkout.Started{Owner: owner, Lines: lines()[:1]},
		checkout.LineReserved{SKU: "sku-a"}, checkout.ReservationCompleted{})
	tests = append(tests, decideCase{name: "amount and token come from the start", state: free, cmd: checkout.NoteOrderStockReserved{},
		want: []checkout.Event{checkout.PaymentRequested{}}})
	runAll(t, tests)
}

func TestDecideNoteCharged(t *testing.T) {
	late := []checkout.Event{checkout.LatePaymentReceived{PaymentID: "pay-2"}}
	tests := matrix(t, checkout.NoteCharged{PaymentID: "pay-2"}, map[string][]checkout.Event{
		charging:           {checkout.PaymentSucceeded{PaymentID: "pay-2"}},
		failedOutOfStock:   late,
		failedDeclined:     late,
		failedTimeout:      late,
		cancelledReserving: late,
		cancelledCharging:  late,
	})
	runAll(t, tests)
}

func TestDecideNoteDeclined(t *testing.T) {
	runAll(t, matrix(t, checkout.NoteDeclined{Reason: "insufficient_funds"}, map[string][]checkout.Event{
		charging: {checkout.Failed{Reason: checkout.ReasonPaymentDeclined, Release: ab()}},
	}))
}

func TestDecideExpirePayment(t *testing.T) {
	// Without facts (nothing heard from the payment): the checkout still
	// charging times out; one that moved on only gets a deadline for its
	// new phase, if it waits and has none.
	runAll(t, matrix(t, checkout.Expire{Phase: checkout.PhaseCharging}, map[string][]checkout.Event{
		charging:        {checkout.Failed{Reason: checkout.ReasonPaymentTimeout, Release: ab()}},
		awaitingReserve: {checkout.DeadlineSet{Phase: checkout.PhaseAwaitingReserve}},
		awaitingPaid:    {checkout.DeadlineSet{Phase: checkout.PhaseAwaitingPaid}},
		confirming:      {checkout.DeadlineSet{Phase: checkout.PhaseConfirming}},
		cancelling:      {checkout.DeadlineSet{Phase: checkout.PhaseCancelling}},
	}))
}

func TestDecideExpireHearsTheFactsFirst(t *testing.T) {
	refund := true
	facts := func(f checkout.Facts) *checkout.Facts { return &f }
	expire := func(phase string, f *checkout.Facts) checkout.Expire { return checkout.Expire{Phase: phase, Facts: f} }
	tests := []decideCase{
		// reserving
		{name: "reserving, every line reserved meanwhile", state: stateNamed(reservingA),
			cmd: expire(checkout.PhaseReserving, facts(checkout.Facts{OrderStatus: "placed", Reserved: ab()})),
			want: []checkout.Event{checkout.LineReserved{SKU: "sku-b"}, checkout.ReservationCompleted{},
				checkout.DeadlineSet{Phase: checkout.PhaseAwaitingReserve}}},
		{name: "reserving, one line never reserved", state: at(checkout.PhaseReserving),
			cmd:  expire(checkout.PhaseReserving, facts(checkout.Facts{OrderStatus: "placed", Reserved: []string{"sku-a"}})),
			want: []checkout.Event{checkout.LineReserved{SKU: "sku-a"}, checkout.Failed{Reason: checkout.ReasonCheckoutTimeout, Release: []string{"sku-a"}}}},
		{name: "reserving, nothing known", state: stateNamed(reservingA), cmd: expire(checkout.PhaseReserving, nil),
			want: []checkout.Event{checkout.Failed{Reason: checkout.ReasonCheckoutTimeout, Release: []string{"sku-a"}}}},
		// awaiting the order's stock reservation
		{name: "awaiting reserve, the order recorded it", state: at(checkout.PhaseAwaitingReserve),
			cmd:  expire(checkout.PhaseAwaitingReserve, facts(checkout.Facts{OrderStatus: "stockReserved", Reserved: ab()})),
			want: []checkout.Event{checkout.PaymentRequested{AmountCents: 2500, Token: "tok"}}},
		{name: "awaiting reserve, the order did not", state: at(checkout.PhaseAwaitingReserve),
			cmd:  expire(checkout.PhaseAwaitingReserve, facts(checkout.Facts{OrderStatus: "placed", Reserved: ab()})),
			want: []checkout.Event{checkout.Failed{Reason: checkout.ReasonCheckoutTimeout, Release: ab()}}},
		// charging: the payment deadline asks the payment first
		{name: "charging, paid in time but heard late", state: at(checkout.PhaseCharging),
			cmd:  expire(checkout.PhaseCharging, facts(checkout.Facts{OrderStatus: "stockReserved", Charged: true, PaymentID: "pay-7", Reserved: ab()})),
			want: []checkout.Event{checkout.PaymentSucceeded{PaymentID: "pay-7"}, checkout.DeadlineSet{Phase: checkout.PhaseAwaitingPaid}}},
		{name: "charging, declined but heard late", state: at(checkout.PhaseCharging),
			cmd:  expire(checkout.PhaseCharging, facts(checkout.Facts{OrderStatus: "stockReserved", Declined: true, DeclineReason: "card declined", Reserved: ab()})),
			want: []checkout.Event{checkout.Failed{Reason: checkout.ReasonPaymentDeclined, Release: ab()}}},
		{name: "charging, no answer from the provider", state: at(checkout.PhaseCharging),
			cmd:  expire(checkout.PhaseCharging, facts(checkout.Facts{OrderStatus: "stockReserved", Reserved: ab()})),
			want: []checkout.Event{checkout.Failed{Reason: checkout.ReasonPaymentTimeout, Release: ab()}}},
		// awaiting the order's payment record
		{name: "awaiting paid, the order recorded it", state: at(checkout.PhaseAwaitingPaid),
			cmd:  expire(checkout.PhaseAwaitingPaid, facts(checkout.Facts{OrderStatus: "paid", Charged: true, PaymentID: "pay-1", Reserved: ab()})),
			want: []checkout.Event{checkout.ConfirmRequested{}, checkout.DeadlineSet{Phase: checkout.PhaseConfirming}}},
		{name: "awaiting paid, the order did not: refund", state: at(checkout.PhaseAwaitingPaid),
			cmd:  expire(checkout.PhaseAwaitingPaid, facts(checkout.Facts{OrderStatus: "stockReserved", Charged: true, PaymentID: "pay-1", Reserved: ab()})),
			want: []checkout.Event{checkout.Failed{Reason: checkout.ReasonCheckoutTimeout, Release: ab(), Refund: refund}}},
		// confirming: never compensate while the confirmation may still win
		{name: "confirming, the order confirmed", state: at(checkout.PhaseConfirming),
			cmd:  expire(checkout.PhaseConfirming, facts(checkout.Facts{OrderStatus: "confirmed", Charged: true, PaymentID: "pay-1", Reserved: ab()})),
			want: []checkout.Event{checkout.Confirmed{}}},
		{name: "confirming, the order shipped", state: at(checkout.PhaseConfirming),
			cmd:  expire(checkout.PhaseConfirming, facts(checkout.Facts{OrderStatus: "shipped", Charged: true, PaymentID: "pay-1"})),
			want: []checkout.Event{checkout.Confirmed{}, checkout.StockCommitRequested{SKUs: ab()}}},
		{name: "confirming, no answer: ask the order to cancel", state: at(checkout.PhaseConfirming),
			cmd:  expire(checkout.PhaseConfirming, facts(checkout.Facts{OrderStatus: "paid", Charged: true, PaymentID: "pay-1"})),
			want: []checkout.Event{checkout.CancelRequested{Reason: checkout.ReasonCheckoutTimeout}}},
		{name: "confirming, the customer cancelled", state: at(checkout.PhaseConfirming),
			cmd:  expire(checkout.PhaseConfirming, facts(checkout.Facts{OrderStatus: "cancelled", CancelReason: checkout.ReasonCustomer, Charged: true})),
			want: []checkout.Event{checkout.Cancelled{Release: ab(), Refund: refund}}},
		// cancelling
		{name: "cancelling, the order cancelled", state: stateNamed(cancelling),
			cmd:  expire(checkout.PhaseCancelling, facts(checkout.Facts{OrderStatus: "cancelled", CancelReason: checkout.ReasonCheckoutTimeout, Charged: true})),
			want: []checkout.Event{checkout.Failed{Reason: checkout.ReasonCheckoutTimeout, Release: ab(), Refund: refund}}},
		{name: "cancelling, the confirmation won", state: stateNamed(cancelling),
			cmd:  expire(checkout.PhaseCancelling, facts(checkout.Facts{OrderStatus: "confirmed", Charged: true})),
			want: []checkout.Event{checkout.Confirmed{}}},
		{name: "cancelling, still no answer", state: stateNamed(cancelling),
			cmd: expire(checkout.PhaseCancelling, facts(checkout.Facts{OrderStatus: "paid", Charged: true}))},
		// a deadline of a phase the checkout left
		{name: "left the phase, the new one already has a deadline", state: fold(at(checkout.PhaseAwaitingPaid), checkout.DeadlineSet{Phase: checkout.PhaseAwaitingPaid}),
			cmd: expire(checkout.PhaseReserving, nil)},
		{name: "left the phase for one that does not wait", state: at(checkout.PhaseConfirmed), cmd: expire(checkout.PhaseConfirming, nil)},
		{name: "after the end", state: stateNamed(failedTimeout), cmd: expire(checkout.PhaseCharging, facts(checkout.Facts{Charged: true}))},
	}
	runAll(t, tests)
}

func TestDecideNoteOrderPaid(t *testing.T) {
	runAll(t, matrix(t, checkout.NoteOrderPaid{}, map[string][]checkout.Event{
		awaitingPaid: {checkout.ConfirmRequested{}},
	}))
}

func TestDecideNoteOrderConfirmed(t *testing.T) {
	runAll(t, matrix(t, checkout.NoteOrderConfirmed{}, map[string][]checkout.Event{
		confirming: {checkout.Confirmed{}},
		cancelling: {checkout.Confirmed{}}, // the confirmation won over the saga's cancel
	}))
}

func TestDecideNoteOrderShipped(t *testing.T) {
	// Shipping proves the confirmation, even when the saga has not heard it.
	shippedUnheard := []checkout.Event{checkout.Confirmed{}, checkout.StockCommitRequested{SKUs: ab()}}
	tests := matrix(t, checkout.NoteOrderShipped{}, map[string][]checkout.Event{
		confirmed:  {checkout.StockCommitRequested{SKUs: ab()}},
		confirming: shippedUnheard,
		cancelling: shippedUnheard,
	})
	tests = append(tests, decideCase{name: "commits every line in line order", state: atWith(threeLines(), checkout.PhaseConfirmed),
		cmd: checkout.NoteOrderShipped{}, want: []checkout.Event{checkout.StockCommitRequested{SKUs: []string{"sku-a", "sku-b", "sku-c"}}}})
	runAll(t, tests)
}

func TestDecideNoteRefunded(t *testing.T) {
	done := []checkout.Event{checkout.RefundCompleted{}}
	runAll(t, matrix(t, checkout.NoteRefunded{}, map[string][]checkout.Event{
		failedTimeoutLate: done,
		cancelledPaid:     done,
		// The branch only asks whether a charge is held and not yet refunded.
		awaitingPaid: done,
		confirming:   done,
		cancelling:   done,
		confirmed:    done,
		shipped:      done,
	}))
}

func TestDecideCustomerCancel(t *testing.T) {
	keep := []checkout.Event{checkout.Cancelled{Release: ab()}}
	refund := []checkout.Event{checkout.Cancelled{Release: ab(), Refund: true}}
	tests := matrix(t, checkout.NoteOrderCancelled{Reason: checkout.ReasonCustomer}, map[string][]checkout.Event{
		notStarted:      {checkout.Cancelled{}},
		reserving:       {checkout.Cancelled{}},
		reservingA:      {checkout.Cancelled{Release: []string{"sku-a"}}},
		awaitingReserve: keep,
		charging:        keep,
		awaitingPaid:    refund,
		confirming:      refund,
		cancelling:      refund,
		confirmed:       refund,
	})
	tests = append(tests,
		decideCase{name: "releases in line order", state: fold(atWith(threeLines(), checkout.PhaseReserving),
			checkout.LineReserved{SKU: "sku-c"}, checkout.LineReserved{SKU: "sku-a"}),
			cmd: checkout.NoteOrderCancelled{Reason: checkout.ReasonCustomer}, want: []checkout.Event{checkout.Cancelled{Release: []string{"sku-a", "sku-c"}}}},
		decideCase{name: "a recorded refund is not asked again", state: fold(at(checkout.PhaseConfirmed), checkout.RefundCompleted{}),
			cmd: checkout.NoteOrderCancelled{Reason: checkout.ReasonCustomer}, want: keep},
	)
	runAll(t, tests)
}

func TestDecideSystemCancelComingBack(t *testing.T) {
	for _, reason := range []string{checkout.ReasonOutOfStock, checkout.ReasonPaymentDeclined, checkout.ReasonPaymentTimeout, "", "Customer"} {
		t.Run("reason "+reason, func(t *testing.T) {
			runAll(t, matrix(t, checkout.NoteOrderCancelled{Reason: reason}, nil))
		})
	}
}

func TestDecideTimeoutCancelComingBack(t *testing.T) {
	runAll(t, matrix(t, checkout.NoteOrderCancelled{Reason: checkout.ReasonCheckoutTimeout}, map[string][]checkout.Event{
		// Only a checkout that asked for it compensates; others did so already.
		cancelling: {checkout.Failed{Reason: checkout.ReasonCheckoutTimeout, Release: ab(), Refund: true}},
	}))
}

func TestDecideUnknownCommand(t *testing.T) {
	var tests []decideCase
	for _, ns := range allStates() {
		tc := decideCase{name: ns.name, state: ns.state, cmd: unknownCommand{}}
		if ns.state.Started {
			tc.kind, tc.msg = apperr.Rejected, "unknown checkout command checkout_test.unknownCommand"
		}
		tests = append(tests, tc)
	}
	runAll(t, tests)
}

// started is the state right after startedEvent(lines()).
func started() checkout.State {
	return checkout.State{OrderID: orderID, Started: true, Owner: owner, Lines: lines(), TotalCents: 2500,
		PaymentToken: "tok", Phase: checkout.PhaseReserving, Deadlines: []string{checkout.PhaseReserving}}
}

// with is a deep copy of s changed by f.
func with(s checkout.State, f func(*checkout.State)) checkout.State {
	s = clone(s)
	f(&s)
	return s
}

// reservedAB is the fully reserved two-line checkout in phase.
func reservedAB(phase string) checkout.State {
	return with(started(), func(s *checkout.State) {
		s.Phase, s.Reserved = phase, map[string]bool{"sku-a": true, "sku-b": true}
	})
}

// charged adds the payment deadline PaymentRequested set to s.
func charged(s checkout.State) checkout.State {
	return with(s, func(s *checkout.State) { s.Deadlines = []string{checkout.PhaseReserving, checkout.PhaseCharging} })
}

func TestEvolve(t *testing.T) {
	paid := charged(with(reservedAB(checkout.PhaseAwaitingPaid), func(s *checkout.State) { s.Charged, s.PaymentID = true, "pay-1" }))
	tests := []struct {
		name  string
		state checkout.State
		event checkout.Event
		want  checkout.State
	}{
		{name: "started", state: checkout.New(orderID), event: startedEvent(lines()), want: started()},
		{name: "line reserved: first", state: at(checkout.PhaseReserving), event: checkout.LineReserved{SKU: "sku-a"},
			want: with(started(), func(s *checkout.State) { s.Reserved = map[string]bool{"sku-a": true} })},
		{name: "line reserved: second", state: fold(at(checkout.PhaseReserving), checkout.LineReserved{SKU: "sku-a"}), event: checkout.LineReserved{SKU: "sku-b"},
			want: reservedAB(checkout.PhaseReserving)},
		{name: "line reserved: after the end", state: fold(at(checkout.PhaseReserving), checkout.Cancelled{}), event: checkout.LineReserved{SKU: "sku-b"},
			want: with(started(), func(s *checkout.State) {
				s.Phase, s.Reason, s.Reserved = checkout.PhaseCancelled, checkout.ReasonCustomer, map[string]bool{"sku-b": true}
			})},
		{name: "reservation completed", state: reservedAB(checkout.PhaseReserving), event: checkout.ReservationCompleted{},
			want: reservedAB(checkout.PhaseAwaitingReserve)},
		{name: "payment requested sets the payment deadline", state: at(checkout.PhaseAwaitingReserve), event: checkout.PaymentRequested{AmountCents: 1, Token: "other"},
			want: charged(reservedAB(checkout.PhaseCharging))},
		{name: "deadline set", state: at(checkout.PhaseAwaitingReserve), event: checkout.DeadlineSet{Phase: checkout.PhaseAwaitingReserve},
			want: with(reservedAB(checkout.PhaseAwaitingReserve), func(s *checkout.State) {
				s.Deadlines = []string{checkout.PhaseReserving, checkout.PhaseAwaitingReserve}
			})},
		{name: "cancel requested", state: at(checkout.PhaseConfirming), event: checkout.CancelRequested{Reason: checkout.ReasonCheckoutTimeout},
			want: with(paid, func(s *checkout.State) { s.Phase = checkout.PhaseCancelling })},
		{name: "payment succeeded", state: at(checkout.PhaseCharging), event: checkout.PaymentSucceeded{PaymentID: "pay-1"},
			want: paid},
		{name: "confirm requested", state: at(checkout.PhaseAwaitingPaid), event: checkout.ConfirmRequested{},
			want: with(paid, func(s *checkout.State) { s.Phase = checkout.PhaseConfirming })},
		{name: "confirmed", state: at(checkout.PhaseConfirming), event: checkout.Confirmed{},
			want: with(paid, func(s *checkout.State) { s.Phase = checkout.PhaseConfirmed })},
		{name: "stock commit requested keeps the reservations", state: at(checkout.PhaseConfirmed), event: checkout.StockCommitRequested{SKUs: ab()},
			want: with(paid, func(s *checkout.State) { s.Phase = checkout.PhaseShipped })},
		{name: "failed releases every line", state: at(checkout.PhaseCharging), event: checkout.Failed{Reason: checkout.ReasonPaymentDeclined, Release: ab()},
			want: charged(with(started(), func(s *checkout.State) {
				s.Phase, s.Reason, s.Reserved = checkout.PhaseFailed, checkout.ReasonPaymentDeclined, map[string]bool{"sku-a": false, "sku-b": false}
			}))},
		{name: "failed releases only the listed lines", state: reservedAB(checkout.PhaseCharging), event: checkout.Failed{Reason: checkout.ReasonPaymentTimeout, Release: []string{"sku-a"}},
			want: with(started(), func(s *checkout.State) {
				s.Phase, s.Reason, s.Reserved = checkout.PhaseFailed, checkout.ReasonPaymentTimeout, map[string]bool{"sku-a": false, "sku-b": true}
			})},
		{name: "failed with nothing reserved", state: at(checkout.PhaseReserving), event: checkout.Failed{Reason: checkout.ReasonOutOfStock},
			want: with(started(), func(s *checkout.State) { s.Phase, s.Reason = checkout.PhaseFailed, checkout.ReasonOutOfStock })},
		{name: "cancelled keeps the charge", state: at(checkout.PhaseAwaitingPaid), event: checkout.Cancelled{Release: ab(), Refund: true},
			want: with(paid, func(s *checkout.State) {
				s.Phase, s.Reason, s.Reserved = checkout.PhaseCancelled, checkout.ReasonCustomer, map[string]bool{"sku-a": false, "sku-b": false}
			})},
		{name: "cancelled before start", state: checkout.New(orderID), event: checkout.Cancelled{},
			want: checkout.State{OrderID: orderID, Phase: checkout.PhaseCancelled, Reason: checkout.ReasonCustomer}},
		{name: "release requested", state: reservedAB(checkout.PhaseCancelled), event: checkout.ReleaseRequested{SKU: "sku-b"},
			want: with(started(), func(s *checkout.State) {
				s.Phase, s.Reserved = checkout.PhaseCancelled, map[string]bool{"sku-a": true, "sku-b": false}
			})},
		{name: "release requested: sku not held", state: reservedAB(checkout.PhaseCancelled), event: checkout.ReleaseRequested{SKU: "sku-z"},
			want: reservedAB(checkout.PhaseCancelled)},
		{name: "late payment received keeps the phase", state: stateNamed(failedTimeout), event: checkout.LatePaymentReceived{PaymentID: "pay-9"},
			want: charged(with(started(), func(s *checkout.State) {
				s.Phase, s.Reason, s.Reserved = checkout.PhaseFailed, checkout.ReasonPaymentTimeout, map[string]bool{"sku-a": false, "sku-b": false}
				s.Charged, s.PaymentID = true, "pay-9"
			}))},
		{name: "refund completed", state: at(checkout.PhaseAwaitingPaid), event: checkout.RefundCompleted{},
			want: with(paid, func(s *checkout.State) { s.Refunded = true })},
		{name: "unknown event changes nothing", state: at(checkout.PhaseCharging), event: unknownEvent{},
			want: charged(reservedAB(checkout.PhaseCharging))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := clone(tc.state)
			got := checkout.Evolve(tc.state, tc.event)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, before, tc.state, "Evolve must not mutate its state")
		})
	}
}

func TestEvolveStartedCopiesLines(t *testing.T) {
	e := startedEvent(lines())
	s := checkout.Evolve(checkout.New(orderID), e)
	e.Lines[0].Quantity = 77
	assert.Equal(t, 2, s.Lines[0].Quantity, "the state's lines must not alias the event's")
}

func TestEvolveNeverMutatesItsInput(t *testing.T) {
	scripts := map[string][]checkout.Event{
		"happy path": {startedEvent(lines()), checkout.LineReserved{SKU: "sku-a"}, checkout.LineReserved{SKU: "sku-b"},
			checkout.ReservationCompleted{}, checkout.PaymentRequested{AmountCents: 2500, Token: "tok"},
			checkout.PaymentSucceeded{PaymentID: "pay-1"}, checkout.ConfirmRequested{}, checkout.Confirmed{},
			checkout.StockCommitRequested{SKUs: ab()}},
		"failed, late charge refunded": {startedEvent(lines()), checkout.LineReserved{SKU: "sku-a"}, checkout.LineReserved{SKU: "sku-b"},
			checkout.ReservationCompleted{}, checkout.PaymentRequested{AmountCents: 2500, Token: "tok"},
			checkout.Failed{Reason: checkout.ReasonPaymentTimeout, Release: ab()},
			checkout.LatePaymentReceived{PaymentID: "pay-1"}, checkout.RefundCompleted{}},
		"cancelled, late reservation": {startedEvent(lines()), checkout.LineReserved{SKU: "sku-a"},
			checkout.Cancelled{Release: []string{"sku-a"}}, checkout.LineReserved{SKU: "sku-b"}, checkout.ReleaseRequested{SKU: "sku-b"}},
	}
	for name, events := range scripts {
		t.Run(name, func(t *testing.T) {
			s := checkout.New(orderID)
			var states, copies []checkout.State
			for _, e := range events {
				states = append(states, s)
				copies = append(copies, clone(s))
				s = checkout.Evolve(s, e)
			}
			for i := range states {
				assert.Equal(t, copies[i], states[i], "state before event %d (%T) was mutated", i, events[i])
			}
		})
	}
}

func TestEvolveBranchesAreIndependent(t *testing.T) {
	// Every event that touches Reserved, applied to one base: a map written
	// in place would show up in the base and in the sibling results.
	base := fold(at(checkout.PhaseReserving), checkout.LineReserved{SKU: "sku-a"})
	events := []checkout.Event{
		checkout.LineReserved{SKU: "sku-b"},
		checkout.LineReserved{SKU: "sku-c"},
		checkout.Failed{Reason: checkout.ReasonOutOfStock, Release: []string{"sku-a"}},
		checkout.Cancelled{Release: []string{"sku-a"}},
		checkout.ReleaseRequested{SKU: "sku-a"},
	}
	baseCopy := clone(base)
	results := make([]checkout.State, len(events))
	resultCopies := make([]checkout.State, len(events))
	for i, e := range events {
		results[i] = checkout.Evolve(base, e)
		resultCopies[i] = clone(results[i])
	}
	assert.Equal(t, baseCopy, base)
	for i := range results {
		assert.Equal(t, resultCopies[i], results[i], "result of event %d changed by a sibling", i)
	}
	assert.Equal(t, map[string]bool{"sku-a": true, "sku-b": true}, results[0].Reserved)
	assert.Equal(t, map[string]bool{"sku-a": true, "sku-c": true}, results[1].Reserved)
	assert.Equal(t, map[string]bool{"sku-a": false}, results[2].Reserved, "released, still known as reserved once")
}

func TestEventTypes(t *testing.T) {
	tests := []struct {
		event checkout.Event
		want  string
	}{
		{checkout.Started{}, "CheckoutStarted"},
		{checkout.LineReserved{}, "CheckoutLineReserved"},
		{checkout.ReservationCompleted{}, "CheckoutReservationCompleted"},
		{checkout.PaymentRequested{}, "CheckoutPaymentRequested"},
		{checkout.PaymentSucceeded{}, "CheckoutPaymentSucceeded"},
		{checkout.ConfirmRequested{}, "CheckoutConfirmRequested"},
		{checkout.Confirmed{}, "CheckoutConfirmed"},
		{checkout.Failed{}, "CheckoutFailed"},
		{checkout.Cancelled{}, "CheckoutCancelled"},
		{checkout.ReleaseRequested{}, "CheckoutReleaseRequested"},
		{checkout.LatePaymentReceived{}, "CheckoutLatePaymentReceived"},
		{checkout.StockCommitRequested{}, "CheckoutStockCommitRequested"},
		{checkout.RefundCompleted{}, "CheckoutRefundCompleted"},
		{checkout.DeadlineSet{}, "CheckoutDeadlineSet"},
		{checkout.CancelRequested{}, "CheckoutCancelRequested"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, tc.event.EventType(), "%T", tc.event)
	}
}

// run folds Decide+Evolve over commands, failing on any error.
func run(t *testing.T, s checkout.State, cmds ...checkout.Command) (checkout.State, []checkout.Event) {
	t.Helper()
	return aggtest.Run(t, checkout.Decide, checkout.Evolve, s, cmds...)
}

// customerCancel is the order's cancel by its customer, as the saga hears it.
var customerCancel = checkout.NoteOrderCancelled{Reason: checkout.ReasonCustomer}

// throughStockReserved are the commands that take a two-line checkout to
// phase charging, with one duplicate reservation.
func throughStockReserved() []checkout.Command {
	return []checkout.Command{
		startCmd(lines()),
		checkout.NoteReserved{SKU: "sku-b"},
		checkout.NoteReserved{SKU: "sku-a"},
		checkout.NoteReserved{SKU: "sku-a"}, // redelivered
		checkout.NoteOrderStockReserved{},
	}
}

// throughStockReservedEvents are the events throughStockReserved decides.
func throughStockReservedEvents() []checkout.Event {
	return []checkout.Event{
		startedEvent(lines()),
		checkout.LineReserved{SKU: "sku-b"},
		checkout.LineReserved{SKU: "sku-a"},
		checkout.ReservationCompleted{},
		checkout.PaymentRequested{AmountCents: 2500, Token: "tok"},
	}
}

func TestHappyPathScript(t *testing.T) {
	s, events := run(t, checkout.New(orderID), append(throughStockReserved(),
		checkout.NoteOrderStockReserved{}, // redelivered
		checkout.NoteCharged{PaymentID: "pay-1"},
		checkout.NoteCharged{PaymentID: "pay-1"},       // redelivered
		checkout.Expire{Phase: checkout.PhaseCharging}, // the deadline after the answer
		checkout.NoteOrderPaid{},
		checkout.NoteOrderPaid{}, // redelivered
		checkout.NoteOrderConfirmed{},
		checkout.NoteOrderConfirmed{}, // redelivered
		startCmd(lines()),             // redelivered
	)...)
	assert.Equal(t, append(throughStockReservedEvents(),
		checkout.PaymentSucceeded{PaymentID: "pay-1"},
		checkout.DeadlineSet{Phase: checkout.PhaseAwaitingPaid}, // the payment deadline, heard while awaiting the order
		checkout.ConfirmRequested{},
		checkout.Confirmed{},
	), events)
	assert.Equal(t, with(reservedAB(checkout.PhaseConfirmed), func(s *checkout.State) {
		s.Charged, s.PaymentID = true, "pay-1"
		s.Deadlines = []string{checkout.PhaseReserving, checkout.PhaseCharging, checkout.PhaseAwaitingPaid}
	}), s)

	s, events = run(t, s,
		checkout.NoteOrderShipped{},
		checkout.NoteOrderShipped{}, // redelivered
		customerCancel,              // too late to cancel
		checkout.NoteRefunded{},     // nothing asked for one, but a charge is held
		checkout.NoteRefunded{},     // redelivered
	)
	assert.Equal(t, []checkout.Event{checkout.StockCommitRequested{SKUs: ab()}, checkout.RefundCompleted{}}, events)
	assert.Equal(t, checkout.PhaseShipped, s.Phase)
	assert.Equal(t, map[string]bool{"sku-a": true, "sku-b": true}, s.Reserved)
}

func TestDeclinedPaymentScript(t *testing.T) {
	s, events := run(t, checkout.New(orderID), append(throughStockReserved(),
		checkout.NoteDeclined{Reason: "insufficient_funds"},
		checkout.NoteDeclined{Reason: "insufficient_funds"},                 // redelivered
		checkout.NoteOrderCancelled{Reason: checkout.ReasonPaymentDeclined}, // the saga's own cancel
		checkout.Expire{Phase: checkout.PhaseCharging},
		customerCancel,
		checkout.NoteRefunded{}, // nothing was charged
	)...)
	assert.Equal(t, append(throughStockReservedEvents(),
		checkout.Failed{Reason: checkout.ReasonPaymentDeclined, Release: ab()},
	), events)
	assert.Equal(t, charged(with(started(), func(s *checkout.State) {
		s.Phase, s.Reason, s.Reserved = checkout.PhaseFailed, checkout.ReasonPaymentDeclined, map[string]bool{"sku-a": false, "sku-b": false}
	})), s)
}

func TestTimeoutThenLateChargeScript(t *testing.T) {
	s, events := run(t, checkout.New(orderID), append(throughStockReserved(),
		checkout.Expire{Phase: checkout.PhaseCharging},
		checkout.Expire{Phase: checkout.PhaseCharging}, // redelivered
		checkout.NoteCharged{PaymentID: "pay-1"},
		checkout.NoteCharged{PaymentID: "pay-1"}, // redelivered
		checkout.NoteOrderPaid{},
		checkout.NoteRefunded{},
		checkout.NoteRefunded{}, // redelivered
	)...)
	assert.Equal(t, append(throughStockReservedEvents(),
		checkout.Failed{Reason: checkout.ReasonPaymentTimeout, Release: ab()},
		checkout.LatePaymentReceived{PaymentID: "pay-1"},
		checkout.RefundCompleted{},
	), events)
	assert.Equal(t, charged(with(started(), func(s *checkout.State) {
		s.Phase, s.Reason, s.Reserved = checkout.PhaseFailed, checkout.ReasonPaymentTimeout, map[string]bool{"sku-a": false, "sku-b": false}
		s.Charged, s.PaymentID, s.Refunded = true, "pay-1", true
	})), s)
}

func TestOutOfStockScript(t *testing.T) {
	s, events := run(t, checkout.New(orderID),
		startCmd(threeLines()),
		checkout.NoteReserved{SKU: "sku-a"},
		checkout.NoteReservationFailed{SKU: "sku-b"},
		checkout.NoteReservationFailed{SKU: "sku-b"},                   // redelivered
		checkout.NoteOrderCancelled{Reason: checkout.ReasonOutOfStock}, // the saga's own cancel
		checkout.NoteReserved{SKU: "sku-c"},                            // late
		checkout.NoteOrderStockReserved{},
		checkout.Expire{Phase: checkout.PhaseCharging},
	)
	assert.Equal(t, []checkout.Event{
		startedEvent(threeLines()),
		checkout.LineReserved{SKU: "sku-a"},
		checkout.Failed{Reason: checkout.ReasonOutOfStock, Release: []string{"sku-a"}},
		checkout.LineReserved{SKU: "sku-c"},
		checkout.ReleaseRequested{SKU: "sku-c"},
	}, events)
	assert.Equal(t, checkout.State{OrderID: orderID, Started: true, Owner: owner, Lines: threeLines(), TotalCents: 2500,
		PaymentToken: "tok", Phase: checkout.PhaseFailed, Reason: checkout.ReasonOutOfStock, Reserved: map[string]bool{"sku-a": false, "sku-c": false},
		Deadlines: []string{checkout.PhaseReserving}}, s)
}

func TestCustomerCancelScripts(t *testing.T) {
	t.Run("after paid: release and refund", func(t *testing.T) {
		s, events := run(t, checkout.New(orderID), append(throughStockReserved(),
			checkout.NoteCharged{PaymentID: "pay-1"},
			customerCancel,
			customerCancel,           // redelivered
			checkout.NoteOrderPaid{}, // the order refused it
			checkout.NoteRefunded{},
			checkout.NoteRefunded{}, // redelivered
		)...)
		assert.Equal(t, append(throughStockReservedEvents(),
			checkout.PaymentSucceeded{PaymentID: "pay-1"},
			checkout.Cancelled{Release: ab(), Refund: true},
			checkout.RefundCompleted{},
		), events)
		assert.Equal(t, charged(with(started(), func(s *checkout.State) {
			s.Phase, s.Reason, s.Reserved = checkout.PhaseCancelled, checkout.ReasonCustomer, map[string]bool{"sku-a": false, "sku-b": false}
			s.Charged, s.PaymentID, s.Refunded = true, "pay-1", true
		})), s)
	})
	t.Run("while charging: a late charge is refunded", func(t *testing.T) {
		s, events := run(t, checkout.New(orderID), append(throughStockReserved(),
			customerCancel,
			checkout.Expire{Phase: checkout.PhaseCharging},
			checkout.NoteCharged{PaymentID: "pay-1"},
			checkout.NoteRefunded{},
		)...)
		assert.Equal(t, append(throughStockReservedEvents(),
			checkout.Cancelled{Release: ab()},
			checkout.LatePaymentReceived{PaymentID: "pay-1"},
			checkout.RefundCompleted{},
		), events)
		assert.Equal(t, charged(with(started(), func(s *checkout.State) {
			s.Phase, s.Reason, s.Reserved = checkout.PhaseCancelled, checkout.ReasonCustomer, map[string]bool{"sku-a": false, "sku-b": false}
			s.Charged, s.PaymentID, s.Refunded = true, "pay-1", true
		})), s)
	})
	t.Run("while reserving: a late reservation is released", func(t *testing.T) {
		s, events := run(t, checkout.New(orderID),
			startCmd(lines()),
			checkout.NoteReserved{SKU: "sku-a"},
			customerCancel,
			checkout.NoteReserved{SKU: "sku-b"}, // late
			checkout.NoteReservationFailed{SKU: "sku-b"},
			checkout.NoteOrderStockReserved{},
			checkout.NoteCharged{PaymentID: "pay-1"}, // cannot have been asked, but would be refunded
		)
		assert.Equal(t, []checkout.Event{
			startedEvent(lines()),
			checkout.LineReserved{SKU: "sku-a"},
			checkout.Cancelled{Release: []string{"sku-a"}},
			checkout.LineReserved{SKU: "sku-b"},
			checkout.ReleaseRequested{SKU: "sku-b"},
			checkout.LatePaymentReceived{PaymentID: "pay-1"},
		}, events)
		assert.Equal(t, with(started(), func(s *checkout.State) {
			s.Phase, s.Reason, s.Reserved = checkout.PhaseCancelled, checkout.ReasonCustomer, map[string]bool{"sku-a": false, "sku-b": false}
			s.Charged, s.PaymentID = true, "pay-1"
		}), s)
	})
	t.Run("before start: the start is ignored", func(t *testing.T) {
		s, events := run(t, checkout.New(orderID), customerCancel, startCmd(lines()), checkout.NoteReserved{SKU: "sku-a"})
		assert.Equal(t, []checkout.Event{checkout.Cancelled{}}, events)
		assert.Equal(t, checkout.State{OrderID: orderID, Phase: checkout.PhaseCancelled, Reason: checkout.ReasonCustomer}, s)
	})
}
