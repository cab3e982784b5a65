package order_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/domain-service/internal/order"
	"github.com/prism-es/prism/shared/aggregate/aggtest"
	"github.com/prism-es/prism/shared/apperr"
)

const (
	orderID = "order-1"
	owner   = "alice"
	other   = "bob"
)

func lines() []order.Line {
	return []order.Line{
		{SKU: "sku-a", Name: "Apple", Quantity: 2, UnitPriceCents: 500},
		{SKU: "sku-b", Name: "Banana", Quantity: 1, UnitPriceCents: 1500},
	}
}

func placedEvent() order.Placed {
	return order.Placed{CartID: "cart-1", Owner: owner, Lines: lines(), TotalCents: 2500, PaymentToken: "tok"}
}

func fold(s order.State, events ...order.Event) order.State {
	return aggtest.Fold(order.Evolve, s, events...)
}

// ladder is the happy path, one event per status.
var ladder = []struct {
	status string
	event  order.Event
}{
	{order.StatusPlaced, placedEvent()},
	{order.StatusStockReserved, order.StockReserved{}},
	{order.StatusPaid, order.Paid{PaymentID: "pay-1"}},
	{order.StatusConfirmed, order.Confirmed{}},
	{order.StatusShipped, order.Shipped{}},
	{order.StatusDelivered, order.Delivered{}},
}

// at is alice's order in status (any ladder status, or cancelled after
// being placed).
func at(status string) order.State {
	s := order.New(orderID)
	if status == order.StatusCancelled {
		return fold(s, placedEvent(), order.Cancelled{Reason: order.ReasonOutOfStock})
	}
	for _, step := range ladder {
		s = order.Evolve(s, step.event)
		if step.status == status {
			return s
		}
	}
	panic("unknown status " + status)
}

var allStatuses = []string{
	order.StatusPlaced, order.StatusStockReserved, order.StatusPaid, order.StatusConfirmed,
	order.StatusShipped, order.StatusDelivered, order.StatusCancelled,
}

// clone deep-copies a state, keeping nil and empty slices apart.
func clone(s order.State) order.State {
	if s.Lines != nil {
		s.Lines = append(make([]order.Line, 0, len(s.Lines)), s.Lines...)
	}
	return s
}

type decideCase struct {
	name  string
	state order.State
	cmd   order.Command
	want  []order.Event // nil with kind "" means: no events
	kind  apperr.Kind   // "" means success
	msg   string        // substring of the error message
}

func runDecide(t *testing.T, tc decideCase) {
	t.Helper()
	before := clone(tc.state)
	events, err := order.Decide(tc.state, tc.cmd)
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

// unknownCommand is a Command the order does not know.
type unknownCommand struct{ order.Ship }

func TestDecidePlace(t *testing.T) {
	place := order.Place{Owner: owner, CartID: "cart-1", Lines: lines(), TotalCents: 2500, PaymentToken: "tok"}
	tests := []decideCase{
		{name: "place", state: order.New(orderID), cmd: place,
			want: []order.Event{placedEvent()}},
		{name: "place without payment token", state: order.New(orderID),
			cmd:  order.Place{Owner: owner, CartID: "cart-1", Lines: lines()[:1], TotalCents: 1000},
			want: []order.Event{order.Placed{CartID: "cart-1", Owner: owner, Lines: lines()[:1], TotalCents: 1000}}},
		{name: "place: no lines", state: order.New(orderID), cmd: order.Place{Owner: owner, CartID: "cart-1", TotalCents: 0},
			kind: apperr.Rejected, msg: "an order needs at least one line"},
		{name: "place: empty lines", state: order.New(orderID), cmd: order.Place{Owner: owner, CartID: "cart-1", Lines: []order.Line{}},
			kind: apperr.Rejected, msg: "an order needs at least one line"},
		{name: "place: no owner", state: order.New(orderID), cmd: order.Place{CartID: "cart-1", Lines: lines()},
			kind: apperr.Rejected, msg: "an order needs an owner and a cart"},
		{name: "place: no cart", state: order.New(orderID), cmd: order.Place{Owner: owner, Lines: lines()},
			kind: apperr.Rejected, msg: "an order needs an owner and a cart"},
	}
	for _, status := range allStatuses {
		tests = append(tests, decideCase{name: "place: again when " + status, state: at(status), cmd: place,
			kind: apperr.Rejected, msg: "order order-1 is already placed"})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runDecide(t, tc) })
	}
}

