package payment_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/domain-service/internal/payment"
	"github.com/prism-es/prism/shared/aggregate/aggtest"
	"github.com/prism-es/prism/shared/apperr"
)

const orderID = "order-1"

// fold evolves s through events.
func fold(s payment.State, events ...payment.Event) payment.State {
	return aggtest.Fold(payment.Evolve, s, events...)
}

// approved is the provider's yes with payment id pay-1.
func approved() *payment.Outcome {
	return &payment.Outcome{Approved: true, PaymentID: "pay-1"}
}

// declined is the provider's no with reason.
func declined(reason string) *payment.Outcome {
	return &payment.Outcome{Approved: false, Reason: reason}
}

// charged is order-1's payment charged 2500 cents as pay-1.
func charged() payment.State {
	return fold(payment.New(orderID), payment.Charged{PaymentID: "pay-1", AmountCents: 2500})
}

// declinedState is order-1's payment refused by the provider.
func declinedState() payment.State {
	return fold(payment.New(orderID), payment.Declined{Reason: "insufficient_funds"})
}

// refunded is order-1's payment charged and then refunded.
func refunded() payment.State {
	return fold(charged(), payment.Refunded{PaymentID: "pay-1", AmountCents: 2500})
}

type decideCase struct {
	name  string
	state payment.State
	cmd   payment.Command
	want  []payment.Event // nil with kind "" means: no events
	kind  apperr.Kind     // "" means success
	msg   string          // substring of the error message
}

// runDecide decides tc.cmd on tc.state and checks the events or the error,
// and that Decide left its state alone (State holds only values, so a copy
// is a deep copy).
func runDecide(t *testing.T, tc decideCase) {
	t.Helper()
	before := tc.state
	events, err := payment.Decide(tc.state, tc.cmd)
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

// unknownCommand is a Command the payment does not know.
type unknownCommand struct{ payment.Refund }

// unknownEvent is an Event the payment does not know.
type unknownEvent struct{}

// EventType implements payment.Event.
func (unknownEvent) EventType() string { return "PaymentDisputed" }

func TestNew(t *testing.T) {
	s := payment.New(orderID)
	assert.Equal(t, payment.State{OrderID: orderID}, s)
	assert.False(t, s.Settled())
}

func TestSettled(t *testing.T) {
	tests := []struct {
		name  string
		state payment.State
		want  bool
	}{
		{name: "new", state: payment.New(orderID), want: false},
		{name: "charged", state: charged(), want: true},
		{name: "declined", state: declinedState(), want: true},
		{name: "charged and refunded", state: refunded(), want: true},
		{name: "refunded flag alone", state: payment.State{OrderID: orderID, Refunded: true}, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, tc.state.Settled()) })
	}
}

func TestDecideCharge(t *testing.T) {
	tests := []decideCase{
		{name: "approved", state: payment.New(orderID), cmd: payment.Charge{AmountCents: 2500, Token: "tok", Outcome: approved()},
			want: []payment.Event{payment.Charged{PaymentID: "pay-1", AmountCents: 2500}}},
		{name: "approved: zero amount", state: payment.New(orderID), cmd: payment.Charge{AmountCents: 0, Token: "tok", Outcome: approved()},
			want: []payment.Event{payment.Charged{PaymentID: "pay-1", AmountCents: 0}}},
		{name: "approved: amount comes from the command", state: payment.New(orderID),
			cmd:  payment.Charge{AmountCents: 1, Outcome: &payment.Outcome{Approved: true, PaymentID: "pay-9", Reason: "ignored"}},
			want: []payment.Event{payment.Charged{PaymentID: "pay-9", AmountCents: 1}}},
		{name: "declined", state: payment.New(orderID), cmd: payment.Charge{AmountCents: 2500, Token: "tok", Outcome: declined("insufficient_funds")},
			want: []payment.Event{payment.Declined{Reason: "insufficient_funds"}}},
		{name: "declined: payment id is not recorded", state: payment.New(orderID),
			cmd:  payment.Charge{AmountCents: 2500, Outcome: &payment.Outcome{PaymentID: "pay-1", Reason: "card_expired"}},
			want: []payment.Event{payment.Declined{Reason: "card_expired"}}},
		{name: "negative amount", state: payment.New(orderID), cmd: payment.Charge{AmountCents: -1, Token: "tok", Outcome: approved()},
			kind: apperr.Rejected, msg: "a charge cannot be negative"},
		{name: "negative amount is refused before the missing outcome", state: payment.New(orderID), cmd: payment.Charge{AmountCents: -1},
			kind: apperr.Rejected, msg: "a charge cannot be negative"},
		{name: "no provider outcome", state: payment.New(orderID), cmd: payment.Charge{AmountCents: 2500, Token: "tok"},
			kind: apperr.Internal, msg: "charge of order-1 has no provider outcome"},

		// Settled: the provider is not asked again and nothing happens.
		{name: "again after charged", state: charged(), cmd: payment.Charge{AmountCents: 2500, Token: "tok", Outcome: approved()}},
		{name: "again after charged, without outcome", state: charged(), cmd: payment.Charge{AmountCents: 2500, Token: "tok"}},
		{name: "again after charged, declined outcome", state: charged(), cmd: payment.Charge{AmountCents: 2500, Outcome: declined("x")}},
		{name: "again after charged, negative amount", state: charged(), cmd: payment.Charge{AmountCents: -1}},
		{name: "again after declined", state: declinedState(), cmd: payment.Charge{AmountCents: 2500, Token: "tok", Outcome: approved()}},
		{name: "again after declined, without outcome", state: declinedState(), cmd: payment.Charge{AmountCents: 2500, Token: "tok"}},
		{name: "again after refunded", state: refunded(), cmd: payment.Charge{AmountCents: 2500, Token: "tok", Outcome: approved()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runDecide(t, tc) })
	}
}

