package handling

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/prism-es/prism/domain-service/internal/checkout"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventcatalog"
	"github.com/prism-es/prism/shared/logging"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/tracing"
)

// HandleSagaEvent is the queue.Handler of events-saga: it turns each event
// the checkout saga cares about into a command to the order's checkout
// stream and applies it in-process (no extra queue hop). The command id is
// derived from the event id, so a redelivered event is a duplicate.
func (h *Handler) HandleSagaEvent(ctx context.Context, m *queue.Message) error {
	e, err := eventcatalog.DecodeEvent(m.Body)
	if err != nil {
		return queue.Permanent(fmt.Errorf("undecodable event: %w", err))
	}
	cmd, ok, err := sagaCommandFor(e)
	if err != nil || !ok {
		return err
	}
	ctx, span := tracing.StartFrom(ctx, e.Metadata.Traceparent, "saga "+e.Type, trace.SpanKindConsumer, attribute.String("prism.event_id", e.EventID))
	defer span.End()
	cmd.Metadata.Traceparent = tracing.Traceparent(ctx)
	ctx = logging.With(ctx, slog.String("eventId", e.EventID), slog.String("eventType", e.Type),
		slog.String("correlationId", e.Metadata.CorrelationID), slog.String("traceId", tracing.TraceID(ctx)))
	return h.Execute(ctx, cmd)
}

// sagaCommandFor maps an event to the checkout command it means, if any.
func sagaCommandFor(e envelope.Event) (envelope.Command, bool, error) {
	var d struct {
		OrderID      string          `json:"orderId"`
		Owner        string          `json:"owner"`
		Lines        []checkout.Line `json:"lines"`
		TotalCents   int64           `json:"totalCents"`
		PaymentToken string          `json:"paymentToken"`
		PaymentID    string          `json:"paymentId"`
		Reason       string          `json:"reason"`
	}
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return envelope.Command{}, false, queue.Permanent(err)
	}
	orderID := e.AggregateID // events of the order and payment streams
	var typ string
	var payload any = checkout.NotePayload{}
	switch e.AggregateType + "/" + e.Type {
	case "order/OrderPlaced":
		typ, payload = checkout.CmdStart, checkout.StartPayload{Owner: d.Owner, Lines: d.Lines, TotalCents: d.TotalCents, PaymentToken: d.PaymentToken}
	case "product/StockReserved":
		typ, orderID, payload = checkout.CmdNoteReserved, d.OrderID, checkout.NotePayload{SKU: e.AggregateID}
	case "product/StockReservationFailed":
		typ, orderID, payload = checkout.CmdNoteReservationFailed, d.OrderID, checkout.NotePayload{SKU: e.AggregateID}
	case "order/OrderStockReserved":
		typ = checkout.CmdNoteOrderStockReserved
	case "payment/PaymentCharged":
		typ, payload = checkout.CmdNoteCharged, checkout.NotePayload{PaymentID: d.PaymentID}
	case "payment/PaymentDeclined":
		typ, payload = checkout.CmdNoteDeclined, checkout.NotePayload{Reason: d.Reason}
	case "payment/PaymentRefunded":
		typ = checkout.CmdNoteRefunded
	case "order/OrderPaid":
		typ = checkout.CmdNoteOrderPaid
	case "order/OrderConfirmed":
		typ = checkout.CmdNoteOrderConfirmed
	case "order/OrderCancelled":
		typ, payload = checkout.CmdNoteOrderCancelled, checkout.NotePayload{Reason: d.Reason}
	case "order/OrderShipped":
		typ = checkout.CmdNoteOrderShipped
	default:
		return envelope.Command{}, false, nil
	}
	if !envelope.ValidID(orderID) {
		return envelope.Command{}, false, queue.Permanent(fmt.Errorf("%s %s names no valid order id", e.Type, e.EventID))
	}
	c, err := followUp(e, checkout.AggregateType, orderID, typ, payload, e.EventID, "saga")
	return c, err == nil, err
}
