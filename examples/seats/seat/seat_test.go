package seat_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/examples/seats/seat"
	"github.com/prism-es/prism/shared/aggregate"
	"github.com/prism-es/prism/shared/aggregate/aggtest"
	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
)

var t0 = time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)

const minute = time.Minute

// states are every kind of seat a command can meet.
func states() map[string]seat.State {
	free := seat.New("gala.A1")
	heldByAlice := aggtest.Fold[seat.State, seat.Event](seat.Evolve, free, seat.SeatHeld{User: "alice", Hold: 1, Until: t0.Add(minute)})
	return map[string]seat.State{
		"new":             free,
		"held by alice":   heldByAlice,
		"held by bob":     aggtest.Fold[seat.State, seat.Event](seat.Evolve, free, seat.SeatHeld{User: "bob", Hold: 1, Until: t0.Add(minute)}),
		"booked by alice": aggtest.Fold[seat.State, seat.Event](seat.Evolve, heldByAlice, seat.SeatBooked{User: "alice", Hold: 1}),
		"released":        aggtest.Fold[seat.State, seat.Event](seat.Evolve, heldByAlice, seat.HoldReleased{User: "alice", Hold: 1}),
		"expired":         aggtest.Fold[seat.State, seat.Event](seat.Evolve, heldByAlice, seat.HoldExpired{User: "alice", Hold: 1}),
	}
}

// TestDecide runs every command against every kind of seat.
func TestDecide(t *testing.T) {
	hold := seat.HoldSeat{User: "alice", At: t0, For: minute}
	cases := []struct {
		state  string
		cmd    seat.Command
		want   []seat.Event
		reason string // a rejection
	}{
		{"new", hold, []seat.Event{seat.SeatHeld{User: "alice", Hold: 1, Until: t0.Add(minute)}}, ""},
		{"new", seat.HoldSeat{User: "alice", At: t0}, nil, "a hold must last a positive time"},
		{"new", seat.HoldSeat{User: "alice", At: t0, For: -minute}, nil, "a hold must last a positive time"},
		{"held by alice", hold, nil, "you already hold this seat"},
		{"held by bob", hold, nil, "the seat is held by someone else"},
		{"booked by alice", hold, nil, "the seat is booked"},
		{"released", hold, []seat.Event{seat.SeatHeld{User: "alice", Hold: 2, Until: t0.Add(minute)}}, ""},
		{"expired", seat.HoldSeat{User: "bob", At: t0, For: minute}, []seat.Event{seat.SeatHeld{User: "bob", Hold: 2, Until: t0.Add(minute)}}, ""},
		// A hold that ran out, its deadline not handled yet: it expires
		// now and the new hold takes the seat.
		{"held by alice", seat.HoldSeat{User: "bob", At: t0.Add(2 * minute), For: minute},
			[]seat.Event{seat.HoldExpired{User: "alice", Hold: 1}, seat.SeatHeld{User: "bob", Hold: 2, Until: t0.Add(3 * minute)}}, ""},
		{"held by alice", seat.HoldSeat{User: "alice", At: t0.Add(minute), For: minute},
			[]seat.Event{seat.HoldExpired{User: "alice", Hold: 1}, seat.SeatHeld{User: "alice", Hold: 2, Until: t0.Add(2 * minute)}}, ""},

		{"held by alice", seat.ConfirmHold{User: "alice", At: t0}, []seat.Event{seat.SeatBooked{User: "alice", Hold: 1}}, ""},
		{"held by alice", seat.ConfirmHold{User: "alice", At: t0.Add(minute)}, nil, "your hold has run out"},
		{"new", seat.ConfirmHold{User: "alice"}, nil, "you do not hold this seat"},
		{"held by bob", seat.ConfirmHold{User: "alice"}, nil, "you do not hold this seat"},
		{"booked by alice", seat.ConfirmHold{User: "alice"}, nil, "you do not hold this seat"},
		{"expired", seat.ConfirmHold{User: "alice"}, nil, "you do not hold this seat"},

		{"held by alice", seat.ReleaseHold{User: "alice"}, []seat.Event{seat.HoldReleased{User: "alice", Hold: 1}}, ""},
		{"new", seat.ReleaseHold{User: "alice"}, nil, "you do not hold this seat"},
		{"held by bob", seat.ReleaseHold{User: "alice"}, nil, "you do not hold this seat"},
		{"booked by alice", seat.ReleaseHold{User: "alice"}, nil, "you do not hold this seat"},
		{"released", seat.ReleaseHold{User: "alice"}, nil, "you do not hold this seat"},

		{"held by alice", seat.ExpireHold{Hold: 1}, []seat.Event{seat.HoldExpired{User: "alice", Hold: 1}}, ""},
		{"held by bob", seat.ExpireHold{Hold: 1}, []seat.Event{seat.HoldExpired{User: "bob", Hold: 1}}, ""},
		// A deadline after its step finished decides nothing.
		{"held by alice", seat.ExpireHold{Hold: 2}, nil, ""},
		{"new", seat.ExpireHold{Hold: 1}, nil, ""},
		{"booked by alice", seat.ExpireHold{Hold: 1}, nil, ""},
		{"released", seat.ExpireHold{Hold: 1}, nil, ""},
		{"expired", seat.ExpireHold{Hold: 1}, nil, ""},
		{"new", nil, nil, "unknown command <nil>"},
	}
	all := states()
	for _, c := range cases {
		got, err := seat.Decide(all[c.state], c.cmd)
		if c.reason != "" {
			require.Error(t, err, "%s: %#v", c.state, c.cmd)
			assert.Equal(t, apperr.Rejected, apperr.KindOf(err), "%s: %#v", c.state, c.cmd)
			assert.Equal(t, c.reason, apperr.MessageOf(err), "%s: %#v", c.state, c.cmd)
			assert.Empty(t, got)
			continue
		}
		require.NoError(t, err, "%s: %#v", c.state, c.cmd)
		assert.Equal(t, c.want, got, "%s: %#v", c.state, c.cmd)
	}
}

