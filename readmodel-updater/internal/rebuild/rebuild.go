// Package rebuild replays the whole event store into a fresh read-model
// table, without publishing notices, then makes it the live table. Readers
// keep reading the old table until the switch and the new one after it, so
// there is no downtime; a catch-up pass then applies whatever moved while the
// rebuild ran, and the old table is dropped.
package rebuild

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/projection"
	"github.com/prism-es/prism/shared/readmodel"
	"github.com/prism-es/prism/shared/storage"
)

// Progress is a rebuild's state, safe to read while it runs.
type Progress = readmodel.RebuildProgress

// The phases of a rebuild.
const (
	PhaseReplaying  = "replaying"
	PhaseSwitching  = "switching"
	PhaseCatchingUp = "catching-up"
	PhaseDone       = "done"
	PhaseFailed     = "failed"
)

// Rebuilder rebuilds projections.
type Rebuilder struct {
	Account *storage.Account
	Store   *readmodel.Store
	Catalog *readmodel.Catalog
	Events  *eventstore.TableStore
	// Workers is how many streams are replayed at once (default 8).
	Workers int

	mu      sync.Mutex
	running map[string]*tracker
}

type tracker struct {
	mu                        sync.Mutex
	p                         Progress
	streams, events, caughtUp atomic.Int64
}

func (t *tracker) snapshot() Progress {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.p
	p.Streams, p.Events, p.CaughtUp = t.streams.Load(), t.events.Load(), t.caughtUp.Load()
	return p
}

func (t *tracker) phase(ph string) {
	t.mu.Lock()
	t.p.Phase = ph
	t.mu.Unlock()
}

// Progress returns the latest progress of projection's rebuild, if any ran.
func (r *Rebuilder) Progress(projectionName string) (Progress, bool) {
	r.mu.Lock()
	t, ok := r.running[projectionName]
	r.mu.Unlock()
	if !ok {
		return Progress{}, false
	}
	return t.snapshot(), true
}

// All returns the latest progress of every rebuild this process ran, by
// projection name (the fleet report carries it to the operations console).
func (r *Rebuilder) All() []Progress {
	r.mu.Lock()
	trackers := make([]*tracker, 0, len(r.running))
	for _, t := range r.running {
		trackers = append(trackers, t)
	}
	r.mu.Unlock()
	out := make([]Progress, 0, len(trackers))
	for _, t := range trackers {
		out = append(out, t.snapshot())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Projection < out[j].Projection })
	return out
}

// Start begins rebuilding p in the background (until ctx ends) and returns
// a channel that delivers the final progress. It refuses to start a second
// rebuild of the same projection in this process while one runs.
func (r *Rebuilder) Start(ctx context.Context, p projection.Projection) (<-chan Progress, error) {
	t, err := r.start(p.Name)
	if err != nil {
		return nil, err
	}
	done := make(chan Progress, 1)
	go func() {
		err := r.run(ctx, p, t)
		t.mu.Lock()
		t.p.FinishedAt = time.Now().UTC()
		if err != nil {
			t.p.Phase, t.p.Error = PhaseFailed, err.Error()
			slog.ErrorContext(ctx, "rebuild failed", "projection", p.Name, "err", err)
		} else {
			t.p.Phase = PhaseDone
		}
		t.mu.Unlock()
		done <- t.snapshot()
	}()
	return done, nil
}

func (r *Rebuilder) start(name string) (*tracker, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running == nil {
		r.running = map[string]*tracker{}
	}
	if t, ok := r.running[name]; ok {
		if ph := t.snapshot().Phase; ph != PhaseDone && ph != PhaseFailed {
			return nil, fmt.Errorf("a rebuild of %s is already running (%s)", name, ph)
		}
	}
	t := &tracker{p: Progress{Projection: name, Phase: PhaseReplaying, StartedAt: time.Now().UTC()}}
	r.running[name] = t
	return t, nil
}

