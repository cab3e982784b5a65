package checkout

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/prism-es/prism/domain-service/internal/order"
	"github.com/prism-es/prism/domain-service/internal/payment"
	"github.com/prism-es/prism/domain-service/internal/product"
	"github.com/prism-es/prism/shared/aggregate"
	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/process"
	"github.com/prism-es/prism/shared/queue"
)

// Subscriber names the saga's event subscriber: it hears on events-saga.
const Subscriber = "saga"

// Process is the checkout saga for the kit's process manager: it waits
// paymentDeadline for the payment and stepDeadline for any other step.
func Process(paymentDeadline, stepDeadline time.Duration) process.Definition[State, Command, Event] {
	return process.Definition[State, Command, Event]{
		Subscriber: Subscriber,
		Hear:       hear,
		Aggregate: aggregate.Definition[State, Command, Event]{
			Type:         AggregateType,
			StateVersion: StateVersion,
			Commands: []string{CmdStart, CmdNoteReserved, CmdNoteReservationFailed, CmdNoteOrderStockReserved,
				CmdNoteCharged, CmdNoteDeclined, CmdExpirePayment, CmdExpire, CmdNoteOrderPaid,
				CmdNoteOrderConfirmed, CmdNoteOrderCancelled, CmdNoteOrderShipped, CmdNoteRefunded},
			New:           New,
			Exists:        func(s State) bool { return s.Started },
			Parse:         func(c envelope.Command) (Command, error) { return ParseCommand(c.Type, c.Payload) },
			Prepare:       facts,
			Decide:        Decide,
			Evolve:        Evolve,
			DecodeEvent:   DecodeEvent,
			SchemaVersion: SchemaVersion,
			React:         nextSteps(paymentDeadline, stepDeadline),
		},
	}
}

// facts fills a deadline that expires in the phase it watches with what the
// order, the payment and the products say now, read fresh from the store (a
// cached state could be the very lag the deadline must not mistake for a
// missing step). A deadline of a finished step needs no facts. A fact that
// cannot be read for good (a broken stream) counts as not happened, so a
// broken aggregate cannot keep the checkout from compensating; an outage is
// returned, and the deadline tried again.
func facts(ctx context.Context, s State, c Command, lookup aggregate.Lookup) (Command, error) {
	exp, ok := c.(Expire)
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
	f := &Facts{}
	st, err := read(order.AggregateType, s.OrderID)
	if err != nil {
		return nil, err
	}
	if o, ok := aggregate.As[order.State](st); ok {
		f.OrderStatus, f.CancelReason = o.Status, o.CancelReason
	}
	if st, err = read(payment.AggregateType, s.OrderID); err != nil {
		return nil, err
	}
	if p, ok := aggregate.As[payment.State](st); ok {
		f.Charged, f.Declined, f.PaymentID, f.DeclineReason = p.Charged, p.Declined, p.PaymentID, p.DeclineReason
	}
	for _, l := range s.Lines {
		if st, err = read(product.AggregateType, l.SKU); err != nil {
			return nil, err
		}
		if p, ok := aggregate.As[product.State](st); ok && p.Reserved[s.OrderID] > 0 {
			f.Reserved = append(f.Reserved, l.SKU)
		}
	}
	exp.Facts = f
	return exp, nil
}

