package e2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/e2e/stack"
	"github.com/prism-es/prism/shared/eventstore"
)

// TestPoisonAndRedrive: a command that cannot be processed (its cart's
// stream holds a corrupt row) is retried, lands in the poison queue of its
// command shard (commands-<k>-poison) after its 5th delivery and is reported
// failed; once an operator repairs the stream, `prismctl poison redrive`
// brings it back and it succeeds.
func TestPoisonAndRedrive(t *testing.T) {
	s := startStack(t, stack.Options{Replicas: 1})
	ctx := ctxFor(t, 3*time.Minute)
	c := s.Client()
	admin, _ := c.Token(ctx, "boss", true)
	alice, _ := c.Token(ctx, "alice", false)
	product := sku("POISON")
	_, _, err := c.Run(ctx, http.MethodPost, "/api/products", admin, map[string]any{"sku": product, "name": "x", "priceCents": 1, "stock": 1})
	require.NoError(t, err)
	created, _, err := c.Run(ctx, http.MethodPost, "/api/carts", alice, map[string]any{})
	require.NoError(t, err)
	cart := created.AggregateID

	// Corrupt the stream: a version-2 row whose data is not JSON.
	events := corruptCart(t, s, cart)
	shardQueue := s.CommandQueue("cart-" + cart)

	add, err := c.Command(ctx, http.MethodPost, "/api/carts/"+cart+"/items", alice, map[string]any{"sku": product, "quantity": 1})
	require.NoError(t, err)
	st, err := c.Settle(ctx, alice, add.CommandID)
	require.NoError(t, err)
	assert.Equal(t, "failed", st.Status)

	out, err := s.Prismctl("poison", "list", shardQueue, "--json")
	require.NoError(t, err, out)
	var list struct {
		Depth    int `json:"depth"`
		Messages []struct {
			DequeueCount int64  `json:"dequeueCount"`
			Reason       string `json:"reason"`
			Body         json.RawMessage
		} `json:"messages"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &list), out)
	recs := list.Messages
	require.Len(t, recs, 1)
	assert.Contains(t, recs[0].Reason, "v2 (ItemAdded)", "the reason names what failed")
	assert.Equal(t, int64(5), recs[0].DequeueCount, "poisoned after exactly 5 deliveries")
	assert.Contains(t, string(recs[0].Body), add.CommandID)

	// The operator repairs the stream, then redrives.
	_, err = events.DeleteEntity(context.Background(), "cart-"+cart, eventstore.RowKey(2), &aztables.DeleteEntityOptions{})
	require.NoError(t, err)
	out, err = s.Prismctl("poison", "redrive", shardQueue)
	require.NoError(t, err, out)
	assert.Contains(t, out, "moved 1 message")
	require.Eventually(t, func() bool {
		st, err := c.Settle(ctx, alice, add.CommandID)
		return err == nil && st.Status == "succeeded"
	}, 30*time.Second, 100*time.Millisecond, "the redriven command succeeds")
	out, err = s.Prismctl("poison", "list", shardQueue)
	require.NoError(t, err, out)
	assert.False(t, strings.Contains(out, add.CommandID), "the poison queue no longer holds it: %s", out)
}
