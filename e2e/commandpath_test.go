package e2e_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/e2e/stack"
	"github.com/prism-es/prism/shared/eventcatalog"
)

// TestCommandPathEndToEnd: POST over HTTP → command on the queue → events in
// the events table with versions 1..n and a cmd- row → status succeeded →
// read model → and the checkout saga through to a confirmed order.
func TestCommandPathEndToEnd(t *testing.T) {
	s := startStack(t, stack.Options{Replicas: 2})
	ctx := ctxFor(t, 2*time.Minute)
	c := s.Client()
	admin, err := c.Token(ctx, "boss", true)
	require.NoError(t, err)
	alice, err := c.Token(ctx, "alice", false)
	require.NoError(t, err)

	tea := sku("TEA")
	_, st, err := c.Run(ctx, http.MethodPost, "/api/products", admin, map[string]any{"sku": tea, "name": "Green tea", "priceCents": 450, "stock": 20})
	require.NoError(t, err)
	require.Equal(t, "succeeded", st.Status)

	created, st, err := c.Run(ctx, http.MethodPost, "/api/carts", alice, map[string]any{})
	require.NoError(t, err)
	require.Equal(t, "succeeded", st.Status)
	cart := created.AggregateID
	_, st, err = c.Run(ctx, http.MethodPost, "/api/carts/"+cart+"/items", alice, map[string]any{"sku": tea, "quantity": 2})
	require.NoError(t, err)
	require.Equal(t, "succeeded", st.Status)
	assert.Equal(t, int64(2), st.Version)

	evs := events(t, s, "cart-"+cart)
	require.Len(t, evs, 2)
	for i, e := range evs {
		assert.Equal(t, int64(i+1), e.Version)
		assert.NoError(t, eventcatalog.Validate(e))
	}

	res, err := c.Do(ctx, http.MethodGet, "/api/carts/"+cart+"?minVersion=2&wait=5", alice, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	var view struct {
		TotalCents int64
		Version    int64
	}
	require.NoError(t, res.JSON(&view))
	assert.Equal(t, int64(900), view.TotalCents)
	assert.Empty(t, res.Header.Get("X-Stale"))

	co, st, err := c.Run(ctx, http.MethodPost, "/api/carts/"+cart+"/checkout", alice, map[string]any{"paymentToken": "pm_ok"})
	require.NoError(t, err)
	require.Equal(t, "succeeded", st.Status)
	var order struct {
		Status  string
		History []struct{ Status string }
	}
	require.Eventually(t, func() bool {
		r, err := c.Do(ctx, http.MethodGet, "/api/orders/"+co.OrderID, alice, nil)
		return err == nil && r.Status == http.StatusOK && r.JSON(&order) == nil && order.Status == "confirmed"
	}, 30*time.Second, 50*time.Millisecond, "order never confirmed")
	var steps []string
	for _, h := range order.History {
		steps = append(steps, h.Status)
	}
	assert.Equal(t, []string{"placed", "stockReserved", "paid", "confirmed"}, steps)
	require.Eventually(t, func() bool {
		r, err := c.Do(ctx, http.MethodGet, "/api/notifications", alice, nil)
		return err == nil && r.Status == http.StatusOK && strings.Contains(string(r.Body), co.OrderID[:8])
	}, 20*time.Second, 50*time.Millisecond, "no notification for the confirmed order")
	// The product's row is projected by its own events, which may land after
	// the order's: poll it, the state asserted, not the order as a proxy.
	var p struct{ Available int }
	assert.Eventually(t, func() bool {
		r, err := c.Do(ctx, http.MethodGet, "/api/products/"+tea, "", nil)
		return err == nil && r.JSON(&p) == nil && p.Available == 18
	}, 20*time.Second, 50*time.Millisecond, "the reservation shows in the product's availability (last read %d)", p.Available)
}
