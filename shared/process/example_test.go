package process_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/prism-es/prism/shared/aggregate"
	"github.com/prism-es/prism/shared/aggregate/codec"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/process"
)

// A hold keeps a seat for a while: when a seat is held (an event of the
// seat aggregate), the hold process starts and sets a deadline; when the
// deadline fires before the booking is paid, it releases the seat.

type hold struct {
	Seat    string `json:"seat"`
	Started bool   `json:"started"`
	Done    bool   `json:"done"`
}

// The hold's commands: start (heard from SeatHeld) and expire (its deadline).
type (
	start  struct{ Seat string }
	expire struct{}
)

// The hold's events.
type (
	started struct {
		Seat string `json:"seat"`
	}
	expired struct {
		Seat string `json:"seat"`
	}
)

func (started) EventType() string { return "HoldStarted" }
func (expired) EventType() string { return "HoldExpired" }

type holdEvent interface{ EventType() string }

func decide(s hold, c any) ([]holdEvent, error) {
	switch c := c.(type) {
	case start:
		if s.Started {
			return nil, nil
		}
		return []holdEvent{started{Seat: c.Seat}}, nil
	case expire:
		if !s.Started || s.Done {
			return nil, nil // a late deadline decides nothing
		}
		return []holdEvent{expired{Seat: s.Seat}}, nil
	}
	return nil, fmt.Errorf("unknown command %T", c)
}

func evolve(s hold, e holdEvent) hold {
	switch e := e.(type) {
	case started:
		s.Seat, s.Started = e.Seat, true
	case expired:
		s.Done = true
	}
	return s
}

var events = codec.NewEvents[holdEvent]("hold", codec.Event[holdEvent, started](1), codec.Event[holdEvent, expired](1))

func definition(ttl time.Duration) process.Definition[hold, any, holdEvent] {
	return process.Definition[hold, any, holdEvent]{
		Subscriber: "holds", // hears on events-holds
		Hear: func(e envelope.Event) (process.Heard, bool, error) {
			if e.AggregateType != "seat" || e.Type != "SeatHeld" {
				return process.Heard{}, false, nil
			}
			// One hold per (seat, version): the hold's id is its own stream's.
			return process.Heard{ID: e.AggregateID + "." + fmt.Sprint(e.Version), Type: "StartHold", Payload: map[string]string{"seat": e.AggregateID}}, true, nil
		},
		Aggregate: aggregate.Definition[hold, any, holdEvent]{
			Type:   "hold",
			New:    func(string) hold { return hold{} },
			Exists: func(s hold) bool { return s.Started },
			Parse: func(c envelope.Command) (any, error) {
				switch c.Type {
				case "StartHold":
					p, err := codec.Payload[struct {
						Seat string `json:"seat"`
					}](c.Payload)
					return start{Seat: p.Seat}, err
				case "ExpireHold":
					return expire{}, nil
				}
				return nil, fmt.Errorf("hold: unknown command %q", c.Type)
			},
			Decide:      decide,
			Evolve:      evolve,
			DecodeEvent: events.Decode,
			React: func(e envelope.Event, ev holdEvent) ([]aggregate.Reaction, error) {
				s := process.StepsOf(e)
				switch ev := ev.(type) {
				case started:
					s.After(ttl, "hold", e.AggregateID, "ExpireHold", struct{}{}, "deadline")
				case expired:
					s.Send("seat", ev.Seat, "ReleaseSeat", struct{}{}, "release")
				}
				return s.Done()
			},
		},
	}
}

// Of makes a process manager an aggregate.Listener for Registry.Add; Hear
// turns the events it listens to into commands to its own stream, and its
// React sends the next steps and deadlines.
func ExampleOf() {
	pm := process.Of(definition(15 * time.Minute))

	held := envelope.Event{EventID: "e1", Type: "SeatHeld", AggregateType: "seat", AggregateID: "A12", Version: 3, Data: json.RawMessage(`{}`)}
	cmd, ok, err := pm.Hear(held)
	fmt.Println(ok, err, cmd.StreamID(), cmd.Type, string(cmd.Payload))

	again, _, _ := pm.Hear(held) // a redelivered event makes the same command
	fmt.Println(again.CommandID == cmd.CommandID)

	decided, _ := pm.Decide(context.Background(), pm.Initial("A12.3"), cmd, nil)
	for _, e := range aggregate.NewEvents(cmd, "", 0, decided) {
		next, _ := pm.React(e)
		for _, r := range next {
			fmt.Println(e.Type, "→", r.Command.Type, r.Command.StreamID(), "after", r.Delay)
		}
	}
	// Output:
	// true <nil> hold-A12.3 StartHold {"seat":"A12"}
	// true
	// HoldStarted → ExpireHold hold-A12.3 after 15m0s
}

// Steps collects a process manager's next commands with ids derived from
// (instance, step), so a step sent twice is one command.
func ExampleSteps() {
	e := envelope.Event{EventID: "e9", Type: "HoldExpired", AggregateType: "hold", AggregateID: "A12.3", Version: 2}
	s := process.StepsOf(e)
	s.Send("seat", "A12", "ReleaseSeat", struct{}{}, "release")
	s.After(time.Hour, "hold", "A12.3", "ArchiveHold", struct{}{}, "archive")
	steps, err := s.Done()
	for _, r := range steps {
		fmt.Println(r.Command.StreamID(), r.Command.Type, r.Delay, r.Command.Metadata.CausationID)
	}
	fmt.Println(err)
	// Output:
	// seat-A12 ReleaseSeat 0s e9
	// hold-A12.3 ArchiveHold 1h0m0s e9
	// <nil>
}
