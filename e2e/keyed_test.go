package e2e_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/e2e/stack"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/storage"
)

// TestRetryAfterRedisLostTheKeyAppliesOnce is issue 12 item 1 as a new user
// would try it: an item is added, Redis then loses what it knew of the
// request (the idempotency record alone, as an eviction does, or the status
// too, as a failover to an empty replica does), and the client retries with
// the same key and body. Redis cannot tell it is a retry, so the command is
// queued again, but it is the same command (its id is a function of user and
// key): the event store's cmd- row catches it and the item is in the cart once.
func TestRetryAfterRedisLostTheKeyAppliesOnce(t *testing.T) {
	s := startStack(t, stack.Options{Replicas: 1})
	ctx := ctxFor(t, 2*time.Minute)
	c := s.Client()
	rdb := s.Env.Redis(t)
	admin, err := c.Token(ctx, "boss", true)
	require.NoError(t, err)
	user := "keyed-" + uuid.NewString()[:8]
	tok, err := c.Token(ctx, user, false)
	require.NoError(t, err)
	product := sku("KEYED")
	_, st, err := c.Run(ctx, http.MethodPost, "/api/products", admin, map[string]any{"sku": product, "name": "x", "priceCents": 5, "stock": 10})
	require.NoError(t, err)
	require.Equal(t, "succeeded", st.Status)
	acc, err := storage.Connect(s.Env.ConnString)
	require.NoError(t, err)

	for _, lost := range []struct {
		name   string
		status bool // the command's status is lost too
	}{{"idempotency record evicted", false}, {"failover lost every key", true}} {
		t.Run(lost.name, func(t *testing.T) {
			created, st, err := c.Run(ctx, http.MethodPost, "/api/carts", tok, map[string]any{})
			require.NoError(t, err)
			require.Equal(t, "succeeded", st.Status)
			cart := created.AggregateID
			commands := queue.Open(acc, s.CommandQueue("cart-"+cart), nil) // the cart's command shard
			key := uuid.NewString()
			path, body := "/api/carts/"+cart+"/items", map[string]any{"sku": product, "quantity": 1}
			first, err := c.Do(ctx, http.MethodPost, path, tok, body, "Idempotency-Key", key)
			require.NoError(t, err)
			require.Equal(t, http.StatusAccepted, first.Status, string(first.Body))
			var accepted stack.Accepted
			require.NoError(t, first.JSON(&accepted))
			st, err = c.Settle(ctx, tok, accepted.CommandID)
			require.NoError(t, err)
			require.Equal(t, "succeeded", st.Status)

			require.Equal(t, int64(1), rdb.Del(ctx, "idem:"+user+":"+key).Val(), "the record existed")
			if lost.status {
				require.Equal(t, int64(1), rdb.Del(ctx, "cmdstatus:"+accepted.CommandID).Val())
			}
			again, err := c.Do(ctx, http.MethodPost, path, tok, body, "Idempotency-Key", key)
			require.NoError(t, err)
			require.Equal(t, http.StatusAccepted, again.Status, string(again.Body))
			assert.Empty(t, again.Header.Get("Idempotent-Replayed"), "Redis did not remember the key")
			var retried stack.Accepted
			require.NoError(t, again.JSON(&retried))
			require.Equal(t, accepted.CommandID, retried.CommandID, "the same key names the same command")
			if !lost.status {
				// The retry's pending status never overwrites the outcome.
				res, err := c.Do(ctx, http.MethodGet, "/api/commands/"+retried.CommandID, tok, nil)
				require.NoError(t, err)
				var now stack.Status
				require.NoError(t, res.JSON(&now))
				assert.Equal(t, "succeeded", now.Status, "a late pending overwrote the outcome")
			}

			// The retry has been handled once its shard is empty again (one
			// replica, nothing else sent) and its status is final.
			require.Eventually(t, func() bool {
				n, err := commands.Depth(ctx)
				return err == nil && n == 0
			}, time.Minute, 50*time.Millisecond, "the retry was never handled")
			st, err = c.Settle(ctx, tok, retried.CommandID)
			require.NoError(t, err)
			assert.Equal(t, "succeeded", st.Status, "the duplicate is answered as the command it repeats")

			evs := events(t, s, "cart-"+cart)
			require.Len(t, evs, 2, "created + exactly one ItemAdded")
			assert.Equal(t, "ItemAdded", evs[1].Type)
			res, err := c.Do(ctx, http.MethodGet, "/api/carts/"+cart+"?minVersion=2&wait=10", tok, nil)
			require.NoError(t, err)
			var view struct {
				Version int64
				Items   []struct{ Quantity int }
			}
			require.NoError(t, res.JSON(&view))
			assert.Equal(t, int64(2), view.Version)
			require.Len(t, view.Items, 1)
			assert.Equal(t, 1, view.Items[0].Quantity, "the item is in the cart once")
		})
	}
}
