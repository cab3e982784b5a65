package seat

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/projection"
)

// doc:begin projection

// View is a seat's read-model row in table "seats": one partition per
// show, one row per seat, as GET /api/shows/{show}/seats/{seat} answers it.
type View struct {
	Show      string    `json:"show"`
	Seat      string    `json:"seat"`
	Status    Status    `json:"status"`
	Holder    string    `json:"holder,omitempty"`
	HoldUntil time.Time `json:"holdUntil,omitzero"`
	// LastEvent and By say what changed last and whose it was: the user
	// whose live stream hears of it.
	LastEvent string `json:"lastEvent"`
	By        string `json:"by"`
	Version   int64  `json:"version"`
}

// Seats projects seat events into table "seats" and announces each change
// on the seat's own stream and, live, on its user's /streams/me.
var Seats = projection.Of[View]{
	Name:          "seats",
	AggregateType: Type,
	Key:           func(id string) (string, string) { return Split(id) },
	New: func(first envelope.Event) View {
		show, seat := Split(first.AggregateID)
		return View{Show: show, Seat: seat, Status: Free}
	},
	Apply: func(v *View, e envelope.Event) error {
		ev, err := events.Decode(e.Type, e.Data)
		if err != nil {
			return err
		}
		switch ev := ev.(type) {
		case SeatHeld:
			v.Status, v.Holder, v.HoldUntil, v.By = Held, ev.User, ev.Until, ev.User
		case SeatBooked:
			v.Status, v.HoldUntil, v.By = Booked, time.Time{}, ev.User
		case HoldReleased:
			v.Status, v.Holder, v.HoldUntil, v.By = Free, "", time.Time{}, ev.User
		case HoldExpired:
			v.Status, v.Holder, v.HoldUntil, v.By = Free, "", time.Time{}, ev.User
		}
		v.LastEvent, v.Version = e.Type, e.Version
		return nil
	},
	Notices: func(v *View, data json.RawMessage) []notices.Item {
		return []notices.Item{{Stream: notices.Stream(Type, ID(v.Show, v.Seat)), Type: "seat.updated", Data: data,
			Also: []string{notices.UserStream(v.By)}}}
	},
}

// doc:end projection

// ID is the aggregate id of a seat of a show: "<show>.<seat>".
func ID(show, seat string) string { return show + "." + seat }

// Split is ID's inverse.
func Split(id string) (show, seat string) {
	i := strings.LastIndexByte(id, '.')
	if i < 0 {
		return id, ""
	}
	return id[:i], id[i+1:]
}
