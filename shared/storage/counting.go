package storage

import (
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// RequestsTotal counts every HTTP request sent to storage (each retry too),
// by service (table, queue) and method. make bench divides it by commands to
// report storage round trips per command.
var RequestsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "prism_storage_requests_total",
	Help: "HTTP requests sent to Azure Storage, by service and method.",
}, []string{"service", "method"})

type countingPolicy struct{}

func (countingPolicy) Do(req *policy.Request) (*http.Response, error) {
	RequestsTotal.WithLabelValues(serviceOf(req.Raw()), req.Raw().Method).Inc()
	return req.Next()
}

// serviceOf tells table from queue requests by host (Azure) or by the shape
// of the request (Azurite and other emulators on any port).
func serviceOf(r *http.Request) string {
	host := r.URL.Host
	switch {
	case strings.Contains(host, ".table."):
		return "table"
	case strings.Contains(host, ".queue."):
		return "queue"
	case strings.Contains(r.URL.Path, "/messages"), r.URL.Query().Has("comp"):
		return "queue" // messages, queue metadata and listings
	}
	return "table"
}
