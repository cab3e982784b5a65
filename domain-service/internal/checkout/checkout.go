// Package checkout is the checkout saga's process manager, as a pure
// aggregate (stream "checkout-<orderId>"): it records what the saga has
// seen (reservations, payment, the order's steps) and decides the next step
// as events; the handler turns those events into the next commands.
//
//	placed → reserve every line ─all reserved→ order stockReserved → charge ─paid→ order paid → confirm
//	           └─ one out of stock → cancel order (out_of_stock), release what was reserved
//	                                       └─ declined / deadline → cancel order, release all (refund a late charge)
//
// A customer's cancel before shipping releases the stock and refunds a charge.
//
// Every state that waits has a deadline (a delayed message, see Expire). When
// it expires the saga first asks the aggregates that own the facts (order,
// payment, products) what happened meanwhile, because its own events may
// only be late; only if the awaited step really did not happen does it
// compensate and cancel with a reason. The saga reaches the same end for
// every order in which it hears its inputs.
package checkout

import (
	"maps"
	"slices"

	"github.com/prism-es/prism/shared/apperr"
)

// AggregateType names checkouts in streams ("checkout-<orderId>").
const AggregateType = "checkout"

// Phases of a checkout.
const (
	PhaseReserving       = "reserving"
	PhaseAwaitingReserve = "awaitingOrderStockReserved"
	PhaseCharging        = "charging"
	PhaseAwaitingPaid    = "awaitingOrderPaid"
	PhaseConfirming      = "confirming"
	// PhaseCancelling: the confirmation timed out; the saga asked the order
	// to cancel and waits for its answer before it compensates, because the
	// confirmation may still win.
	PhaseCancelling = "cancelling"
	PhaseConfirmed  = "confirmed"
	PhaseShipped    = "shipped"
	PhaseFailed     = "failed"
	PhaseCancelled  = "cancelled"
)

// Reasons a checkout fails (the order's cancel reasons, API.md).
const (
	ReasonOutOfStock      = "out_of_stock"
	ReasonPaymentDeclined = "payment_declined"
	ReasonPaymentTimeout  = "payment_timeout"
	ReasonCustomer        = "customer"
	// ReasonCheckoutTimeout: a step other than the payment got no answer
	// before its deadline.
	ReasonCheckoutTimeout = "checkout_timeout"
)

// Line is one product and quantity to reserve.
type Line struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// State is a checkout folded from its events. Evolve never mutates a State
// it is given.
type State struct {
	OrderID      string `json:"orderId"`
	Started      bool   `json:"started"`
	Owner        string `json:"owner"`
	Lines        []Line `json:"lines"`
	TotalCents   int64  `json:"totalCents"`
	PaymentToken string `json:"paymentToken"`
	Phase        string `json:"phase"`
	Reason       string `json:"reason,omitempty"`
	// Reserved maps each sku whose reservation was heard to whether the
	// checkout still holds it (false: released again), so a reservation
	// heard twice is recognised even after its release.
	Reserved  map[string]bool `json:"reserved,omitempty"`
	Charged   bool            `json:"charged"`
	PaymentID string          `json:"paymentId,omitempty"`
	Refunded  bool            `json:"refunded"`
	// Deadlines are the phases a deadline was set for.
	Deadlines []string `json:"deadlines,omitempty"`
}

// StateVersion is the schema version of State in snapshots.
const StateVersion = 1

// New is the state of a checkout not started.
func New(orderID string) State { return State{OrderID: orderID} }

func (s State) over() bool { return s.Phase == PhaseFailed || s.Phase == PhaseCancelled }

// Waiting reports whether the checkout waits for a step of its own, so
// needs a deadline. A confirmed order waits for shipping, which is a
// person's decision, not the saga's.
func (s State) Waiting() bool {
	switch s.Phase {
	case PhaseReserving, PhaseAwaitingReserve, PhaseCharging, PhaseAwaitingPaid, PhaseConfirming, PhaseCancelling:
		return true
	}
	return false
}