// nextSteps turns each checkout event into the commands of the saga's next
// step. Every id is derived from (orderId, step[, sku]), so a step repeated
// after a crash or a redelivery is recognised as a duplicate and never
// reserves, charges or releases twice.
func nextSteps(paymentDeadline, stepDeadline time.Duration) func(envelope.Event, Event) ([]aggregate.Reaction, error) {
	return func(e envelope.Event, ev Event) ([]aggregate.Reaction, error) {
		orderID := e.AggregateID
		s := process.StepsOf(e)
		release := func(skus []string) {
			for _, sku := range skus {
				s.Send(product.AggregateType, sku, product.CmdRelease, map[string]string{"orderId": orderID}, "release", sku)
			}
		}
		refund := func() { s.Send(payment.AggregateType, orderID, payment.CmdRefund, struct{}{}, "refund") }
		// A deadline is a delayed message, not a timer: it survives restarts.
		deadline := func(phase string) {
			s.After(stepDeadline, AggregateType, orderID, CmdExpire, NotePayload{Phase: phase}, "deadline", phase)
		}
		switch ev := ev.(type) {
		case Started:
			for _, l := range ev.Lines {
				s.Send(product.AggregateType, l.SKU, product.CmdReserve, map[string]any{"orderId": orderID, "quantity": l.Quantity}, "reserve", l.SKU)
			}
			deadline(PhaseReserving)
		case DeadlineSet:
			deadline(ev.Phase)
		case CancelRequested:
			s.Send(order.AggregateType, orderID, order.CmdCancel, order.CancelPayload{Reason: ev.Reason, System: true}, "cancel", ev.Reason)
		case ReservationCompleted:
			s.Send(order.AggregateType, orderID, order.CmdMarkStockReserved, struct{}{}, "mark-stock-reserved")
		case PaymentRequested:
			s.Send(payment.AggregateType, orderID, payment.CmdCharge, payment.ChargePayload{AmountCents: ev.AmountCents, Token: ev.Token}, "charge")
			s.After(paymentDeadline, AggregateType, orderID, CmdExpirePayment, struct{}{}, "payment-deadline")
		case PaymentSucceeded:
			s.Send(order.AggregateType, orderID, order.CmdMarkPaid, map[string]string{"paymentId": ev.PaymentID}, "mark-paid")
		case ConfirmRequested:
			s.Send(order.AggregateType, orderID, order.CmdConfirm, struct{}{}, "confirm")
		case Failed:
			s.Send(order.AggregateType, orderID, order.CmdCancel, order.CancelPayload{Reason: ev.Reason, System: true}, "cancel")
			release(ev.Release)
			if ev.Refund {
				refund()
			}
		case Cancelled:
			release(ev.Release)
			if ev.Refund {
				refund()
			}
		case ReleaseRequested:
			release([]string{ev.SKU})
		case LatePaymentReceived:
			refund()
		case StockCommitRequested:
			for _, sku := range ev.SKUs {
				s.Send(product.AggregateType, sku, product.CmdCommit, map[string]string{"orderId": orderID}, "commit", sku)
			}
		}
		return s.Done()
	}
}

// hear maps an event to the checkout command it means, if any: the saga
// hears the order's, the products' and the payment's facts.
func hear(e envelope.Event) (process.Heard, bool, error) {
	var d struct {
		OrderID      string `json:"orderId"`
		Owner        string `json:"owner"`
		Lines        []Line `json:"lines"`
		TotalCents   int64  `json:"totalCents"`
		PaymentToken string `json:"paymentToken"`
		PaymentID    string `json:"paymentId"`
		Reason       string `json:"reason"`
	}
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return process.Heard{}, false, queue.Permanent(err)
	}
	h := process.Heard{ID: e.AggregateID, Payload: NotePayload{}} // events of the order and payment streams
	switch e.AggregateType + "/" + e.Type {
	case "order/OrderPlaced":
		h.Type, h.Payload = CmdStart, StartPayload{Owner: d.Owner, Lines: d.Lines, TotalCents: d.TotalCents, PaymentToken: d.PaymentToken}
	case "product/StockReserved":
		h.Type, h.ID, h.Payload = CmdNoteReserved, d.OrderID, NotePayload{SKU: e.AggregateID}
	case "product/StockReservationFailed":
		h.Type, h.ID, h.Payload = CmdNoteReservationFailed, d.OrderID, NotePayload{SKU: e.AggregateID}
	case "order/OrderStockReserved":
		h.Type = CmdNoteOrderStockReserved
	case "payment/PaymentCharged":
		h.Type, h.Payload = CmdNoteCharged, NotePayload{PaymentID: d.PaymentID}
	case "payment/PaymentDeclined":
		h.Type, h.Payload = CmdNoteDeclined, NotePayload{Reason: d.Reason}
	case "payment/PaymentRefunded":
		h.Type = CmdNoteRefunded
	case "order/OrderPaid":
		h.Type = CmdNoteOrderPaid
	case "order/OrderConfirmed":
		h.Type = CmdNoteOrderConfirmed
	case "order/OrderCancelled":
		h.Type, h.Payload = CmdNoteOrderCancelled, NotePayload{Reason: d.Reason}
	case "order/OrderShipped":
		h.Type = CmdNoteOrderShipped
	default:
		return process.Heard{}, false, nil
	}
	return h, true, nil
}
