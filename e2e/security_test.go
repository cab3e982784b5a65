package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/e2e/stack"
	"github.com/prism-es/prism/shared/auth/oidctest"
	"github.com/prism-es/prism/shared/testenv"
)

// stripeRouter stands where Stripe would be: it records every request and
// passes it to a stripe-mock that approves, or, for the test card that
// Stripe declines (pm_card_chargeDeclined), to one that declines.
type stripeRouter struct {
	URL string

	mu   sync.Mutex
	keys map[string][]string // Idempotency-Key by PaymentIntent metadata[prism_order_id]
}

func startStripe(t *testing.T) *stripeRouter {
	t.Helper()
	approving, err := testenv.StartStripeMock(testenv.StripeApproves)
	require.NoError(t, err)
	t.Cleanup(approving.Stop)
	declining, err := testenv.StartStripeMock(testenv.StripeDeclines)
	require.NoError(t, err)
	t.Cleanup(declining.Stop)
	proxyTo := func(base string) *httputil.ReverseProxy {
		u, err := neturl.Parse(base)
		require.NoError(t, err)
		return httputil.NewSingleHostReverseProxy(u)
	}
	yes, no := proxyTo(approving.URL), proxyTo(declining.URL)
	r := &stripeRouter{keys: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := neturl.ParseQuery(string(body))
		if req.URL.Path == "/v1/payment_intents" {
			r.mu.Lock()
			order := form.Get("metadata[prism_order_id]")
			r.keys[order] = append(r.keys[order], req.Header.Get("Idempotency-Key"))
			r.mu.Unlock()
		}
		if form.Get("payment_method") == "pm_card_chargeDeclined" {
			no.ServeHTTP(w, req)
			return
		}
		yes.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func (r *stripeRouter) chargeKeys(order string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.keys[order]...)
}

// TestSafeOnTheInternet runs the whole stack as it faces the internet: the
// default limits, tokens from an OpenID Connect provider (a local one that
// rotates its keys), streams opened with tickets, payments through Stripe
// (stripe-mock), and /metrics only on the ops ports.
func TestSafeOnTheInternet(t *testing.T) {
	idp := oidctest.Start(t)
	stripe := startStripe(t)
	s := startStack(t, stack.Options{Replicas: 1, Limits: true,
		Env: map[string]string{"PRISM_OIDC_ISSUER": idp.Issuer, "PRISM_OIDC_AUDIENCE": oidctest.Audience},
		ServiceEnv: map[string]map[string]string{
			"domain-service": {"PRISM_PAYMENT_PROVIDER": "stripe", "PRISM_STRIPE_API_KEY": "sk_test_prism", "PRISM_STRIPE_API_BASE": stripe.URL},
			// A smaller per-user budget than the default, so the burst below
			// is cut whatever this machine's command throughput (the default
			// budget is prism-api's TestABurstFromOneUserLeavesOtherUsersAlone).
			"prism-api": {"PRISM_LIMIT_COMMANDS_PER_USER": "2/s:50"},
		},
	})
	ctx := ctxFor(t, 4*time.Minute)
	c := s.Client()

	t.Run("ops ports", func(t *testing.T) {
		for _, base := range []string{s.API, s.Streams} {
			res, err := http.Get(base + "/metrics")
			require.NoError(t, err)
			res.Body.Close()
			assert.Equal(t, http.StatusNotFound, res.StatusCode, "%s/metrics on the public port", base)
			res, err = http.Get(base + "/readyz")
			require.NoError(t, err)
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			assert.JSONEq(t, `{"status":"ready"}`, string(b), "%s/readyz says no more", base)
		}
		for _, base := range []string{s.APIOps, s.StreamsOps} {
			res, err := http.Get(base + "/metrics")
			require.NoError(t, err)
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			assert.Equal(t, http.StatusOK, res.StatusCode)
			assert.Contains(t, string(b), "# HELP")
			res, err = http.Get(base + "/readyz")
			require.NoError(t, err)
			b, _ = io.ReadAll(res.Body)
			res.Body.Close()
			assert.Contains(t, string(b), `"checks"`, "details on the ops port")
		}
	})

	alice := idp.Token(t, "alice-"+uuid.NewString()[:8])
	admin := idp.Token(t, "boss", "admin")
	tea := sku("SEC")

	t.Run("OIDC tokens and stream tickets", func(t *testing.T) {
		_, st, err := c.Run(ctx, http.MethodPost, "/api/products", admin, map[string]any{"sku": tea, "name": "Tea", "priceCents": 450, "stock": 50})
		require.NoError(t, err)
		require.Equal(t, "succeeded", st.Status)
		created, st, err := c.Run(ctx, http.MethodPost, "/api/carts", alice, map[string]any{})
		require.NoError(t, err)
		require.Equal(t, "succeeded", st.Status)
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		evs, err := s.Subscribe(sctx, "/streams/carts/"+created.AggregateID, alice, "") // with a ticket bought with the provider's token
		require.NoError(t, err)
		_, st, err = c.Run(ctx, http.MethodPost, "/api/carts/"+created.AggregateID+"/items", alice, map[string]any{"sku": tea, "quantity": 1})
		require.NoError(t, err)
		require.Equal(t, "succeeded", st.Status)
		select {
		case ev := <-evs:
			assert.Equal(t, "cart.updated", ev.Type)
		case <-time.After(20 * time.Second):
			t.Fatal("no cart.updated on the ticketed stream")
		}
		res, err := http.Get(s.Streams + "/streams/carts/" + created.AggregateID + "?access_token=" + neturl.QueryEscape(alice))
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "a token in the URL opens nothing")
	})

	t.Run("rotated-out key", func(t *testing.T) {
		old := idp.Token(t, "carol")
		res, err := c.Do(ctx, http.MethodGet, "/api/orders", old, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.Status)
		idp.Rotate(t, "ES256")
		res, err = c.Do(ctx, http.MethodGet, "/api/orders", idp.Token(t, "carol"), nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, res.Status, "a token signed with the new key")
		res, err = c.Do(ctx, http.MethodGet, "/api/orders", old, nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, res.Status, "prism-api: a token signed with the rotated-out key")
		streamStatus := func(token string) int {
			sctx, cancel := context.WithCancel(ctx)
			defer cancel()
			req, err := http.NewRequestWithContext(sctx, http.MethodGet, s.Streams+"/streams/me", nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			res.Body.Close()
			return res.StatusCode
		}
		// Each service refetches the keys when a token names a key it has
		// not seen (or hourly): a token signed with the new key first.
		assert.Equal(t, http.StatusOK, streamStatus(idp.Token(t, "carol")), "stream-service: the new key")
		assert.Equal(t, http.StatusUnauthorized, streamStatus(old), "stream-service: the rotated-out key")
		alice = idp.Token(t, "alice-"+uuid.NewString()[:8])
		admin = idp.Token(t, "boss", "admin")
	})

	t.Run("checkout through Stripe", func(t *testing.T) {
		order := func(token string) (string, map[string]any) {
			created, st, err := c.Run(ctx, http.MethodPost, "/api/carts", alice, map[string]any{})
			require.NoError(t, err)
			require.Equal(t, "succeeded", st.Status)
			_, st, err = c.Run(ctx, http.MethodPost, "/api/carts/"+created.AggregateID+"/items", alice, map[string]any{"sku": tea, "quantity": 2})
			require.NoError(t, err)
			require.Equal(t, "succeeded", st.Status)
			co, st, err := c.Run(ctx, http.MethodPost, "/api/carts/"+created.AggregateID+"/checkout", alice, map[string]any{"paymentToken": token})
			require.NoError(t, err)
			require.Equal(t, "succeeded", st.Status)
			var doc map[string]any
			require.Eventually(t, func() bool {
				r, err := c.Do(ctx, http.MethodGet, "/api/orders/"+co.OrderID, alice, nil)
				return err == nil && r.Status == http.StatusOK && r.JSON(&doc) == nil && (doc["status"] == "confirmed" || doc["status"] == "cancelled")
			}, 60*time.Second, 100*time.Millisecond, "the order never settled")
			return co.OrderID, doc
		}
		paid, doc := order("pm_card_visa")
		assert.Equal(t, "confirmed", doc["status"])
		keys := stripe.chargeKeys(paid)
		require.NotEmpty(t, keys, "the charge went to Stripe")
		for _, k := range keys {
			assert.Equal(t, "prism-charge-"+paid, k, "every charge of the order carries the order's Idempotency-Key")
		}

		declined, doc := order("pm_card_chargeDeclined")
		assert.Equal(t, "cancelled", doc["status"])
		assert.Equal(t, "payment_declined", doc["cancelReason"])
		assert.NotEmpty(t, stripe.chargeKeys(declined))
	})

	t.Run("one user's burst", func(t *testing.T) {
		mallory := idp.Token(t, "mallory-"+uuid.NewString()[:8])
		bob := idp.Token(t, "bob-"+uuid.NewString()[:8])
		var mu sync.Mutex
		codes := map[int]int{}
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 300 / 16 {
					r, err := c.Do(ctx, http.MethodPost, "/api/carts", mallory, map[string]any{}, "Idempotency-Key", uuid.NewString())
					mu.Lock()
					if err != nil {
						codes[-1]++
					} else {
						codes[r.Status]++
					}
					mu.Unlock()
				}
			}()
		}
		var bobCodes []int
		for range 10 {
			r, err := c.Do(ctx, http.MethodPost, "/api/carts", bob, map[string]any{}, "Idempotency-Key", uuid.NewString())
			require.NoError(t, err)
			bobCodes = append(bobCodes, r.Status)
		}
		wg.Wait()
		t.Logf("mallory's burst: %v", codes)
		assert.Positive(t, codes[http.StatusTooManyRequests], "the burst is cut")
		assert.Equal(t, codes[http.StatusAccepted]+codes[http.StatusTooManyRequests], 300/16*16, "only 202 and 429")
		for _, code := range bobCodes {
			assert.Equal(t, http.StatusAccepted, code, "bob's commands during mallory's burst")
		}
	})

	t.Run("invented methods", func(t *testing.T) {
		series := func() int {
			res, err := http.Get(s.APIOps + "/metrics")
			require.NoError(t, err)
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			n := 0
			for _, line := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(line, "prism_http_") {
					n++
				}
			}
			return n
		}
		send := func(i int) {
			req, err := http.NewRequest(fmt.Sprintf("M%07d", i), s.API+"/api/carts", nil)
			require.NoError(t, err)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		send(0)
		before := series()
		n := size(1000, 10000)
		for i := 1; i <= n; i++ {
			send(i)
		}
		assert.Equal(t, before, series(), "%d invented methods leave /metrics the same size", n)
	})
}
