package streams

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/notices"
)

func TestCartAndMeStreamsDeliverNoticesWithTheirIDs(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}, true)
	alice := newID("alice-")
	cart := h.create(t, "cart", alice)

	s := h.open(t, "/streams/carts/"+cart, h.token(t, alice))
	assert.Equal(t, "text/event-stream", s.res.Header.Get("Content-Type"))
	assert.Equal(t, "no", s.res.Header.Get("X-Accel-Buffering"))
	assert.Equal(t, "no-cache", s.res.Header.Get("Cache-Control"))
	assert.NotEmpty(t, s.res.Header.Get("X-Correlation-Id"))

	ids := h.publish(t, h.pub, notices.CartStream(cart), "cart.updated", "{\n  \"cartId\": \""+cart+"\",\n  \"version\": 2\n}")
	ev := s.next(t)
	assert.Equal(t, ids[0], ev.ID)
	assert.Equal(t, "cart.updated", ev.Event)
	assert.Equal(t, `{"cartId":"`+cart+`","version":2}`, ev.Data, "data is compact JSON on one line")

	me := h.open(t, "/streams/me", h.token(t, alice))
	ids = h.publish(t, h.pub, notices.UserStream(alice), "command.completed", `{"commandId":"c1","status":"succeeded"}`)
	ev = me.next(t)
	assert.Equal(t, ids[0], ev.ID)
	assert.Equal(t, "command.completed", ev.Event)
	assert.JSONEq(t, `{"commandId":"c1","status":"succeeded"}`, ev.Data)
}

func TestReconnectWithLastEventIDGetsExactlyWhatItMissed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}, true)
	alice := newID("alice-")
	cart := h.create(t, "cart", alice)
	stream := notices.CartStream(cart)
	tok := h.token(t, alice)

	s := h.open(t, "/streams/carts/"+cart, tok)
	first := h.publish(t, h.pub, stream, "cart.updated", `{"n":0}`)
	require.Equal(t, first[0], s.next(t).ID)
	s.close()

	type sent struct{ id, data string }
	var missed []sent
	for i := 1; i <= 5; i++ {
		data := fmt.Sprintf(`{"n":%d}`, i)
		missed = append(missed, sent{h.publish(t, h.pub, stream, "cart.updated", data)[0], data})
	}
	// Resume with the header, then (as a client that cannot set headers)
	// with the query parameter; both from the same id, so the second also
	// gets the live event the first saw.
	for _, resume := range []struct {
		name    string
		path    string
		headers []string
	}{
		{"header", "", []string{"Last-Event-ID", first[0]}},
		{"query", "?lastEventId=" + first[0], nil},
	} {
		s = h.open(t, "/streams/carts/"+cart+resume.path, tok, resume.headers...)
		for i, want := range missed {
			ev := s.next(t)
			require.Equal(t, want.id, ev.ID, "%s: replayed event %d", resume.name, i)
			assert.Equal(t, "cart.updated", ev.Event)
			assert.JSONEq(t, want.data, ev.Data)
		}
		data := fmt.Sprintf(`{"live":%q}`, resume.name)
		live := h.publish(t, h.pub, stream, "cart.updated", data)
		ev := s.next(t)
		require.Equal(t, live[0], ev.ID, "%s: after the replay comes the live event, nothing in between", resume.name)
		s.close()
		missed = append(missed, sent{live[0], data})
	}
}

func TestResumeBeyondTheHistoryGetsOneReset(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}, true)
	alice := newID("alice-")
	cart := h.create(t, "cart", alice)
	stream := notices.CartStream(cart)
	tok := h.token(t, alice)

	short := notices.NewPublisher(h.rdb, notices.Config{MaxLen: 10})
	data := make([]string, 500)
	for i := range data {
		data[i] = fmt.Sprintf(`{"n":%d}`, i)
	}
	ids := h.publish(t, short, stream, "cart.updated", data...)
	newest := ids[len(ids)-1]

	cases := []struct {
		name, from, path string
		header           bool
	}{
		{"trimmed", ids[0], "", true},
		{"malformed", "not-an-id", "", true},
		{"malformed query", "", "?lastEventId=%0Agarbage%22", false},
		{"another redis life", "99999999999999-0", "", true},
	}
	for _, c := range cases {
		var headers []string
		if c.header {
			headers = []string{"Last-Event-ID", c.from}
		}
		s := h.open(t, "/streams/carts/"+cart+c.path, tok, headers...)
		ev := s.next(t)
		require.Equal(t, "reset", ev.Event, c.name)
		assert.Equal(t, newest, ev.ID, "%s: resume from now", c.name)
		var body struct {
			Reason      string `json:"reason"`
			LastEventID string `json:"lastEventId"`
		}
		require.NoError(t, json.Unmarshal([]byte(ev.Data), &body), c.name)
		assert.Equal(t, newest, body.LastEventID, c.name)
		assert.Contains(t, body.Reason, "refetch your state", c.name)
		if c.header {
			assert.Contains(t, body.Reason, c.from, c.name)
		}
		live := h.publish(t, short, stream, "cart.updated", `{"live":true}`)
		require.Equal(t, live[0], s.next(t).ID, "%s: live after the reset", c.name)
		newest = live[0]
		s.close()
	}
}

func TestLostLiveNoticesAreFilledFromTheHistory(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Resync: time.Hour}, true) // only the gap check can find them
	alice := newID("alice-")
	cart := h.create(t, "cart", alice)
	stream := notices.CartStream(cart)
	s := h.open(t, "/streams/carts/"+cart, h.token(t, alice))

	// Twice: first on an empty history (the topic's cursor is ""), then
	// with a cursor.
	for round := range 2 {
		lost := h.xadd(t, stream, fmt.Sprintf(`{"lost":%d}`, round))
		ids := h.publish(t, h.pub, stream, "cart.updated", fmt.Sprintf(`{"live":%d}`, round))
		ev := s.next(t)
		require.Equal(t, lost, ev.ID, "round %d: the lost notice first", round)
		assert.JSONEq(t, fmt.Sprintf(`{"lost":%d}`, round), ev.Data)
		require.Equal(t, ids[0], s.next(t).ID, "round %d: then the live one", round)
	}
}

func TestResyncFindsANoticeThatNeverArrivedLive(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Resync: 50 * time.Millisecond}, true)
	alice := newID("alice-")
	cart := h.create(t, "cart", alice)
	stream := notices.CartStream(cart)
	s := h.open(t, "/streams/carts/"+cart, h.token(t, alice))
	first := h.publish(t, h.pub, stream, "cart.updated", `{"n":1}`)
	require.Equal(t, first[0], s.next(t).ID)

	lost := h.xadd(t, stream, `{"n":2}`) // nothing published after it
	require.Equal(t, lost, s.next(t).ID)
}

// xadd appends a notice to the history without announcing it, as if its
// pub/sub message had been lost.
func (h *harness) xadd(t *testing.T, stream, data string) string {
	t.Helper()
	ids, err := h.pub.Record(context.Background(), notices.Item{Stream: stream, Type: "cart.updated", Data: json.RawMessage(data)})
	require.NoError(t, err)
	return ids[0]
}
