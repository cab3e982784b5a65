package web_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/tracing"
)

func TestCommandIsAcceptedAndQueued(t *testing.T) {
	t.Parallel()
	a := newAPI(t, env.ConnString, env.RedisURL)
	alice := a.token(t, "alice")
	trace := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	res := a.do(t, "POST", "/api/carts", alice, `{}`, "Idempotency-Key", "key-1", "X-Correlation-Id", "corr-abc", "traceparent", trace)
	require.Equal(t, 202, res.status, string(res.body))
	body := res.json(t)
	assert.Equal(t, "pending", body["status"])
	assert.Equal(t, "corr-abc", body["correlationId"])
	assert.Equal(t, "corr-abc", res.header.Get("X-Correlation-Id"))
	assert.Equal(t, "/api/commands/"+body["commandId"].(string), body["statusUrl"])
	assert.Equal(t, body["statusUrl"], res.header.Get("Location"))
	_, err := uuid.Parse(body["aggregateId"].(string))
	assert.NoError(t, err, "the API makes the cart id")

	msgs := a.queued(t)
	require.Len(t, msgs, 1)
	cmd, err := envelope.DecodeCommand(msgs[0].Body)
	require.NoError(t, err)
	assert.Equal(t, body["commandId"], cmd.CommandID)
	assert.Equal(t, "CreateCart", cmd.Type)
	assert.Equal(t, "cart", cmd.AggregateType)
	assert.Equal(t, "alice", cmd.Metadata.UserID)
	assert.Equal(t, "key-1", cmd.Metadata.IdempotencyKey)
	assert.Equal(t, "corr-abc", cmd.Metadata.CorrelationID)
	assert.True(t, tracing.Valid(cmd.Metadata.Traceparent))
	assert.Contains(t, cmd.Metadata.Traceparent, "4bf92f3577b34da6a3ce929d0e0e4736", "the request's trace continues")

	st := a.do(t, "GET", "/api/commands/"+cmd.CommandID, alice, "")
	require.Equal(t, 200, st.status)
	assert.Equal(t, "pending", st.json(t)["status"])
	assert.Equal(t, 404, a.do(t, "GET", "/api/commands/"+cmd.CommandID, a.token(t, "bob"), "").status, "someone else's command")
	assert.Equal(t, 404, a.do(t, "GET", "/api/commands/"+uuid.NewString(), alice, "").status)
}

func TestEveryCommandRouteQueuesItsCommand(t *testing.T) {
	t.Parallel()
	a := newAPI(t, env.ConnString, env.RedisURL)
	user, admin := a.token(t, "alice"), a.token(t, "root", "admin")
	cart, order := uuid.NewString(), uuid.NewString()
	cases := []struct {
		method, path, token, body, typ, aggType, aggID, payload string
	}{
		{"POST", "/api/carts", user, `{"cartId":"` + cart + `"}`, "CreateCart", "cart", cart, `{}`},
		{"POST", "/api/carts/" + cart + "/items", user, `{"sku":"SKU-1","quantity":2}`, "AddItem", "cart", cart, `{"sku":"SKU-1","quantity":2}`},
		{"PUT", "/api/carts/" + cart + "/items/SKU-1", user, `{"quantity":0}`, "ChangeQuantity", "cart", cart, `{"sku":"SKU-1","quantity":0}`},
		{"DELETE", "/api/carts/" + cart + "/items/SKU-1", user, "", "RemoveItem", "cart", cart, `{"sku":"SKU-1"}`},
		{"POST", "/api/carts/" + cart + "/checkout", user, `{"paymentToken":"pm_declined"}`, "CheckoutCart", "cart", cart, ""},
		{"POST", "/api/orders/" + order + "/cancel", user, `{}`, "CancelOrder", "order", order, `{}`},
		{"POST", "/api/products", admin, `{"sku":"SKU-9","name":"Nine","priceCents":900,"stock":9}`, "DefineProduct", "product", "SKU-9", `{"sku":"SKU-9","name":"Nine","priceCents":900,"stock":9}`},
		{"POST", "/api/products/SKU-9/restock", admin, `{"quantity":5}`, "RestockProduct", "product", "SKU-9", `{"quantity":5}`},
		{"POST", "/api/orders/" + order + "/ship", admin, "", "ShipOrder", "order", order, `{}`},
		{"POST", "/api/orders/" + order + "/ship", admin, `{"trackingNumber":"1Z 999/AA-1"}`, "ShipOrder", "order", order, `{"trackingNumber":"1Z 999/AA-1"}`},
		{"POST", "/api/products", admin, `{"sku":"SKU-8","name":"Eight","priceCents":800,"stock":8,"lowStockThreshold":3}`, "DefineProduct", "product", "SKU-8", `{"sku":"SKU-8","name":"Eight","priceCents":800,"stock":8,"lowStockThreshold":3}`},
		{"POST", "/api/orders/" + order + "/deliver", admin, `{}`, "DeliverOrder", "order", order, `{}`},
	}
	for _, c := range cases {
		res := a.command(t, c.method, c.path, c.token, c.body)
		require.Equal(t, 202, res.status, "%s %s: %s", c.method, c.path, res.body)
		msgs := a.queued(t)
		require.Len(t, msgs, 1, c.path)
		cmd, err := envelope.DecodeCommand(msgs[0].Body)
		require.NoError(t, err)
		assert.Equal(t, c.typ, cmd.Type)
		assert.Equal(t, c.aggType, cmd.AggregateType)
		assert.Equal(t, c.aggID, cmd.AggregateID)
		if c.typ == "CheckoutCart" {
			orderID := res.json(t)["orderId"].(string)
			assert.JSONEq(t, `{"orderId":"`+orderID+`","paymentToken":"pm_declined"}`, string(cmd.Payload))
			continue
		}
		assert.JSONEq(t, c.payload, string(cmd.Payload), c.typ)
	}
}

