package aggregate

import (
	"context"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventcatalog"
	"github.com/prism-es/prism/shared/logging"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/tracing"
)

// Events returns the queue.Handler of the event queue of subscriber (the
// consumer of events-<subscriber>): each event goes to the process managers
// registered to hear through it, and the command each makes of it is
// applied in-process (no extra queue hop). The command id is derived from
// the event id, so a redelivered event is a duplicate. It panics when no
// process manager hears through subscriber: that is wiring, not input.
func (h *Handler) Events(subscriber string) queue.Handler {
	pms := h.reg.Listeners(subscriber)
	if len(pms) == 0 {
		panic(fmt.Sprintf("aggregate: no process manager hears through %q", subscriber))
	}
	return func(ctx context.Context, m *queue.Message) error {
		e, err := eventcatalog.DecodeEvent(m.Body)
		if err != nil {
			return queue.Permanent(fmt.Errorf("undecodable event: %w", err))
		}
		for _, pm := range pms {
			cmd, ok, err := pm.Hear(e)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			if err := h.hear(ctx, subscriber, e.Type, cmd, e.EventID, e.Metadata.Traceparent, e.Metadata.CorrelationID); err != nil {
				return err
			}
		}
		return nil
	}
}

// hear applies the command a process manager made of an event, in the
// event's trace.
func (h *Handler) hear(ctx context.Context, subscriber, eventType string, cmd envelope.Command, eventID, traceparent, correlationID string) error {
	ctx, span := tracing.StartFrom(ctx, traceparent, subscriber+" "+eventType, trace.SpanKindConsumer, attribute.String("prism.event_id", eventID))
	defer span.End()
	cmd.Metadata.Traceparent = tracing.Traceparent(ctx)
	ctx = logging.With(ctx, slog.String("eventId", eventID), slog.String("eventType", eventType),
		slog.String("correlationId", correlationID), slog.String("traceId", tracing.TraceID(ctx)))
	return h.Execute(ctx, cmd)
}
