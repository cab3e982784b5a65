// Command prism-api is Prism's public HTTP API: it authenticates clients,
// validates commands, records idempotency keys and enqueues commands
// (202 Accepted), and answers queries from the read models.
package main

import (
	"context"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/prism-es/prism/prism-api/internal/commands"
	"github.com/prism-es/prism/prism-api/internal/limits"
	"github.com/prism-es/prism/prism-api/internal/operations"
	"github.com/prism-es/prism/prism-api/internal/queries"
	mesettings "github.com/prism-es/prism/prism-api/internal/settings"
	"github.com/prism-es/prism/prism-api/internal/tickets"
	"github.com/prism-es/prism/prism-api/internal/web"
	"github.com/prism-es/prism/prism-api/internal/web/storefront"
	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/commandstatus"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/eventcatalog"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/fleet"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/idempotency"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/nudge"
	"github.com/prism-es/prism/shared/platform"
	"github.com/prism-es/prism/shared/preferences"
	"github.com/prism-es/prism/shared/ratelimit"
	"github.com/prism-es/prism/shared/readmodel"
	"github.com/prism-es/prism/shared/streamtickets"
)

func main() { platform.Main("prism-api", run) }

// settings are prism-api's own configuration.
type settings struct {
	config.Common
	Auth auth.Settings
	// StreamsURL is stream-service's base URL as browsers reach it, for the
	// storefront (PRISM_STREAMS_URL).
	StreamsURL string
	// DomainURL and UpdaterURL are where the operations console reaches
	// domain-service's inspector and readmodel-updater's rebuilds.
	DomainURL, UpdaterURL string
	// Channels are the notification settings (VAPID key, currency, …).
	Channels preferences.Settings
	// OpsAddr serves /metrics and /readyz with details, on a port that is
	// not exposed (PRISM_OPS_ADDR).
	OpsAddr string
	// Limits are the rate limits and quotas (PRISM_LIMIT_*, PRISM_QUOTA_*).
	Limits limits.Config
	// OwnerCache is how many cart and order owners the stream-ticket check
	// caches (PRISM_OWNER_CACHE).
	OwnerCache int
}

func load() (settings, error) {
	r := config.FromEnv()
	s := settings{
		Common:     config.LoadCommon(r, "prism-api", 8080),
		Auth:       auth.LoadSettings(r),
		StreamsURL: r.String("PRISM_STREAMS_URL", storefront.DefaultStreamsURL),
		DomainURL:  r.String("PRISM_DOMAIN_SERVICE_URL", "http://127.0.0.1:8082"),
		UpdaterURL: r.String("PRISM_READMODEL_UPDATER_URL", "http://127.0.0.1:8083"),
		OpsAddr:    r.String("PRISM_OPS_ADDR", "127.0.0.1:9080"),
		Limits:     limits.Load(r),
		OwnerCache: r.Int("PRISM_OWNER_CACHE", 10_000),
	}
	s.Channels = preferences.LoadSettings(r, s.Auth.DevMode)
	if err := storefront.CheckStreamsURL(s.StreamsURL); err != nil {
		r.Fail("PRISM_STREAMS_URL=%q: %v", s.StreamsURL, err)
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
	commandQueues := deps.Commands(nudge.New(deps.Redis))
	layout := platform.Layout{Tables: append([]string{readmodel.CatalogTable}, preferences.Tables...), StreamTables: []string{cfg.EventsTable}, Commands: commandQueues}
	if err := deps.Provision(ctx, time.Minute, layout); err != nil {
		return err
	}
	if cfg.Auth.DevMode {
		deps.Log.Warn("dev mode: POST /api/dev/token issues tokens to anyone; outside local development set PRISM_DEV_MODE=false and PRISM_OIDC_ISSUER / PRISM_OIDC_AUDIENCE")
	}
	tokens, err := cfg.Auth.Verifier(ctx, time.Minute)
	if err != nil {
		return err
	}
	owners, err := tickets.NewOwners(eventstore.NewTableStore(deps.Accounts, cfg.EventsTable, eventcatalog.Upcasters()), cfg.OwnerCache)
	if err != nil {
		return err
	}

	wakeups := notices.NewSubscriber(deps.Redis)
	defer wakeups.Close()
	go func() { _ = deps.ReportToFleet(ctx, fleet.Reporter{}) }()
	catalog := readmodel.NewCatalog(deps.Account, 0)
	handler := web.Handler(web.Deps{
		Tokens:  tokens,
		Keys:    cfg.Auth.Keys,
		DevMode: cfg.Auth.DevMode,
		Commands: &commands.Service{
			Idempotency: idempotency.New(deps.Redis),
			Status:      commandstatus.New(deps.Redis),
			Commands:    commandQueues.Sender(cfg.BatchSends), // concurrent requests share messages
		},
		Queries: &queries.Service{
			Store:   readmodel.NewStore(deps.Account),
			Catalog: catalog,
			Wakeups: wakeups,
		},
		Tickets:    &tickets.Service{Tickets: streamtickets.New(deps.Redis), Owners: owners},
		Limits:     limits.New(ratelimit.New(deps.Redis), cfg.Limits),
		Checks:     deps.Checks(),
		StreamsURL: cfg.StreamsURL,
		Operations: (&operations.Service{
			Account: deps.Account, Accounts: deps.Accounts, Redis: deps.Redis, Catalog: catalog, Store: readmodel.NewStore(deps.Account),
			Statuses: commandstatus.New(deps.Redis),
			Config:   operations.Config{DomainURL: cfg.DomainURL, UpdaterURL: cfg.UpdaterURL},
		}).Start(ctx),
		Settings: &mesettings.Service{Store: preferences.NewStore(deps.Account), Channels: cfg.Channels},
		Storefront: storefront.Config{
			Currency: cfg.Channels.Money.Code(), Locale: cfg.Channels.Money.Locale(), VAPIDPublicKey: cfg.Channels.VAPIDPublicKey,
		},
	})
	l, err := httpapi.Listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	// The default timeouts (httpapi.WithTimeouts): 30 s to read a request
	// and to write an answer (a ?wait= query waits at most 10 s).
	srv := &http.Server{Handler: handler}
	deps.Log.Info("prism-api started", "addr", cfg.HTTPAddr, "opsAddr", cfg.OpsAddr, "devMode", cfg.Auth.DevMode, "streamsUrl", cfg.StreamsURL,
		"limits", []string{cfg.Limits.CommandsPerUser.String(), cfg.Limits.CommandsQuotaPerUser.String(), cfg.Limits.QueriesPerUser.String(), cfg.Limits.CommandsPerIP.String(), cfg.Limits.QueriesPerIP.String()})
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return httpapi.Serve(gctx, srv, l, cfg.ShutdownTimeout, nil) })
	g.Go(func() error { return deps.ServeOpsAt(gctx, cfg.OpsAddr, deps.Checks(), nil) })
	return g.Wait()
}