func TestIdempotencyKeys(t *testing.T) {
	t.Parallel()
	a := newAPI(t, env.ConnString, env.RedisURL)
	alice := a.token(t, "alice")
	first := a.do(t, "POST", "/api/carts", alice, `{}`, "Idempotency-Key", "same")
	require.Equal(t, 202, first.status)
	again := a.do(t, "POST", "/api/carts", alice, ` { } `, "Idempotency-Key", "same")
	require.Equal(t, 202, again.status)
	assert.JSONEq(t, string(first.body), string(again.body), "the same 202 again")
	assert.Equal(t, first.header.Get("Location"), again.header.Get("Location"))
	assert.Equal(t, "true", again.header.Get("Idempotent-Replayed"))

	clash := a.do(t, "POST", "/api/carts", alice, `{"cartId":"`+uuid.NewString()+`"}`, "Idempotency-Key", "same")
	assert.Equal(t, 422, clash.status)
	assert.Equal(t, "application/problem+json", clash.header.Get("Content-Type"))
	otherPath := a.do(t, "POST", "/api/carts/"+uuid.NewString()+"/checkout", alice, `{}`, "Idempotency-Key", "same")
	assert.Equal(t, 422, otherPath.status, "a key is for one request")

	bobs := a.do(t, "POST", "/api/carts", a.token(t, "bob"), `{}`, "Idempotency-Key", "same")
	assert.Equal(t, 202, bobs.status, "keys are per user")
	assert.Len(t, a.queued(t), 2, "alice's replay enqueued nothing")
}

func TestConcurrentSendsOfOneKeyQueueExactlyOneCommand(t *testing.T) {
	t.Parallel()
	a := newAPI(t, env.ConnString, env.RedisURL)
	alice := a.token(t, "alice")
	cart := uuid.NewString()
	const n = 50
	responses := make([]response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			responses[i], errs[i] = a.send("POST", "/api/carts/"+cart+"/items", alice, `{"sku":"A","quantity":1}`, "Idempotency-Key", "burst")
		}()
	}
	wg.Wait()
	distinct := map[string]bool{}
	for i, res := range responses {
		require.NoError(t, errs[i])
		require.Contains(t, []int{202, 409}, res.status)
		if res.status == 202 {
			distinct[res.json(t)["commandId"].(string)] = true
		}
	}
	assert.Len(t, distinct, 1, "every 202 names the same command")
	assert.Len(t, a.queued(t), 1, "exactly one command on the queue")
}

