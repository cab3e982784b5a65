package aggregate

import (
	"context"
	"time"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/tracing"
)

// Trace limits: a checkout's whole chain is about 60 nodes.
const (
	traceMaxDepth = 24
	traceMaxNodes = 400
)

// The kinds of TraceNode.
const (
	NodeCommand      = "command"
	NodeEvent        = "event"
	NodeNotification = "notification"
)

// TraceNode is one step of a command's causation chain.
type TraceNode struct {
	Kind string `json:"kind"`
	// ID is the command's or the event's id.
	ID     string `json:"id"`
	Type   string `json:"type"`
	Stream string `json:"stream"`
	// Version is an event's version.
	Version int64 `json:"version,omitempty"`
	// At is when an event occurred, or when a command was applied (its
	// first event); zero for a command not applied (yet) or applied without
	// events.
	At time.Time `json:"at,omitzero"`
	// Status of a command: applied, applied-without-events, or pending (not
	// applied yet: still queued, delayed, or failed).
	Status        string `json:"status,omitempty"`
	CausationID   string `json:"causationId,omitempty"`
	CorrelationID string `json:"correlationId,omitempty"`
	TraceID       string `json:"traceId,omitempty"`
	// Delay is how long a follow-up command was held back (a saga deadline).
	Delay    string      `json:"delay,omitempty"`
	Children []TraceNode `json:"children,omitempty"`
}

// Traced is a command's causation chain.
type Traced struct {
	Root TraceNode `json:"root"`
	// Nodes counts the nodes; Truncated says limits cut the chain short.
	Nodes     int  `json:"nodes"`
	Truncated bool `json:"truncated,omitempty"`
}

type tracer struct {
	h     *Handler
	nodes int
	cut   bool
	seen  map[string]bool
}

// Trace follows a command through the event store: the events it recorded,
// the commands each event caused (reactions, process managers' steps: their
// ids are derived, so they are computed again here and looked up by their
// markers) and, recursively, theirs; events Config.Notifications takes end in
// a notification leaf. aggregateID is the command's aggregate (every
// aggregate type is tried).
func (h *Handler) Trace(ctx context.Context, commandID, aggregateID string) (Traced, error) {
	if !envelope.ValidID(commandID) || !envelope.ValidID(aggregateID) {
		return Traced{}, apperr.New(apperr.NotFound, "command not found")
	}
	t := &tracer{h: h, seen: map[string]bool{}}
	for _, typ := range h.reg.Types() {
		stream := envelope.StreamID(typ, aggregateID)
		events, found, err := h.deps.Store.Recorded(ctx, stream, commandID)
		if err != nil {
			return Traced{}, err
		}
		if !found {
			continue
		}
		root := TraceNode{Kind: NodeCommand, ID: commandID, Stream: stream}
		if len(events) > 0 {
			root.CausationID, root.CorrelationID = events[0].Metadata.CausationID, events[0].Metadata.CorrelationID
		}
		if err := t.command(ctx, &root, typ, events, 0); err != nil {
			return Traced{}, err
		}
		return Traced{Root: root, Nodes: t.nodes, Truncated: t.cut}, nil
	}
	return Traced{}, apperr.New(apperr.NotFound, "no stream of %s records command %s (it may still be queued)", aggregateID, commandID)
}

// command fills a command node from the events it recorded.
func (t *tracer) command(ctx context.Context, n *TraceNode, aggregateType string, events []envelope.Event, depth int) error {
	t.nodes++
	t.seen[n.ID] = true
	n.Status = "applied-without-events"
	if len(events) > 0 {
		n.Status, n.At = "applied", events[0].OccurredAt
		n.TraceID = tracing.TraceIDOf(events[0].Metadata.Traceparent)
	}
	agg, _ := t.h.reg.Get(aggregateType)
	for _, e := range events {
		if t.nodes >= traceMaxNodes || depth >= traceMaxDepth {
			t.cut = true
			return nil
		}
		t.nodes++
		en := TraceNode{Kind: NodeEvent, ID: e.EventID, Type: e.Type, Stream: e.StreamID(), Version: e.Version, At: e.OccurredAt,
			CausationID: e.Metadata.CausationID, CorrelationID: e.Metadata.CorrelationID, TraceID: tracing.TraceIDOf(e.Metadata.Traceparent)}
		var next []Reaction
		if agg != nil {
			r, err := agg.React(e)
			if err != nil {
				return err
			}
			next = append(next, r...)
		}
		for _, pm := range t.h.reg.processes {
			if c, ok, err := pm.Hear(e); err == nil && ok {
				next = append(next, Reaction{Command: c})
			}
		}
		for _, r := range next {
			if t.seen[r.Command.CommandID] {
				continue
			}
			cn := TraceNode{Kind: NodeCommand, ID: r.Command.CommandID, Type: r.Command.Type, Stream: r.Command.StreamID(),
				CausationID: r.Command.Metadata.CausationID, CorrelationID: r.Command.Metadata.CorrelationID}
			if r.Delay > 0 {
				cn.Delay = r.Delay.String()
			}
			recorded, found, err := t.h.deps.Store.Recorded(ctx, cn.Stream, cn.ID)
			if err != nil {
				return err
			}
			if !found {
				t.nodes++
				t.seen[cn.ID] = true
				cn.Status = "pending"
			} else if err := t.command(ctx, &cn, r.Command.AggregateType, recorded, depth+1); err != nil {
				return err
			}
			en.Children = append(en.Children, cn)
		}
		if t.h.cfg.Notifications.Name != "" && t.h.cfg.Notifications.Wants(e.AggregateType, e.Type) {
			t.nodes++
			en.Children = append(en.Children, TraceNode{Kind: NodeNotification, ID: e.EventID, Type: "notification", Stream: e.StreamID(), CausationID: e.EventID, CorrelationID: e.Metadata.CorrelationID})
		}
		n.Children = append(n.Children, en)
	}
	return nil
}
