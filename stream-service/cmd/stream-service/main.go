// Command stream-service pushes read-model changes to clients over
// Server-Sent Events, with resume from a bounded history.
package main

import (
	"context"
	"net/http"
	"time"

	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/eventcatalog"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/fleet"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/platform"
	"github.com/prism-es/prism/stream-service/internal/streams"
)

func main() { platform.Main("stream-service", run) }

// settings are stream-service's own configuration.
type settings struct {
	config.Common
	Auth auth.Settings
	SSE  streams.Config
	// CORSOrigins may read the streams from a browser (PRISM_CORS_ORIGINS).
	CORSOrigins []string
}

func load() (settings, error) {
	r := config.FromEnv()
	s := settings{
		Common:      config.LoadCommon(r, "stream-service", 8081),
		Auth:        auth.LoadSettings(r),
		SSE:         streams.LoadConfig(r),
		CORSOrigins: r.List("PRISM_CORS_ORIGINS", streams.DefaultCORSOrigins),
	}
	for _, o := range s.CORSOrigins {
		if err := streams.CheckOrigin(o); err != nil {
			r.Fail("PRISM_CORS_ORIGINS: %q: %v", o, err)
		}
	}
	return s, r.Err()
}

func run(ctx context.Context) error {
	cfg, err := load()
	if err != nil {
		return err
	}
	deps, err := platform.Open(cfg.Common)
	if err != nil {
		return err
	}
	defer deps.Close()
	// Only the events table is read (the first event of a cart or order
	// names its owner); nothing else is provisioned.
	if err := deps.Provision(ctx, time.Minute, []string{cfg.EventsTable}, nil); err != nil {
		return err
	}
	owners, err := streams.NewOwners(eventstore.NewTableStore(deps.Account, cfg.EventsTable, eventcatalog.Upcasters()), cfg.SSE.OwnerCache)
	if err != nil {
		return err
	}
	hub := streams.NewHub(deps.Redis, cfg.SSE)
	handler := streams.Handler(streams.Deps{Hub: hub, Keys: cfg.Auth.Keys, Owners: owners, Checks: deps.Checks(), CORSOrigins: cfg.CORSOrigins})

	go func() {
		_ = deps.ReportToFleet(ctx, fleet.Reporter{Reads: []string{fleet.Notices}, Writes: []string{fleet.SSE}})
	}()

	l, err := httpapi.Listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		// No WriteTimeout: streams are long-lived. A stalled client is
		// dropped when its buffer fills instead.
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
	}
	deps.Log.Info("stream-service started", "addr", cfg.HTTPAddr, "devMode", cfg.Auth.DevMode,
		"corsOrigins", cfg.CORSOrigins, "clientBuffer", cfg.SSE.ClientBuffer, "heartbeat", cfg.SSE.Heartbeat.String(), "resync", cfg.SSE.Resync.String())
	err = httpapi.Serve(ctx, srv, l, cfg.ShutdownTimeout, func() {
		// Close the streams first: a connected client keeps Shutdown waiting.
		cctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := hub.Close(cctx); err != nil {
			deps.Log.Warn("closing streams", "err", err)
		}
	})
	deps.Log.Info("stream-service stopped")
	return err
}