// TestEvolve checks the state each event leaves.
func TestEvolve(t *testing.T) {
	all := states()
	assert.Equal(t, seat.State{ID: "gala.A1", Status: seat.Free}, all["new"])
	assert.Equal(t, seat.State{ID: "gala.A1", Status: seat.Held, Holder: "alice", Hold: 1, Until: t0.Add(minute)}, all["held by alice"])
	assert.Equal(t, seat.State{ID: "gala.A1", Status: seat.Booked, Holder: "alice", Hold: 1}, all["booked by alice"])
	assert.Equal(t, seat.State{ID: "gala.A1", Status: seat.Free, Hold: 1}, all["released"])
	assert.Equal(t, seat.State{ID: "gala.A1", Status: seat.Free, Hold: 1}, all["expired"])
}

// TestAHoldTheDeadlineMissedIsBookedOnce: hold, let the hold expire, hold
// again, confirm; the first hold's late deadline changes nothing.
func TestAHoldTheDeadlineMissedIsBookedOnce(t *testing.T) {
	s, events := aggtest.Run[seat.State, seat.Command, seat.Event](t, seat.Decide, seat.Evolve, seat.New("gala.B7"),
		seat.HoldSeat{User: "alice", At: t0, For: minute},
		seat.ExpireHold{Hold: 1},
		seat.HoldSeat{User: "bob", At: t0.Add(2 * minute), For: minute},
		seat.ExpireHold{Hold: 1}, // late, and for the hold that already expired
		seat.ConfirmHold{User: "bob"},
		seat.ExpireHold{Hold: 2}, // after the confirmation
	)
	assert.Equal(t, []seat.Event{
		seat.SeatHeld{User: "alice", Hold: 1, Until: t0.Add(minute)},
		seat.HoldExpired{User: "alice", Hold: 1},
		seat.SeatHeld{User: "bob", Hold: 2, Until: t0.Add(3 * minute)},
		seat.SeatBooked{User: "bob", Hold: 2},
	}, events)
	assert.Equal(t, seat.Booked, s.Status)
	assert.Equal(t, "bob", s.Holder)
}

