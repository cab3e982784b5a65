package aggregate

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventcatalog"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/logging"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/tracing"
)

// SnapshotStore is the part of the kit's snapshot table the handler uses
// (eventstore.NewSnapshots).
type SnapshotStore interface {
	Get(ctx context.Context, stream string, stateVersion int) (eventstore.Snapshot, bool, error)
	Put(ctx context.Context, snap eventstore.Snapshot) error
}

// Config tunes a Handler. Zero fields take the defaults.
type Config struct {
	// CacheSize bounds the per-replica state cache (default 10,000; negative: off).
	CacheSize int
	// SnapshotEvery writes a snapshot each time a stream crosses a multiple of
	// this many events (default 100; negative: never).
	SnapshotEvery int
	// MaxConflictRetries bounds reload-and-decide rounds for one delivery
	// before the message is left for a later retry (default 50).
	MaxConflictRetries int
	// AfterAppend, when set, runs after a successful append and before the
	// events are published. Tests use it to simulate a replica dying there.
	AfterAppend func(ctx context.Context, cmd envelope.Command) error
	// Notifications, when set, is the subscriber whose events end a Trace in
	// a notification leaf.
	Notifications config.Subscription
}

// Deps are the ports the handler works through.
type Deps struct {
	// Store is the event store (eventstore.NewTableStore).
	Store eventstore.Store
	// Snapshots, if set, keeps snapshots of long streams (a speed-up only).
	Snapshots SnapshotStore
	// Subscribers are the event subscribers, each with its queue.
	Subscribers []Subscriber
	// Commands is where follow-up commands go.
	Commands queue.Sender
	// Deadlines, when set, is where delayed follow-ups go (an expiry, a
	// process manager's deadline): a queue of their own keeps them out of
	// the commands queue's depth until they are due. Nil: Commands.
	Deadlines queue.Sender
	// Outcomes records how each client's command ended.
	Outcomes Outcomes
	// Validate checks every decided event before it is appended (nil: the
	// kit's event catalog, eventcatalog.Validate). An invalid event is a
	// permanent failure: the command goes to the poison queue.
	Validate func(envelope.Event) error
}

// Subscriber is an event subscriber's queue and what it wants.
type Subscriber struct {
	// Subscription says which events it wants (zero: every event).
	config.Subscription
	// Queue is its events-<name> queue.
	Queue queue.Sender
}

// Handler handles command messages: load (cache, snapshot, events) →
// decide → append atomically with the command's marker → publish the
// events to every subscriber queue and send their reactions → record the
// outcome. It is safe for concurrent use; run one per replica.
type Handler struct {
	deps  Deps
	cfg   Config
	reg   *Registry
	cache *stateCache
}

// New returns a handler for the aggregates registered in reg (which must not
// change afterwards).
func New(deps Deps, cfg Config, reg *Registry) *Handler {
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 10_000
	}
	if cfg.SnapshotEvery == 0 {
		cfg.SnapshotEvery = 100
	}
	if cfg.MaxConflictRetries == 0 {
		cfg.MaxConflictRetries = 50
	}
	if deps.Validate == nil {
		deps.Validate = eventcatalog.Validate
	}
	if reg == nil {
		reg = &Registry{}
	}
	return &Handler{deps: deps, cfg: cfg, reg: reg, cache: newStateCache(cfg.CacheSize)}
}

// Handle is the queue.Handler for the commands queue.
func (h *Handler) Handle(ctx context.Context, m *queue.Message) error {
	cmd, err := envelope.DecodeCommand(m.Body)
	if err != nil {
		return queue.Permanent(fmt.Errorf("undecodable command: %w", err))
	}
	start := time.Now()
	defer func() { commandSeconds.WithLabelValues(cmd.Type).Observe(time.Since(start).Seconds()) }()
	return h.Execute(ctx, cmd)
}

// Execute applies one command (from the queue, or in-process from the saga's
// process managers). A nil error means it is done: applied, found applied before, or
// rejected with its outcome recorded.
func (h *Handler) Execute(ctx context.Context, cmd envelope.Command) error {
	// The command's trace continues here, and its events carry this span on.
	ctx, span := tracing.StartFrom(ctx, cmd.Metadata.Traceparent, "handle "+cmd.Type, trace.SpanKindConsumer,
		attribute.String("prism.command_id", cmd.CommandID), attribute.String("prism.stream", cmd.StreamID()))
	defer span.End()
	ctx = logging.With(ctx, slog.String("commandId", cmd.CommandID), slog.String("commandType", cmd.Type),
		slog.String("correlationId", cmd.Metadata.CorrelationID), slog.String("traceId", tracing.TraceID(ctx)))
	agg, ok := h.reg.Get(cmd.AggregateType)
	if !ok {
		// No stream to record it in; the refusal is the same on every delivery.
		return h.reject(ctx, cmd, fmt.Sprintf("unknown aggregate type %q", cmd.AggregateType))
	}
	return h.handle(ctx, agg, cmd)
}

