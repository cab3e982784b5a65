package ownership

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	// ownedGauge is the number of resources this replica owns: the
	// "shards owned" figure of every domain-service replica.
	ownedGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "prism_shards_owned",
		Help: "Command shards (and other shared resources) this replica owns right now.",
	})
	ownedByName = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "prism_shard_owned",
		Help: "1 while this replica owns the shard, else 0.",
	}, []string{"shard"})
	acquiredTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "prism_shard_acquisitions_total",
		Help: "Shard leases this replica took.",
	})
	endedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_shard_ownership_ended_total",
		Help: "Shards this replica stopped owning, by reason: shed (balancing), shutdown, lost (lease taken or gone), expired (not renewed in time), work_ended.",
	}, []string{"reason"})
	// unownedGauge is how many resources nobody held at this replica's last
	// round: briefly non-zero while a dead replica's leases run out, and
	// for good when no replica can take them.
	unownedGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "prism_shards_unowned",
		Help: "Command shards (and other shared resources) no replica held a lease on at this replica's last balancing round.",
	})
	roundErrors = promauto.NewCounter(prometheus.CounterOpts{
		Name: "prism_ownership_round_errors_total",
		Help: "Balancing rounds that could not read the ownership container.",
	})
)