func command(typ, user, payload string) envelope.Command {
	return envelope.Command{CommandID: "c-" + typ, Type: typ, AggregateType: seat.Type, AggregateID: "gala.A1",
		Payload: json.RawMessage(payload), Metadata: envelope.CommandMetadata{UserID: user, IssuedAt: t0}}
}

// TestParse: the envelope's user and issue time make the command; payloads
// are strict.
func TestParse(t *testing.T) {
	cases := []struct {
		cmd  envelope.Command
		want seat.Command
	}{
		{command("HoldSeat", "alice", `{"holdSeconds":90}`), seat.HoldSeat{User: "alice", At: t0, For: 90 * time.Second}},
		{command("ConfirmHold", "alice", `{}`), seat.ConfirmHold{User: "alice", At: t0}},
		{command("ReleaseHold", "bob", `{}`), seat.ReleaseHold{User: "bob"}},
		{command("ExpireHold", "", `{"hold":3}`), seat.ExpireHold{Hold: 3}},
	}
	for _, c := range cases {
		got, err := seat.Parse(c.cmd)
		require.NoError(t, err, c.cmd.Type)
		assert.Equal(t, c.want, got)
	}
	for _, bad := range []envelope.Command{
		command("HoldSeat", "alice", `{"holdSeconds":"90"}`),
		command("ConfirmHold", "alice", `{"extra":1}`),
		command("ExpireHold", "", `[]`),
		command("BookEverything", "alice", `{}`),
	} {
		_, err := seat.Parse(bad)
		assert.Equal(t, apperr.Rejected, apperr.KindOf(err), "%s %s", bad.Type, bad.Payload)
	}
}

// TestTheDefinitionRoundTrips drives the registered form as the kit's
// handler does: decide, wrap in envelopes, fold back; SeatHeld reacts
// with its deadline, delayed until the hold ends, with an id of its own
// that a redelivery repeats.
func TestTheDefinitionRoundTrips(t *testing.T) {
	agg := aggregate.Of(seat.Definition())
	cmd := command("HoldSeat", "alice", `{"holdSeconds":30}`)
	cmd.Metadata.IssuedAt = time.Now().UTC()
	decided, err := agg.Decide(t.Context(), agg.Initial("gala.A1"), cmd, nil)
	require.NoError(t, err)
	events := aggregate.NewEvents(cmd, "", 0, decided)
	require.Len(t, events, 1)
	assert.Equal(t, "SeatHeld", events[0].Type)
	assert.Equal(t, 1, events[0].SchemaVersion)

	state, err := agg.Evolve(agg.Initial("gala.A1"), events[0])
	require.NoError(t, err)
	assert.Equal(t, seat.Held, state.(seat.State).Status)
	assert.True(t, agg.Exists(state))
	assert.False(t, agg.Exists(agg.Initial("gala.A2")))

	reactions, err := agg.React(events[0])
	require.NoError(t, err)
	require.Len(t, reactions, 1)
	deadline := reactions[0]
	assert.Equal(t, "ExpireHold", deadline.Command.Type)
	assert.Equal(t, "seat-gala.A1", deadline.Command.StreamID())
	assert.JSONEq(t, `{"hold":1}`, string(deadline.Command.Payload))
	assert.GreaterOrEqual(t, deadline.Delay, 30*time.Second-time.Second, "not before the hold ends")
	assert.LessOrEqual(t, deadline.Delay, 31*time.Second)
	again, err := agg.React(events[0])
	require.NoError(t, err)
	assert.Equal(t, deadline.Command.CommandID, again[0].Command.CommandID, "a redelivered SeatHeld sends the same deadline")

	for _, typ := range []string{"SeatBooked", "HoldReleased", "HoldExpired"} {
		e := events[0]
		e.Type, e.Data = typ, json.RawMessage(`{"user":"alice","hold":1}`)
		r, err := agg.React(e)
		require.NoError(t, err)
		assert.Empty(t, r, typ)
	}
}
