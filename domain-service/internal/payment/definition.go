package payment

import (
	"context"

	"github.com/prism-es/prism/domain-service/internal/paymentprovider"
	"github.com/prism-es/prism/shared/aggregate"
	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
)

// Definition is the payment of an order for the kit's aggregate handler,
// charging and refunding through provider.
func Definition(provider paymentprovider.Provider) aggregate.Definition[State, Command, Event] {
	return aggregate.Definition[State, Command, Event]{
		Type:          AggregateType,
		StateVersion:  StateVersion,
		Commands:      []string{CmdCharge, CmdRefund},
		New:           New,
		Exists:        func(s State) bool { return s.Settled() },
		Parse:         func(c envelope.Command) (Command, error) { return ParseCommand(c.Type, c.Payload) },
		Prepare:       askProvider(provider),
		Decide:        Decide,
		Evolve:        Evolve,
		DecodeEvent:   DecodeEvent,
		SchemaVersion: SchemaVersion,
	}
}

// askProvider calls the payment provider, keyed by the order id, unless the
// payment's stream already holds the outcome.
func askProvider(provider paymentprovider.Provider) func(context.Context, State, Command, aggregate.Lookup) (Command, error) {
	return func(ctx context.Context, s State, c Command, _ aggregate.Lookup) (Command, error) {
		if provider == nil {
			return nil, apperr.New(apperr.Internal, "no payment provider configured")
		}
		switch c := c.(type) {
		case Charge:
			if s.Settled() {
				return c, nil
			}
			res, err := provider.Charge(ctx, s.OrderID, c.AmountCents, c.Token)
			if err != nil {
				return nil, err
			}
			c.Outcome = &Outcome{Approved: res.Approved, PaymentID: res.PaymentID, Reason: res.Reason}
			return c, nil
		case Refund:
			if !s.Charged || s.Refunded {
				return c, nil
			}
			if err := provider.Refund(ctx, s.OrderID, s.PaymentID); err != nil {
				return nil, err
			}
			c.Done = true
			return c, nil
		}
		return c, nil
	}
}
