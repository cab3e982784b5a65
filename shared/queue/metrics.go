package queue

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	sentTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_queue_messages_sent_total",
		Help: "Messages sent to a queue.",
	}, []string{"queue"})
	lingersTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_queue_lingers_total",
		Help: "Times a consumer of a busy queue waited a few ms after a partial batch so its next receive would take a batch.",
	}, []string{"queue"})
	batchedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_queue_batched_items_total",
		Help: "Envelopes sent inside batch messages (several to a message) by a Batcher.",
	}, []string{"queue"})
	receivedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_queue_messages_received_total",
		Help: "Messages received from a queue.",
	}, []string{"queue"})
	// EmptyReceivesTotal counts receives that found the queue empty (the cost
	// of idle polling; tests use it to know a consumer has gone idle).
	EmptyReceivesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_queue_empty_receives_total",
		Help: "Receives that found the queue empty.",
	}, []string{"queue"})
	completedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_queue_messages_completed_total",
		Help: "Messages handled and deleted.",
	}, []string{"queue"})
	retriedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_queue_messages_retried_total",
		Help: "Handler failures that left the message for a later retry.",
	}, []string{"queue"})
	abandonedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_queue_messages_abandoned_total",
		Help: "Messages released unfinished at shutdown.",
	}, []string{"queue"})
	outageRetriesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_queue_outage_retries_total",
		Help: "Handler runs repeated in process because a dependency (storage, Redis) was unavailable; an outage is not a failed delivery.",
	}, []string{"queue"})
	lostTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_queue_messages_lost_total",
		Help: "Messages that stopped being this receiver's while it handled them (visibility not renewed in time); their next delivery settles them.",
	}, []string{"queue"})
	poisonTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_queue_poison_moves_total",
		Help: "Messages moved to the poison queue.",
	}, []string{"queue"})
	dequeueCount = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "prism_queue_dequeue_count",
		Help:    "Dequeue count of received messages (1 = first delivery).",
		Buckets: []float64{1, 2, 3, 4, 5, 6},
	}, []string{"queue"})
	handlerSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "prism_queue_handler_duration_seconds",
		Help:    "Time a handler spent on one message.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
	}, []string{"queue", "outcome"})
	depthGauge = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "prism_queue_depth",
		Help: "Approximate number of messages waiting in a queue (sampled by its consumers).",
	}, []string{"queue"})
	inFlightGauge = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "prism_queue_in_flight",
		Help: "Messages being handled right now by this process.",
	}, []string{"queue"})
	slotsGauge = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "prism_queue_handler_slots",
		Help: "Messages this process handles at once from a queue (its consumer's concurrency); present only for the queues it consumes.",
	}, []string{"queue"})
)

// handlerOutcomes are the outcome labels of prism_queue_handler_duration_seconds.
var handlerOutcomes = []string{"ok", "retry", "poison", "abandoned", "outage", "lost"}

// initConsumerSeries creates a consumed queue's series at zero, so a first
// poison move or retry is an increase that rates and alerts see (a series
// born at 1 is not) and a fresh process's dashboard panels show 0, not
// "No data".
func initConsumerSeries(queue string, concurrency int) {
	for _, c := range []*prometheus.CounterVec{receivedTotal, completedTotal, retriedTotal, abandonedTotal, poisonTotal, EmptyReceivesTotal, outageRetriesTotal, lostTotal, lingersTotal} {
		c.WithLabelValues(queue)
	}
	for _, o := range handlerOutcomes {
		handlerSeconds.WithLabelValues(queue, o)
	}
	dequeueCount.WithLabelValues(queue)
	inFlightGauge.WithLabelValues(queue)
	depthGauge.WithLabelValues(queue)
	slotsGauge.WithLabelValues(queue).Set(float64(concurrency))
}
