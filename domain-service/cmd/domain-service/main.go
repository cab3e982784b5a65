// Command domain-service applies commands to aggregates: the replicas share
// the command shards out through blob leases (each consumes only the shards
// it owns, so an aggregate's commands meet one replica's warm cache),
// rehydrate the aggregate, apply its rules and append the events atomically
// with optimistic concurrency, then publish them to every subscriber queue.
package main

import (
	"context"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/prism-es/prism/domain-service/internal/checkout"
	"github.com/prism-es/prism/domain-service/internal/handling"
	"github.com/prism-es/prism/domain-service/internal/inspect"
	"github.com/prism-es/prism/domain-service/internal/paymentprovider"
	"github.com/prism-es/prism/shared/aggregate"
	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/commandstatus"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/eventcatalog"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/fleet"
	"github.com/prism-es/prism/shared/money"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/nudge"
	"github.com/prism-es/prism/shared/ownership"
	"github.com/prism-es/prism/shared/platform"
	"github.com/prism-es/prism/shared/queue"
)

// SagaSubscriber names the checkout saga's event queue ("events-saga").
const SagaSubscriber = checkout.Subscriber

func main() { platform.Main("domain-service", run) }

// shardBatchWait is how long a shard's consumer waits before it looks at its
// queue again after a partial batch. A shard gets 1/N of the commands, so a
// short wait would mostly end in an empty receive; the next send's nudge
// wakes the consumer at once anyway (the wait is only what a lost nudge
// costs), and retried or due messages are found by the idle polls.
const shardBatchWait = time.Second

// settings are domain-service's own configuration.
type settings struct {
	config.Common
	Auth          auth.Settings
	Subscribers   []string
	Concurrency   int
	CacheSize     int
	SnapshotEvery int
	// PaymentDeadline is how long the checkout saga waits for the payment.
	PaymentDeadline time.Duration
	// StepDeadline is how long the checkout saga waits for any other step.
	StepDeadline time.Duration
	// PaymentSlowDelay is how long the simulator takes to answer pm_slow.
	PaymentSlowDelay time.Duration
	// CartTTL is how long an open cart may stay untouched before it expires
	// (PRISM_CART_TTL; 0 turns expiry off).
	CartTTL time.Duration
	// PaymentProvider is "stripe" or "simulator" (PRISM_PAYMENT_PROVIDER;
	// the simulator only in dev mode).
	PaymentProvider string
	// Stripe is how to reach Stripe (PRISM_STRIPE_*).
	Stripe paymentprovider.StripeConfig
	// ShardOwnership is PRISM_SHARD_OWNERSHIP: "leases" (each replica
	// consumes the shards it holds a lease on) or "all" (every replica
	// consumes every shard, as competing consumers: no cache affinity).
	ShardOwnership string
	// ShardLease is PRISM_SHARD_LEASE, the shard lease duration (15s-60s): a
	// dead replica's shards are served again within about one lease.
	ShardLease time.Duration
}

// The values of PRISM_SHARD_OWNERSHIP.
const (
	OwnershipLeases = "leases"
	OwnershipAll    = "all"
)

// Payment providers (PRISM_PAYMENT_PROVIDER).
const (
	providerStripe    = "stripe"
	providerSimulator = "simulator"
)

func load() (settings, error) { return loadFrom(config.FromEnv()) }