// Held lists the skus whose reservation the checkout still holds, in line order.
func (s State) Held() []string {
	var out []string
	for _, l := range s.Lines {
		if s.Reserved[l.SKU] {
			out = append(out, l.SKU)
		}
	}
	return out
}

// Commands: what the saga learns (from the events it consumes) and its deadline.

// Command is something the checkout learns.
type Command interface{ isCommand() }

// Start begins the checkout of a placed order.
type Start struct {
	Owner        string
	Lines        []Line
	TotalCents   int64
	PaymentToken string
}

// NoteReserved says a line's stock was reserved.
type NoteReserved struct{ SKU string }

// NoteReservationFailed says a line was out of stock.
type NoteReservationFailed struct{ SKU string }

// NoteOrderStockReserved says the order recorded its reservation.
type NoteOrderStockReserved struct{}

// NoteCharged says the payment was taken.
type NoteCharged struct{ PaymentID string }

// NoteDeclined says the payment was refused.
type NoteDeclined struct{ Reason string }

// Expire is a deadline of the checkout while it is in Phase. If the
// checkout moved on meanwhile it only makes sure the new phase has a
// deadline. Otherwise Facts, what the order, the payment and the products
// say now (filled in before Decide), are heard first: the saga's own events
// may only be late. If the awaited step still did not happen, the checkout
// compensates and cancels.
type Expire struct {
	Phase string
	Facts *Facts
}

// Facts are what the aggregates the checkout drives say about its order.
type Facts struct {
	// OrderStatus and CancelReason are the order's.
	OrderStatus  string
	CancelReason string
	// Charged, Declined, PaymentID and DeclineReason are the payment's.
	Charged       bool
	Declined      bool
	PaymentID     string
	DeclineReason string
	// Reserved lists the skus whose product holds a reservation for the order.
	Reserved []string
}

// NoteOrderPaid says the order recorded its payment.
type NoteOrderPaid struct{}

// NoteOrderConfirmed says the order is confirmed.
type NoteOrderConfirmed struct{}

// NoteOrderCancelled says the order was cancelled, with its reason.
type NoteOrderCancelled struct{ Reason string }

// NoteOrderShipped says the order shipped.
type NoteOrderShipped struct{}

// NoteRefunded says the payment was refunded.
type NoteRefunded struct{}

func (Start) isCommand()                  {}
func (NoteReserved) isCommand()           {}
func (NoteReservationFailed) isCommand()  {}
func (NoteOrderStockReserved) isCommand() {}
func (NoteCharged) isCommand()            {}
func (NoteDeclined) isCommand()           {}
func (Expire) isCommand()                 {}
func (NoteOrderPaid) isCommand()          {}
func (NoteOrderConfirmed) isCommand()     {}
func (NoteOrderCancelled) isCommand()     {}
func (NoteOrderShipped) isCommand()       {}
func (NoteRefunded) isCommand()           {}

// Events: each names the step the saga takes next.

// Event is a fact of the checkout.
type Event interface{ EventType() string }

// Started: reserve every line.
type Started struct {
	Owner        string `json:"owner"`
	Lines        []Line `json:"lines"`
	TotalCents   int64  `json:"totalCents"`
	PaymentToken string `json:"paymentToken"`
}

// LineReserved records one reservation.
type LineReserved struct {
	SKU string `json:"sku"`
}

// ReservationCompleted: every line is reserved; mark the order.
type ReservationCompleted struct{}

// PaymentRequested: charge the payment, with a deadline.
type PaymentRequested struct {
	AmountCents int64  `json:"amountCents"`
	Token       string `json:"token"`
}

// PaymentSucceeded: mark the order paid.
type PaymentSucceeded struct {
	PaymentID string `json:"paymentId"`
}

// ConfirmRequested: confirm the order.
type ConfirmRequested struct{}

// Confirmed: the checkout completed.
type Confirmed struct{}

// Failed: cancel the order with Reason, release the reserved lines and,
// when Refund is set, refund the charge.
type Failed struct {
	Reason  string   `json:"reason"`
	Release []string `json:"release"`
	Refund  bool     `json:"refund,omitempty"`
}

