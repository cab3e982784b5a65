package e2e_test

import (
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/prism-es/prism/e2e/stack"
)

// span is what the receiver keeps of an exported span.
type span struct {
	Service, Name, TraceID, SpanID, ParentID string
}

// otlpReceiver is a minimal OTLP/HTTP trace receiver.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var req coltrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		service := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				o.spans = append(o.spans, span{Service: service, Name: s.Name, TraceID: hex.EncodeToString(s.TraceId),
					SpanID: hex.EncodeToString(s.SpanId), ParentID: hex.EncodeToString(s.ParentSpanId)})
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(nil)
}

func (o *otlpReceiver) trace(id string) []span {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []span
	for _, s := range o.spans {
		if s.TraceID == id {
			out = append(out, s)
		}
	}
	return out
}

// TestOneCommandIsOneTraceAcrossTheServices exports every service's spans
// to a real OTLP/HTTP endpoint and follows one AddItem: HTTP request →
// enqueue → handle → append → project → SSE delivery, in one trace, with
// the trace id in the logs of all four services.
func TestOneCommandIsOneTraceAcrossTheServices(t *testing.T) {
	recv := &otlpReceiver{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: recv}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	s := startStack(t, stack.Options{Replicas: 1, Env: map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + l.Addr().String(),
		"OTEL_BSP_SCHEDULE_DELAY":     "100",
		"PRISM_LOG_LEVEL":             "debug",
	}})
	ctx := ctxFor(t, 2*time.Minute)
	c := s.Client()
	admin, _ := c.Token(ctx, "boss", true)
	alice, _ := c.Token(ctx, "alice", false)
	product := sku("TRACE")
	_, _, err = c.Run(ctx, http.MethodPost, "/api/products", admin, map[string]any{"sku": product, "name": "x", "priceCents": 1, "stock": 1})
	require.NoError(t, err)
	created, _, err := c.Run(ctx, http.MethodPost, "/api/carts", alice, map[string]any{})
	require.NoError(t, err)
	cart := created.AggregateID
	events, err := s.Subscribe(ctx, "/streams/carts/"+cart, alice, "")
	require.NoError(t, err)

	traceID := "0af7651916cd43dd8448eb211c80319c"
	res, err := c.Do(ctx, http.MethodPost, "/api/carts/"+cart+"/items", alice, map[string]any{"sku": product, "quantity": 1},
		"Idempotency-Key", "trace-1", "traceparent", "00-"+traceID+"-b7ad6b7169203331-01")
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, res.Status)
	select {
	case <-events:
	case <-time.After(20 * time.Second):
		t.Fatal("no cart.updated")
	}

	want := map[string]string{ // span name → service
		"POST /api/carts/{cartId}/items": "prism-api",
		"enqueue AddItem":                "prism-api",
		"handle AddItem":                 "domain-service",
		"eventstore.append":              "domain-service",
		"project ItemAdded":              "readmodel-updater",
		"sse.deliver cart.updated":       "stream-service",
	}
	var spans []span
	require.Eventually(t, func() bool {
		spans = recv.trace(traceID)
		seen := map[string]bool{}
		for _, sp := range spans {
			if want[sp.Name] == sp.Service {
				seen[sp.Name] = true
			}
		}
		return len(seen) == len(want)
	}, 30*time.Second, 100*time.Millisecond, "spans of the trace never all arrived: %v", &spans)

	byName := map[string]span{}
	for _, sp := range spans {
		byName[sp.Name] = sp
	}
	parentOf := func(child, parent string) {
		assert.Equal(t, byName[parent].SpanID, byName[child].ParentID, "%s (%s) is the child of %s (%s)", child, byName[child].Service, parent, byName[parent].Service)
	}
	assert.Equal(t, "b7ad6b7169203331", byName["POST /api/carts/{cartId}/items"].ParentID, "the API continues the client's trace")
	parentOf("enqueue AddItem", "POST /api/carts/{cartId}/items")
	parentOf("handle AddItem", "enqueue AddItem")
	parentOf("eventstore.append", "handle AddItem")
	parentOf("project ItemAdded", "handle AddItem")
	parentOf("sse.deliver cart.updated", "project ItemAdded")

	for _, name := range []string{"prism-api", "domain-1", "readmodel-updater", "stream-service"} {
		p := s.Process(name)
		require.Eventually(t, func() bool {
			b, _ := os.ReadFile(p.LogPath)
			return strings.Contains(string(b), fmt.Sprintf(`"traceId":"%s"`, traceID))
		}, 10*time.Second, 100*time.Millisecond, "the trace id is not in %s's log", name)
	}
}