func TestPlacedLinesDoNotAliasCommand(t *testing.T) {
	cmd := order.Place{Owner: owner, CartID: "cart-1", Lines: lines()}
	events, err := order.Decide(order.New(orderID), cmd)
	require.NoError(t, err)
	require.Len(t, events, 1)
	cmd.Lines[0].Quantity = 77
	assert.Equal(t, 2, events[0].(order.Placed).Lines[0].Quantity, "the event's lines must be a copy")
}

func TestDecideLadder(t *testing.T) {
	steps := []struct {
		name string
		cmd  order.Command
		from string
		want order.Event
	}{
		{"mark stock reserved", order.MarkStockReserved{}, order.StatusPlaced, order.StockReserved{}},
		{"mark paid", order.MarkPaid{PaymentID: "pay-1"}, order.StatusStockReserved, order.Paid{PaymentID: "pay-1"}},
		{"confirm", order.Confirm{}, order.StatusPaid, order.Confirmed{}},
		{"ship", order.Ship{}, order.StatusConfirmed, order.Shipped{}},
		{"ship with a tracking number", order.Ship{TrackingNumber: "1Z999AA10123456784"}, order.StatusConfirmed, order.Shipped{TrackingNumber: "1Z999AA10123456784"}},
		{"deliver", order.Deliver{}, order.StatusShipped, order.Delivered{}},
	}
	var tests []decideCase
	for _, st := range steps {
		for _, status := range allStatuses {
			tc := decideCase{name: st.name + " when " + status, state: at(status), cmd: st.cmd}
			if status == st.from {
				tc.want = []order.Event{st.want}
			} else {
				tc.kind, tc.msg = apperr.Rejected, fmt.Sprintf("order is %s, not %s", status, st.from)
			}
			tests = append(tests, tc)
		}
		tests = append(tests, decideCase{name: st.name + " when not placed", state: order.New(orderID), cmd: st.cmd,
			kind: apperr.NotFound, msg: "order not found"})
	}
	tests = append(tests,
		decideCase{name: "unknown command", state: at(order.StatusPlaced), cmd: unknownCommand{},
			kind: apperr.Rejected, msg: "unknown order command"},
		decideCase{name: "unknown command when not placed", state: order.New(orderID), cmd: unknownCommand{},
			kind: apperr.NotFound, msg: "order not found"},
	)
	// 6 steps × (7 statuses + not placed) + 2.
	require.Len(t, tests, 50)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runDecide(t, tc) })
	}
}