// Cancelled: the customer cancelled; release the reserved lines and refund
// a charge.
type Cancelled struct {
	Release []string `json:"release"`
	Refund  bool     `json:"refund"`
}

// ReleaseRequested: a reservation arrived after the checkout ended; give it back.
type ReleaseRequested struct {
	SKU string `json:"sku"`
}

// LatePaymentReceived: a charge arrived after the checkout ended; refund it.
type LatePaymentReceived struct {
	PaymentID string `json:"paymentId"`
}

// StockCommitRequested: the order shipped; make its reservations final.
type StockCommitRequested struct {
	SKUs []string `json:"skus"`
}

// RefundCompleted records the refund.
type RefundCompleted struct{}

// DeadlineSet: the checkout waits in Phase; send its deadline.
type DeadlineSet struct {
	Phase string `json:"phase"`
}

// CancelRequested: the confirmation timed out; ask the order to cancel
// (compensation follows only if it does).
type CancelRequested struct {
	Reason string `json:"reason"`
}

// EventType implements Event.
func (Started) EventType() string { return "CheckoutStarted" }

// EventType implements Event.
func (LineReserved) EventType() string { return "CheckoutLineReserved" }

// EventType implements Event.
func (ReservationCompleted) EventType() string { return "CheckoutReservationCompleted" }

// EventType implements Event.
func (PaymentRequested) EventType() string { return "CheckoutPaymentRequested" }

// EventType implements Event.
func (PaymentSucceeded) EventType() string { return "CheckoutPaymentSucceeded" }

// EventType implements Event.
func (ConfirmRequested) EventType() string { return "CheckoutConfirmRequested" }

// EventType implements Event.
func (Confirmed) EventType() string { return "CheckoutConfirmed" }

// EventType implements Event.
func (Failed) EventType() string { return "CheckoutFailed" }

// EventType implements Event.
func (Cancelled) EventType() string { return "CheckoutCancelled" }

// EventType implements Event.
func (ReleaseRequested) EventType() string { return "CheckoutReleaseRequested" }

// EventType implements Event.
func (LatePaymentReceived) EventType() string { return "CheckoutLatePaymentReceived" }

// EventType implements Event.
func (StockCommitRequested) EventType() string { return "CheckoutStockCommitRequested" }

// EventType implements Event.
func (RefundCompleted) EventType() string { return "CheckoutRefundCompleted" }

// EventType implements Event.
func (DeadlineSet) EventType() string { return "CheckoutDeadlineSet" }

// EventType implements Event.
func (CancelRequested) EventType() string { return "CheckoutCancelRequested" }

