package projection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventcatalog"
	"github.com/prism-es/prism/shared/logging"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/readmodel"
	"github.com/prism-es/prism/shared/tracing"
)

// EventLoader reads a range of a stream's events (the kit's TableStore).
type EventLoader interface {
	LoadRange(ctx context.Context, stream string, from, to int64) ([]envelope.Event, error)
}

// Publisher publishes change notices (the kit's notices.Publisher).
type Publisher interface {
	Publish(ctx context.Context, items ...notices.Item) ([]string, error)
}

// Runner applies events to the projections of their aggregate types.
type Runner struct {
	store   *readmodel.Store
	catalog *readmodel.Catalog
	events  EventLoader
	notices Publisher // nil: no notices (rebuilds)
	byType  map[string]Projection
	rows    *lru.Cache[string, readmodel.Row]
}

// rowCacheSize bounds the rows (with their ETags) a runner remembers, so an
// update usually needs no read first. A stale entry is safe: its ETag no
// longer matches, the write is refused and the row is read again.
const rowCacheSize = 10_000

// NewRunner returns a runner of projections, at most one per aggregate
// type: registering a projection is passing it here. store holds the rows,
// catalog names each projection's live table, events fills gaps, and
// notices announces changes (nil: none, as rebuilds run).
func NewRunner(store *readmodel.Store, catalog *readmodel.Catalog, events EventLoader, notices Publisher, projections ...Projection) *Runner {
	rows, _ := lru.New[string, readmodel.Row](rowCacheSize)
	r := &Runner{store: store, catalog: catalog, events: events, notices: notices, byType: map[string]Projection{}, rows: rows}
	for _, p := range projections {
		r.byType[p.AggregateType] = p
		initSeries(p.Name)
	}
	return r
}

// Handle is the queue.Handler of an event subscriber queue.
func (r *Runner) Handle(ctx context.Context, m *queue.Message) error {
	e, err := eventcatalog.DecodeEvent(m.Body)
	if err != nil {
		return queue.Permanent(fmt.Errorf("undecodable event: %w", err))
	}
	p, ok := r.byType[e.AggregateType]
	if !ok {
		return nil // not projected here
	}
	ctx, span := tracing.StartFrom(ctx, e.Metadata.Traceparent, "project "+e.Type, trace.SpanKindConsumer,
		attribute.String("prism.projection", p.Name), attribute.String("prism.event_id", e.EventID))
	defer span.End()
	ctx = logging.With(ctx, slog.String("eventId", e.EventID), slog.String("eventType", e.Type),
		slog.String("correlationId", e.Metadata.CorrelationID), slog.String("traceId", tracing.TraceID(ctx)))
	table, err := r.catalog.Live(ctx, p.Name)
	if err != nil {
		return err
	}
	changed, doc, err := r.Apply(ctx, p, table, e)
	if err != nil {
		return err
	}
	slog.DebugContext(ctx, "event projected", "projection", p.Name, "version", e.Version, "changed", changed)
	lagSeconds.WithLabelValues(p.Name).Observe(time.Since(e.OccurredAt).Seconds())
	if doc == nil || r.notices == nil || p.Notices == nil {
		return nil
	}
	if !changed {
		projected.WithLabelValues(p.Name, "noop").Inc()
	}
	items, err := p.Notices(doc)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return nil
	}
	for i := range items {
		items[i].Traceparent = tracing.Traceparent(ctx)
	}
	_, err = r.notices.Publish(ctx, items...)
	return err
}

// maxAttempts bounds the read-apply-write rounds lost to concurrent writers.
const maxAttempts = 50

func rowKey(table, pk, rk string) string { return table + "\x00" + pk + "\x00" + rk }

// read returns a row from the cache (unless fresh) or the table.
func (r *Runner) read(ctx context.Context, table, pk, rk string, fresh bool) (row readmodel.Row, exists, cached bool, err error) {
	k := rowKey(table, pk, rk)
	if !fresh {
		if row, ok := r.rows.Get(k); ok {
			return row, true, true, nil
		}
	}
	row, exists, err = r.store.Get(ctx, table, pk, rk)
	if err == nil && exists {
		r.rows.Add(k, row)
	}
	return row, exists, false, err
}

// write stores row (conditionally on its ETag) and remembers it; on a
// refusal it forgets the cached copy.
func (r *Runner) write(ctx context.Context, table string, row readmodel.Row) error {
	k := rowKey(table, row.PartitionKey, row.RowKey)
	stored, err := r.store.Put(ctx, table, row)
	if err != nil {
		r.rows.Remove(k)
		return err
	}
	r.rows.Add(k, stored)
	return nil
}

