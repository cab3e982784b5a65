// Command stream-service pushes read-model changes to clients over
// Server-Sent Events, with resume from a bounded history.
package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/fleet"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/platform"
	"github.com/prism-es/prism/shared/streamtickets"
	"github.com/prism-es/prism/stream-service/internal/streams"
)

func main() { platform.Main("stream-service", run) }

// settings are stream-service's own configuration.
type settings struct {
	config.Common
	Auth auth.Settings
	SSE  streams.Config
	// Limits bound streams per user, address and replica, and their length.
	Limits streams.Limits
	// CORSOrigins may read the streams from a browser (PRISM_CORS_ORIGINS).
	CORSOrigins []string
	// OpsAddr serves /metrics and /readyz with details, on a port that is
	// not exposed (PRISM_OPS_ADDR).
	OpsAddr string
}

func load() (settings, error) {
	r := config.FromEnv()
	s := settings{
		Common:      config.LoadCommon(r, "stream-service", 8081),
		Auth:        auth.LoadSettings(r),
		SSE:         streams.LoadConfig(r),
		Limits:      streams.LoadLimits(r),
		CORSOrigins: r.List("PRISM_CORS_ORIGINS", streams.DefaultCORSOrigins),
		OpsAddr:     r.String("PRISM_OPS_ADDR", "127.0.0.1:9081"),
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
	// stream-service touches no storage: tickets (issued by prism-api, which
	// checked who may see what) and notices are all in Redis.
	tokens, err := cfg.Auth.Verifier(ctx, time.Minute)
	if err != nil {
		return err
	}
	hub := streams.NewHub(deps.Redis, cfg.SSE)
	handler := streams.Handler(streams.Deps{
		Hub: hub, Tokens: tokens, Tickets: streamtickets.New(deps.Redis),
		Limits: cfg.Limits, Redis: deps.Redis, Checks: deps.RedisChecks(), CORSOrigins: cfg.CORSOrigins,
	})

	go func() {
		_ = deps.ReportToFleet(ctx, fleet.Reporter{Reads: []string{fleet.Notices}, Writes: []string{fleet.SSE}})
	}()

	l, err := httpapi.Listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	// The default timeouts (httpapi.WithTimeouts) cut off slow clients; a
	// stream replaces them with its own end (token expiry, at most
	// PRISM_SSE_MAX_DURATION), and a stalled client is dropped when its
	// buffer fills.
	srv := &http.Server{Handler: handler}
	deps.Log.Info("stream-service started", "addr", cfg.HTTPAddr, "opsAddr", cfg.OpsAddr, "devMode", cfg.Auth.DevMode,
		"corsOrigins", cfg.CORSOrigins, "clientBuffer", cfg.SSE.ClientBuffer, "heartbeat", cfg.SSE.Heartbeat.String(), "resync", cfg.SSE.Resync.String(),
		"streamsPerUser", cfg.Limits.PerUser, "streamsPerIP", cfg.Limits.PerIP, "streamsPerReplica", cfg.Limits.PerReplica, "maxDuration", cfg.Limits.MaxDuration.String())
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return deps.ServeOpsAt(gctx, cfg.OpsAddr, deps.RedisChecks(), nil) })
	g.Go(func() error { return serve(gctx, cfg, srv, l, hub) })
	err = g.Wait()
	deps.Log.Info("stream-service stopped")
	return err
}

// serve serves the streams until ctx ends, closing every stream before the
// server shuts down.
func serve(ctx context.Context, cfg settings, srv *http.Server, l net.Listener, hub *streams.Hub) error {
	return httpapi.Serve(ctx, srv, l, cfg.ShutdownTimeout, func() {
		// Close the streams first: a connected client keeps Shutdown waiting.
		cctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := hub.Close(cctx); err != nil {
			slog.Warn("closing streams", "err", err)
		}
	})
}