func loadFrom(r *config.Reader) (settings, error) {
	s := settings{
		Common:        config.LoadCommon(r, "domain-service", 8082),
		Auth:          auth.LoadSettings(r),
		Subscribers:   r.List("PRISM_EVENT_SUBSCRIBERS", config.Subscribers),
		Concurrency:   r.Int("PRISM_CONCURRENCY", 16),
		CacheSize:     r.Int("PRISM_CACHE_SIZE", 10_000),
		SnapshotEvery: r.Int("PRISM_SNAPSHOT_EVERY", 100),
	}
	s.PaymentDeadline = r.Duration("PRISM_PAYMENT_DEADLINE", 10*time.Second)
	s.StepDeadline = r.Duration("PRISM_CHECKOUT_STEP_DEADLINE", 10*time.Minute)
	s.PaymentSlowDelay = r.Duration("PRISM_PAYMENT_SLOW_DELAY", s.PaymentDeadline+5*time.Second)
	s.CartTTL = r.Duration("PRISM_CART_TTL", handling.DefaultCartTTL)
	if s.CartTTL < 0 || s.CartTTL > handling.MaxCartTTL {
		r.Fail("PRISM_CART_TTL=%s: must be between 0 (off) and %s (a Storage Queue holds a delayed message at most 7 days)", s.CartTTL, handling.MaxCartTTL)
	}
	defaultProvider := providerStripe
	if s.Auth.DevMode {
		defaultProvider = providerSimulator
	}
	s.PaymentProvider = r.String("PRISM_PAYMENT_PROVIDER", defaultProvider)
	s.Stripe = paymentprovider.StripeConfig{
		APIKey:  r.String("PRISM_STRIPE_API_KEY", ""),
		APIBase: r.String("PRISM_STRIPE_API_BASE", ""),
		// The shop's currency, the one prices are shown in.
		Currency: r.String("PRISM_CURRENCY", money.DefaultCurrency),
	}
	if _, err := money.New(s.Stripe.Currency, money.DefaultLocale); err != nil {
		r.Fail("PRISM_CURRENCY: %v", err)
	}
	checkPayments(r, s)
	s.ShardOwnership = r.String("PRISM_SHARD_OWNERSHIP", OwnershipLeases)
	s.ShardLease = r.Duration("PRISM_SHARD_LEASE", ownership.MinLease)
	if s.ShardOwnership != OwnershipLeases && s.ShardOwnership != OwnershipAll {
		r.Fail("PRISM_SHARD_OWNERSHIP=%q: use %q or %q", s.ShardOwnership, OwnershipLeases, OwnershipAll)
	}
	if s.ShardLease < ownership.MinLease || s.ShardLease > ownership.MaxLease {
		r.Fail("PRISM_SHARD_LEASE=%s: Azure leases last %s to %s", s.ShardLease, ownership.MinLease, ownership.MaxLease)
	}
	return s, r.Err()
}

// checkPayments refuses what would let a deployment take orders without
// real payments: outside dev mode the provider must be Stripe, with a key,
// at Stripe's own address (stripe-mock is for dev and tests).
func checkPayments(r *config.Reader, s settings) {
	switch s.PaymentProvider {
	case providerSimulator:
		if !s.Auth.DevMode {
			r.Fail("PRISM_PAYMENT_PROVIDER=simulator approves pm_ok for free: dev mode only; configure stripe (PRISM_STRIPE_API_KEY)")
		}
	case providerStripe:
		if s.Stripe.APIKey == "" {
			r.Fail("PRISM_PAYMENT_PROVIDER=stripe needs PRISM_STRIPE_API_KEY")
		}
		if s.Stripe.APIBase != "" && !s.Auth.DevMode {
			r.Fail("PRISM_STRIPE_API_BASE (stripe-mock) is for dev mode only: outside it payments go to Stripe itself")
		}
	default:
		r.Fail("PRISM_PAYMENT_PROVIDER=%q: want %q or %q", s.PaymentProvider, providerStripe, providerSimulator)
	}
}

