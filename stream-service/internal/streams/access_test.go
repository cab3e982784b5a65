package streams

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/redisconn"
	"github.com/prism-es/prism/shared/testenv"
)

func TestWhoMaySeeWhichStream(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}, true)
	alice := newID("alice-")
	cart, order := newID(""), newID("")
	aliceTok := h.token(t, alice)

	problem := func(name, path, token string, status int) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, h.url+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := h.http.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var p struct {
			Type   string `json:"type"`
			Status int    `json:"status"`
			Detail string `json:"detail"`
		}
		require.Equal(t, status, res.StatusCode, name)
		assert.Equal(t, "application/problem+json", res.Header.Get("Content-Type"), name)
		require.NoError(t, json.NewDecoder(res.Body).Decode(&p), name)
		assert.Equal(t, status, p.Status, name)
	}
	cartPath := "/streams/carts/" + cart
	problem("cart without a ticket", cartPath, "", http.StatusUnauthorized)
	problem("cart with a bearer token (it takes a ticket: only prism-api can check the owner)", cartPath, aliceTok, http.StatusUnauthorized)
	problem("cart with another cart's ticket", cartPath+"?ticket="+h.ticket(t, aliceTok, "/streams/carts/"+newID("")), "", http.StatusUnauthorized)
	problem("cart with a made-up ticket", cartPath+"?ticket=MADEUP", "", http.StatusUnauthorized)
	problem("order with its cart's ticket", "/streams/orders/"+order+"?ticket="+h.ticket(t, aliceTok, cartPath), "", http.StatusUnauthorized)
	problem("malformed cart id", "/streams/carts/..bad", aliceTok, http.StatusNotFound)
	problem("me without a token", "/streams/me", "", http.StatusUnauthorized)
	problem("bad token", "/streams/me", "not-a-jwt", http.StatusUnauthorized)
	problem("a token in the URL is never read", "/streams/me?access_token="+aliceTok, "", http.StatusUnauthorized)
	problem("unknown route", "/streams/nothing", aliceTok, http.StatusNotFound)

	// A ticket opens its stream once.
	once := cartPath + "?ticket=" + h.ticket(t, aliceTok, cartPath)
	c := h.open(t, once, "")
	ids := h.publish(t, h.pub, notices.CartStream(cart), "cart.updated", `{"version":1}`)
	assert.Equal(t, ids[0], c.next(t).ID)
	c.close()
	problem("a used ticket", once, "", http.StatusUnauthorized)

	o := h.open(t, "/streams/orders/"+order, aliceTok) // the harness buys the ticket
	ids = h.publish(t, h.pub, notices.OrderStream(order), "order.updated", `{"status":"placed"}`)
	assert.Equal(t, ids[0], o.next(t).ID)

	// /streams/me: a ticket, or a bearer token from a client that can send headers.
	m := h.open(t, "/streams/me?ticket="+h.ticket(t, aliceTok, "/streams/me"), "")
	byHeader := h.open(t, "/streams/me", aliceTok)
	ids = h.publish(t, h.pub, notices.UserStream(alice), "notification", `{"id":"n1"}`)
	assert.Equal(t, ids[0], m.next(t).ID)
	assert.Equal(t, ids[0], byHeader.next(t).ID)

	// Products are public.
	p := h.open(t, "/streams/products", "")
	ids = h.publish(t, h.pub, notices.ProductsStream, "product.updated", `{"sku":"SKU-1"}`)
	ev := p.next(t)
	assert.Equal(t, "product.updated", ev.Event)
	assert.Equal(t, ids[0], ev.ID)
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