func (h *Handler) handle(ctx context.Context, agg Aggregate, cmd envelope.Command) error {
	stream := cmd.StreamID()
	fresh := false
	for attempt := 0; ; attempt++ {
		cur, fromCache, err := h.load(ctx, agg, stream, fresh)
		if err != nil {
			return err
		}
		pending, err := agg.Decide(ctx, cur.state, cmd, h.lookup)
		if fromCache && (len(pending) == 0 || IsRejection(err)) {
			// A stale cached state may explain a refusal or a "nothing to
			// do", and an append without events has no version row to
			// conflict on: decide again on the stored state.
			fresh = true
			continue
		}
		if err != nil {
			if !IsRejection(err) {
				return err
			}
			// The rejection is recorded as the command's marker, so no later
			// delivery can apply it. A redelivered command can be refused by
			// the very state it made (CreateCart: "already exists"): then the
			// marker is already there, and its outcome stands.
			rerr := h.deps.Store.Reject(ctx, stream, cmd.CommandID, apperr.MessageOf(err))
			if dup, ok := eventstore.AsDuplicate(rerr); ok {
				return h.duplicate(ctx, agg, cmd, dup, cur)
			}
			if rerr != nil {
				return rerr
			}
			return h.reject(ctx, cmd, apperr.MessageOf(err))
		}
		events := NewEvents(cmd, tracing.Traceparent(ctx), cur.version, pending)
		for _, e := range events {
			if err := h.deps.Validate(e); err != nil {
				return queue.Permanent(fmt.Errorf("decided an event outside the catalog: %w", err))
			}
		}
		actx, aspan := tracing.Start(ctx, "eventstore.append", attribute.Int64("prism.expected_version", cur.version), attribute.Int("prism.events", len(events)))
		err = h.deps.Store.Append(actx, stream, cur.version, events, cmd.CommandID)
		aspan.End()
		if dup, ok := eventstore.AsDuplicate(err); ok {
			return h.duplicate(ctx, agg, cmd, dup, cur)
		}
		if eventstore.IsConflict(err) {
			conflictRetries.Inc()
			fresh = true // catch the cached state up with what was appended meanwhile
			if attempt >= h.cfg.MaxConflictRetries {
				return fmt.Errorf("stream %s: still conflicting after %d attempts", stream, attempt+1)
			}
			continue
		}
		if err != nil {
			return err
		}
		next := cur
		for _, e := range events {
			if next.state, err = agg.Evolve(next.state, e); err != nil {
				return err
			}
			next.version = e.Version
		}
		h.cache.put(stream, next)
		h.maybeSnapshot(ctx, agg, stream, cur.version, next)
		if h.cfg.AfterAppend != nil {
			if err := h.cfg.AfterAppend(ctx, cmd); err != nil {
				return err
			}
		}
		commandsTotal.WithLabelValues(cmd.Type, "succeeded").Inc()
		slog.DebugContext(ctx, "command applied", "stream", stream, "version", next.version, "events", len(events))
		var again []Reaction
		if len(events) == 0 {
			if again, err = h.rearm(ctx, agg, cmd, next); err != nil {
				return err
			}
		}
		return h.finish(ctx, agg, cmd, events, next.version, again...)
	}
}

