package projection

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	lagSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "prism_projection_lag_seconds",
		Help:    "Time from an event's occurrence to its projection, by projection.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	}, []string{"projection"})
	projected = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_projection_events_total",
		Help: "Events seen by a projection, by result (applied, noop = redelivery of the latest, stale = older than the row).",
	}, []string{"projection", "result"})
	gapFills = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_projection_gap_fills_total",
		Help: "Events that skipped versions and made the projection read the missing ones from the event store.",
	}, []string{"projection"})
	conflicts = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_projection_write_conflicts_total",
		Help: "Row writes refused because the row changed since it was read (ETag).",
	}, []string{"projection"})
)

// initSeries creates a projection's series at zero, so a fresh updater's
// dashboard panels show 0 rather than "No data" (and the console lists it).
func initSeries(projection string) {
	lagSeconds.WithLabelValues(projection)
	for _, r := range []string{"applied", "noop", "stale"} {
		projected.WithLabelValues(projection, r)
	}
	gapFills.WithLabelValues(projection)
	conflicts.WithLabelValues(projection)
}
