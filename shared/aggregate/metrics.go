package aggregate

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
	snapshotReadFailures = promauto.NewCounter(prometheus.CounterOpts{
		Name: "prism_snapshot_read_failures_total",
		Help: "Snapshot reads that failed; the aggregate was folded from its events instead.",
	})
	cacheLookups = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_aggregate_cache_lookups_total",
		Help: "Aggregate state cache lookups, by result (hit, catch-up = a cached state brought up to date, miss).",
	}, []string{"result"})
)

// zeroSeries creates the series of commands at zero, so a replica that has
// handled nothing yet shows 0 on the dashboard rather than "No data", and a
// first failure is an increase that rates see.
func zeroSeries(commandTypes []string) {
	for _, t := range commandTypes {
		for _, o := range []string{"succeeded", "rejected", "duplicate", "failed"} {
			commandsTotal.WithLabelValues(t, o)
		}
		commandSeconds.WithLabelValues(t)
	}
}

func init() {
	for _, r := range []string{"hit", "catch-up", "miss"} {
		cacheLookups.WithLabelValues(r)
	}
}
