package handling_test

import (
	"context"
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

// TestIdleCartExpiresByItsDeadline: each change of an open cart sets a
// delayed ExpireCart (the saga's deadline mechanism); the one set by the last
// change expires the cart, once, and the cart refuses changes after that.
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
