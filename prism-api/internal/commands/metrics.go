package commands

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

// Create every known series at zero (API.md's command routes, the replay
// outcomes), so a fresh prism-api's dashboard panels show 0, not "No data".
func init() {
	for _, t := range []string{"CreateCart", "AddItem", "ChangeQuantity", "RemoveItem", "CheckoutCart", "CancelOrder",
		"DefineProduct", "RestockProduct", "ShipOrder", "DeliverOrder"} {
		acceptedTotal.WithLabelValues(t)
	}
	for _, o := range []string{"replay", "mismatch", "in_flight"} {
		replayedTotal.WithLabelValues(o)
	}
}
