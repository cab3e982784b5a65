package eventstore

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	appendSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "prism_eventstore_append_duration_seconds",
		Help:    "Time to submit one append transaction to the event table.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
	appendConflicts = promauto.NewCounter(prometheus.CounterOpts{
		Name: "prism_eventstore_append_conflicts_total",
		Help: "Appends refused because the stream had moved past the expected version.",
	})
	appendDuplicates = promauto.NewCounter(prometheus.CounterOpts{
		Name: "prism_eventstore_append_duplicates_total",
		Help: "Appends refused because the command had already been applied.",
	})
)
