package storage

import (
	"net/http"
	"time"

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

// RequestSeconds is how long storage took to answer each request, by
// service and method: the storage latency as Prism sees it (make bench
// reports where a command's time goes with it).
var RequestSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "prism_storage_request_duration_seconds",
	Help:    "Time storage took to answer one HTTP request, by service and method.",
	Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
}, []string{"service", "method"})

// countingPolicy counts and times the requests of one client; each client
// knows its service, so no URL guessing is needed (Azurite serves all three
// on one host).
type countingPolicy struct{ service string }

func (p countingPolicy) Do(req *policy.Request) (*http.Response, error) {
	method := req.Raw().Method
	RequestsTotal.WithLabelValues(p.service, method).Inc()
	start := time.Now()
	resp, err := req.Next()
	RequestSeconds.WithLabelValues(p.service, method).Observe(time.Since(start).Seconds())
	return resp, err
}
