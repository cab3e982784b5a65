package commandapi

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	acceptedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_commands_accepted_total",
		Help: "Commands accepted (202) and queued by prism-api, by type.",
	}, []string{"type"})
	replayedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_commands_replayed_total",
		Help: "Requests answered from an earlier response under the same Idempotency-Key, by outcome (replay, mismatch, in_flight).",
	}, []string{"outcome"})
)

// Create the replay outcomes' series at zero, so a fresh API's dashboard
// panels show 0, not "No data" (each route creates its type's series when
// its handler is made).
func init() {
	for _, o := range []string{"replay", "mismatch", "in_flight"} {
		replayedTotal.WithLabelValues(o)
	}
}