func TestDecideRefund(t *testing.T) {
	tests := []decideCase{
		{name: "charged, provider refunded", state: charged(), cmd: payment.Refund{Done: true},
			want: []payment.Event{payment.Refunded{PaymentID: "pay-1", AmountCents: 2500}}},
		{name: "charged zero, provider refunded", state: fold(payment.New(orderID), payment.Charged{PaymentID: "pay-0"}), cmd: payment.Refund{Done: true},
			want: []payment.Event{payment.Refunded{PaymentID: "pay-0", AmountCents: 0}}},
		{name: "charged, provider did not confirm", state: charged(), cmd: payment.Refund{},
			kind: apperr.Internal, msg: "refund of order-1 was not confirmed by the provider"},

		// Nothing to give back.
		{name: "not charged yet", state: payment.New(orderID), cmd: payment.Refund{Done: true}},
		{name: "not charged yet, not done", state: payment.New(orderID), cmd: payment.Refund{}},
		{name: "declined", state: declinedState(), cmd: payment.Refund{Done: true}},
		{name: "declined, not done", state: declinedState(), cmd: payment.Refund{}},
		{name: "again after refunded", state: refunded(), cmd: payment.Refund{Done: true}},
		{name: "again after refunded, not done", state: refunded(), cmd: payment.Refund{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runDecide(t, tc) })
	}
}

func TestDecideUnknownCommand(t *testing.T) {
	states := map[string]payment.State{
		"new": payment.New(orderID), "charged": charged(), "declined": declinedState(), "refunded": refunded(),
	}
	for name, s := range states {
		t.Run(name, func(t *testing.T) {
			runDecide(t, decideCase{name: name, state: s, cmd: unknownCommand{},
				kind: apperr.Rejected, msg: "unknown payment command payment_test.unknownCommand"})
		})
	}
}

func TestEvolve(t *testing.T) {
	tests := []struct {
		name  string
		state payment.State
		event payment.Event
		want  payment.State
	}{
		{name: "charged", state: payment.New(orderID), event: payment.Charged{PaymentID: "pay-1", AmountCents: 2500},
			want: payment.State{OrderID: orderID, Charged: true, PaymentID: "pay-1", AmountCents: 2500}},
		{name: "declined", state: payment.New(orderID), event: payment.Declined{Reason: "insufficient_funds"},
			want: payment.State{OrderID: orderID, Declined: true, DeclineReason: "insufficient_funds"}},
		{name: "refunded keeps the charge", state: charged(), event: payment.Refunded{PaymentID: "pay-other", AmountCents: 1},
			want: payment.State{OrderID: orderID, Charged: true, Refunded: true, PaymentID: "pay-1", AmountCents: 2500}},
		{name: "unknown event changes nothing", state: charged(), event: unknownEvent{},
			want: payment.State{OrderID: orderID, Charged: true, PaymentID: "pay-1", AmountCents: 2500}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.state
			got := payment.Evolve(tc.state, tc.event)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, before, tc.state, "Evolve must not mutate its state")
		})
	}
}

func TestEventTypes(t *testing.T) {
	assert.Equal(t, "PaymentCharged", payment.Charged{}.EventType())
	assert.Equal(t, "PaymentDeclined", payment.Declined{}.EventType())
	assert.Equal(t, "PaymentRefunded", payment.Refunded{}.EventType())
}

// run folds Decide+Evolve over commands, failing on any error.
func run(t *testing.T, s payment.State, cmds ...payment.Command) (payment.State, []payment.Event) {
	t.Helper()
	return aggtest.Run(t, payment.Decide, payment.Evolve, s, cmds...)
}

func TestFoldScript(t *testing.T) {
	s, events := run(t, payment.New(orderID),
		payment.Charge{AmountCents: 2500, Token: "tok", Outcome: approved()},
		payment.Charge{AmountCents: 2500, Token: "tok"}, // redelivered: already settled
		payment.Refund{Done: true},
		payment.Refund{}, // redelivered: already refunded
	)
	assert.Equal(t, []payment.Event{
		payment.Charged{PaymentID: "pay-1", AmountCents: 2500},
		payment.Refunded{PaymentID: "pay-1", AmountCents: 2500},
	}, events)
	assert.Equal(t, payment.State{OrderID: orderID, Charged: true, Refunded: true, PaymentID: "pay-1", AmountCents: 2500}, s)

	s, events = run(t, payment.New(orderID),
		payment.Refund{}, // a refund before any charge does nothing
		payment.Charge{AmountCents: 2500, Token: "tok", Outcome: declined("insufficient_funds")},
		payment.Charge{AmountCents: 2500, Token: "tok", Outcome: approved()}, // a decline is final
		payment.Refund{Done: true},
	)
	assert.Equal(t, []payment.Event{payment.Declined{Reason: "insufficient_funds"}}, events)
	assert.Equal(t, payment.State{OrderID: orderID, Declined: true, DeclineReason: "insufficient_funds"}, s)
}
