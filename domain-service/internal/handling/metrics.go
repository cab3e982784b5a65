package handling

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/prism-es/prism/domain-service/internal/cart"
	"github.com/prism-es/prism/domain-service/internal/checkout"
	"github.com/prism-es/prism/domain-service/internal/order"
	"github.com/prism-es/prism/domain-service/internal/payment"
	"github.com/prism-es/prism/domain-service/internal/product"
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

// commandTypes are every command the aggregates take, for the zero series.
var commandTypes = []string{
	cart.CmdCreate, cart.CmdAddItem, cart.CmdChangeQuantity, cart.CmdRemoveItem, cart.CmdCheckout,
	product.CmdDefine, product.CmdRestock, product.CmdReserve, product.CmdRelease, product.CmdCommit,
	order.CmdPlace, order.CmdCancel, order.CmdMarkStockReserved, order.CmdMarkPaid, order.CmdConfirm, order.CmdShip, order.CmdDeliver,
	payment.CmdCharge, payment.CmdRefund,
	checkout.CmdStart, checkout.CmdNoteReserved, checkout.CmdNoteReservationFailed, checkout.CmdNoteOrderStockReserved,
	checkout.CmdNoteCharged, checkout.CmdNoteDeclined, checkout.CmdExpirePayment, checkout.CmdNoteOrderPaid,
	checkout.CmdNoteOrderConfirmed, checkout.CmdNoteOrderCancelled, checkout.CmdNoteOrderShipped, checkout.CmdNoteRefunded,
}

// Create every known series at zero, so a replica that has handled nothing
// yet shows 0 on the dashboard rather than "No data", and a first failure is
// an increase that rates see.
func init() {
	for _, t := range commandTypes {
		for _, o := range []string{"succeeded", "rejected", "duplicate", "failed"} {
			commandsTotal.WithLabelValues(t, o)
		}
		commandSeconds.WithLabelValues(t)
	}
	for _, r := range []string{"hit", "catch-up", "miss"} {
		cacheLookups.WithLabelValues(r)
	}
}
