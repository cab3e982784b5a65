package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/idempotency"
)

// TestReplaysAnswerTheFirst202ByteForByte: the idempotency record keeps only
// the fingerprint and the correlation id (issue 19); every route's replay
// is still the first 202 exactly, body and Location, with the correlation id
// the first request carried or was given.
func TestReplaysAnswerTheFirst202ByteForByte(t *testing.T) {
	t.Parallel()
	a := newAPI(t, env.ConnString, env.RedisURL)
	rdb := env.Redis(t)
	user := "replay-" + uuid.NewString()[:8]
	tok, admin := a.token(t, user), a.token(t, "root-"+user, "admin")
	cart, order := uuid.NewString(), uuid.NewString()
	routes := []struct{ method, path, token, body string }{
		{"POST", "/api/carts", tok, `{}`},
		{"POST", "/api/carts", tok, `{"cartId":"` + cart + `"}`},
		{"POST", "/api/carts/" + cart + "/items", tok, `{"sku":"SKU-1","quantity":2}`},
		{"PUT", "/api/carts/" + cart + "/items/SKU-1", tok, `{"quantity":3}`},
		{"DELETE", "/api/carts/" + cart + "/items/SKU-1", tok, ""},
		{"POST", "/api/carts/" + cart + "/checkout", tok, `{"paymentToken":"pm_ok"}`},
		{"POST", "/api/orders/" + order + "/cancel", tok, `{}`},
		{"POST", "/api/products", admin, `{"sku":"SKU-R","name":"R","priceCents":5,"stock":1}`},
		{"POST", "/api/products/SKU-R/restock", admin, `{"quantity":5}`},
		{"POST", "/api/orders/" + order + "/ship", admin, `{}`},
		{"POST", "/api/orders/" + order + "/deliver", admin, `{}`},
	}
	for _, r := range routes {
		for _, corr := range [][]string{nil, {"X-Correlation-Id", "client-corr-" + uuid.NewString()[:8]}} {
			key := uuid.NewString()
			first := a.do(t, r.method, r.path, r.token, r.body, append([]string{"Idempotency-Key", key}, corr...)...)
			require.Equal(t, 202, first.status, "%s %s: %s", r.method, r.path, first.body)
			if corr == nil {
				// Without a correlation id of its own, a command is
				// correlated by its id (which the record need not keep).
				assert.Equal(t, first.json(t)["commandId"], first.json(t)["correlationId"])
				assert.Equal(t, first.json(t)["commandId"], first.header.Get("X-Correlation-Id"))
			} else {
				assert.Equal(t, corr[1], first.json(t)["correlationId"])
			}
			// The retry carries another correlation id (or none): the
			// replay still answers the first one's.
			again := a.do(t, r.method, r.path, r.token, r.body, "Idempotency-Key", key, "X-Correlation-Id", "retry-"+uuid.NewString()[:8])
			require.Equal(t, 202, again.status, "%s %s: %s", r.method, r.path, again.body)
			assert.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
			assert.Equal(t, string(first.body), string(again.body), "%s %s: byte for byte", r.method, r.path)
			assert.Equal(t, first.header.Get("Location"), again.header.Get("Location"))
			assert.Equal(t, first.header.Get("Content-Type"), again.header.Get("Content-Type"))
		}
	}
	assert.Len(t, a.queued(t), 2*len(routes), "no replay queued anything")

	// A record written by the version before issue 19 (the whole response)
	// is replayed as it is.
	key := uuid.NewString()
	legacy := `{"fingerprint":"` + idempotency.Fingerprint("POST", "/api/carts", []byte(`{}`)) + `","done":true,"response":{"status":202,"location":"/api/commands/c-old","body":{"commandId":"c-old","status":"pending"}}}`
	require.NoError(t, rdb.Set(context.Background(), "idem:"+user+":"+key, legacy, time.Hour).Err())
	old := a.do(t, "POST", "/api/carts", tok, `{}`, "Idempotency-Key", key)
	require.Equal(t, 202, old.status, string(old.body))
	assert.JSONEq(t, `{"commandId":"c-old","status":"pending"}`, string(old.body))
	assert.Equal(t, "/api/commands/c-old", old.header.Get("Location"))
	assert.Empty(t, a.queued(t))
}
