// Package aggregate runs event-sourced aggregates: you write the rules of
// one as a pure Decide (state, command → events) and Evolve (state, event →
// state) in your own package, describe it with a Definition, register it in
// a Registry with one line, and a Handler does the rest:
//
//   - load: the state from the replica's cache, or from the latest snapshot
//     and the events after it (upcast to their current schemas by the event
//     store);
//   - decide: Parse the command envelope, Prepare it (read another
//     aggregate, ask an external provider), Decide;
//   - append: the events and the command's cmd- marker in one atomic
//     transaction with optimistic concurrency; a conflict reloads and
//     decides again (without burning a delivery), a command seen before is
//     answered with its first outcome and its events re-published;
//   - publish: every event to the queue of every subscriber that wants it,
//     and the commands that follow from it (React, Rearm) to the commands
//     queue, deadlines delayed on the deadlines queue;
//   - record: the outcome (succeeded, rejected with a reason, failed when
//     the message is poisoned) for the client who sent the command.
//
// Handler.Handle is a queue.Handler: run it under a queue.Consumer, which
// brings redelivery on a schedule, poison queues (Handler.Failed is the
// OnPoison hook) and outage handling. Process managers (package process) are
// aggregates that also hear other aggregates' events; Handler.Events is the
// queue.Handler of the queue they hear on.
//
// A minimal wiring:
//
//	var reg aggregate.Registry
//	reg.Add(aggregate.Of(counter.Definition())) // the one line per aggregate
//	h := aggregate.New(aggregate.Deps{Store: store, Commands: commands, Outcomes: outcomes}, aggregate.Config{}, &reg)
//	_ = queue.NewConsumer(commands, h.Handle, waker, queue.ConsumerConfig{OnPoison: h.Failed}).Run(ctx)
//
// Package codec decodes command payloads (strictly) and event data (leniently)
// for Parse and DecodeEvent; package aggtest runs an aggregate's table tests.
package aggregate
