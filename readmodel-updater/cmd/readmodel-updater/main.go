// Command readmodel-updater projects events into read-model tables and
// publishes change notices for live clients.
//
//	readmodel-updater                       consume events-readmodel (the service)
//	readmodel-updater rebuild <projection>  replay the event store into a fresh table and switch to it
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/prism-es/prism/readmodel-updater/internal/admin"
	"github.com/prism-es/prism/readmodel-updater/internal/notifications"
	"github.com/prism-es/prism/readmodel-updater/internal/notifications/email"
	"github.com/prism-es/prism/readmodel-updater/internal/notifications/push"
	"github.com/prism-es/prism/readmodel-updater/internal/notifications/sms"
	"github.com/prism-es/prism/readmodel-updater/internal/projections"
	"github.com/prism-es/prism/readmodel-updater/internal/rebuild"
	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/eventcatalog"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/fleet"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/nudge"
	"github.com/prism-es/prism/shared/platform"
	"github.com/prism-es/prism/shared/preferences"
	"github.com/prism-es/prism/shared/projection"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/readmodel"
)

func main() {
	platform.Main("readmodel-updater", func(ctx context.Context) error { return run(ctx, os.Args[1:]) })
}

// Subscriber names this service's projection queue ("events-readmodel").
const Subscriber = "readmodel"

// NotificationSubscriber names the notification subscriber's queue ("events-notifications").
const NotificationSubscriber = "notifications"

type settings struct {
	config.Common
	Auth        auth.Settings
	Concurrency int
	Channels    notifications.Settings
}

func load() (settings, error) {
	r := config.FromEnv()
	s := settings{
		Common:      config.LoadCommon(r, "readmodel-updater", 8083),
		Auth:        auth.LoadSettings(r),
		Concurrency: r.Int("PRISM_CONCURRENCY", 16),
	}
	s.Channels = notifications.LoadSettings(r, s.Auth.DevMode)
	return s, r.Err()
}

func allProjections() []projection.Projection { return projections.All() }

func run(ctx context.Context, args []string) error {
	cfg, err := load()
	if err != nil {
		return err
	}
	deps, err := platform.Open(cfg.Common)
	if err != nil {
		return err
	}
	defer deps.Close()
	layout := platform.Layout{
		Tables:       append([]string{readmodel.CatalogTable, notifications.DeliveriesTable, sms.Table}, preferences.Tables...),
		StreamTables: []string{cfg.EventsTable},
		Queues:       []string{config.EventQueue(Subscriber), config.EventQueue(NotificationSubscriber), notifications.DeliveriesQueue},
	}
	if err := deps.Provision(ctx, time.Minute, layout); err != nil {
		return err
	}
	store := readmodel.NewStore(deps.Account)
	catalog := readmodel.NewCatalog(deps.Account, 0)
	events := eventstore.NewTableStore(deps.Accounts, cfg.EventsTable, eventcatalog.Upcasters())
	// Every projection's live table must exist (after a rebuild it is not
	// the projection's own name).
	for _, p := range append(allProjections(), projection.Projection{Name: readmodel.Notifications}) {
		live, err := catalog.Live(ctx, p.Name)
		if err != nil {
			return err
		}
		if err := deps.Account.EnsureTables(ctx, live); err != nil {
			return err
		}
	}
	rebuilder := &rebuild.Rebuilder{Account: deps.Account, Store: store, Catalog: catalog, Events: events}
	byName := map[string]projection.Projection{}
	for _, p := range allProjections() {
		byName[p.Name] = p
	}

	if len(args) > 0 {
		return command(ctx, args, rebuilder, byName)
	}

	tokens, err := cfg.Auth.Verifier(ctx, time.Minute)
	if err != nil {
		return err
	}
	publisher := notices.NewPublisher(deps.Redis, notices.Config{})
	runner := projection.NewRunner(store, catalog, events, publisher, allProjections()...)
	waker := nudge.New(deps.Redis)
	prefs := preferences.NewStore(deps.Account)
	deliveries := queue.Open(deps.Account, notifications.DeliveriesQueue, waker)
	notifier := notifications.New(store, catalog, events, publisher, prefs, deliveries, cfg.Channels.Admins)
	channels, err := openChannels(cfg.Channels, store, prefs)
	if err != nil {
		return err
	}
	deliverer := notifications.NewDeliverer(store, prefs, channels)
	consumerCfg := deps.ConsumerConfig(cfg.Concurrency, nil)
	projecting := queue.NewConsumer(queue.Open(deps.Account, config.EventQueue(Subscriber), waker), runner.Handle, waker, consumerCfg)
	notifying := queue.NewConsumer(queue.Open(deps.Account, config.EventQueue(NotificationSubscriber), waker), notifier.Handle, waker, consumerCfg)
	deliverCfg := consumerCfg
	deliverCfg.OnPoison = deliverer.Failed
	delivering := queue.NewConsumer(deliveries, deliverer.Handle, waker, deliverCfg)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return projecting.Run(gctx) })
	g.Go(func() error { return notifying.Run(gctx) })
	g.Go(func() error { return delivering.Run(gctx) })
	g.Go(func() error {
		return deps.ReportToFleet(gctx, fleet.Reporter{Writes: []string{fleet.Notices},
			Extra: func() map[string]any { return map[string]any{"rebuilds": rebuilder.All()} }})
	})
	g.Go(func() error {
		return deps.ServeOps(gctx, func(mux *http.ServeMux) { admin.Routes(gctx, mux, tokens, rebuilder, byName) })
	})
	deps.Log.Info("readmodel-updater started", "queue", config.EventQueue(Subscriber))
	return g.Wait()
}

