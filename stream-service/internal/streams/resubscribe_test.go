package streams

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/notices"
)

// stallTopic holds the topic's lock, so its goroutine stops reading its
// listener, until the listener has been dropped for falling behind.
func stallTopic(t *testing.T, h *harness, stream string, publish func()) {
	t.Helper()
	h.hub.mu.Lock()
	tp := h.hub.topics[stream]
	h.hub.mu.Unlock()
	require.NotNil(t, tp)
	tp.mu.Lock()
	defer tp.mu.Unlock()
	publish()
	require.True(t, waitFor(t, func() bool { return h.hub.sub.Streams() == 0 }, "the listener is dropped"))
}

func TestASlowTopicResubscribesAndFillsTheGap(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{TopicBuffer: 1, Resync: time.Hour, Heartbeat: time.Hour}, true) // no tick takes the lock
	alice := newID("alice-")
	cart := h.create(t, "cart", alice)
	stream := notices.CartStream(cart)
	s := h.open(t, "/streams/carts/"+cart, h.token(t, alice))
	before := testutil.ToFloat64(resubscribes)

	var ids []string
	stallTopic(t, h, stream, func() {
		for i := range 50 {
			ids = append(ids, h.publish(t, h.pub, stream, "cart.updated", fmt.Sprintf(`{"n":%d}`, i))...)
		}
	})
	for i, id := range ids {
		require.Equal(t, id, s.next(t).ID, "notice %d", i)
	}
	assert.Greater(t, testutil.ToFloat64(resubscribes), before)
	assert.Equal(t, 1, h.hub.sub.Streams(), "subscribed again")
}

func TestATopicThatLostItsPlaceResetsItsClients(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{TopicBuffer: 1, Resync: time.Hour, Heartbeat: time.Hour}, true) // no tick takes the lock
	alice := newID("alice-")
	cart := h.create(t, "cart", alice)
	stream := notices.CartStream(cart)
	s := h.open(t, "/streams/carts/"+cart, h.token(t, alice))
	short := notices.NewPublisher(h.rdb, notices.Config{MaxLen: 10})

	var ids []string
	stallTopic(t, h, stream, func() {
		for i := range 500 {
			ids = append(ids, h.publish(t, short, stream, "cart.updated", fmt.Sprintf(`{"n":%d}`, i))...)
		}
	})
	// The two notices the topic had already taken from its listener, then a
	// reset: the history no longer reaches back to them.
	require.Equal(t, ids[0], s.next(t).ID)
	require.Equal(t, ids[1], s.next(t).ID)
	ev := s.next(t)
	require.Equal(t, "reset", ev.Event)
	assert.Equal(t, ids[len(ids)-1], ev.ID)
	live := h.publish(t, short, stream, "cart.updated", `{"live":true}`)
	require.Equal(t, live[0], s.next(t).ID)
}