// Apply brings the row of e's aggregate in table up to e.Version and writes
// its secondary rows. It returns whether the row changed and the document to
// announce: the new document, or on an exact redelivery of the row's latest
// event the current one again (its notice may not have gone out the first
// time); nil when e is older than the row (nothing to say).
func (r *Runner) Apply(ctx context.Context, p Projection, table string, e envelope.Event) (changed bool, announce json.RawMessage, err error) {
	pk, rk := p.Key(e.AggregateID)
	fresh := false
	for range maxAttempts {
		row, exists, cached, err := r.read(ctx, table, pk, rk, fresh)
		if err != nil {
			return false, nil, err
		}
		switch {
		case exists && e.Version < row.Version:
			// Versions only grow, so a cached row this new is proof enough.
			projected.WithLabelValues(p.Name, "stale").Inc()
			return false, nil, nil
		case exists && e.Version == row.Version && cached:
			fresh = true // announce the stored document, not a cached one
			continue
		case exists && e.Version == row.Version:
			// A redelivery of the row's latest event: the first delivery may
			// have died before its secondary rows or notices went out.
			return false, row.Doc, r.writeSecondary(ctx, p, table, row.Doc, row.Version)
		}
		from := row.Version + 1
		events := []envelope.Event{e}
		if e.Version != from {
			// A gap: read what is missing from the event store, never skip.
			if events, err = r.events.LoadRange(ctx, e.StreamID(), from, e.Version); err != nil {
				return false, nil, err
			}
			if int64(len(events)) != e.Version-from+1 {
				return false, nil, fmt.Errorf("gap fill of %s %d..%d found %d events", e.StreamID(), from, e.Version, len(events))
			}
			gapFills.WithLabelValues(p.Name).Inc()
		}
		doc := row.Doc
		if !exists {
			doc = nil
		}
		for _, ev := range events {
			if doc, err = p.Apply(doc, ev); err != nil {
				return false, nil, queue.Permanent(fmt.Errorf("project %s v%d: %w", ev.StreamID(), ev.Version, err))
			}
		}
		next := readmodel.Row{PartitionKey: pk, RowKey: rk, Version: e.Version, Doc: doc, ETag: row.ETag}
		if !exists {
			next.ETag = ""
		}
		if err := r.write(ctx, table, next); errors.Is(err, readmodel.ErrPreconditionFailed) {
			conflicts.WithLabelValues(p.Name).Inc()
			fresh = true // someone else wrote it (or our copy was stale): read again
			continue
		} else if err != nil {
			return false, nil, err
		}
		if err := r.writeSecondary(ctx, p, table, doc, e.Version); err != nil {
			return false, nil, err
		}
		projected.WithLabelValues(p.Name, "applied").Inc()
		return true, doc, nil
	}
	return false, nil, fmt.Errorf("row %s/%s kept changing under %d attempts", pk, rk, maxAttempts)
}

// writeSecondary writes derived rows, each version-gated like the main row.
func (r *Runner) writeSecondary(ctx context.Context, p Projection, table string, doc json.RawMessage, version int64) error {
	if p.Secondary == nil {
		return nil
	}
	rows, err := p.Secondary(doc, version)
	if err != nil {
		return err
	}
	for _, s := range rows {
		if err := r.putIfNewer(ctx, table, readmodel.Row{PartitionKey: s.PartitionKey, RowKey: s.RowKey, Version: version, Doc: s.Doc}); err != nil {
			return err
		}
	}
	return nil
}

func (r *Runner) putIfNewer(ctx context.Context, table string, row readmodel.Row) error {
	fresh := false
	for range maxAttempts {
		cur, exists, _, err := r.read(ctx, table, row.PartitionKey, row.RowKey, fresh)
		if err != nil {
			return err
		}
		if exists && cur.Version >= row.Version {
			return nil
		}
		row.ETag = cur.ETag
		if !exists {
			row.ETag = ""
		}
		err = r.write(ctx, table, row)
		if !errors.Is(err, readmodel.ErrPreconditionFailed) {
			return err
		}
		fresh = true
	}
	slog.WarnContext(ctx, "secondary row kept changing", "pk", row.PartitionKey, "rk", row.RowKey)
	return fmt.Errorf("secondary row %s/%s kept changing", row.PartitionKey, row.RowKey)
}
