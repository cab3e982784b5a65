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
