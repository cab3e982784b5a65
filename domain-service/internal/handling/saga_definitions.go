package handling

import (
	"context"
	"log/slog"
	"time"

	"github.com/prism-es/prism/domain-service/internal/checkout"
	"github.com/prism-es/prism/domain-service/internal/order"
	"github.com/prism-es/prism/domain-service/internal/payment"
	"github.com/prism-es/prism/domain-service/internal/paymentprovider"
	"github.com/prism-es/prism/domain-service/internal/product"
	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
)

func paymentDefinition(provider paymentprovider.Provider) aggregate {
	return Definition[payment.State, payment.Command, payment.Event]{
		Type:          payment.AggregateType,
		StateVersion:  payment.StateVersion,
		New:           payment.New,
		Exists:        func(s payment.State) bool { return s.Settled() },
		Parse:         func(c envelope.Command) (payment.Command, error) { return payment.ParseCommand(c.Type, c.Payload) },
		Prepare:       askProvider(provider),
		Decide:        payment.Decide,
		Evolve:        payment.Evolve,
		DecodeEvent:   payment.DecodeEvent,
		SchemaVersion: payment.SchemaVersion,
	}
}

// askProvider calls the payment provider, keyed by the order id, unless the
// payment's stream already holds the outcome.
func askProvider(provider paymentprovider.Provider) func(context.Context, payment.State, payment.Command, Lookup) (payment.Command, error) {
	return func(ctx context.Context, s payment.State, c payment.Command, _ Lookup) (payment.Command, error) {
		if provider == nil {
			return nil, apperr.New(apperr.Internal, "no payment provider configured")
		}
		switch c := c.(type) {
		case payment.Charge:
			if s.Settled() {
				return c, nil
			}
			res, err := provider.Charge(ctx, s.OrderID, c.AmountCents, c.Token)
			if err != nil {
				return nil, err
			}
			c.Outcome = &payment.Outcome{Approved: res.Approved, PaymentID: res.PaymentID, Reason: res.Reason}
			return c, nil
		case payment.Refund:
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

func checkoutDefinition(paymentDeadline, stepDeadline time.Duration) aggregate {
	return Definition[checkout.State, checkout.Command, checkout.Event]{
		Type:          checkout.AggregateType,
		StateVersion:  checkout.StateVersion,
		New:           checkout.New,
		Exists:        func(s checkout.State) bool { return s.Started },
		Parse:         func(c envelope.Command) (checkout.Command, error) { return checkout.ParseCommand(c.Type, c.Payload) },
		Prepare:       checkoutFacts,
		Decide:        checkout.Decide,
		Evolve:        checkout.Evolve,
		DecodeEvent:   checkout.DecodeEvent,
		SchemaVersion: checkout.SchemaVersion,
		React:         nextSagaSteps(paymentDeadline, stepDeadline),
	}
}

// checkoutFacts fills a deadline that expires in the phase it watches with
// what the order, the payment and the products say now, read fresh from the
// store (a cached state could be the very lag the deadline must not mistake
// for a missing step). A deadline of a finished step needs no facts. A fact
// that cannot be read for good (a broken stream) counts as not happened, so a
// broken aggregate cannot keep the checkout from compensating; an outage is
// returned, and the deadline tried again.
func checkoutFacts(ctx context.Context, s checkout.State, c checkout.Command, lookup Lookup) (checkout.Command, error) {
	exp, ok := c.(checkout.Expire)
	if !ok || s.Phase != exp.Phase {
		return c, nil
	}
	read := func(aggregateType, id string) (any, error) {
		st, err := lookup(ctx, aggregateType, id, true)
		if err != nil && !apperr.Is(err, apperr.Unavailable) {
			slog.WarnContext(ctx, "a fact of the checkout cannot be read; taken as not happened", "stream", envelope.StreamID(aggregateType, id), "err", err)
			return nil, nil
		}
		return st, err
	}
	f := &checkout.Facts{}
	st, err := read(order.AggregateType, s.OrderID)
	if err != nil {
		return nil, err
	}
	if o, ok := st.(order.State); ok {
		f.OrderStatus, f.CancelReason = o.Status, o.CancelReason
	}
	if st, err = read(payment.AggregateType, s.OrderID); err != nil {
		return nil, err
	}
	if p, ok := st.(payment.State); ok {
		f.Charged, f.Declined, f.PaymentID, f.DeclineReason = p.Charged, p.Declined, p.PaymentID, p.DeclineReason
	}
	for _, l := range s.Lines {
		if st, err = read(product.AggregateType, l.SKU); err != nil {
			return nil, err
		}
		if p, ok := st.(product.State); ok && p.Reserved[s.OrderID] > 0 {
			f.Reserved = append(f.Reserved, l.SKU)
		}
	}
	exp.Facts = f
	return exp, nil
}

// nextSagaSteps turns each checkout event into the commands of the saga's
// next step. Every id is derived from (orderId, step[, sku]), so a step
// repeated after a crash or a redelivery is recognised as a duplicate and
// never reserves, charges or releases twice.
func nextSagaSteps(paymentDeadline, stepDeadline time.Duration) func(envelope.Event, checkout.Event) ([]Reaction, error) {
	return func(e envelope.Event, ev checkout.Event) ([]Reaction, error) {
		orderID := e.AggregateID
		var out []Reaction
		add := func(delay time.Duration, aggType, aggID, typ string, payload any, step ...string) error {
			c, err := followUp(e, aggType, aggID, typ, payload, append([]string{orderID}, step...)...)
			out = append(out, Reaction{Command: c, Delay: delay})
			return err
		}
		release := func(skus []string) error {
			for _, sku := range skus {
				if err := add(0, product.AggregateType, sku, product.CmdRelease, map[string]string{"orderId": orderID}, "release", sku); err != nil {
					return err
				}
			}
			return nil
		}
		// A deadline is a delayed message, not a timer: it survives restarts.
		deadline := func(phase string) error {
			return add(stepDeadline, checkout.AggregateType, orderID, checkout.CmdExpire, checkout.NotePayload{Phase: phase}, "deadline", phase)
		}
		var err error
		switch ev := ev.(type) {
		case checkout.Started:
			for _, l := range ev.Lines {
				if err = add(0, product.AggregateType, l.SKU, product.CmdReserve, map[string]any{"orderId": orderID, "quantity": l.Quantity}, "reserve", l.SKU); err != nil {
					break
				}
			}
			if err == nil {
				err = deadline(checkout.PhaseReserving)
			}
		case checkout.DeadlineSet:
			err = deadline(ev.Phase)
		case checkout.CancelRequested:
			err = add(0, order.AggregateType, orderID, order.CmdCancel, order.CancelPayload{Reason: ev.Reason, System: true}, "cancel", ev.Reason)
		case checkout.ReservationCompleted:
			err = add(0, order.AggregateType, orderID, order.CmdMarkStockReserved, struct{}{}, "mark-stock-reserved")
		case checkout.PaymentRequested:
			if err = add(0, payment.AggregateType, orderID, payment.CmdCharge, payment.ChargePayload{AmountCents: ev.AmountCents, Token: ev.Token}, "charge"); err == nil {
				err = add(paymentDeadline, checkout.AggregateType, orderID, checkout.CmdExpirePayment, struct{}{}, "payment-deadline")
			}
		case checkout.PaymentSucceeded:
			err = add(0, order.AggregateType, orderID, order.CmdMarkPaid, map[string]string{"paymentId": ev.PaymentID}, "mark-paid")
		case checkout.ConfirmRequested:
			err = add(0, order.AggregateType, orderID, order.CmdConfirm, struct{}{}, "confirm")
		case checkout.Failed:
			if err = add(0, order.AggregateType, orderID, order.CmdCancel, order.CancelPayload{Reason: ev.Reason, System: true}, "cancel"); err == nil {
				err = release(ev.Release)
			}
			if err == nil && ev.Refund {
				err = add(0, payment.AggregateType, orderID, payment.CmdRefund, struct{}{}, "refund")
			}
		case checkout.Cancelled:
			if err = release(ev.Release); err == nil && ev.Refund {
				err = add(0, payment.AggregateType, orderID, payment.CmdRefund, struct{}{}, "refund")
			}
		case checkout.ReleaseRequested:
			err = release([]string{ev.SKU})
		case checkout.LatePaymentReceived:
			err = add(0, payment.AggregateType, orderID, payment.CmdRefund, struct{}{}, "refund")
		case checkout.StockCommitRequested:
			for _, sku := range ev.SKUs {
				if err = add(0, product.AggregateType, sku, product.CmdCommit, map[string]string{"orderId": orderID}, "commit", sku); err != nil {
					break
				}
			}
		}
		return out, err
	}
}
