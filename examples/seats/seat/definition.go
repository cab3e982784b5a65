package seat

import (
	"fmt"
	"time"

	"github.com/prism-es/prism/shared/aggregate"
	"github.com/prism-es/prism/shared/aggregate/codec"
	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
)

// doc:begin definition

// events declares each event type with its schema version (and decoder).
var events = codec.NewEvents[Event](Type,
	codec.Event[Event, SeatHeld](1),
	codec.Event[Event, SeatBooked](1),
	codec.Event[Event, HoldReleased](1),
	codec.Event[Event, HoldExpired](1),
)

// Definition ties the seat's pure rules to the kit's command handler:
// register it with reg.Add(aggregate.Of(seat.Definition())).
func Definition() aggregate.Definition[State, Command, Event] {
	return aggregate.Definition[State, Command, Event]{
		Type:          Type,
		Commands:      []string{"HoldSeat", "ConfirmHold", "ReleaseHold", "ExpireHold"},
		New:           New,
		Exists:        func(s State) bool { return s.Hold > 0 },
		Parse:         Parse,
		Decide:        Decide,
		Evolve:        Evolve,
		DecodeEvent:   events.Decode,
		SchemaVersion: events.SchemaVersion,
		React:         React,
	}
}

// Parse turns a command envelope into a Command: the user is the one who
// sent it, the hold starts when it was issued.
func Parse(cmd envelope.Command) (Command, error) {
	user := cmd.Metadata.UserID
	switch cmd.Type {
	case "HoldSeat":
		p, err := codec.Payload[struct {
			HoldSeconds int64 `json:"holdSeconds"`
		}](cmd.Payload)
		return HoldSeat{User: user, At: cmd.Metadata.IssuedAt, For: time.Duration(p.HoldSeconds) * time.Second}, err
	case "ConfirmHold":
		_, err := codec.Payload[struct{}](cmd.Payload)
		return ConfirmHold{User: user, At: cmd.Metadata.IssuedAt}, err
	case "ReleaseHold":
		_, err := codec.Payload[struct{}](cmd.Payload)
		return ReleaseHold{User: user}, err
	case "ExpireHold":
		p, err := codec.Payload[struct {
			Hold int `json:"hold"`
		}](cmd.Payload)
		return ExpireHold{Hold: p.Hold}, err
	}
	return nil, apperr.New(apperr.Rejected, "a seat does not take %q", cmd.Type)
}

// React sets a hold's deadline: ExpireHold, delayed until the hold ends,
// on the kit's deadlines queue (it survives restarts). Its id is derived
// from (seat, hold), so a redelivered SeatHeld sends the same command,
// which the event store answers as a duplicate.
func React(e envelope.Event, decoded Event) ([]aggregate.Reaction, error) {
	held, ok := decoded.(SeatHeld)
	if !ok {
		return nil, nil
	}
	cmd, err := aggregate.FollowUp(e, Type, e.AggregateID, "ExpireHold", map[string]int{"hold": held.Hold},
		e.AggregateID, "expire", fmt.Sprint(held.Hold))
	if err != nil {
		return nil, err
	}
	// Queues count delays in whole seconds: round up, never expire early.
	delay := time.Until(held.Until).Truncate(time.Second) + time.Second
	return []aggregate.Reaction{{Command: cmd, Delay: max(delay, time.Second)}}, nil
}

// doc:end definition
