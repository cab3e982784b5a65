package aggregate_test

import (
	"context"
	"fmt"
	"time"

	"github.com/prism-es/prism/shared/aggregate"
	"github.com/prism-es/prism/shared/aggregate/codec"
	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/commandstatus"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventcatalog"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/redisconn"
	"github.com/prism-es/prism/shared/storage"
)

// A counter is the smallest aggregate: its package holds the state, the
// commands, the events and the two pure functions; Definition ties them to
// the kit.

type counter struct {
	ID    string `json:"id"`
	Total int    `json:"total"`
}

type add struct{ By int }

type added struct {
	By int `json:"by"`
}

func (added) EventType() string { return "CounterAdded" }

func decide(s counter, c add) ([]added, error) {
	if c.By <= 0 {
		return nil, apperr.New(apperr.Rejected, "add a positive number")
	}
	return []added{{By: c.By}}, nil
}

func evolve(s counter, e added) counter { s.Total += e.By; return s }

var events = codec.NewEvents[added]("counter", codec.Event[added, added](1))

func definition() aggregate.Definition[counter, add, added] {
	return aggregate.Definition[counter, add, added]{
		Type:     "counter",
		Commands: []string{"Add"},
		New:      func(id string) counter { return counter{ID: id} },
		Exists:   func(s counter) bool { return s.Total > 0 },
		Parse: func(c envelope.Command) (add, error) {
			p, err := codec.Payload[struct {
				By int `json:"by"`
			}](c.Payload)
			return add{By: p.By}, err
		},
		Decide:        decide,
		Evolve:        evolve,
		DecodeEvent:   events.Decode,
		SchemaVersion: events.SchemaVersion,
	}
}

// Of erases a Definition's types; the Aggregate it returns can be driven
// without any I/O, as the Handler drives it.
func ExampleOf() {
	c := aggregate.Of(definition())
	cmd := envelope.Command{CommandID: "cmd-1", Type: "Add", AggregateType: "counter", AggregateID: "c1", Payload: []byte(`{"by":3}`)}

	state := c.Initial("c1")
	decided, err := c.Decide(context.Background(), state, cmd, nil)
	if err != nil {
		panic(err)
	}
	for _, e := range aggregate.NewEvents(cmd, "", 0, decided) {
		fmt.Println(e.StreamID(), e.Version, e.Type, string(e.Data))
		if state, err = c.Evolve(state, e); err != nil {
			panic(err)
		}
	}
	fmt.Printf("%+v\n", state)

	cmd.Payload = []byte(`{"by":0}`)
	_, err = c.Decide(context.Background(), state, cmd, nil)
	fmt.Println(aggregate.IsRejection(err), apperr.MessageOf(err))
	// Output:
	// counter-c1 1 CounterAdded {"by":3}
	// {ID:c1 Total:3}
	// true add a positive number
}

// Registering an aggregate is one line; a type registered twice panics.
func ExampleRegistry_Add() {
	var reg aggregate.Registry
	reg.Add(aggregate.Of(definition()))
	fmt.Println(reg.Types())
	// Output: [counter]
}

// FollowUp makes the command a reaction sends, with an id derived from its
// parts: reacting to the same event twice sends the same command.
func ExampleFollowUp() {
	e := envelope.Event{EventID: "e1", Type: "CounterAdded", AggregateType: "counter", AggregateID: "c1", Version: 7}
	a, _ := aggregate.FollowUp(e, "audit", "c1", "Record", map[string]int{"version": 7}, "c1", "audit", "7")
	b, _ := aggregate.FollowUp(e, "audit", "c1", "Record", map[string]int{"version": 7}, "c1", "audit", "7")
	fmt.Println(a.CommandID == b.CommandID, a.StreamID(), a.Metadata.CausationID)
	// Output: true audit-c1 e1
}

// New wires a Handler to the kit's real ports and runs it under a queue
// consumer (this example needs Azurite and Redis, so it only compiles).
func ExampleNew() {
	ctx := context.Background()
	acc, err := storage.Connect("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=...;TableEndpoint=...;QueueEndpoint=...")
	if err != nil {
		panic(err)
	}
	rdb, err := redisconn.Connect("redis://127.0.0.1:6379/0")
	if err != nil {
		panic(err)
	}
	var reg aggregate.Registry
	reg.Add(aggregate.Of(definition()))

	commands := queue.Open(acc, "commands", nil)
	h := aggregate.New(aggregate.Deps{
		Store:     eventstore.NewTableStore(acc, "events", eventcatalog.Upcasters()),
		Snapshots: eventstore.NewSnapshots(acc, "snapshots"),
		Subscribers: []aggregate.Subscriber{
			{Queue: queue.Open(acc, "events-readmodel", nil)}, // a zero Subscription wants every event
		},
		Commands: commands,
		Outcomes: aggregate.Outcomes{Status: commandstatus.New(rdb), Notices: notices.NewPublisher(rdb, notices.Config{})},
		// Your own events need their JSON Schemas: validate against your catalog.
		Validate: func(envelope.Event) error { return nil },
	}, aggregate.Config{}, &reg)

	consumer := queue.NewConsumer(commands, h.Handle, nil, queue.ConsumerConfig{
		RetrySchedule: []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute},
		OnPoison:      h.Failed, // a poisoned command's status becomes failed
	})
	_ = consumer.Run(ctx)
}
