package handling

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	commandsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_commands_handled_total",
		Help: "Commands handled by domain-service, by type and outcome (succeeded, rejected, duplicate, failed).",
	}, []string{"type", "outcome"})
	commandSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "prism_command_handling_duration_seconds",
		Help:    "Time from dequeue to outcome for one command.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
	}, []string{"type"})
	conflictRetries = promauto.NewCounter(prometheus.CounterOpts{
		Name: "prism_command_conflict_retries_total",
		Help: "Reload-and-decide rounds caused by optimistic-concurrency conflicts.",
	})
	cacheLookups = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_aggregate_cache_lookups_total",
		Help: "Aggregate state cache lookups, by result (hit, catch-up = a cached state brought up to date, miss).",
	}, []string{"result"})
)