func (r *Rebuilder) run(ctx context.Context, p projection.Projection, t *tracker) error {
	old, err := r.Catalog.Live(ctx, p.Name)
	if err != nil {
		return err
	}
	table := fmt.Sprintf("%s%s", p.Name, time.Now().UTC().Format("20060102150405"))
	if table == old {
		table += "b"
	}
	t.mu.Lock()
	t.p.Table, t.p.From = table, old
	t.mu.Unlock()
	if err := r.Account.EnsureTables(ctx, table); err != nil {
		return err
	}
	started := time.Now()
	slog.InfoContext(ctx, "rebuild replaying", "projection", p.Name, "table", table, "from", old)

	workers := r.Workers
	if workers <= 0 {
		workers = 8
	}
	g, gctx := errgroup.WithContext(ctx)
	streams := make(chan string, workers*4)
	g.Go(func() error {
		defer close(streams)
		return r.Events.ListStreams(gctx, p.AggregateType, func(s string) error {
			select {
			case streams <- s:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		})
	})
	for range workers {
		g.Go(func() error {
			for s := range streams {
				if err := r.replay(gctx, p, table, s, t); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}

	t.phase(PhaseSwitching)
	if err := r.Catalog.Switch(ctx, p.Name, table); err != nil {
		return err
	}
	// Let every updater and reader see the switch before catching up, so
	// nothing written to the old table after this point is lost.
	select {
	case <-time.After(2*r.Catalog.TTL() + 500*time.Millisecond):
	case <-ctx.Done():
		return ctx.Err()
	}

	t.phase(PhaseCatchingUp)
	runner := projection.NewRunner(r.Store, r.Catalog, r.Events, nil, p)
	margin := time.Minute // clock skew between writers
	err = r.Events.StreamsChangedSince(ctx, p.AggregateType, started.Add(-margin), func(s string) error {
		events, err := r.Events.Load(ctx, s, 1)
		if err != nil || len(events) == 0 {
			return err
		}
		if _, _, err := runner.Apply(ctx, p, table, events[len(events)-1]); err != nil {
			return err
		}
		t.caughtUp.Add(1)
		return nil
	})
	if err != nil {
		return err
	}
	if old != table {
		if _, err := r.Account.Tables.DeleteTable(ctx, old, nil); err != nil && !storage.HasStatus(err, 404) {
			slog.WarnContext(ctx, "old read-model table not deleted", "table", old, "err", err)
		}
	}
	slog.InfoContext(ctx, "rebuild done", "projection", p.Name, "table", table, "streams", t.streams.Load(), "events", t.events.Load())
	return nil
}

// replay folds one stream into its row (and secondary rows) in table.
func (r *Rebuilder) replay(ctx context.Context, p projection.Projection, table, stream string, t *tracker) error {
	events, err := r.Events.Load(ctx, stream, 1)
	if err != nil || len(events) == 0 {
		return err
	}
	var doc []byte
	for _, e := range events {
		if doc, err = p.Apply(doc, e); err != nil {
			return fmt.Errorf("replay %s v%d: %w", stream, e.Version, err)
		}
	}
	last := events[len(events)-1]
	pk, rk := p.Key(last.AggregateID)
	if err := r.Store.Upsert(ctx, table, readmodel.Row{PartitionKey: pk, RowKey: rk, Version: last.Version, Doc: doc, UpdatedAt: last.OccurredAt}); err != nil {
		return err
	}
	if p.Secondary != nil {
		rows, err := p.Secondary(doc, last.Version)
		if err != nil {
			return err
		}
		for _, s := range rows {
			if err := r.Store.Upsert(ctx, table, readmodel.Row{PartitionKey: s.PartitionKey, RowKey: s.RowKey, Version: last.Version, Doc: s.Doc}); err != nil {
				return err
			}
		}
	}
	t.streams.Add(1)
	t.events.Add(int64(len(events)))
	return nil
}
