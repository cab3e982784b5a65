// Package payment is the payment aggregate (one per order): pure Decide and
// Evolve. The call to the payment provider happens before Decide (the
// handler fills in its outcome), and the provider is idempotent by the
// order id, so a redelivered ChargePayment never charges twice.
package payment

import "github.com/prism-es/prism/shared/apperr"

// AggregateType names payments in streams ("payment-<orderId>").
const AggregateType = "payment"

// State is a payment folded from its events.
type State struct {
	OrderID  string `json:"orderId"`
	Charged  bool   `json:"charged"`
	Declined bool   `json:"declined"`
	// DeclineReason is what the provider said when it declined.
	DeclineReason string `json:"declineReason,omitempty"`
	Refunded      bool   `json:"refunded"`
	PaymentID     string `json:"paymentId,omitempty"`
	AmountCents   int64  `json:"amountCents"`
}

// StateVersion is the schema version of State in snapshots.
const StateVersion = 1

// New is the state of a payment not attempted yet.
func New(orderID string) State { return State{OrderID: orderID} }

// Settled reports whether the charge has an outcome.
func (s State) Settled() bool { return s.Charged || s.Declined }

// Outcome is what the provider answered.
type Outcome struct {
	Approved  bool
	PaymentID string
	Reason    string
}

// Command is a request to the payment.
type Command interface{ isCommand() }

// Charge takes AmountCents with Token. Outcome is the provider's answer,
// filled in by the handler (nil if the payment was already settled).
type Charge struct {
	AmountCents int64
	Token       string
	Outcome     *Outcome
}

// Refund gives a charged payment back. Done is set by the handler once the
// provider refunded.
type Refund struct{ Done bool }

func (Charge) isCommand() {}
func (Refund) isCommand() {}

// Event is a fact about a payment.
type Event interface{ EventType() string }

// Charged says the money was taken.
type Charged struct {
	PaymentID   string `json:"paymentId"`
	AmountCents int64  `json:"amountCents"`
}

// Declined says the provider refused.
type Declined struct {
	Reason string `json:"reason"`
}

// Refunded says the money was given back.
type Refunded struct {
	PaymentID   string `json:"paymentId"`
	AmountCents int64  `json:"amountCents"`
}

// EventType implements Event.
func (Charged) EventType() string { return "PaymentCharged" }

// EventType implements Event.
func (Declined) EventType() string { return "PaymentDeclined" }

// EventType implements Event.
func (Refunded) EventType() string { return "PaymentRefunded" }

// Decide applies the payment's rules.
func Decide(s State, c Command) ([]Event, error) {
	switch c := c.(type) {
	case Charge:
		if s.Settled() {
			return nil, nil // charged or declined before: the provider is not asked again
		}
		if c.AmountCents < 0 {
			return nil, apperr.New(apperr.Rejected, "a charge cannot be negative")
		}
		if c.Outcome == nil {
			return nil, apperr.New(apperr.Internal, "charge of %s has no provider outcome", s.OrderID)
		}
		if !c.Outcome.Approved {
			return []Event{Declined{Reason: c.Outcome.Reason}}, nil
		}
		return []Event{Charged{PaymentID: c.Outcome.PaymentID, AmountCents: c.AmountCents}}, nil
	case Refund:
		if !s.Charged || s.Refunded {
			return nil, nil
		}
		if !c.Done {
			return nil, apperr.New(apperr.Internal, "refund of %s was not confirmed by the provider", s.OrderID)
		}
		return []Event{Refunded{PaymentID: s.PaymentID, AmountCents: s.AmountCents}}, nil
	}
	return nil, apperr.New(apperr.Rejected, "unknown payment command %T", c)
}

// Evolve returns the state after e.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case Charged:
		s.Charged, s.PaymentID, s.AmountCents = true, e.PaymentID, e.AmountCents
	case Declined:
		s.Declined, s.DeclineReason = true, e.Reason
	case Refunded:
		s.Refunded = true
	}
	return s
}