func TestDecideCustomerCancel(t *testing.T) {
	customer := func() []order.Event { return []order.Event{order.Cancelled{Reason: order.ReasonCustomer}} }
	tests := []decideCase{
		{name: "when placed", state: at(order.StatusPlaced), cmd: order.Cancel{By: owner, Reason: order.ReasonCustomer},
			want: customer()},
		{name: "when stock reserved", state: at(order.StatusStockReserved), cmd: order.Cancel{By: owner, Reason: order.ReasonCustomer},
			want: customer()},
		{name: "when paid", state: at(order.StatusPaid), cmd: order.Cancel{By: owner, Reason: order.ReasonCustomer},
			want: customer()},
		{name: "when confirmed", state: at(order.StatusConfirmed), cmd: order.Cancel{By: owner, Reason: order.ReasonCustomer},
			want: customer()},
		{name: "when shipped", state: at(order.StatusShipped), cmd: order.Cancel{By: owner, Reason: order.ReasonCustomer},
			kind: apperr.Rejected, msg: "order has already shipped"},
		{name: "when delivered", state: at(order.StatusDelivered), cmd: order.Cancel{By: owner, Reason: order.ReasonCustomer},
			kind: apperr.Rejected, msg: "order has already shipped"},
		{name: "when already cancelled", state: at(order.StatusCancelled), cmd: order.Cancel{By: owner, Reason: order.ReasonCustomer},
			kind: apperr.Rejected, msg: "order is already cancelled"},
		{name: "customer reason wins over a given reason", state: at(order.StatusPlaced), cmd: order.Cancel{By: owner, Reason: order.ReasonPaymentDeclined},
			want: customer()},
		{name: "customer with no reason", state: at(order.StatusPlaced), cmd: order.Cancel{By: owner},
			want: customer()},
		{name: "customer with an unknown reason", state: at(order.StatusPlaced), cmd: order.Cancel{By: owner, Reason: "bored"},
			want: customer()},
		{name: "when not placed", state: order.New(orderID), cmd: order.Cancel{By: owner, Reason: order.ReasonCustomer},
			kind: apperr.NotFound, msg: "order not found"},
	}
	for _, status := range allStatuses {
		tests = append(tests, decideCase{name: "another user when " + status, state: at(status),
			cmd: order.Cancel{By: other, Reason: order.ReasonCustomer}, kind: apperr.NotFound, msg: "order not found"})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runDecide(t, tc) })
	}
}

func TestDecideSystemCancel(t *testing.T) {
	reasons := []string{order.ReasonOutOfStock, order.ReasonPaymentDeclined, order.ReasonPaymentTimeout, order.ReasonCheckoutTimeout}
	var tests []decideCase
	for _, reason := range reasons {
		for _, status := range []string{order.StatusPlaced, order.StatusStockReserved, order.StatusPaid} {
			tests = append(tests, decideCase{name: reason + " when " + status, state: at(status), cmd: order.Cancel{Reason: reason},
				want: []order.Event{order.Cancelled{Reason: reason}}})
		}
		tests = append(tests,
			decideCase{name: reason + " when confirmed", state: at(order.StatusConfirmed), cmd: order.Cancel{Reason: reason},
				kind: apperr.Rejected, msg: "a confirmed order is cancelled only by its customer"},
			decideCase{name: reason + " when shipped", state: at(order.StatusShipped), cmd: order.Cancel{Reason: reason},
				kind: apperr.Rejected, msg: "order has already shipped"},
			decideCase{name: reason + " when delivered", state: at(order.StatusDelivered), cmd: order.Cancel{Reason: reason},
				kind: apperr.Rejected, msg: "order has already shipped"},
			decideCase{name: reason + " when already cancelled", state: at(order.StatusCancelled), cmd: order.Cancel{Reason: reason},
				want: nil},
			decideCase{name: reason + " when not placed", state: order.New(orderID), cmd: order.Cancel{Reason: reason},
				kind: apperr.NotFound, msg: "order not found"},
		)
	}
	tests = append(tests,
		decideCase{name: "unknown reason", state: at(order.StatusPlaced), cmd: order.Cancel{Reason: "bored"},
			kind: apperr.Rejected, msg: `unknown cancel reason "bored"`},
		decideCase{name: "the saga cannot claim a customer cancel", state: at(order.StatusPlaced), cmd: order.Cancel{Reason: order.ReasonCustomer},
			kind: apperr.Rejected, msg: `unknown cancel reason "customer"`},
		decideCase{name: "no reason", state: at(order.StatusStockReserved), cmd: order.Cancel{},
			kind: apperr.Rejected, msg: `unknown cancel reason ""`},
		decideCase{name: "reason with different case", state: at(order.StatusPaid), cmd: order.Cancel{Reason: "OUT_OF_STOCK"},
			kind: apperr.Rejected, msg: `unknown cancel reason "OUT_OF_STOCK"`},
		decideCase{name: "second system cancel after a customer cancel", state: fold(order.New(orderID), placedEvent(), order.Cancelled{Reason: order.ReasonCustomer}),
			cmd: order.Cancel{Reason: order.ReasonPaymentTimeout}, want: nil},
	)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runDecide(t, tc) })
	}
}