// finish publishes the command's recorded events, sends the commands that
// follow from them and records success. It runs again, unchanged, for a
// redelivered command, so every step is idempotent.
func (h *Handler) finish(ctx context.Context, agg Aggregate, cmd envelope.Command, events []envelope.Event, version int64, more ...Reaction) error {
	// The events go to their subscribers and the commands that follow from
	// them to their queues all at once: each send waits for a batch, and
	// none needs another first.
	ctx, span := tracing.Start(ctx, "publish", attribute.Int("prism.events", len(events)))
	defer span.End()
	g, gctx := errgroup.WithContext(ctx)
	if err := h.publish(gctx, g, events); err != nil {
		return err
	}
	reactions := more
	for _, e := range events {
		next, err := agg.React(e)
		if err != nil {
			return err
		}
		reactions = append(reactions, next...)
	}
	for _, r := range reactions {
		body, err := json.Marshal(r.Command)
		if err != nil {
			return err
		}
		to := h.deps.Commands
		var opts []queue.SendOption
		if r.Delay > 0 {
			opts = append(opts, queue.WithDelay(r.Delay))
			if h.deps.Deadlines != nil {
				to = h.deps.Deadlines
			}
		}
		g.Go(func() error { return to.Send(gctx, body, opts...) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if len(events) > 0 {
		version = events[len(events)-1].Version
	}
	return h.deps.Outcomes.Succeeded(ctx, cmd, version)
}

// duplicate answers a command handled before with its first outcome: a
// rejection again, or its recorded events re-published (a replica may have
// died before publishing them).
func (h *Handler) duplicate(ctx context.Context, agg Aggregate, cmd envelope.Command, dup *eventstore.DuplicateCommandError, cur cached) error {
	commandsTotal.WithLabelValues(cmd.Type, "duplicate").Inc()
	if dup.Rejected {
		slog.InfoContext(ctx, "command was rejected before; its rejection stands", "reason", dup.Reason)
		return h.deps.Outcomes.Rejected(ctx, cmd, dup.Reason)
	}
	slog.InfoContext(ctx, "command was applied before; re-publishing its events", "events", len(dup.Events))
	var again []Reaction
	if len(dup.Events) == 0 {
		// A deadline that re-armed itself may have died before sending it.
		var err error
		if again, err = h.rearm(ctx, agg, cmd, cur); err != nil {
			return err
		}
	}
	return h.finish(ctx, agg, cmd, dup.Events, cur.version, again...)
}

// rearm asks the aggregate which commands follow from cmd deciding nothing
// on cur (Definition.Rearm).
func (h *Handler) rearm(ctx context.Context, agg Aggregate, cmd envelope.Command, cur cached) ([]Reaction, error) {
	return agg.Rearm(cur.state, cmd, func() (time.Time, error) {
		events, err := h.deps.Store.Load(ctx, cmd.StreamID(), cur.version)
		if err != nil || len(events) == 0 {
			return time.Time{}, err
		}
		return events[0].OccurredAt, nil
	})
}

func (h *Handler) reject(ctx context.Context, cmd envelope.Command, reason string) error {
	commandsTotal.WithLabelValues(cmd.Type, "rejected").Inc()
	slog.InfoContext(ctx, "command rejected", "reason", reason)
	return h.deps.Outcomes.Rejected(ctx, cmd, reason)
}

// Failed records that a command was given up on (moved to the poison queue).
// It is the consumer's OnPoison hook.
func (h *Handler) Failed(ctx context.Context, m *queue.Message, reason string) {
	var cmd envelope.Command
	if json.Unmarshal(m.Body, &cmd) != nil || cmd.CommandID == "" {
		return
	}
	commandsTotal.WithLabelValues(cmd.Type, "failed").Inc()
	if err := h.deps.Outcomes.Failed(ctx, cmd); err != nil {
		slog.WarnContext(ctx, "could not record the failed status", "commandId", cmd.CommandID, "err", err)
	}
}

// IsRejection reports whether err refuses a command for good (apperr kinds
// Rejected, NotFound, Invalid): its outcome is recorded, not retried.
func IsRejection(err error) bool {
	switch apperr.KindOf(err) {
	case apperr.Rejected, apperr.NotFound, apperr.Invalid:
		return true
	}
	return false
}

// NewEvents gives decided events their envelopes: ids, versions after base,
// cmd's metadata, and traceparent (the handling span) so their subscribers
// join the trace. Their time is envelope.Now, at the store's precision, so
// a republished event is byte for byte the one first published.
func NewEvents(cmd envelope.Command, traceparent string, base int64, decided []Decided) []envelope.Event {
	now := envelope.Now()
	meta := envelope.MetadataFor(cmd)
	meta.Traceparent = traceparent
	out := make([]envelope.Event, len(decided))
	for i, p := range decided {
		out[i] = envelope.Event{
			EventID: uuid.NewString(), Type: p.Type, SchemaVersion: p.SchemaVersion,
			AggregateType: cmd.AggregateType, AggregateID: cmd.AggregateID,
			Version: base + int64(i) + 1, OccurredAt: now, Data: p.Data, Metadata: meta,
		}
	}
	return out
}
