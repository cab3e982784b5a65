package aggregate

import (
	"fmt"
	"strings"

	"github.com/prism-es/prism/shared/envelope"
)

// Registry is the set of aggregates (and process managers) one Handler
// serves. Its zero value is empty and ready; Add is the one line that
// registers an aggregate:
//
//	var reg aggregate.Registry
//	reg.Add(aggregate.Of(cart.Definition()))
type Registry struct {
	aggs  map[string]Aggregate
	types []string
	// listeners are the process managers by the subscriber they hear on.
	listeners map[string][]Listener
	// processes are every Listener in registration order.
	processes []Listener
}

// Listener is an Aggregate that also hears other aggregates' events and
// turns them into commands to itself: a process manager (package process
// makes them).
type Listener interface {
	Aggregate
	// Subscriber names the event subscriber it hears through (its queue is
	// events-<Subscriber>; see Handler.Events).
	Subscriber() string
	// Hear maps an event to the command it means to the listener, if any.
	// The command's id must be derived from the event's, so a redelivered
	// event is a duplicate.
	Hear(e envelope.Event) (envelope.Command, bool, error)
}

// Add registers a. It panics when a's type is empty or already taken: a
// registration is a program's fixed wiring, not input.
func (r *Registry) Add(a Aggregate) *Registry {
	typ := a.Type()
	if !envelope.ValidID(typ) || strings.Contains(typ, "-") {
		panic(fmt.Sprintf("aggregate: invalid aggregate type %q (a stream is <type>-<id>: no '-' in the type)", typ))
	}
	if _, taken := r.aggs[typ]; taken {
		panic(fmt.Sprintf("aggregate: type %q registered twice", typ))
	}
	if r.aggs == nil {
		r.aggs, r.listeners = map[string]Aggregate{}, map[string][]Listener{}
	}
	r.aggs[typ] = a
	r.types = append(r.types, typ)
	if l, ok := a.(Listener); ok {
		r.listeners[l.Subscriber()] = append(r.listeners[l.Subscriber()], l)
		r.processes = append(r.processes, l)
	}
	zeroSeries(a.CommandTypes())
	return r
}

// Get returns the aggregate registered as typ.
func (r *Registry) Get(typ string) (Aggregate, bool) {
	a, ok := r.aggs[typ]
	return a, ok
}

// Types lists the registered aggregate types in registration order.
func (r *Registry) Types() []string { return append([]string(nil), r.types...) }

// Listeners returns the process managers that hear through subscriber.
func (r *Registry) Listeners(subscriber string) []Listener { return r.listeners[subscriber] }
