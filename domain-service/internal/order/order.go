// Package order is the order aggregate: pure Decide and Evolve, no I/O.
// An order moves placed → stockReserved → paid → confirmed → shipped →
// delivered, or ends cancelled with a reason.
package order

import "github.com/prism-es/prism/shared/apperr"

// AggregateType names orders in streams ("order-<id>") and envelopes.
const AggregateType = "order"

// Statuses of an order (API.md).
const (
	StatusPlaced        = "placed"
	StatusStockReserved = "stockReserved"
	StatusPaid          = "paid"
	StatusConfirmed     = "confirmed"
	StatusShipped       = "shipped"
	StatusDelivered     = "delivered"
	StatusCancelled     = "cancelled"
)

// Cancel reasons (API.md).
const (
	ReasonCustomer        = "customer"
	ReasonOutOfStock      = "out_of_stock"
	ReasonPaymentDeclined = "payment_declined"
	ReasonPaymentTimeout  = "payment_timeout"
	// ReasonCheckoutTimeout: a checkout step other than the payment got no
	// answer before its deadline.
	ReasonCheckoutTimeout = "checkout_timeout"
)

// Line is one product of the order, as it was in the cart.
type Line struct {
	SKU            string `json:"sku"`
	Name           string `json:"name"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

// State is an order folded from its events.
type State struct {
	ID           string `json:"id"`
	Exists       bool   `json:"exists"`
	Owner        string `json:"owner"`
	CartID       string `json:"cartId"`
	Lines        []Line `json:"lines"`
	TotalCents   int64  `json:"totalCents"`
	PaymentToken string `json:"paymentToken,omitempty"`
	Status       string `json:"status"`
	CancelReason string `json:"cancelReason,omitempty"`
	Paid         bool   `json:"paid,omitempty"`
	// TrackingNumber is the carrier's, once shipped (may be empty).
	TrackingNumber string `json:"trackingNumber,omitempty"`
}

// StateVersion is the schema version of State in snapshots.
const StateVersion = 1

// New is the state of an order not placed yet.
func New(id string) State { return State{ID: id} }

// Command is a request to change an order.
type Command interface{ isCommand() }

// Place creates the order from a checked-out cart.
type Place struct {
	Owner        string
	CartID       string
	Lines        []Line
	TotalCents   int64
	PaymentToken string
}

// Cancel ends the order. By is the customer (Reason customer) or empty for
// the checkout saga (with its reason).
type Cancel struct {
	By     string
	Reason string
}

// MarkStockReserved records that every line's stock is reserved.
type MarkStockReserved struct{}

// MarkPaid records the payment.
type MarkPaid struct{ PaymentID string }

// Confirm completes checkout.
type Confirm struct{}

// Ship records that the order left the warehouse (admin), with the
// carrier's tracking number when there is one.
type Ship struct{ TrackingNumber string }

// Deliver records that the order arrived (admin).
type Deliver struct{}

func (Place) isCommand()             {}
func (Cancel) isCommand()            {}
func (MarkStockReserved) isCommand() {}
func (MarkPaid) isCommand()          {}
func (Confirm) isCommand()           {}
func (Ship) isCommand()              {}
func (Deliver) isCommand()           {}

// Event is a fact about an order.
type Event interface{ EventType() string }

// Placed says the order was created.
type Placed struct {
	CartID       string `json:"cartId"`
	Owner        string `json:"owner"`
	Lines        []Line `json:"lines"`
	TotalCents   int64  `json:"totalCents"`
	PaymentToken string `json:"paymentToken,omitempty"`
}

// StockReserved says all lines are reserved.
type StockReserved struct{}

// Paid says the payment was taken.
type Paid struct {
	PaymentID string `json:"paymentId"`
}

// Confirmed says checkout completed.
type Confirmed struct{}

// Shipped says the order shipped (schema v2: with the tracking number).
type Shipped struct {
	TrackingNumber string `json:"trackingNumber,omitempty"`
}

// Delivered says the order arrived.
type Delivered struct{}

// Cancelled says the order ended with Reason.
type Cancelled struct {
	Reason string `json:"reason"`
}

// EventType implements Event.
func (Placed) EventType() string { return "OrderPlaced" }

// EventType implements Event.
func (StockReserved) EventType() string { return "OrderStockReserved" }

// EventType implements Event.
func (Paid) EventType() string { return "OrderPaid" }

// EventType implements Event.
func (Confirmed) EventType() string { return "OrderConfirmed" }

// EventType implements Event.
func (Shipped) EventType() string { return "OrderShipped" }

// EventType implements Event.
func (Delivered) EventType() string { return "OrderDelivered" }

// EventType implements Event.
func (Cancelled) EventType() string { return "OrderCancelled" }

func reject(format string, args ...any) error { return apperr.New(apperr.Rejected, format, args...) }

// Decide applies the order's rules to c.
func Decide(s State, c Command) ([]Event, error) {
	if p, ok := c.(Place); ok {
		switch {
		case s.Exists:
			return nil, reject("order %s is already placed", s.ID)
		case len(p.Lines) == 0:
			return nil, reject("an order needs at least one line")
		case p.Owner == "" || p.CartID == "":
			return nil, reject("an order needs an owner and a cart")
		}
		return []Event{Placed{CartID: p.CartID, Owner: p.Owner, Lines: append([]Line(nil), p.Lines...), TotalCents: p.TotalCents, PaymentToken: p.PaymentToken}}, nil
	}
	if !s.Exists {
		return nil, apperr.New(apperr.NotFound, "order not found")
	}
	switch c := c.(type) {
	case Cancel:
		return decideCancel(s, c)
	case MarkStockReserved:
		return step(s, StatusPlaced, StockReserved{})
	case MarkPaid:
		return step(s, StatusStockReserved, Paid{PaymentID: c.PaymentID})
	case Confirm:
		return step(s, StatusPaid, Confirmed{})
	case Ship:
		return step(s, StatusConfirmed, Shipped{TrackingNumber: c.TrackingNumber})
	case Deliver:
		return step(s, StatusShipped, Delivered{})
	}
	return nil, reject("unknown order command %T", c)
}

// step moves the order forward from status from, once.
func step(s State, from string, e Event) ([]Event, error) {
	if s.Status != from {
		return nil, reject("order is %s, not %s", s.Status, from)
	}
	return []Event{e}, nil
}

func decideCancel(s State, c Cancel) ([]Event, error) {
	customer := c.By != ""
	if customer && c.By != s.Owner {
		return nil, apperr.New(apperr.NotFound, "order not found")
	}
	reason := c.Reason
	if customer {
		reason = ReasonCustomer
	}
	switch s.Status {
	case StatusCancelled:
		if customer {
			return nil, reject("order is already cancelled")
		}
		return nil, nil // the saga's compensation may arrive twice
	case StatusShipped, StatusDelivered:
		return nil, reject("order has already shipped")
	case StatusConfirmed:
		if !customer {
			return nil, reject("a confirmed order is cancelled only by its customer")
		}
	}
	switch {
	case customer:
	case reason == ReasonOutOfStock, reason == ReasonPaymentDeclined, reason == ReasonPaymentTimeout, reason == ReasonCheckoutTimeout:
	default:
		return nil, reject("unknown cancel reason %q", reason)
	}
	return []Event{Cancelled{Reason: reason}}, nil
}

// Evolve returns the state after e. It never mutates s.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case Placed:
		s.Exists, s.Owner, s.CartID, s.TotalCents, s.PaymentToken, s.Status = true, e.Owner, e.CartID, e.TotalCents, e.PaymentToken, StatusPlaced
		s.Lines = append([]Line(nil), e.Lines...)
	case StockReserved:
		s.Status = StatusStockReserved
	case Paid:
		s.Status, s.Paid = StatusPaid, true
	case Confirmed:
		s.Status = StatusConfirmed
	case Shipped:
		s.Status, s.TrackingNumber = StatusShipped, e.TrackingNumber
	case Delivered:
		s.Status = StatusDelivered
	case Cancelled:
		s.Status, s.CancelReason = StatusCancelled, e.Reason
	}
	return s
}
