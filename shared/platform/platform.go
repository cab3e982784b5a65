// Package platform wires what every Prism service starts with: JSON logs,
// the storage account and Redis clients, provisioning of tables and queues,
// readiness checks and the operations HTTP server.
package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/fleet"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/logging"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/redisconn"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/tracing"
)

// Deps are a service's connections. Opening them does no I/O.
type Deps struct {
	Config config.Common
	Log    *slog.Logger
	// Accounts are every storage account (PRISM_STORAGE_ACCOUNTS); Account
	// is the primary, where read models and subscriber queues live.
	Accounts storage.Accounts
	Account  *storage.Account
	Redis    *redis.Client

	stopTracing func(context.Context) error
	// layout is what Provision was given: readiness pings it.
	layout Layout
	checks map[string]httpapi.Check
}

// Open sets the default logger and tracer provider (OTLP export when
// OTEL_EXPORTER_OTLP_ENDPOINT is set) and builds the clients.
func Open(c config.Common) (*Deps, error) {
	log := logging.New(os.Stdout, c.Service, c.LogLevel)
	slog.SetDefault(log)
	stopTracing, err := tracing.Setup(context.Background(), c.Service)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	accs, err := c.ConnectStorage()
	if err != nil {
		return nil, err
	}
	rdb, err := redisconn.Connect(c.RedisURL)
	if err != nil {
		return nil, err
	}
	return &Deps{Config: c, Log: log, Accounts: accs, Account: accs.Primary(), Redis: rdb, stopTracing: stopTracing}, nil
}

// Commands opens the command queues the settings describe:
// PRISM_COMMAND_SHARDS shards of PRISM_COMMANDS_QUEUE over the accounts, and
// the deadlines queue.
func (d *Deps) Commands(waker queue.Waker) *queue.Commands {
	return queue.OpenCommands(d.Accounts, d.Config.CommandsQueue, d.Config.CommandShards, waker)
}

// Close flushes traces and releases the clients.
func (d *Deps) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = d.stopTracing(ctx)
	_ = d.Redis.Close()
}

// Layout is what a service provisions at start-up (and what its readiness
// check pings).
type Layout struct {
	// Tables live on the primary account (read models, their catalog).
	Tables []string
	// StreamTables live on every account: the streams are spread over them
	// (events, snapshots).
	StreamTables []string
	// Queues live on the primary account (subscriber queues).
	Queues []string
	// Commands are the command queues, each in its account (may be nil).
	Commands *queue.Commands
}

// Provision creates the tables and queues (with their poison twins) of the
// layout, retrying while storage is still starting, for up to wait.
func (d *Deps) Provision(ctx context.Context, wait time.Duration, l Layout) error {
	d.layout = l
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	ensure := func() error {
		if err := d.Account.EnsureTables(ctx, l.Tables...); err != nil {
			return err
		}
		for _, acc := range d.Accounts {
			if err := acc.EnsureTables(ctx, l.StreamTables...); err != nil {
				return err
			}
		}
		if err := d.Account.EnsureQueues(ctx, l.Queues...); err != nil {
			return err
		}
		if l.Commands != nil {
			return l.Commands.Ensure(ctx)
		}
		return nil
	}
	for {
		err := ensure()
		if err == nil {
			return nil
		}
		d.Log.Warn("storage not ready; retrying", "err", err)
		select {
		case <-ctx.Done():
			return errors.Join(errors.New("storage did not become ready"), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// ConsumerConfig is the queue consumer configuration every service's
// consumers share: the retry schedule, outage hold and drain time from the
// settings, with the given handler concurrency and OnPoison hook (may be nil).
func (d *Deps) ConsumerConfig(concurrency int, onPoison func(context.Context, *queue.Message, string)) queue.ConsumerConfig {
	return queue.ConsumerConfig{
		Concurrency:   concurrency,
		RetrySchedule: d.Config.RetrySchedule,
		OutageHold:    d.Config.OutageHold,
		DrainTimeout:  d.Config.ShutdownTimeout,
		Linger:        linger(d.Config.ReceiveLinger),
		OnPoison:      onPoison,
		Logger:        d.Log,
	}
}

// linger is the consumer's Linger for PRISM_RECEIVE_LINGER (0: never).
func linger(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

// Checks are the readiness checks of storage (the table service of every
// account the service keeps tables in and the queues it provisioned, which
// is what an identity with roles on just those can reach), Redis, and
// whatever AddCheck added.
func (d *Deps) Checks() map[string]httpapi.Check {
	checks := d.RedisChecks()
	checks["storage"] = func(ctx context.Context) error {
		tablesOn := storage.Accounts{d.Account}
		if len(d.layout.StreamTables) > 0 {
			tablesOn = d.Accounts
		}
		for _, acc := range tablesOn {
			if err := acc.PingTables(ctx); err != nil {
				return err
			}
		}
		if err := d.Account.PingQueues(ctx, d.layout.Queues...); err != nil {
			return err
		}
		if d.layout.Commands != nil {
			return d.layout.Commands.Ping(ctx)
		}
		return nil
	}
	for name, c := range d.checks {
		checks[name] = c
	}
	return checks
}

// AddCheck adds a readiness check of the service's own (call it before
// ServeOps or Checks).
func (d *Deps) AddCheck(name string, c httpapi.Check) {
	if d.checks == nil {
		d.checks = map[string]httpapi.Check{}
	}
	d.checks[name] = c
}

// RedisChecks is the readiness check of Redis alone, for a service that
// uses no storage (stream-service).
func (d *Deps) RedisChecks() map[string]httpapi.Check {
	return map[string]httpapi.Check{
		"redis": func(ctx context.Context) error {
			return redisconn.Classify(d.Redis.Ping(ctx).Err(), "ping")
		},
	}
}

// ServeOps serves /healthz, /readyz and /metrics (plus anything extra adds)
// on the service's address until ctx ends: for the services without
// ingress, whose one port is internal.
func (d *Deps) ServeOps(ctx context.Context, extra func(mux *http.ServeMux)) error {
	return d.ServeOpsAt(ctx, d.Config.HTTPAddr, d.Checks(), extra)
}

// ServeOpsAt serves /healthz, /readyz with each check's result and
// /metrics (plus anything extra adds) on addr until ctx ends: the internal
// operations port of a service whose main port faces the internet. With
// PRISM_PPROF set it serves Go's profiles too, under /debug/pprof/ (make
// profile reads them).
func (d *Deps) ServeOpsAt(ctx context.Context, addr string, checks map[string]httpapi.Check, extra func(mux *http.ServeMux)) error {
	l, err := httpapi.Listen(addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	httpapi.MountOps(mux, checks)
	if d.Config.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	}
	if extra != nil {
		extra(mux)
	}
	mux.Handle("/", httpapi.NotFoundHandler())
	return httpapi.Serve(ctx, &http.Server{Handler: httpapi.Stack(httpapi.PatternRoute, mux)}, l, 5*time.Second, nil)
}

// ReportToFleet reports this process to the fleet (what the operations
// console draws) until ctx ends; r names the channels and extras, the rest
// is filled in here.
func (d *Deps) ReportToFleet(ctx context.Context, r fleet.Reporter) error {
	r.Redis, r.Service, r.Addr = d.Redis, d.Config.Service, d.Config.HTTPAddr
	return r.Run(ctx)
}

// Main runs a service's run function until SIGINT or SIGTERM and exits 1,
// naming the service, if it fails. Every cmd/<name>/main.go calls it.
func Main(name string, run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		stop()
		os.Exit(1)
	}
}
