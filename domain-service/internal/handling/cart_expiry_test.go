package handling_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/domain-service/internal/cart"
	"github.com/prism-es/prism/domain-service/internal/handling"
	"github.com/prism-es/prism/shared/commandstatus"
	"github.com/prism-es/prism/shared/envelope"
)

// TestIdleCartExpiresByItsDeadline: a new cart sets a delayed ExpireCart
// (the saga's deadline mechanism); untouched, it expires the cart, once, and
// the cart refuses changes after that.
func TestIdleCartExpiresByItsDeadline(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	startReplica(t, w, handling.Config{CartTTL: time.Second})
	sku := skus(1)[0]
	defineProduct(t, w, sku, 250, 100)

	id := uuid.NewString()
	create := command("alice", "cart", id, "CreateCart", map[string]any{})
	send(t, w, create)
	require.Equal(t, commandstatus.Succeeded, settle(t, create.CommandID).Status)
	var events []envelope.Event
	require.Eventually(t, func() bool {
		events = loadStream(t, w, "cart", id)
		return len(events) >= 2
	}, 30*time.Second, 50*time.Millisecond, "the cart expires about a second after its last change")
	require.Len(t, events, 2)
	assert.Equal(t, "CartExpired", events[1].Type)
	assert.JSONEq(t, `{"idleSeconds":1}`, string(events[1].Data))
	assert.Equal(t, envelope.DerivedID(id, "expire", "1"), events[1].Metadata.CommandID, "the deadline set at version 1")

	add := command("alice", "cart", id, "AddItem", map[string]any{"sku": sku, "quantity": 1})
	send(t, w, add)
	st := settle(t, add.CommandID)
	assert.Equal(t, commandstatus.Rejected, st.Status)
	assert.Equal(t, "cart has expired", st.Reason)
}

// TestLateAndRepeatedCartDeadlinesDoNothing: a deadline set before the
// cart's last change, and the same deadline delivered twice, add nothing.
func TestLateAndRepeatedCartDeadlinesDoNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := startReplica(t, w, handling.Config{CartTTL: time.Hour}) // the real deadlines stay hidden
	sku := skus(1)[0]
	defineProduct(t, w, sku, 250, 100)
	id := uuid.NewString()
	create := command("alice", "cart", id, "CreateCart", map[string]any{})
	add := command("alice", "cart", id, "AddItem", map[string]any{"sku": sku, "quantity": 1})
	send(t, w, create)
	require.Equal(t, commandstatus.Succeeded, settle(t, create.CommandID).Status)
	send(t, w, add)
	require.Equal(t, commandstatus.Succeeded, settle(t, add.CommandID).Status)

	deadline := func(version int64) envelope.Command {
		c := command("alice", "cart", id, cart.CmdExpire, cart.ExpirePayload{AfterVersion: version, IdleSeconds: 3600})
		c.CommandID = envelope.DerivedID(id, "expire", "1")
		if version == 2 {
			c.CommandID = envelope.DerivedID(id, "expire", "2")
		}
		c.Metadata.IdempotencyKey = ""
		return c
	}
	ctx := context.Background()
	require.NoError(t, r.handler.Execute(ctx, deadline(1)), "set at creation: voided by the add")
	assert.Len(t, loadStream(t, w, "cart", id), 2)
	require.NoError(t, r.handler.Execute(ctx, deadline(2)), "set by the add: the cart expires")
	require.NoError(t, r.handler.Execute(ctx, deadline(2)), "the same deadline again")
	events := loadStream(t, w, "cart", id)
	require.Len(t, events, 3)
	assert.Equal(t, "CartExpired", events[2].Type)
}

// TestATouchedCartExpiresItsTTLAfterItsLastChange: a cart keeps one
// deadline at a time. The creation's deadline finds the cart changed and
// sets the next one for the time left after the last change; the changes in
// between send none.
func TestATouchedCartExpiresItsTTLAfterItsLastChange(t *testing.T) {
	t.Parallel()
	// The scenario needs every change made before the creation's deadline
	// is due. A machine busier than that is tried again with a longer TTL:
	// a deadline due mid-way is right to fire (and re-arm), but it is not
	// what this test checks.
	for ttl := 3 * time.Second; !touchedCartExpires(t, ttl); ttl *= 2 {
		require.Less(t, ttl, 24*time.Second, "the changes never fitted in a TTL on this machine")
		t.Logf("the changes took longer than a TTL of %s here; again with %s", ttl, 2*ttl)
	}
}

// touchedCartExpires runs the scenario with ttl; false: the changes took
// longer than ttl, so its precondition did not hold and nothing was checked.
func touchedCartExpires(t *testing.T, ttl time.Duration) bool {
	w := newWorld(t)
	startReplica(t, w, handling.Config{CartTTL: ttl})
	sku := skus(1)[0]
	defineProduct(t, w, sku, 250, 100)
	id := uuid.NewString()
	create := command("alice", "cart", id, "CreateCart", map[string]any{})
	send(t, w, create)
	require.Equal(t, commandstatus.Succeeded, settle(t, create.CommandID).Status)
	for q := 1; q <= 4; q++ {
		c := command("alice", "cart", id, "ChangeQuantity", map[string]any{"sku": sku, "quantity": q})
		if q == 1 {
			c = command("alice", "cart", id, "AddItem", map[string]any{"sku": sku, "quantity": 1})
		}
		send(t, w, c)
		require.Equal(t, commandstatus.Succeeded, settle(t, c.CommandID).Status)
	}
	var events []envelope.Event
	require.Eventually(t, func() bool {
		events = loadStream(t, w, "cart", id)
		return len(events) == 6
	}, 30*time.Second+ttl, 50*time.Millisecond, "the cart expires a TTL after its last change")
	if events[4].OccurredAt.Sub(events[0].OccurredAt) >= ttl {
		return false // the creation's deadline was due before the last change
	}
	last, expired := events[4], events[5]
	require.Equal(t, "CartExpired", expired.Type)
	assert.Equal(t, envelope.DerivedID(id, "expire", "5"), expired.Metadata.CommandID, "the deadline re-armed for the last version")
	assert.GreaterOrEqual(t, expired.OccurredAt.Sub(last.OccurredAt), ttl, "untouched for a whole TTL")
	for v := 2; v <= 4; v++ {
		ok, err := recorded(t, w, "cart-"+id, envelope.DerivedID(id, "expire", strconv.Itoa(v)))
		require.NoError(t, err)
		assert.False(t, ok, "no deadline was set at version %d: changes send none", v)
	}
	return true
}