func TestSecondSystemCancelAfterFold(t *testing.T) {
	s := at(order.StatusStockReserved)
	events, err := order.Decide(s, order.Cancel{Reason: order.ReasonPaymentDeclined})
	require.NoError(t, err)
	require.Equal(t, []order.Event{order.Cancelled{Reason: order.ReasonPaymentDeclined}}, events)
	s = fold(s, events...)

	events, err = order.Decide(s, order.Cancel{Reason: order.ReasonPaymentDeclined})
	require.NoError(t, err)
	assert.Empty(t, events)
	assert.Equal(t, order.ReasonPaymentDeclined, fold(s, events...).CancelReason)
}

func TestEvolve(t *testing.T) {
	placed := order.State{ID: orderID, Exists: true, Owner: owner, CartID: "cart-1", Lines: lines(), TotalCents: 2500, PaymentToken: "tok", Status: order.StatusPlaced}
	with := func(s order.State, f func(*order.State)) order.State {
		s = clone(s)
		f(&s)
		return s
	}
	tests := []struct {
		name  string
		state order.State
		event order.Event
		want  order.State
	}{
		{name: "placed", state: order.New(orderID), event: placedEvent(), want: placed},
		{name: "stock reserved", state: at(order.StatusPlaced), event: order.StockReserved{},
			want: with(placed, func(s *order.State) { s.Status = order.StatusStockReserved })},
		{name: "paid", state: at(order.StatusStockReserved), event: order.Paid{PaymentID: "pay-1"},
			want: with(placed, func(s *order.State) { s.Status, s.Paid = order.StatusPaid, true })},
		{name: "confirmed", state: at(order.StatusPaid), event: order.Confirmed{},
			want: with(placed, func(s *order.State) { s.Status, s.Paid = order.StatusConfirmed, true })},
		{name: "shipped", state: at(order.StatusConfirmed), event: order.Shipped{},
			want: with(placed, func(s *order.State) { s.Status, s.Paid = order.StatusShipped, true })},
		{name: "shipped with a tracking number", state: at(order.StatusConfirmed), event: order.Shipped{TrackingNumber: "TRK-1"},
			want: with(placed, func(s *order.State) { s.Status, s.Paid, s.TrackingNumber = order.StatusShipped, true, "TRK-1" })},
		{name: "delivered", state: at(order.StatusShipped), event: order.Delivered{},
			want: with(placed, func(s *order.State) { s.Status, s.Paid = order.StatusDelivered, true })},
		{name: "cancelled when placed", state: at(order.StatusPlaced), event: order.Cancelled{Reason: order.ReasonOutOfStock},
			want: with(placed, func(s *order.State) { s.Status, s.CancelReason = order.StatusCancelled, order.ReasonOutOfStock })},
		{name: "cancelled when paid keeps paid", state: at(order.StatusPaid), event: order.Cancelled{Reason: order.ReasonCustomer},
			want: with(placed, func(s *order.State) {
				s.Status, s.CancelReason, s.Paid = order.StatusCancelled, order.ReasonCustomer, true
			})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := clone(tc.state)
			got := order.Evolve(tc.state, tc.event)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, before, tc.state, "Evolve must not mutate its state")
		})
	}
}

func TestEvolvePlacedCopiesLines(t *testing.T) {
	e := placedEvent()
	s := order.Evolve(order.New(orderID), e)
	e.Lines[0].Quantity = 77
	assert.Equal(t, 2, s.Lines[0].Quantity, "the state's lines must not alias the event's")
}

