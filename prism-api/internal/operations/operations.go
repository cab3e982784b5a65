// Package operations is the API behind the operations console (/console):
// the pipeline as it runs (queues from storage, every process from the
// fleet reports in Redis, streamed over SSE), poison queues with redrive,
// projections with rebuilds, the event-store inspector and command traces.
// Everything is for the admin role. The browser talks to prism-api only:
// what lives in another service is reached through its existing admin
// routes (domain-service's inspector, readmodel-updater's rebuilds).
package operations

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/commandstatus"
	"github.com/prism-es/prism/shared/readmodel"
	"github.com/prism-es/prism/shared/storage"
)

// Config locates the services the console reaches and sets its pace.
type Config struct {
	// DomainURL is a domain-service replica's base URL (its inspector).
	DomainURL string
	// UpdaterURL is readmodel-updater's base URL (its rebuild routes).
	UpdaterURL string
	// Every is how often the flow is sampled while someone watches (default 1 s).
	Every time.Duration
}

// Service serves the console's routes.
type Service struct {
	// Account is the primary storage account (read models, the console's
	// own reads); Accounts, when set, is every account, whose queues the
	// console lists and redrives (a command shard lives in its own).
	Account  *storage.Account
	Accounts storage.Accounts
	Redis    *redis.Client
	Catalog  *readmodel.Catalog
	Store    *readmodel.Store
	Statuses *commandstatus.Store
	Config   Config
	// HTTP reaches the other services (default: a client with a 30 s timeout).
	HTTP *http.Client

	flow *sampler
}

// Start readies the service; streams end when ctx does (before the
// server's Shutdown, which they would otherwise hold up).
func (s *Service) Start(ctx context.Context) *Service {
	if s.Config.Every <= 0 {
		s.Config.Every = time.Second
	}
	if s.HTTP == nil {
		s.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	s.flow = newSampler(ctx, s)
	return s
}

// Mount adds the console's API routes to r, a subrouter that already
// requires the admin role.
func (s *Service) Mount(r *mux.Router) {
	r.HandleFunc("/console/flow", s.getFlow).Methods(http.MethodGet)
	r.HandleFunc("/console/stream", s.stream).Methods(http.MethodGet)
	r.HandleFunc("/console/poison", s.getPoison).Methods(http.MethodGet)
	r.HandleFunc("/console/poison/{queue}/redrive", s.redrive).Methods(http.MethodPost)
	r.HandleFunc("/console/projections/{projection}/rebuild", s.rebuild).Methods(http.MethodPost)
	r.HandleFunc("/console/traces/{commandId}", s.trace).Methods(http.MethodGet)
	r.HandleFunc("/eventstore/{aggregateType}/{aggregateId}", s.inspect).Methods(http.MethodGet)
}
