// Command domain-service applies commands to aggregates: any number of
// replicas compete on the commands queue, rehydrate the aggregate, apply its
// rules and append the events atomically with optimistic concurrency, then
// publish them to every subscriber queue.
package main

import (
	"context"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/prism-es/prism/domain-service/internal/handling"
	"github.com/prism-es/prism/domain-service/internal/inspect"
	"github.com/prism-es/prism/domain-service/internal/paymentprovider"
	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/broadcast"
	"github.com/prism-es/prism/shared/commandstatus"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/eventcatalog"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/fleet"
	"github.com/prism-es/prism/shared/money"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/nudge"
	"github.com/prism-es/prism/shared/platform"
	"github.com/prism-es/prism/shared/queue"
)

// SagaSubscriber names the checkout saga's event queue ("events-saga").
const SagaSubscriber = "saga"

// DeadlinesQueue carries the delayed follow-up commands (handling.Deps.Deadlines).
const DeadlinesQueue = "deadlines"

func main() { platform.Main("domain-service", run) }

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
}

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

	queues := []string{cfg.CommandsQueue, DeadlinesQueue, config.EventQueue(SagaSubscriber)}
	for _, s := range cfg.Subscribers {
		queues = append(queues, config.EventQueue(s))
	}
	if err := deps.Provision(ctx, time.Minute, []string{cfg.EventsTable, cfg.SnapshotsTable}, queues); err != nil {
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
	waker := nudge.New(deps.Redis)
	commands := queue.Open(deps.Account, cfg.CommandsQueue, waker)
	deadlines := queue.Open(deps.Account, DeadlinesQueue, waker)
	var subscribers []handling.Subscriber
	for _, s := range cfg.Subscribers {
		subscribers = append(subscribers, handling.Subscriber{Subscription: config.SubscriptionNamed(s), Queue: queue.Open(deps.Account, config.EventQueue(s), waker)})
	}
	h := handling.New(handling.Deps{
		Store:       eventstore.NewTableStore(deps.Account, cfg.EventsTable, eventcatalog.Upcasters()),
		Snapshots:   eventstore.NewSnapshots(deps.Account, cfg.SnapshotsTable),
		Subscribers: subscribers,
		Commands:    commands,
		Deadlines:   deadlines,
		Outcomes:    handling.Outcomes{Status: commandstatus.New(deps.Redis), Notices: notices.NewPublisher(deps.Redis, notices.Config{})},
		Payments:    provider,
		Peers:       broadcast.New(deps.Redis),
	}, handling.Config{CacheSize: cfg.CacheSize, SnapshotEvery: cfg.SnapshotEvery, PaymentDeadline: cfg.PaymentDeadline,
		StepDeadline: cfg.StepDeadline, CartTTL: cartTTL(cfg.CartTTL)})

	consumer := queue.NewConsumer(commands, h.Handle, waker, deps.ConsumerConfig(cfg.Concurrency, h.Failed))
	// Deadlines are commands too, handled alike once their delay is over.
	due := queue.NewConsumer(deadlines, h.Handle, waker, deps.ConsumerConfig(cfg.Concurrency, h.Failed))
	saga := queue.NewConsumer(queue.Open(deps.Account, config.EventQueue(SagaSubscriber), waker), h.HandleSagaEvent, waker, deps.ConsumerConfig(cfg.Concurrency, nil))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return consumer.Run(gctx) })
	g.Go(func() error { return saga.Run(gctx) })
	g.Go(func() error { return due.Run(gctx) })
	g.Go(func() error { h.KeepCachesWarm(gctx); return nil })
	g.Go(func() error { return deps.ReportToFleet(gctx, fleet.Reporter{Writes: []string{fleet.Notices}}) })
	g.Go(func() error {
		return deps.ServeOps(gctx, func(mux *http.ServeMux) { inspect.Routes(mux, tokens, h) })
	})
	deps.Log.Info("domain-service started", "queue", cfg.CommandsQueue, "subscribers", cfg.Subscribers, "payments", cfg.PaymentProvider)
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