func TestEvolveNeverMutatesItsInput(t *testing.T) {
	scripts := map[string][]order.Event{
		"happy path": {placedEvent(), order.StockReserved{}, order.Paid{PaymentID: "pay-1"}, order.Confirmed{}, order.Shipped{}, order.Delivered{}},
		"cancelled":  {placedEvent(), order.StockReserved{}, order.Paid{PaymentID: "pay-1"}, order.Cancelled{Reason: order.ReasonCustomer}},
	}
	for name, events := range scripts {
		t.Run(name, func(t *testing.T) {
			s := order.New(orderID)
			var states, copies []order.State
			for _, e := range events {
				states = append(states, s)
				copies = append(copies, clone(s))
				s = order.Evolve(s, e)
			}
			for i := range states {
				assert.Equal(t, copies[i], states[i], "state before event %d was mutated", i)
			}
		})
	}
}

// run folds Decide+Evolve over commands, failing on any error.
func run(t *testing.T, s order.State, cmds ...order.Command) (order.State, []order.Event) {
	t.Helper()
	return aggtest.Run(t, order.Decide, order.Evolve, s, cmds...)
}

func TestFoldScript(t *testing.T) {
	s, events := run(t, order.New(orderID),
		order.Place{Owner: owner, CartID: "cart-1", Lines: lines(), TotalCents: 2500, PaymentToken: "tok"},
		order.MarkStockReserved{},
		order.MarkPaid{PaymentID: "pay-1"},
		order.Confirm{},
		order.Ship{},
		order.Deliver{},
	)
	assert.Len(t, events, 6)
	assert.Equal(t, order.State{ID: orderID, Exists: true, Owner: owner, CartID: "cart-1", Lines: lines(),
		TotalCents: 2500, PaymentToken: "tok", Status: order.StatusDelivered, Paid: true}, s)

	s, events = run(t, order.New(orderID),
		order.Place{Owner: owner, CartID: "cart-1", Lines: lines(), TotalCents: 2500},
		order.MarkStockReserved{},
		order.Cancel{Reason: order.ReasonPaymentTimeout},
		order.Cancel{Reason: order.ReasonPaymentTimeout}, // redelivered compensation
	)
	assert.Len(t, events, 3)
	assert.Equal(t, order.StatusCancelled, s.Status)
	assert.Equal(t, order.ReasonPaymentTimeout, s.CancelReason)
	assert.False(t, s.Paid)
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name    string
		typ     string
		payload string
		want    order.Command
		kind    apperr.Kind // "" means success
		msg     string
	}{
		{name: "place", typ: order.CmdPlace,
			payload: `{"cartId":"cart-1","owner":"alice","lines":[{"sku":"sku-a","name":"Apple","quantity":2,"unitPriceCents":500}],"totalCents":1000,"paymentToken":"tok"}`,
			want:    order.Place{Owner: owner, CartID: "cart-1", Lines: []order.Line{{SKU: "sku-a", Name: "Apple", Quantity: 2, UnitPriceCents: 500}}, TotalCents: 1000, PaymentToken: "tok"}},
		{name: "customer cancel", typ: order.CmdCancel, payload: `{}`,
			want: order.Cancel{By: owner, Reason: order.ReasonCustomer}},
		{name: "customer cancel ignores a reason", typ: order.CmdCancel, payload: `{"reason":"out_of_stock"}`,
			want: order.Cancel{By: owner, Reason: order.ReasonCustomer}},
		{name: "customer cancel with system false", typ: order.CmdCancel, payload: `{"reason":"payment_declined","system":false}`,
			want: order.Cancel{By: owner, Reason: order.ReasonCustomer}},
		{name: "system cancel", typ: order.CmdCancel, payload: `{"reason":"payment_timeout","system":true}`,
			want: order.Cancel{Reason: order.ReasonPaymentTimeout}},
		{name: "mark stock reserved", typ: order.CmdMarkStockReserved, payload: `{}`, want: order.MarkStockReserved{}},
		{name: "mark paid", typ: order.CmdMarkPaid, payload: `{"paymentId":"pay-1"}`, want: order.MarkPaid{PaymentID: "pay-1"}},
		{name: "confirm", typ: order.CmdConfirm, payload: `{}`, want: order.Confirm{}},
		{name: "ship", typ: order.CmdShip, payload: `{}`, want: order.Ship{}},
		{name: "ship with a tracking number", typ: order.CmdShip, payload: `{"trackingNumber":"TRK-1"}`, want: order.Ship{TrackingNumber: "TRK-1"}},
		{name: "deliver", typ: order.CmdDeliver, payload: `{}`, want: order.Deliver{}},

		{name: "place: unknown field", typ: order.CmdPlace, payload: `{"cartId":"c","owner":"o","lines":[],"status":"paid"}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "place: unknown line field", typ: order.CmdPlace, payload: `{"cartId":"c","owner":"o","lines":[{"sku":"a","discount":1}]}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "cancel: unknown field", typ: order.CmdCancel, payload: `{"by":"bob"}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "mark stock reserved: unknown field", typ: order.CmdMarkStockReserved, payload: `{"skus":[]}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "mark paid: unknown field", typ: order.CmdMarkPaid, payload: `{"paymentId":"p","amount":1}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "confirm: unknown field", typ: order.CmdConfirm, payload: `{"x":1}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "ship: unknown field", typ: order.CmdShip, payload: `{"carrier":"ups"}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "deliver: unknown field", typ: order.CmdDeliver, payload: `{"at":"now"}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "cancel: wrong type", typ: order.CmdCancel, payload: `{"system":"yes"}`, kind: apperr.Rejected, msg: "malformed command payload"},

		{name: "unknown type", typ: "RefundOrder", payload: `{}`, kind: apperr.Internal, msg: "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := order.ParseCommand(tc.typ, []byte(tc.payload), owner)
			if tc.kind != "" {
				require.Error(t, err)
				assert.Equal(t, tc.kind, apperr.KindOf(err))
				assert.Contains(t, apperr.MessageOf(err), tc.msg)
				if tc.kind == apperr.Internal {
					assert.Nil(t, got)
					assert.Contains(t, err.Error(), fmt.Sprintf("unknown command type %q", tc.typ))
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestDecodeEventRoundTrip(t *testing.T) {
	events := []order.Event{
		placedEvent(),
		order.Placed{CartID: "cart-2", Owner: owner, Lines: lines()[:1], TotalCents: 1000},
		order.StockReserved{},
		order.Paid{PaymentID: "pay-1"},
		order.Confirmed{},
		order.Shipped{},
		order.Shipped{TrackingNumber: "TRK-1"},
		order.Delivered{},
		order.Cancelled{Reason: order.ReasonOutOfStock},
		order.Cancelled{Reason: order.ReasonCustomer},
	}
	seen := map[string]bool{}
	for _, e := range events {
		t.Run(fmt.Sprintf("%s/%v", e.EventType(), e), func(t *testing.T) {
			data, err := json.Marshal(e)
			require.NoError(t, err)
			got, err := order.DecodeEvent(e.EventType(), data)
			require.NoError(t, err)
			assert.Equal(t, e, got)
			want := 1
			if e.EventType() == "OrderShipped" {
				want = 2 // gained trackingNumber; v1 is upcast on read
			}
			assert.Equal(t, want, order.SchemaVersion(e.EventType()))
		})
		seen[e.EventType()] = true
	}
	assert.Equal(t, map[string]bool{
		"OrderPlaced": true, "OrderStockReserved": true, "OrderPaid": true, "OrderConfirmed": true,
		"OrderShipped": true, "OrderDelivered": true, "OrderCancelled": true,
	}, seen)
}

func TestDecodeEventErrors(t *testing.T) {
	tests := []struct {
		name string
		typ  string
		data string
		want order.Event // nil means an error is expected
	}{
		{name: "unknown type", typ: "OrderRefunded", data: `{}`},
		{name: "command type", typ: order.CmdShip, data: `{}`},
		{name: "bad data", typ: "OrderPlaced", data: `{"lines":"none"}`},
		{name: "unknown fields are ignored", typ: "OrderShipped", data: `{"carrier":"ups"}`, want: order.Shipped{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := order.DecodeEvent(tc.typ, []byte(tc.data))
			if tc.want == nil {
				require.Error(t, err)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
