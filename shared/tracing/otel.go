package tracing

import (
	"context"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// tracerName names Prism's instrumentation.
const tracerName = "github.com/prism-es/prism"

// propagator is W3C trace context, the format of the envelopes' traceparent.
var propagator = propagation.TraceContext{}

// Setup installs the process's tracer provider. Spans always get real ids
// (they travel in envelopes and logs); they are exported over OTLP/HTTP only
// when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is
// set (the exporter reads the standard OTEL_* variables). The returned
// function flushes and stops it.
func Setup(ctx context.Context, service string) (shutdown func(context.Context) error, err error) {
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service))),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, err
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	Use(tp)
	return tp.Shutdown, nil
}

// Use installs tp as the process's tracer provider (tests pass one with an
// in-memory exporter).
func Use(tp trace.TracerProvider) {
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagator)
}

func tracer() trace.Tracer { return otel.Tracer(tracerName) }

// Start starts a span as a child of the span in ctx.
func Start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return tracer().Start(ctx, name, trace.WithAttributes(attrs...))
}

// StartFrom starts a span whose parent is the remote span named by
// traceparent (from an envelope), or a new trace when it is empty or
// malformed. Queue consumers use it: the trace of a command continues across
// the queue.
func StartFrom(ctx context.Context, traceparent, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if Valid(traceparent) {
		ctx = propagator.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
	}
	return tracer().Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}

// Traceparent is the W3C traceparent of the span in ctx, for envelopes; a
// fresh trace's when ctx holds none.
func Traceparent(ctx context.Context) string {
	carrier := propagation.MapCarrier{}
	propagator.Inject(ctx, carrier)
	if tp := carrier["traceparent"]; tp != "" {
		return tp
	}
	return New()
}

// TraceID is the trace id of the span in ctx ("" if none), for logs.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}