// payments builds the configured provider.
func payments(s settings, deps *platform.Deps) (paymentprovider.Provider, error) {
	if s.PaymentProvider == providerSimulator {
		return paymentprovider.NewSimulator(deps.Redis, s.PaymentSlowDelay), nil
	}
	return paymentprovider.NewStripe(s.Stripe)
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

	waker := nudge.New(deps.Redis)
	commands := deps.Commands(waker)
	queues := []string{config.EventQueue(SagaSubscriber)}
	for _, s := range cfg.Subscribers {
		queues = append(queues, config.EventQueue(s))
	}
	layout := platform.Layout{StreamTables: []string{cfg.EventsTable, cfg.SnapshotsTable}, Queues: queues, Commands: commands}
	if err := deps.Provision(ctx, time.Minute, layout); err != nil {
		return err
	}

	tokens, err := cfg.Auth.Verifier(ctx, time.Minute)
	if err != nil {
		return err
	}
	provider, err := payments(cfg, deps)
	if err != nil {
		return err
	}
	// Everything domain-service sends goes through batchers: the events of
	// commands handled at the same time share one message per subscriber,
	// as do their follow-ups and deadlines (docs/performance.md).
	batched := commands.Sender(cfg.BatchSends)
	var subscribers []aggregate.Subscriber
	for _, s := range cfg.Subscribers {
		subscribers = append(subscribers, aggregate.Subscriber{Subscription: config.SubscriptionNamed(s),
			Queue: queue.Batching(queue.Open(deps.Account, config.EventQueue(s), waker), cfg.BatchSends)})
	}
	h := handling.New(handling.Deps{Deps: aggregate.Deps{
		Store:       eventstore.NewTableStore(deps.Accounts, cfg.EventsTable, eventcatalog.Upcasters()),
		Snapshots:   eventstore.NewSnapshots(deps.Accounts, cfg.SnapshotsTable),
		Subscribers: subscribers,
		Commands:    batched,
		Deadlines:   batched,
		Outcomes:    aggregate.Outcomes{Status: commandstatus.New(deps.Redis), Notices: notices.NewPublisher(deps.Redis, notices.Config{})},
	}, Payments: provider}, handling.Config{Config: aggregate.Config{CacheSize: cfg.CacheSize, SnapshotEvery: cfg.SnapshotEvery},
		PaymentDeadline: cfg.PaymentDeadline, StepDeadline: cfg.StepDeadline, CartTTL: cartTTL(cfg.CartTTL)})

	// consume runs the consumer of one command queue this replica owns: a
	// shard, or the deadlines queue (deadlines are commands too, handled
	// alike once their delay is over). Taking a shard over, it first drops
	// what it had cached of that shard's streams: another owner may have
	// appended meanwhile.
	consume := func(ctx context.Context, name string) {
		q := commands.Named(name)
		if q != commands.Deadlines() {
			h.ForgetCached(func(stream string) bool { return commands.For(stream) == q })
		}
		cc := deps.ConsumerConfig(cfg.Concurrency, h.Failed)
		cc.BatchWait = shardBatchWait
		_ = queue.NewConsumer(q, h.Handle, waker, cc).Run(ctx)
	}
	saga := queue.NewConsumer(queue.Open(deps.Account, config.EventQueue(SagaSubscriber), waker), h.Events(checkout.Subscriber), waker, deps.ConsumerConfig(cfg.Concurrency, nil))
	g, gctx := errgroup.WithContext(ctx)
	owner := ownership.DefaultOwner()
	if cfg.ShardOwnership == OwnershipLeases {
		balancer, err := ownership.New(deps.Account, ownership.Config{Names: commands.Names(), Owner: owner, Lease: cfg.ShardLease, Work: consume, Logger: deps.Log})
		if err != nil {
			return err
		}
		deps.AddCheck("shards", balancer.Check)
		g.Go(func() error { return balancer.Run(gctx) })
	} else {
		g.Go(func() error { ownership.All(gctx, commands.Names(), consume); return nil })
	}
	g.Go(func() error { return saga.Run(gctx) })
	g.Go(func() error { return deps.ReportToFleet(gctx, fleet.Reporter{Writes: []string{fleet.Notices}}) })
	g.Go(func() error {
		return deps.ServeOps(gctx, func(mux *http.ServeMux) { inspect.Routes(mux, tokens, h) })
	})
	deps.Log.Info("domain-service started", "owner", owner, "commandShards", cfg.CommandShards, "storageAccounts", len(deps.Accounts),
		"shardOwnership", cfg.ShardOwnership, "subscribers", cfg.Subscribers, "payments", cfg.PaymentProvider)
	err = g.Wait()
	deps.Log.Info("domain-service stopped")
	return err
}

// cartTTL maps the setting (0: off) to handling.Config's (negative: off).
func cartTTL(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
