// Package seat is a sample aggregate built only from the kit's public
// packages: one seat of a show, which a user holds for a while, then
// confirms (booked) or releases; a hold not confirmed in time expires
// through the kit's deadline mechanism and the seat is free again.
//
// The rules (this file) are pure: Decide and Evolve, no I/O. definition.go
// ties them to the kit's command handler, projection.go to a read-model
// table and the owner's live stream, routes.go to HTTP.
package seat

import (
	"time"

	"github.com/prism-es/prism/shared/apperr"
)

// doc:begin state

// Type is the aggregate type: a seat's stream is "seat-<show>.<seat>".
const Type = "seat"

// Status is where a seat stands.
type Status string

// A seat is free, held by one user until a deadline, or booked.
const (
	Free   Status = "free"
	Held   Status = "held"
	Booked Status = "booked"
)

// State is a seat as its events left it.
type State struct {
	ID     string    `json:"id"`
	Status Status    `json:"status"`
	Holder string    `json:"holder,omitempty"` // who holds or booked it
	Hold   int       `json:"hold"`             // the number of the latest hold
	Until  time.Time `json:"until,omitzero"`   // when the current hold ends
}

// New is a seat nobody has held yet.
func New(id string) State { return State{ID: id, Status: Free} }

// doc:end state

// doc:begin commands

// Command is what a seat is asked to do: HoldSeat, ConfirmHold,
// ReleaseHold or ExpireHold.
type Command interface{ isCommand() }

// HoldSeat holds the seat for User from At for For.
type HoldSeat struct {
	User string
	At   time.Time
	For  time.Duration
}

// ConfirmHold books the seat User holds, asked At (a confirmation asked
// after the hold ran out is refused, even before its deadline is handled).
type ConfirmHold struct {
	User string
	At   time.Time
}

// ReleaseHold gives up User's hold.
type ReleaseHold struct{ User string }

// ExpireHold is the deadline of hold number Hold: sent by the kit when
// the hold was made, delayed until it ends.
type ExpireHold struct{ Hold int }

func (HoldSeat) isCommand()    {}
func (ConfirmHold) isCommand() {}
func (ReleaseHold) isCommand() {}
func (ExpireHold) isCommand()  {}

// doc:end commands

// doc:begin events

// Event is a fact about a seat.
type Event interface{ EventType() string }

// SeatHeld: User holds the seat (hold number Hold) until Until.
type SeatHeld struct {
	User  string    `json:"user"`
	Hold  int       `json:"hold"`
	Until time.Time `json:"until"`
}

// SeatBooked: User confirmed hold number Hold; the seat is theirs.
type SeatBooked struct {
	User string `json:"user"`
	Hold int    `json:"hold"`
}

// HoldReleased: User gave hold number Hold up; the seat is free.
type HoldReleased struct {
	User string `json:"user"`
	Hold int    `json:"hold"`
}

// HoldExpired: hold number Hold of User ran out; the seat is free.
type HoldExpired struct {
	User string `json:"user"`
	Hold int    `json:"hold"`
}

// EventType names each event on the wire.
func (SeatHeld) EventType() string     { return "SeatHeld" }
func (SeatBooked) EventType() string   { return "SeatBooked" }
func (HoldReleased) EventType() string { return "HoldReleased" }
func (HoldExpired) EventType() string  { return "HoldExpired" }

// doc:end events

// doc:begin decide

// Decide is the seat's rule book: the events a command makes, or a
// rejection (apperr.Rejected) the client is shown as the reason.
func Decide(s State, c Command) ([]Event, error) {
	switch c := c.(type) {
	case HoldSeat:
		running := s.Status == Held && c.At.Before(s.Until)
		switch {
		case c.For <= 0:
			return nil, apperr.New(apperr.Rejected, "a hold must last a positive time")
		case s.Status == Booked:
			return nil, apperr.New(apperr.Rejected, "the seat is booked")
		case running && s.Holder == c.User:
			return nil, apperr.New(apperr.Rejected, "you already hold this seat")
		case running:
			return nil, apperr.New(apperr.Rejected, "the seat is held by someone else")
		}
		held := SeatHeld{User: c.User, Hold: s.Hold + 1, Until: c.At.Add(c.For)}
		if s.Status == Held {
			// The hold ran out and its deadline has not been handled yet:
			// it expires now, and its deadline will find it replaced.
			return []Event{HoldExpired{User: s.Holder, Hold: s.Hold}, held}, nil
		}
		return []Event{held}, nil
	case ConfirmHold:
		switch {
		case s.Status != Held || s.Holder != c.User:
			return nil, apperr.New(apperr.Rejected, "you do not hold this seat")
		case !c.At.Before(s.Until):
			return nil, apperr.New(apperr.Rejected, "your hold has run out")
		}
		return []Event{SeatBooked{User: c.User, Hold: s.Hold}}, nil
	case ReleaseHold:
		if s.Status != Held || s.Holder != c.User {
			return nil, apperr.New(apperr.Rejected, "you do not hold this seat")
		}
		return []Event{HoldReleased{User: c.User, Hold: s.Hold}}, nil
	case ExpireHold:
		// A deadline that finds its hold confirmed, released or replaced
		// decides nothing: it arrived after its step finished.
		if s.Status != Held || s.Hold != c.Hold {
			return nil, nil
		}
		return []Event{HoldExpired{User: s.Holder, Hold: s.Hold}}, nil
	}
	return nil, apperr.New(apperr.Rejected, "unknown command %T", c)
}

// Evolve folds one event into the state.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case SeatHeld:
		s.Status, s.Holder, s.Hold, s.Until = Held, e.User, e.Hold, e.Until
	case SeatBooked:
		s.Status, s.Until = Booked, time.Time{}
	case HoldReleased, HoldExpired:
		s.Status, s.Holder, s.Until = Free, "", time.Time{}
	}
	return s
}

// doc:end decide
