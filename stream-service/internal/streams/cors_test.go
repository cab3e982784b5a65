package streams

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/notices"
)

func TestCORSLetsTheStorefrontOriginRead(t *testing.T) {
	t.Parallel()
	const shop = "http://shop.example:8080"
	h := newHarness(t, Config{}, false)
	srv := httptest.NewServer(Handler(Deps{Hub: h.hub, Tokens: h.keys, Tickets: h.tickets, CORSOrigins: []string{shop, "https://other.example"}}))
	t.Cleanup(srv.Close)
	h.url = srv.URL

	// EventSource from the storefront: a simple GET carrying Origin.
	c := h.open(t, "/streams/products", "", "Origin", shop)
	assert.Equal(t, shop, c.res.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, c.res.Header.Values("Vary"), "Origin")
	assert.Equal(t, "text/event-stream", c.res.Header.Get("Content-Type"))
	ids := h.publish(t, h.pub, notices.ProductsStream, "product.updated", `{"sku":"SKU-1"}`)
	assert.Equal(t, ids[0], c.next(t).ID, "the stream works as without CORS")
	c.close()

	// Error answers carry the header too (the page sees the failure, not a CORS error).
	res, _ := h.get(t, "/streams/me", "", "Origin", shop)
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	assert.Equal(t, shop, res.Header.Get("Access-Control-Allow-Origin"))

	// A ticket in the query, as the storefront's EventSource sends it.
	me := h.open(t, "/streams/me?ticket="+h.ticket(t, h.token(t, newID("alice-")), "/streams/me"), "", "Origin", shop)
	assert.Equal(t, shop, me.res.Header.Get("Access-Control-Allow-Origin"))
	me.close()

	// Another origin, and no origin at all: no CORS header, same stream.
	other := h.open(t, "/streams/products", "", "Origin", "http://evil.example")
	assert.Empty(t, other.res.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, other.res.Header.Values("Vary"), "Origin")
	other.close()
	none := h.open(t, "/streams/products", "")
	assert.Empty(t, none.res.Header.Get("Access-Control-Allow-Origin"))
	none.close()
}

func TestCORSPreflight(t *testing.T) {
	t.Parallel()
	const shop = "http://localhost:8080"
	h := newHarness(t, Config{}, false)
	srv := httptest.NewServer(Handler(Deps{Hub: h.hub, Tokens: h.keys, Tickets: h.tickets, CORSOrigins: DefaultCORSOrigins}))
	t.Cleanup(srv.Close)

	preflight := func(origin string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodOptions, srv.URL+"/streams/me", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res
	}
	res := preflight(shop)
	assert.Equal(t, http.StatusNoContent, res.StatusCode)
	assert.Equal(t, shop, res.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "GET", res.Header.Get("Access-Control-Allow-Methods"))
	assert.Contains(t, res.Header.Get("Access-Control-Allow-Headers"), "Authorization")

	res = preflight("http://localhost:9999")
	assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode, "not answered for an unknown origin")
	assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"))
}

func TestCheckOrigin(t *testing.T) {
	t.Parallel()
	for _, o := range []string{"http://localhost:8080", "https://shop.example", "http://127.0.0.1:8080", "http://x.example/"} {
		assert.NoError(t, CheckOrigin(o), o)
	}
	for _, o := range []string{"localhost:8080", "ftp://x.example", "http://x.example/shop", "*", "http://"} {
		assert.Error(t, CheckOrigin(o), o)
	}
}