func TestAdminRoutesNeedTheAdminRole(t *testing.T) {
	t.Parallel()
	a := newAPI(t, env.ConnString, env.RedisURL)
	alice := a.token(t, "alice")
	for _, path := range []string{"/api/products", "/api/products/SKU-1/restock", "/api/orders/" + uuid.NewString() + "/ship", "/api/orders/" + uuid.NewString() + "/deliver"} {
		res := a.command(t, "POST", path, alice, `{"sku":"SKU-1","name":"x","priceCents":1,"stock":1}`)
		assert.Equal(t, 403, res.status, path)
		assert.Equal(t, "application/problem+json", res.header.Get("Content-Type"))
	}
	assert.Empty(t, a.queued(t))
}

// TestBadInputGetsAClearAnswer is the hostile-input table of issue 4: every
// row answers the documented 4xx as problem+json naming the field, never 5xx.
func TestBadInputGetsAClearAnswer(t *testing.T) {
	t.Parallel()
	a := newAPI(t, env.ConnString, env.RedisURL)
	alice, admin := a.token(t, "alice"), a.token(t, "root", "admin")
	expired, _, err := a.keys.Issue("alice", nil, -2*time.Minute)
	require.NoError(t, err)
	items := "/api/carts/" + uuid.NewString() + "/items"
	mib := `{"sku":"A","quantity":1,"pad":"` + strings.Repeat("x", 1<<20) + `"}`
	cases := []struct {
		name, method, path, token, body string
		headers                         []string
		status                          int
		field                           string
	}{
		{"malformed JSON", "POST", items, alice, `{"sku":`, nil, 400, "body"},
		{"not an object", "POST", items, alice, `[1]`, nil, 400, "body"},
		{"unknown field", "POST", items, alice, `{"sku":"A","quantity":1,"price":0}`, nil, 400, "price"},
		{"quantity as string", "POST", items, alice, `{"sku":"A","quantity":"2"}`, nil, 400, "quantity"},
		{"quantity 0", "POST", items, alice, `{"sku":"A","quantity":0}`, nil, 400, "quantity"},
		{"quantity 100", "POST", items, alice, `{"sku":"A","quantity":100}`, nil, 400, "quantity"},
		{"quantity huge", "POST", items, alice, `{"sku":"A","quantity":1e400}`, nil, 400, "quantity"},
		{"quantity float", "POST", items, alice, `{"sku":"A","quantity":1.5}`, nil, 400, "quantity"},
		{"missing quantity", "POST", items, alice, `{"sku":"A"}`, nil, 400, "quantity"},
		{"missing sku", "POST", items, alice, `{"quantity":1}`, nil, 400, "sku"},
		{"sku path traversal", "POST", items, alice, `{"sku":"../../etc/passwd","quantity":1}`, nil, 400, "sku"},
		{"sku odd unicode", "POST", items, alice, `{"sku":"SKU\u202e1","quantity":1}`, nil, 400, "sku"},
		{"cart id not a uuid", "POST", "/api/carts/not-a-uuid/items", alice, `{"sku":"A","quantity":1}`, nil, 400, "cartId"},
		{"cartId not a uuid", "POST", "/api/carts", alice, `{"cartId":"x"}`, nil, 400, "cartId"},
		{"bad payment token", "POST", "/api/carts/" + uuid.NewString() + "/checkout", alice, `{"paymentToken":"<script>"}`, nil, 400, "paymentToken"},
		{"name with control chars", "POST", "/api/products", admin, `{"sku":"S","name":"a\u0000b","priceCents":1,"stock":1}`, nil, 400, "name"},
		{"negative price", "POST", "/api/products", admin, `{"sku":"S","name":"n","priceCents":-1,"stock":1}`, nil, 400, "priceCents"},
		{"negative threshold", "POST", "/api/products", admin, `{"sku":"S","name":"n","priceCents":1,"stock":1,"lowStockThreshold":-1}`, nil, 400, "lowStockThreshold"},
		{"threshold not a number", "POST", "/api/products", admin, `{"sku":"S","name":"n","priceCents":1,"stock":1,"lowStockThreshold":"3"}`, nil, 400, "lowStockThreshold"},
		{"tracking number with a newline", "POST", "/api/orders/" + uuid.NewString() + "/ship", admin, `{"trackingNumber":"a\nb"}`, nil, 400, "trackingNumber"},
		{"tracking number too long", "POST", "/api/orders/" + uuid.NewString() + "/ship", admin, `{"trackingNumber":"` + strings.Repeat("9", 65) + `"}`, nil, 400, "trackingNumber"},
		{"ship with an unknown field", "POST", "/api/orders/" + uuid.NewString() + "/ship", admin, `{"carrier":"ups"}`, nil, 400, "carrier"},
		{"deep nesting", "POST", items, alice, `{"sku":` + strings.Repeat("[", 12000) + strings.Repeat("]", 12000) + `}`, nil, 400, "body"},
		{"1 MiB body", "POST", items, alice, mib, nil, 413, ""},
		{"text/plain", "POST", items, alice, `{"sku":"A","quantity":1}`, []string{"Content-Type", "text/plain"}, 415, ""},
		{"missing key", "POST", items, alice, `{"sku":"A","quantity":1}`, []string{"Idempotency-Key", ""}, 400, "Idempotency-Key"},
		{"overlong key", "POST", items, alice, `{"sku":"A","quantity":1}`, []string{"Idempotency-Key", strings.Repeat("k", 129)}, 400, "Idempotency-Key"},
		{"no token", "POST", items, "", `{"sku":"A","quantity":1}`, nil, 401, ""},
		{"garbage token", "POST", items, "garbage", `{"sku":"A","quantity":1}`, nil, 401, ""},
		{"expired token", "POST", items, expired, `{"sku":"A","quantity":1}`, nil, 401, ""},
		{"alg none token", "POST", items, "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4IiwiaXNzIjoicHJpc20iLCJleHAiOjk5OTk5OTk5OTl9.", `{}`, nil, 401, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			headers := append([]string{"Idempotency-Key", uuid.NewString()}, c.headers...)
			res := a.do(t, c.method, c.path, c.token, c.body, headers...)
			require.Equal(t, c.status, res.status, string(res.body))
			assert.Equal(t, "application/problem+json", res.header.Get("Content-Type"))
			p := res.json(t)
			assert.Equal(t, float64(c.status), p["status"])
			assert.NotEmpty(t, res.header.Get("X-Correlation-Id"))
			if c.field != "" {
				fields := p["errors"].([]any)
				var names []string
				for _, f := range fields {
					names = append(names, f.(map[string]any)["field"].(string))
				}
				assert.Contains(t, names, c.field)
			}
		})
	}
	assert.Empty(t, a.queued(t), "no bad request queued anything")
}

