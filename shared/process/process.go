// Package process runs process managers (sagas): long-running workflows
// across aggregates, such as a checkout that reserves stock, charges a
// payment and confirms an order, compensating when a step fails or never
// happens.
//
// A process manager is itself an event-sourced aggregate (package
// aggregate): its state is folded from its own stream, "<type>-<id>", so it
// survives restarts and is handled with the same optimistic concurrency,
// idempotency and outcomes as any aggregate. On top of that it has:
//
//   - Hear: which events of other aggregates it listens to, each mapped to a
//     command to its own stream (OrderPlaced → StartCheckout). The command id
//     is derived from the event id, so a redelivered event is a duplicate.
//   - React (the aggregate's): the next step its own events call for, as
//     commands to other aggregates (Steps.Send), and deadlines (Steps.After):
//     commands delayed on the deadlines queue, which survive restarts. A
//     deadline that arrives after its step finished must decide nothing.
//
// Register one with one line, then consume its subscriber's event queue:
//
//	reg.Add(process.Of(checkout.Process()))
//	queue.NewConsumer(events("saga"), handler.Events("saga"), waker, cfg)
//
// The events it hears must reach that queue: declare them in the
// subscriber's config.Subscription.
package process

import (
	"fmt"

	"github.com/prism-es/prism/shared/aggregate"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/queue"
)

// Definition is a process manager: its own aggregate (state S, commands C,
// events E) plus the events it hears.
type Definition[S any, C any, E interface{ EventType() string }] struct {
	// Aggregate is the process manager's state and rules; its React sends
	// the next steps and deadlines (see Steps).
	Aggregate aggregate.Definition[S, C, E]
	// Subscriber names the event subscriber it hears through ("saga": the
	// queue events-saga). It also seeds the ids of the commands made of
	// the events heard: (event id, Subscriber).
	Subscriber string
	// Hear maps an event to the command it means to one instance, if any
	// (ok false: not an event this process manager cares about). An error
	// that cannot heal is queue.Permanent (a malformed event).
	Hear func(e envelope.Event) (h Heard, ok bool, err error)
}

// Heard is the command an event means to a process instance.
type Heard struct {
	// ID is the instance the event concerns (the order id of a checkout).
	ID string
	// Type and Payload are the command.
	Type    string
	Payload any
}

// Of erases a Definition's types for aggregate.Registry.Add: the result is
// an aggregate.Listener.
func Of[S any, C any, E interface{ EventType() string }](d Definition[S, C, E]) aggregate.Listener {
	return listener{Aggregate: aggregate.Of(d.Aggregate), subscriber: d.Subscriber, hear: d.Hear, typ: d.Aggregate.Type}
}

// listener is a process manager with its types erased.
type listener struct {
	aggregate.Aggregate
	subscriber, typ string
	hear            func(envelope.Event) (Heard, bool, error)
}

func (l listener) Subscriber() string { return l.subscriber }

func (l listener) Hear(e envelope.Event) (envelope.Command, bool, error) {
	h, ok, err := l.hear(e)
	if err != nil || !ok {
		return envelope.Command{}, false, err
	}
	if !envelope.ValidID(h.ID) {
		return envelope.Command{}, false, queue.Permanent(fmt.Errorf("%s %s names no valid %s id", e.Type, e.EventID, l.typ))
	}
	c, err := aggregate.FollowUp(e, l.typ, h.ID, h.Type, h.Payload, e.EventID, l.subscriber)
	return c, err == nil, err
}