// openChannels builds the notification channels the settings allow: e-mail
// when an SMTP server is set, web push when VAPID keys are, and SMS through
// the local sink (dev mode) or none (every SMS recorded as failed).
func openChannels(s notifications.Settings, store *readmodel.Store, prefs *preferences.Store) (map[string]notifications.Channel, error) {
	channels := map[string]notifications.Channel{preferences.SMS: sms.None{}}
	if s.SMSProvider == notifications.SMSSink {
		channels[preferences.SMS] = sms.Sink{Store: store}
	}
	if s.SMTPAddr != "" {
		mail, err := email.New(s)
		if err != nil {
			return nil, err
		}
		channels[preferences.Email] = mail
	}
	if s.VAPIDPrivateKey != "" {
		channels[preferences.Push] = push.New(s, prefs)
	}
	return channels, nil
}

// command runs a subcommand: rebuild <projection>.
func command(ctx context.Context, args []string, r *rebuild.Rebuilder, byName map[string]projection.Projection) error {
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	if args[0] != "rebuild" || len(args) != 2 {
		return fmt.Errorf("usage: readmodel-updater [rebuild <%s>]", strings.Join(names, "|"))
	}
	p, ok := byName[args[1]]
	if !ok {
		return fmt.Errorf("no projection %q; there are %s", args[1], strings.Join(names, "|"))
	}
	done, err := r.Start(ctx, p)
	if err != nil {
		return err
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case prog := <-done:
			fmt.Fprintf(os.Stderr, "\r%-80s\n", describe(prog))
			if prog.Error != "" {
				return errors.New(prog.Error)
			}
			return nil
		case <-tick.C:
			if prog, ok := r.Progress(p.Name); ok {
				fmt.Fprintf(os.Stderr, "\r%-80s", describe(prog))
			}
		}
	}
}

func describe(p rebuild.Progress) string {
	return fmt.Sprintf("%s → %s: %s, %d streams, %d events, %d caught up, %s",
		p.Projection, p.Table, p.Phase, p.Streams, p.Events, p.CaughtUp, time.Since(p.StartedAt).Round(100*time.Millisecond))
}
