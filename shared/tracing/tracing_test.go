package tracing_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/tracing"
)

func TestTraceparentHelpers(t *testing.T) {
	assert.True(t, tracing.Valid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
	assert.False(t, tracing.Valid("00-00000000000000000000000000000000-00f067aa0ba902b7-01"))
	assert.False(t, tracing.Valid("garbage"))
	assert.True(t, tracing.Valid(tracing.New()))
}

// TestOneTraceAcrossTheHops follows a command the way the services carry
// it: an HTTP request (server span) → the command envelope's traceparent →
// the handler's span → the event envelope's traceparent → the projection's
// span → the notice's traceparent → the SSE delivery span. With the SDK's
// in-memory exporter it checks one trace id and the parent of every span.
func TestOneTraceAcrossTheHops(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tracing.Use(tp)
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	// prism-api: the command's envelope takes the request span's context.
	var commandTP string
	api := httpapi.Instrument(func(*http.Request) string { return "/api/carts" })(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tracing.Start(r.Context(), "enqueue CreateCart")
		commandTP = tracing.Traceparent(ctx)
		span.End()
	}))
	req := httptest.NewRequest(http.MethodPost, "/api/carts", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") // the browser's
	api.ServeHTTP(httptest.NewRecorder(), req)

	// domain-service, readmodel-updater, stream-service: each continues the
	// traceparent it found in the envelope (or notice) it consumed.
	hop := func(parentTP, name string) string {
		ctx, span := tracing.StartFrom(context.Background(), parentTP, name, trace.SpanKindConsumer)
		defer span.End()
		return tracing.Traceparent(ctx)
	}
	eventTP := hop(commandTP, "handle CreateCart")
	noticeTP := hop(eventTP, "project CartCreated")
	hop(noticeTP, "sse.deliver cart.updated")

	spans := exp.GetSpans()
	require.Len(t, spans, 5)
	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = s
		assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", s.SpanContext.TraceID().String(), "%s is in the browser's trace", s.Name)
	}
	chain := []string{"POST /api/carts", "enqueue CreateCart", "handle CreateCart", "project CartCreated", "sse.deliver cart.updated"}
	assert.Equal(t, "00f067aa0ba902b7", byName[chain[0]].Parent.SpanID().String(), "the server span continues the caller's")
	for i := 1; i < len(chain); i++ {
		assert.Equal(t, byName[chain[i-1]].SpanContext.SpanID(), byName[chain[i]].Parent.SpanID(), "%s is the child of %s", chain[i], chain[i-1])
	}
	assert.Equal(t, trace.SpanKindServer, byName[chain[0]].SpanKind)
}

func TestStartFromWithoutAParentStartsATrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tracing.Use(tp)
	ctx, span := tracing.StartFrom(context.Background(), "not-a-traceparent", "orphan", trace.SpanKindConsumer)
	span.End()
	assert.True(t, tracing.Valid(tracing.Traceparent(ctx)))
	assert.NotEmpty(t, tracing.TraceID(ctx))
	require.Len(t, exp.GetSpans(), 1)
	assert.False(t, exp.GetSpans()[0].Parent.IsValid())
}