// Decide decides the saga's next step. Anything the saga hears at the wrong
// moment (twice, late, after the end) yields no events: it never rejects,
// because every command is a fact that already happened elsewhere.
func Decide(s State, c Command) ([]Event, error) {
	if st, ok := c.(Start); ok {
		if s.Started || s.over() {
			return nil, nil
		}
		if len(st.Lines) == 0 {
			return nil, apperr.New(apperr.Rejected, "a checkout needs at least one line")
		}
		return []Event{Started{Owner: st.Owner, Lines: slices.Clone(st.Lines), TotalCents: st.TotalCents, PaymentToken: st.PaymentToken}}, nil
	}
	if cancel, ok := c.(NoteOrderCancelled); ok {
		return decideCancelled(s, cancel)
	}
	if !s.Started {
		return nil, nil // nothing to do for a checkout that never started
	}
	switch c := c.(type) {
	case NoteReserved:
		if _, heard := s.Reserved[c.SKU]; heard || !hasLine(s, c.SKU) {
			return nil, nil
		}
		if s.over() {
			return []Event{LineReserved{SKU: c.SKU}, ReleaseRequested{SKU: c.SKU}}, nil
		}
		events := []Event{LineReserved{SKU: c.SKU}}
		if len(s.Held())+1 == len(s.Lines) {
			events = append(events, ReservationCompleted{})
		}
		return events, nil
	case NoteReservationFailed:
		if s.over() || s.Phase != PhaseReserving {
			return nil, nil
		}
		return []Event{Failed{Reason: ReasonOutOfStock, Release: s.Held()}}, nil
	case NoteOrderStockReserved:
		if s.Phase != PhaseAwaitingReserve {
			return nil, nil
		}
		return []Event{PaymentRequested{AmountCents: s.TotalCents, Token: s.PaymentToken}}, nil
	case NoteCharged:
		switch {
		case s.Charged:
			return nil, nil
		case s.over():
			return []Event{LatePaymentReceived{PaymentID: c.PaymentID}}, nil
		case s.Phase != PhaseCharging:
			return nil, nil
		}
		return []Event{PaymentSucceeded{PaymentID: c.PaymentID}}, nil
	case NoteDeclined:
		if s.Phase != PhaseCharging {
			return nil, nil
		}
		return []Event{Failed{Reason: ReasonPaymentDeclined, Release: s.Held()}}, nil
	case NoteOrderPaid:
		if s.Phase != PhaseAwaitingPaid {
			return nil, nil
		}
		return []Event{ConfirmRequested{}}, nil
	case NoteOrderConfirmed:
		if s.Phase != PhaseConfirming && s.Phase != PhaseCancelling {
			return nil, nil // in cancelling, the confirmation won: the cancel will be refused
		}
		return []Event{Confirmed{}}, nil
	case NoteOrderShipped:
		switch s.Phase {
		case PhaseConfirmed:
			return []Event{StockCommitRequested{SKUs: s.skus()}}, nil
		case PhaseConfirming, PhaseCancelling:
			// Shipped before the saga heard the confirmation: shipping
			// proves it, so the confirmation is taken as heard.
			return []Event{Confirmed{}, StockCommitRequested{SKUs: s.skus()}}, nil
		}
		return nil, nil
	case Expire:
		return decideExpire(s, c)
	case NoteRefunded:
		if s.Refunded || !s.Charged {
			return nil, nil
		}
		return []Event{RefundCompleted{}}, nil
	}
	return nil, apperr.New(apperr.Rejected, "unknown checkout command %T", c)
}

func decideCancelled(s State, c NoteOrderCancelled) ([]Event, error) {
	switch {
	case s.over() || s.Phase == PhaseShipped:
		return nil, nil // nothing left to undo
	case c.Reason == ReasonCustomer:
		return []Event{Cancelled{Release: s.Held(), Refund: s.Charged && !s.Refunded}}, nil
	case s.Phase == PhaseCancelling && c.Reason == ReasonCheckoutTimeout:
		// The order accepted the saga's cancel: now compensate.
		return []Event{Failed{Reason: c.Reason, Release: s.Held(), Refund: s.Charged && !s.Refunded}}, nil
	}
	return nil, nil // the saga's own cancel coming back
}

// decideExpire decides a deadline (see Expire).
func decideExpire(s State, c Expire) ([]Event, error) {
	if s.Phase != c.Phase {
		// The step finished in time. The checkout's current phase needs a
		// deadline of its own if it waits and has none yet.
		if s.Waiting() && !slices.Contains(s.Deadlines, s.Phase) {
			return []Event{DeadlineSet{Phase: s.Phase}}, nil
		}
		return nil, nil
	}
	// Hear what the facts say, as if their notes had arrived.
	var events []Event
	next := s
	for _, n := range c.Facts.notes() {
		heard, err := Decide(next, n)
		if err != nil {
			return nil, err
		}
		for _, e := range heard {
			next = Evolve(next, e)
		}
		events = append(events, heard...)
	}
	switch {
	case next.Phase != c.Phase:
		// The step had happened; only its news was late.
		if next.Waiting() && !slices.Contains(next.Deadlines, next.Phase) {
			events = append(events, DeadlineSet{Phase: next.Phase})
		}
		return events, nil
	case c.Phase == PhaseCharging:
		return append(events, Failed{Reason: ReasonPaymentTimeout, Release: next.Held()}), nil
	case c.Phase == PhaseConfirming:
		// Cancelling directly would race the confirmation already sent:
		// ask the order, and compensate only when it cancels.
		return append(events, CancelRequested{Reason: ReasonCheckoutTimeout}), nil
	case c.Phase == PhaseCancelling:
		return events, nil // the order has not answered the cancel either: nothing safe to do
	}
	return append(events, Failed{Reason: ReasonCheckoutTimeout, Release: next.Held(), Refund: next.Charged && !next.Refunded}), nil
}