func TestDevTokenEndpoint(t *testing.T) {
	t.Parallel()
	a := newAPI(t, env.ConnString, env.RedisURL)
	res := a.do(t, "POST", "/api/dev/token", "", `{"userId":"carol","roles":["admin"]}`)
	require.Equal(t, 200, res.status, string(res.body))
	p, err := a.keys.Verify(t.Context(), res.json(t)["token"].(string))
	require.NoError(t, err)
	assert.Equal(t, "carol", p.UserID)
	assert.True(t, p.HasRole("admin"))
	for _, body := range []string{`{"userId":"bad id"}`, `{"userId":"x","roles":["root"]}`, `{}`, `{"userId":1}`} {
		assert.Equal(t, 400, a.do(t, "POST", "/api/dev/token", "", body).status, body)
	}
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	t.Parallel()
	a := newAPI(t, env.ConnString, env.RedisURL)
	res := a.do(t, "GET", "/nowhere", "", "")
	assert.Equal(t, 404, res.status)
	assert.Equal(t, "application/problem+json", res.header.Get("Content-Type"))
	assert.Contains(t, metricsText(t), `prism_http_requests_total{code="404",method="GET",route="unmatched"}`, "unmatched requests are counted too")
	res = a.do(t, "PATCH", "/api/carts", a.token(t, "alice"), `{}`)
	assert.Contains(t, []int{404, 405}, res.status)
	assert.Equal(t, "application/problem+json", res.header.Get("Content-Type"))
}
