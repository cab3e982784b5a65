package storage

import (
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// RequestsTotal counts every HTTP request sent to storage (each retry too),
// by service (table, queue, blob) and method. make bench divides it by
// commands to report storage round trips per command.
var RequestsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "prism_storage_requests_total",
	Help: "HTTP requests sent to Azure Storage, by service and method.",
}, []string{"service", "method"})

// countingPolicy counts the requests of one client; each client knows its
// service, so no URL guessing is needed (Azurite serves all three on one host).
type countingPolicy struct{ service string }

func (p countingPolicy) Do(req *policy.Request) (*http.Response, error) {
	RequestsTotal.WithLabelValues(p.service, req.Raw().Method).Inc()
	return req.Next()
}
