package streams

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Stream kinds, the label of the client gauge.
const (
	KindCart     = "cart"
	KindOrder    = "order"
	KindMe       = "me"
	KindProducts = "products"
)

var (
	clientsConnected = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "prism_sse_clients",
		Help: "SSE clients connected, by stream kind (cart, order, me, products).",
	}, []string{"kind"})
	eventsSent = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_sse_events_sent_total",
		Help: "SSE events handed to clients (live, replayed and resets), by event type; heartbeats excluded.",
	}, []string{"type"})
	clientsDropped = promauto.NewCounter(prometheus.CounterOpts{
		Name: "prism_sse_clients_dropped_total",
		Help: "SSE clients disconnected because their buffer was full (too slow or stalled).",
	})
	resetsSent = promauto.NewCounter(prometheus.CounterOpts{
		Name: "prism_sse_resets_total",
		Help: "reset events sent: the history could not say what a client missed, so it must refetch its state.",
	})
	topicsGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "prism_sse_topics",
		Help: "Logical streams with at least one SSE client (one Redis subscription each).",
	})
	replayedEvents = promauto.NewCounter(prometheus.CounterOpts{
		Name: "prism_sse_replayed_events_total",
		Help: "Events replayed from the Redis history to clients resuming with Last-Event-ID.",
	})
	gapFills = promauto.NewCounter(prometheus.CounterOpts{
		Name: "prism_sse_gap_fills_total",
		Help: "Times a topic read missed notices from the history (a lost live notice, a resync or a resubscribe).",
	})
	resubscribes = promauto.NewCounter(prometheus.CounterOpts{
		Name: "prism_sse_topic_resubscribes_total",
		Help: "Times a topic's Redis listener was dropped for falling behind and resubscribed.",
	})
)

// Create every known series at zero, so a fresh stream-service's dashboard
// panels show 0 rather than "No data".
func init() {
	for _, k := range []string{KindCart, KindOrder, KindMe, KindProducts} {
		clientsConnected.WithLabelValues(k)
	}
	for _, t := range []string{"cart.updated", "order.updated", "product.updated", "notification", "command.completed", "reset"} {
		eventsSent.WithLabelValues(t)
	}
}
