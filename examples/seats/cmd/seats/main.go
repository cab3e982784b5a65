// Command seats runs the seat-booking sample domain (package seat) on the
// kit, in one process beside the Prism stack (make up): its HTTP API (seat
// commands, command status, seat queries, /healthz, /readyz, /metrics), the
// command handler on its own commands and deadlines queues, and its
// projection, whose notices reach the seat holder's GET /streams/me on
// stream-service as they are.
//
// Configuration comes from the environment, with local defaults pointing at
// make up's Azurite and Redis: PRISM_HTTP_ADDR (127.0.0.1:8090), and the
// common PRISM_* and AZURE_STORAGE_CONNECTION_STRING / REDIS_URL settings
// (docs/operations.md). Tokens are verified as prism-api issues them (dev
// mode: POST /api/dev/token on prism-api).
package main

import (
	"context"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/prism-es/prism/examples/seats/seat"
	"github.com/prism-es/prism/shared/aggregate"
	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/commandapi"
	"github.com/prism-es/prism/shared/commandstatus"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventcatalog"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/idempotency"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/nudge"
	"github.com/prism-es/prism/shared/platform"
	"github.com/prism-es/prism/shared/projection"
	"github.com/prism-es/prism/shared/queryapi"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/readmodel"
)

func main() { platform.Main("seats", run) }

// The program's own queues: the shop's domain-service and readmodel-updater
// never see them.
const (
	commandsQueue  = "seats-commands"
	deadlinesQueue = "seats-deadlines"
	subscriber     = "seats" // events-seats
)

type settings struct {
	config.Common
	Auth        auth.Settings
	Concurrency int
}

func load() (settings, error) {
	r := config.FromEnv()
	s := settings{
		Common:      config.LoadCommon(r, "seats", 8090),
		Auth:        auth.LoadSettings(r),
		Concurrency: r.Int("PRISM_CONCURRENCY", 8),
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
	tokens, err := cfg.Auth.Verifier(ctx, time.Minute)
	if err != nil {
		return err
	}
	if err := deps.Provision(ctx, time.Minute, platform.Layout{
		Tables:       []string{readmodel.CatalogTable},
		StreamTables: []string{cfg.EventsTable, cfg.SnapshotsTable},
		Queues:       []string{commandsQueue, deadlinesQueue, config.EventQueue(subscriber)},
	}); err != nil {
		return err
	}
	waker := nudge.New(deps.Redis)
	commands := queue.Open(deps.Account, commandsQueue, waker)
	deadlines := queue.Open(deps.Account, deadlinesQueue, waker)
	events := queue.Open(deps.Account, config.EventQueue(subscriber), waker)
	store := eventstore.NewTableStore(deps.Accounts, cfg.EventsTable, eventcatalog.Upcasters())
	publisher := notices.NewPublisher(deps.Redis, notices.Config{})
	status := commandstatus.New(deps.Redis)

	// doc:begin register
	var reg aggregate.Registry
	reg.Add(aggregate.Of(seat.Definition())) // the aggregate: one line
	projections := []projection.Projection{
		seat.Seats.Projection(), // the projection: one line
	}
	// doc:end register

	handler := aggregate.New(aggregate.Deps{
		Store:       store,
		Snapshots:   eventstore.NewSnapshots(deps.Accounts, cfg.SnapshotsTable),
		Subscribers: []aggregate.Subscriber{{Queue: events}},
		Commands:    commands,
		Deadlines:   deadlines,
		Outcomes:    aggregate.Outcomes{Status: status, Notices: publisher},
		// The shop's event catalog does not know the seat's events: they
		// are typed Go values, checked here as envelopes.
		Validate: func(e envelope.Event) error { return e.Validate() },
	}, aggregate.Config{}, &reg)

	rows, catalog := readmodel.NewStore(deps.Account), readmodel.NewCatalog(deps.Account, 0)
	for _, p := range projections {
		live, err := catalog.Live(ctx, p.Name)
		if err != nil {
			return err
		}
		if err := deps.Account.EnsureTables(ctx, live); err != nil {
			return err
		}
	}
	runner := projection.NewRunner(rows, catalog, store, publisher, projections...)

	wakeups := notices.NewSubscriber(deps.Redis)
	defer wakeups.Close()
	api := http.NewServeMux()
	// doc:begin mount
	seat.Mount(api, // the routes: one line
		&commandapi.Service{Idempotency: idempotency.New(deps.Redis), Status: status, Commands: commands},
		&queryapi.Service{Store: rows, Catalog: catalog, Wakeups: wakeups})
	// doc:end mount
	api.Handle("/", httpapi.NotFoundHandler())
	authenticated := auth.RequireUser(tokens, "seats")(api)

	consumerCfg := deps.ConsumerConfig(cfg.Concurrency, handler.Failed)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return queue.NewConsumer(commands, handler.Handle, waker, consumerCfg).Run(gctx) })
	g.Go(func() error { return queue.NewConsumer(deadlines, handler.Handle, waker, consumerCfg).Run(gctx) })
	g.Go(func() error {
		return queue.NewConsumer(events, runner.Handle, waker, deps.ConsumerConfig(cfg.Concurrency, nil)).Run(gctx)
	})
	g.Go(func() error {
		return deps.ServeOps(gctx, func(mux *http.ServeMux) { mux.Handle("/api/", authenticated) })
	})
	deps.Log.Info("seats started", "addr", cfg.HTTPAddr)
	return g.Wait()
}
