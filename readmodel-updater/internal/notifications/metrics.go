package notifications

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/prism-es/prism/shared/preferences"
)

var deliveriesTotal = func() *prometheus.CounterVec {
	c := promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "prism_notification_deliveries_total",
		Help: "Notification deliveries by channel and outcome (sent, skipped: nowhere to send, failed: given up).",
	}, []string{"channel", "status"})
	for _, ch := range preferences.AllChannels {
		for _, st := range []string{StatusSent, StatusSkipped, StatusFailed} {
			c.WithLabelValues(ch, st) // known series start at zero
		}
	}
	return c
}()
