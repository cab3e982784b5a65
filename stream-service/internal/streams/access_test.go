package streams

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/redisconn"
	"github.com/prism-es/prism/shared/testenv"
)

func TestWhoMaySeeWhichStream(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}, true)
	alice, bob := newID("alice-"), newID("bob-")
	cart := h.create(t, "cart", alice)
	order := h.create(t, "order", alice)
	aliceTok, bobTok := h.token(t, alice), h.token(t, bob)

	problem := func(name, path, token string, status int) {
		t.Helper()
		res, body := h.get(t, path, token)
		require.Equal(t, status, res.StatusCode, "%s: %s", name, body)
		assert.Equal(t, "application/problem+json", res.Header.Get("Content-Type"), name)
		var p struct {
			Type   string `json:"type"`
			Status int    `json:"status"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &p), name)
		assert.Equal(t, status, p.Status, name)
	}
	problem("bob on alice's cart", "/streams/carts/"+cart, bobTok, http.StatusNotFound)
	problem("bob on alice's order", "/streams/orders/"+order, bobTok, http.StatusNotFound)
	problem("unknown cart", "/streams/carts/"+newID("nope"), aliceTok, http.StatusNotFound)
	problem("unknown order", "/streams/orders/"+newID("nope"), aliceTok, http.StatusNotFound)
	problem("malformed cart id", "/streams/carts/..bad", aliceTok, http.StatusNotFound)
	problem("cart without a token", "/streams/carts/"+cart, "", http.StatusUnauthorized)
	problem("me without a token", "/streams/me", "", http.StatusUnauthorized)
	problem("bad token", "/streams/me", "not-a-jwt", http.StatusUnauthorized)
	problem("bad query token", "/streams/me?access_token=not-a-jwt", "", http.StatusUnauthorized)
	problem("unknown route", "/streams/nothing", aliceTok, http.StatusNotFound)

	// Bob's 404 for Alice's cart says nothing an unknown id would not.
	_, mine := h.get(t, "/streams/carts/"+cart, bobTok)
	_, none := h.get(t, "/streams/carts/unknown1", bobTok)
	var a, b map[string]any
	require.NoError(t, json.Unmarshal([]byte(mine), &a))
	require.NoError(t, json.Unmarshal([]byte(none), &b))
	assert.Equal(t, b["type"], a["type"])
	assert.Equal(t, b["title"], a["title"])

	// The owner may, with the header or (EventSource) the query token.
	h.open(t, "/streams/carts/"+cart, aliceTok).close()
	o := h.open(t, "/streams/orders/"+order+"?access_token="+aliceTok, "")
	ids := h.publish(t, h.pub, notices.OrderStream(order), "order.updated", `{"status":"placed"}`)
	assert.Equal(t, ids[0], o.next(t).ID)

	// Products are public.
	p := h.open(t, "/streams/products", "")
	ids = h.publish(t, h.pub, notices.ProductsStream, "product.updated", `{"sku":"SKU-1"}`)
	ev := p.next(t)
	assert.Equal(t, "product.updated", ev.Event)
	assert.Equal(t, ids[0], ev.ID)
}

// countingLoader counts event-store reads.
type countingLoader struct {
	EventLoader
	n int
}

func (c *countingLoader) LoadRange(ctx context.Context, stream string, from, to int64) ([]envelope.Event, error) {
	c.n++
	return c.EventLoader.LoadRange(ctx, stream, from, to)
}

func TestOwnersAreCached(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}, true)
	loads := &countingLoader{EventLoader: h.store}
	owners, err := NewOwners(loads, 10)
	require.NoError(t, err)
	alice := newID("alice-")
	cart := h.create(t, "cart", alice)
	for range 3 {
		owner, err := owners.Owner(t.Context(), "cart", cart)
		require.NoError(t, err)
		assert.Equal(t, alice, owner)
	}
	assert.Equal(t, 1, loads.n)
	for range 2 {
		_, err := owners.Owner(t.Context(), "cart", "unknown1")
		require.Error(t, err)
	}
	assert.Equal(t, 3, loads.n, "not found is not cached")
}

func TestRedisDownAnswers503(t *testing.T) {
	t.Parallel()
	port, err := testenv.FreePort()
	require.NoError(t, err)
	rdb, err := redisconn.Connect(fmt.Sprintf("redis://127.0.0.1:%d/0", port)) // nothing listens there
	require.NoError(t, err)
	defer rdb.Close()
	hub := NewHub(rdb, Config{})
	defer hub.Close(t.Context())
	srv := httptest.NewServer(Handler(Deps{Hub: hub}))
	defer srv.Close()

	res, err := http.Get(srv.URL + "/streams/products")
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	assert.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
	assert.NotEmpty(t, res.Header.Get("Retry-After"))
	assert.Equal(t, 0, hub.Topics())
}
