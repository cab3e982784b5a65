package web_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/envelope"
)

// TestRetryAfterRedisForgotTheKeyNamesTheSameCommand is issue 12 item 1: a
// command is accepted, Redis then loses its idempotency record (an eviction,
// a failover), and the client retries with the same key and body. The retry
// is queued again (Redis cannot tell), but as the same command, with the
// same ids the API named the first time, so the event store's cmd- row
// catches it.
func TestRetryAfterRedisForgotTheKeyNamesTheSameCommand(t *testing.T) {
	t.Parallel()
	a := newAPI(t, env.ConnString, env.RedisURL)
	rdb := env.Redis(t)
	user := "keyed-" + uuid.NewString()
	tok := a.token(t, user)
	cart := uuid.NewString()
	cases := []struct {
		name, method, path, body string
		ids                      []string // fields of the 202 the API names
	}{
		{"create cart, id named by the API", "POST", "/api/carts", `{}`, []string{"commandId", "aggregateId"}},
		{"create cart, id named by the client", "POST", "/api/carts", `{"cartId":"` + cart + `"}`, []string{"commandId"}},
		{"add item", "POST", "/api/carts/" + cart + "/items", `{"sku":"A","quantity":1}`, []string{"commandId"}},
		{"checkout", "POST", "/api/carts/" + cart + "/checkout", `{}`, []string{"commandId", "orderId"}},
	}
	for _, c := range cases {
		key := uuid.NewString()
		first := a.do(t, c.method, c.path, tok, c.body, "Idempotency-Key", key)
		require.Equal(t, 202, first.status, "%s: %s", c.name, first.body)
		msgs := a.queued(t)
		require.Len(t, msgs, 1, c.name)
		firstCmd, err := envelope.DecodeCommand(msgs[0].Body)
		require.NoError(t, err)

		// Redis forgets the key.
		n, err := rdb.Del(context.Background(), "idem:"+user+":"+key).Result()
		require.NoError(t, err)
		require.Equal(t, int64(1), n, "%s: the record existed", c.name)

		again := a.do(t, c.method, c.path, tok, c.body, "Idempotency-Key", key)
		require.Equal(t, 202, again.status, "%s: %s", c.name, again.body)
		assert.Empty(t, again.header.Get("Idempotent-Replayed"), "%s: Redis did not remember it", c.name)
		for _, f := range c.ids {
			assert.Equal(t, first.json(t)[f], again.json(t)[f], "%s: %s", c.name, f)
		}
		msgs = a.queued(t)
		require.Len(t, msgs, 1, "%s: queued again", c.name)
		cmd, err := envelope.DecodeCommand(msgs[0].Body)
		require.NoError(t, err)
		assert.Equal(t, firstCmd.CommandID, cmd.CommandID, "%s: the same command id", c.name)
		assert.Equal(t, firstCmd.AggregateID, cmd.AggregateID, c.name)
		assert.JSONEq(t, string(firstCmd.Payload), string(cmd.Payload), "%s: the same payload (ids it names included)", c.name)
	}

	// Another user with the same key names other ids.
	key := uuid.NewString()
	mine := a.do(t, "POST", "/api/carts", tok, `{}`, "Idempotency-Key", key)
	theirs := a.do(t, "POST", "/api/carts", a.token(t, "other-"+user), `{}`, "Idempotency-Key", key)
	require.Equal(t, 202, mine.status)
	require.Equal(t, 202, theirs.status)
	assert.NotEqual(t, mine.json(t)["commandId"], theirs.json(t)["commandId"])
	assert.NotEqual(t, mine.json(t)["aggregateId"], theirs.json(t)["aggregateId"])
	a.queued(t)
}
