package streams

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/notices"
)

// TestAnotherDomainsNoticesReachTheMeStream: a projection of a domain
// stream-service knows nothing of (docs/kit.md) publishes its change on its
// own stream, naming the owner's user stream in Also; the owner's
// /streams/me carries it live under its own event type, and a resume with
// Last-Event-ID resolves the reference in the user's history.
func TestAnotherDomainsNoticesReachTheMeStream(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}, true)
	alice := newID("alice-")
	tok := h.token(t, alice)
	seat := notices.Stream("seat", newID("gala."))
	publish := func(data string) string {
		ids, err := h.pub.Publish(context.Background(), notices.Item{Stream: seat, Type: "seat.updated", Data: []byte(data), Also: []string{notices.UserStream(alice)}})
		require.NoError(t, err)
		return ids[0]
	}

	me := h.open(t, "/streams/me", tok)
	publish(`{"heldBy":"alice","version":1}`)
	first := me.next(t)
	assert.Equal(t, "seat.updated", first.Event)
	assert.JSONEq(t, `{"heldBy":"alice","version":1}`, first.Data)
	me.close()

	publish(`{"heldBy":"","version":2}`)
	again := h.open(t, "/streams/me", tok, "Last-Event-ID", first.ID)
	missed := again.next(t)
	assert.Equal(t, "seat.updated", missed.Event)
	assert.JSONEq(t, `{"heldBy":"","version":2}`, missed.Data, "the missed notice, resolved from the seat's history")
}