// notes are the facts as the notes the saga would have heard, in the order
// the steps happen.
func (f *Facts) notes() []Command {
	if f == nil {
		return nil
	}
	var out []Command
	for _, sku := range f.Reserved {
		out = append(out, NoteReserved{SKU: sku})
	}
	reached := func(statuses ...string) bool { return slices.Contains(statuses, f.OrderStatus) }
	if reached("stockReserved", "paid", "confirmed", "shipped", "delivered") {
		out = append(out, NoteOrderStockReserved{})
	}
	if f.Charged {
		out = append(out, NoteCharged{PaymentID: f.PaymentID})
	}
	if f.Declined {
		out = append(out, NoteDeclined{Reason: f.DeclineReason})
	}
	if reached("paid", "confirmed", "shipped", "delivered") {
		out = append(out, NoteOrderPaid{})
	}
	if reached("confirmed", "shipped", "delivered") {
		out = append(out, NoteOrderConfirmed{})
	}
	if reached("shipped", "delivered") {
		out = append(out, NoteOrderShipped{})
	}
	if reached("cancelled") {
		out = append(out, NoteOrderCancelled{Reason: f.CancelReason})
	}
	return out
}

func (s State) skus() []string {
	out := make([]string, len(s.Lines))
	for i, l := range s.Lines {
		out[i] = l.SKU
	}
	return out
}

func hasLine(s State, sku string) bool {
	for _, l := range s.Lines {
		if l.SKU == sku {
			return true
		}
	}
	return false
}

// Evolve returns the state after e. It never mutates s.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case Started:
		s.Started, s.Owner, s.Lines, s.TotalCents, s.PaymentToken = true, e.Owner, slices.Clone(e.Lines), e.TotalCents, e.PaymentToken
		s.Phase = PhaseReserving
		s.Deadlines = []string{PhaseReserving} // Started sends the first deadline
	case LineReserved:
		s.Reserved = maps.Clone(s.Reserved)
		if s.Reserved == nil {
			s.Reserved = map[string]bool{}
		}
		s.Reserved[e.SKU] = true
	case ReservationCompleted:
		s.Phase = PhaseAwaitingReserve
	case PaymentRequested:
		s.Phase = PhaseCharging
		s.Deadlines = append(slices.Clip(s.Deadlines), PhaseCharging) // the payment deadline
	case PaymentSucceeded:
		s.Charged, s.PaymentID, s.Phase = true, e.PaymentID, PhaseAwaitingPaid
	case ConfirmRequested:
		s.Phase = PhaseConfirming
	case Confirmed:
		s.Phase = PhaseConfirmed
	case Failed:
		s.Phase, s.Reason = PhaseFailed, e.Reason
		s.Reserved = released(s.Reserved, e.Release)
	case Cancelled:
		s.Phase, s.Reason = PhaseCancelled, ReasonCustomer
		s.Reserved = released(s.Reserved, e.Release)
	case ReleaseRequested:
		s.Reserved = released(s.Reserved, []string{e.SKU})
	case LatePaymentReceived:
		s.Charged, s.PaymentID = true, e.PaymentID
	case StockCommitRequested:
		s.Phase = PhaseShipped
	case RefundCompleted:
		s.Refunded = true
	case DeadlineSet:
		s.Deadlines = append(slices.Clip(s.Deadlines), e.Phase)
	case CancelRequested:
		s.Phase = PhaseCancelling
	}
	return s
}

// released returns a copy of m with keys no longer held, but still known as
// once reserved (keys never reserved stay absent).
func released(m map[string]bool, keys []string) map[string]bool {
	out := maps.Clone(m)
	for _, k := range keys {
		if _, ok := out[k]; ok {
			out[k] = false
		}
	}
	return out
}
