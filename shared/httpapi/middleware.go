package httpapi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/logging"
	"github.com/prism-es/prism/shared/tracing"
)

// CorrelationHeader carries the correlation id in and out.
const CorrelationHeader = "X-Correlation-Id"

type correlationKey struct{}

// CorrelationID returns the request's correlation id.
func CorrelationID(r *http.Request) string {
	id, _ := r.Context().Value(correlationKey{}).(string)
	return id
}

// Correlated reports whether the request brought a (well-formed)
// correlation id of its own.
func Correlated(r *http.Request) bool { return envelope.ValidID(r.Header.Get(CorrelationHeader)) }

// WithCorrelationID gives a request that brought no correlation id of its
// own the id a handler names it by (a command's id) instead of the one
// Correlate made up: on the response header, in the context and in its log
// attributes. A correlation id the client sent is kept.
func WithCorrelationID(w http.ResponseWriter, r *http.Request, id string) *http.Request {
	if Correlated(r) || !envelope.ValidID(id) {
		return r
	}
	w.Header().Set(CorrelationHeader, id)
	ctx := logging.With(r.Context(), slog.String("correlationId", id))
	return r.WithContext(context.WithValue(ctx, correlationKey{}, id))
}

// Correlate takes X-Correlation-Id from the request (when well-formed) or
// makes one, sets it on the response and in the context's log attributes.
func Correlate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(CorrelationHeader)
		if !envelope.ValidID(id) {
			id = uuid.NewString()
		}
		w.Header().Set(CorrelationHeader, id)
		ctx := logging.With(r.Context(), slog.String("correlationId", id))
		ctx = context.WithValue(ctx, correlationKey{}, id)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Recover turns a panic into a logged 500 problem instead of a dropped
// connection.
func Recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				slog.ErrorContext(r.Context(), "panic in handler", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				WriteError(w, r, apperr.New(apperr.Internal, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// Stack is the outer middleware of a service's handler h, in the one order
// that counts everything: correlation ids, then metrics, traces and access
// logs (route names the route), then panic recovery inside them, so a panic
// is counted and logged as the 500 it answers.
func Stack(route func(*http.Request) string, h http.Handler) http.Handler {
	return Correlate(Instrument(route)(Recover(h)))
}

var (
	requestsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_http_requests_total",
		Help: "HTTP requests answered, by route template, method and status code.",
	}, []string{"route", "method", "code"})
	requestSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "prism_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request (to the first byte for streams).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"route", "method"})
)

// knownMethods are the methods metrics and span names carry as they are;
// anything else is MethodOther.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// MethodOther is the method label of every request whose method is not a
// standard one: Go accepts any token as a method, and a label per invented
// method would be a new series for ever.
const MethodOther = "OTHER"

// MethodLabel is the bounded label of a request method.
func MethodLabel(method string) string {
	if knownMethods[method] {
		return method
	}
	return MethodOther
}

// RouteUnmatched is the route label of a request no route matched.
const RouteUnmatched = "unmatched"

// Instrument traces each request (a server span continuing the caller's
// traceparent), records metrics and writes an access log line. route
// returns the matched route template (never the raw path); with the method
// bounded by MethodLabel, every label comes from a fixed set, so no request
// can make a new series.
func Instrument(route func(*http.Request) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			method := MethodLabel(r.Method)
			ctx, span := tracing.StartFrom(r.Context(), r.Header.Get("traceparent"), method, trace.SpanKindServer)
			defer span.End()
			ctx = logging.With(ctx, slog.String("traceId", tracing.TraceID(ctx)))
			r = r.WithContext(ctx)
			rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
			next.ServeHTTP(rec, r)
			name := route(r)
			if name == "" {
				name = RouteUnmatched
			}
			span.SetName(method + " " + name)
			span.SetAttributes(attribute.String("http.route", name), attribute.Int("http.response.status_code", rec.status))
			if rec.status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(rec.status))
			}
			elapsed := time.Since(start)
			requestsTotal.WithLabelValues(name, method, strconv.Itoa(rec.status)).Inc()
			requestSeconds.WithLabelValues(name, method).Observe(min(elapsed, rec.firstByte(start)).Seconds())
			level := slog.LevelDebug
			if rec.status >= 500 {
				level = slog.LevelWarn
			}
			slog.Log(r.Context(), level, "http request", "method", method, "route", name, "status", rec.status, "durationMs", float64(elapsed.Microseconds())/1000)
		})
	}
}

// PatternRoute names the route matched by a net/http ServeMux: its
// pattern, which is one of the patterns the service registered (a request
// that matched none reaches the catch-all "/" or gets "").
func PatternRoute(r *http.Request) string { return r.Pattern }

// statusRecorder remembers the status code and when the first byte went out.
// It passes Flush and Hijack through, so SSE keeps working behind it.
type statusRecorder struct {
	http.ResponseWriter
	status  int
	wrote   bool
	firstAt time.Time
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote, s.firstAt = code, true, time.Now()
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if !s.wrote {
		s.wrote, s.firstAt = true, time.Now()
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) firstByte(start time.Time) time.Duration {
	if s.firstAt.IsZero() {
		return time.Since(start)
	}
	return s.firstAt.Sub(start)
}

// Flush implements http.Flusher.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack implements http.Hijacker.
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := s.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijack not supported")
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
