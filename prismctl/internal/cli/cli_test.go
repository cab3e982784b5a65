package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/prismctl/internal/cli"
)

const cartID = "0b6f3c1e-4a1d-4f7e-9a59-3f1d2b8c7e10"

func TestCommandSucceeded(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	r := runCLI(t, nil, "cart", "add", cartID, "TEA-1", "2", "--api", api.URL, "--token", "T")
	require.Equal(t, cli.ExitOK, r.code, "stderr: %s", r.stderr)
	assert.Contains(t, r.stdout, "command:  cmd-1  (AddItem)")
	assert.Contains(t, r.stdout, "cart:     "+cartID)
	assert.Contains(t, r.stdout, "succeeded (version 2)")
	assert.Empty(t, r.stderr)

	sent := api.sent("POST", "/api/carts/")
	require.Len(t, sent, 1)
	assert.Equal(t, "Bearer T", sent[0].Header.Get("Authorization"))
	assert.Len(t, sent[0].Header.Get("Idempotency-Key"), 36)
	assert.Equal(t, map[string]any{"sku": "TEA-1", "quantity": float64(2)}, sent[0].Body)
	assert.Len(t, api.sent("GET", "/api/commands/cmd-1"), 3, "polled until the final status, then stopped")
}

func TestCommandRejectedAndFailedExit2(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	r := runCLI(t, nil, "--api", api.URL, "--token", "T", "cart", "add", cartID, "NOPE", "1")
	assert.Equal(t, cli.ExitRejected, r.code)
	assert.Contains(t, r.stdout, "rejected: unknown product NOPE")
	assert.Empty(t, r.stderr)

	r = runCLI(t, nil, "cart", "set", cartID, "BOOM", "1", "--api", api.URL, "--token", "T")
	assert.Equal(t, cli.ExitRejected, r.code)
	assert.Contains(t, r.stdout, "failed: handler crashed 5 times")
}

func TestTransportErrorExit1NamesTheURL(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	r := runCLI(t, nil, "cart", "create", "--api", srv.URL, "--token", "T")
	assert.Equal(t, cli.ExitFailure, r.code)
	assert.Contains(t, r.stderr, "prismctl: cannot reach the API at "+srv.URL+"/api/carts (POST)")
	assert.Contains(t, r.stderr, "make up")
	assert.Empty(t, r.stdout)
}

func TestProblemIsPrintedWithEachField(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	r := runCLI(t, nil, "cart", "add", cartID, "TEA-1", "100", "--api", api.URL, "--token", "T")
	assert.Equal(t, cli.ExitFailure, r.code)
	assert.Equal(t, "prismctl: Bad Request: invalid request\n  quantity: must be between 1 and 99\n", r.stderr)
}

func TestUnauthorizedSuggestsAToken(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	r := runCLI(t, nil, "product", "list", "--api", api.URL) // public: fine without a token
	require.Equal(t, cli.ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "TEA-1")
	assert.Contains(t, r.stdout, "4.50")

	r = runCLI(t, nil, "cart", "create", "--api", api.URL)
	assert.Equal(t, cli.ExitFailure, r.code)
	assert.Contains(t, r.stderr, "needs a token: pass --token, set PRISM_TOKEN, or give --user NAME")
	assert.Empty(t, api.sent("POST", "/api/carts"))
}

func TestNoWaitAndTimeout(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	r := runCLI(t, nil, "cart", "remove", cartID, "TEA-1", "--no-wait", "--api", api.URL, "--token", "T")
	assert.Equal(t, cli.ExitOK, r.code)
	assert.Contains(t, r.stdout, "pending; follow it with: prismctl status cmd-1 --wait")
	assert.Empty(t, api.sent("GET", "/api/commands/"))
	assert.Equal(t, "DELETE", api.sent("DELETE", "/api/carts/")[0].Method)

	r = runCLI(t, nil, "cart", "add", cartID, "SLOW", "1", "--timeout", "30ms", "--api", api.URL, "--token", "T")
	assert.Equal(t, cli.ExitPending, r.code)
	assert.Contains(t, r.stdout, "still pending after 30ms")
}

func TestCheckoutQuietPrintsTheOrderAndSendsThePaymentToken(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	r := runCLI(t, nil, "cart", "checkout", cartID, "--pay", "pm_declined", "--quiet", "--api", api.URL, "--token", "T")
	require.Equal(t, cli.ExitOK, r.code, r.stderr)
	assert.Equal(t, "order-1\n", r.stdout)
	assert.Equal(t, map[string]any{"paymentToken": "pm_declined"}, api.sent("POST", "/api/carts/")[0].Body)

	// Quiet and rejected: the reason goes to stderr.
	r = runCLI(t, nil, "cart", "add", cartID, "NOPE", "1", "--quiet", "--api", api.URL, "--token", "T")
	assert.Equal(t, cli.ExitRejected, r.code)
	assert.Empty(t, r.stdout)
	assert.Equal(t, "rejected: unknown product NOPE\n", r.stderr)
}

func TestShipSendsTheTrackingNumber(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	order := "7b5e4c1a-0000-4000-8000-000000000001"
	r := runCLI(t, nil, "order", "ship", order, "--tracking", "1Z999AA1", "--quiet", "--api", api.URL, "--token", "T")
	require.Equal(t, cli.ExitOK, r.code, r.stderr)
	r = runCLI(t, nil, "order", "ship", order, "--quiet", "--api", api.URL, "--token", "T")
	require.Equal(t, cli.ExitOK, r.code, r.stderr)
	sent := api.sent("POST", "/api/orders/")
	require.Len(t, sent, 2)
	assert.Equal(t, map[string]any{"trackingNumber": "1Z999AA1"}, sent[0].Body)
	assert.Empty(t, sent[1].Body, "no tracking number: no body")
}

func TestJSONOutputMergesThe202AndTheOutcome(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	r := runCLI(t, nil, "--json", "cart", "create", "--id", cartID, "--key", "k-1", "--api", api.URL, "--token", "T")
	require.Equal(t, cli.ExitOK, r.code, r.stderr)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out), r.stdout)
	assert.Equal(t, "cmd-1", out["commandId"])
	assert.Equal(t, "CreateCart", out["type"])
	assert.Equal(t, "succeeded", out["status"])
	assert.Equal(t, "k-1", out["idempotencyKey"])
	assert.Equal(t, float64(2), out["version"])
	assert.Equal(t, "k-1", api.sent("POST", "/api/carts")[0].Header.Get("Idempotency-Key"))
	assert.Equal(t, map[string]any{"cartId": cartID}, api.sent("POST", "/api/carts")[0].Body)
}

func TestUserFetchesADevToken(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	r := runCLI(t, nil, "cart", "create", "--user", "alice", "--api", api.URL)
	require.Equal(t, cli.ExitOK, r.code, r.stderr)
	assert.Equal(t, "Bearer tok-alice", api.sent("POST", "/api/carts")[0].Header.Get("Authorization"))

	// Admin commands fetch an admin token; --user beats $PRISM_TOKEN.
	env := map[string]string{"PRISM_TOKEN": "from-env", "PRISM_API": api.URL}
	r = runCLI(t, env, "product", "define", "TEA-1", "Green tea", "450", "20", "--user", "shopkeeper")
	require.Equal(t, cli.ExitOK, r.code, r.stderr)
	def := api.sent("POST", "/api/products")
	require.Len(t, def, 1)
	assert.Equal(t, "Bearer tok-shopkeeper-admin", def[0].Header.Get("Authorization"))
	assert.Equal(t, map[string]any{"sku": "TEA-1", "name": "Green tea", "priceCents": float64(450), "stock": float64(20)}, def[0].Body)

	// Without --user, $PRISM_TOKEN is used.
	r = runCLI(t, env, "product", "restock", "TEA-1", "5")
	require.Equal(t, cli.ExitOK, r.code, r.stderr)
	assert.Equal(t, "Bearer from-env", api.sent("POST", "/api/products/TEA-1/restock")[0].Header.Get("Authorization"))
}

func TestTokenCommand(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	r := runCLI(t, nil, "token", "alice", "--api", api.URL)
	require.Equal(t, cli.ExitOK, r.code, r.stderr)
	assert.Equal(t, "tok-alice\n", r.stdout)

	r = runCLI(t, nil, "token", "bob", "--admin", "--json", "--api", api.URL)
	require.Equal(t, cli.ExitOK, r.code, r.stderr)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	assert.Equal(t, "tok-bob-admin", out["token"])
	assert.Equal(t, []any{"admin"}, out["roles"])

	// Not in dev mode: the route is 404.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problem(w, http.StatusNotFound, "no route POST /api/dev/token")
	}))
	defer srv.Close()
	r = runCLI(t, nil, "token", "alice", "--api", srv.URL)
	assert.Equal(t, cli.ExitFailure, r.code)
	assert.Contains(t, r.stderr, "not in dev mode")
}

func TestStatusCommand(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	require.Equal(t, cli.ExitOK, runCLI(t, nil, "cart", "add", cartID, "NOPE", "1", "--no-wait", "--api", api.URL, "--token", "T").code)
	r := runCLI(t, nil, "status", "cmd-1", "--api", api.URL, "--token", "T")
	assert.Equal(t, cli.ExitOK, r.code, "pending is not a failure")
	assert.Contains(t, r.stdout, "pending")
	r = runCLI(t, nil, "status", "cmd-1", "--wait", "--api", api.URL, "--token", "T")
	assert.Equal(t, cli.ExitRejected, r.code)
	assert.Contains(t, r.stdout, "rejected: unknown product NOPE")
	r = runCLI(t, nil, "status", "cmd-404", "--api", api.URL, "--token", "T")
	assert.Equal(t, cli.ExitFailure, r.code)
	assert.Contains(t, r.stderr, "Not Found: command not found")
}

func TestCartShow(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	r := runCLI(t, nil, "cart", "show", cartID, "--min-version", "9", "--wait", "2s", "--api", api.URL, "--token", "T")
	require.Equal(t, cli.ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Green tea")
	assert.Contains(t, r.stdout, "9.00")
	assert.Contains(t, r.stderr, "stale")
	assert.Equal(t, "minVersion=9&wait=2", api.sent("GET", "/api/carts/")[0].Query)
}

func TestOrderListFollowsCursors(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	r := runCLI(t, nil, "order", "list", "--api", api.URL, "--token", "T")
	require.Equal(t, cli.ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "order-1")
	assert.NotContains(t, r.stdout, "order-2")
	assert.Contains(t, r.stderr, "--cursor c2")

	r = runCLI(t, nil, "order", "list", "--all", "--limit", "1", "--json", "--api", api.URL, "--token", "T")
	require.Equal(t, cli.ExitOK, r.code, r.stderr)
	var out struct {
		Items []struct {
			OrderID string `json:"orderId"`
		} `json:"items"`
		NextCursor string `json:"nextCursor"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	require.Len(t, out.Items, 3)
	assert.Equal(t, "order-3", out.Items[2].OrderID)
	assert.Empty(t, out.NextCursor)
	assert.Len(t, api.sent("GET", "/api/orders"), 4)
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{},
		{"nope"},
		{"cart"},
		{"cart", "nope"},
		{"cart", "add", cartID},
		{"cart", "add", cartID, "TEA-1", "two", "--token", "T"},
		{"cart", "show", "a", "b"},
		{"cart", "create", "--bogus"},
		{"watch", "elsewhere", "--token", "T"},
		{"poison", "list", "Bad_Name"},
		{"cart", "create", "--api", "localhost:8080", "--token", "T"},
	} {
		r := runCLI(t, nil, args...)
		assert.Equal(t, cli.ExitFailure, r.code, "%q", args)
		assert.NotEmpty(t, r.stderr, "%q", args)
	}
}

func TestRebuildFollowsProgressUntilDone(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var auths []string
	gets := 0
	updater := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		auths = append(auths, r.Header.Get("Authorization"))
		switch {
		case r.Method == "POST" && r.URL.Path == "/admin/rebuilds/carts":
			reply(w, http.StatusAccepted, map[string]any{"projection": "carts", "table": "carts2030", "phase": "replaying", "startedAt": "2030-01-01T00:00:00Z"})
		case r.Method == "GET" && r.URL.Path == "/admin/rebuilds/carts":
			gets++
			phases := []string{"replaying", "replaying", "switching", "catching-up", "done"}
			i := min(gets, len(phases)-1)
			p := map[string]any{"projection": "carts", "table": "carts2030", "phase": phases[i], "streams": 2 * i, "events": 10 * i, "startedAt": "2030-01-01T00:00:00Z"}
			if phases[i] == "done" {
				p["finishedAt"] = "2030-01-01T00:00:01.5Z"
			}
			reply(w, http.StatusOK, p)
		case r.URL.Path == "/admin/rebuilds/nope":
			problem(w, http.StatusNotFound, `no projection "nope" (there are carts, orders, products)`)
		}
	}))
	defer updater.Close()
	api := newFakeAPI(t)
	r := runCLI(t, nil, "rebuild", "carts", "--updater", updater.URL, "--api", api.URL, "--user", "ops")
	require.Equal(t, cli.ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "replaying")
	assert.Contains(t, r.stdout, "switching")
	assert.Contains(t, r.stdout, "catching-up")
	assert.Contains(t, r.stdout, "done in 1.5s: 8 streams, 40 events")
	assert.Equal(t, "Bearer tok-ops-admin", auths[0])
	lines := strings.Count(r.stdout, "\n")
	assert.Equal(t, 5, lines, "one line per change, not per poll:\n%s", r.stdout)

	r = runCLI(t, nil, "rebuild", "nope", "--updater", updater.URL, "--token", "A")
	assert.Equal(t, cli.ExitFailure, r.code)
	assert.Contains(t, r.stderr, `Not Found: no projection "nope"`)
}

func TestRebuildFailureExits2(t *testing.T) {
	t.Parallel()
	updater := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			problem(w, http.StatusConflict, "a rebuild of orders is already running (replaying)")
			return
		}
		reply(w, http.StatusOK, map[string]any{"projection": "orders", "phase": "failed", "error": "storage is unavailable", "streams": 1})
	}))
	defer updater.Close()
	r := runCLI(t, nil, "rebuild", "orders", "--updater", updater.URL, "--token", "A", "--json")
	assert.Equal(t, cli.ExitRejected, r.code)
	assert.Contains(t, r.stderr, "already running")
	var p map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &p), r.stdout)
	assert.Equal(t, "failed", p["phase"])
}

func TestRebuildTransportError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	r := runCLI(t, nil, "rebuild", "carts", "--updater", srv.URL, "--token", "A")
	assert.Equal(t, cli.ExitFailure, r.code)
	assert.Contains(t, r.stderr, fmt.Sprintf("cannot reach readmodel-updater at %s/admin/rebuilds/carts", srv.URL))
	assert.Contains(t, r.stderr, "--updater")
}

func TestInterruptedExit130(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := runCLICtx(t, ctx, nil, nil, nil, "cart", "add", cartID, "SLOW", "1", "--api", api.URL, "--token", "T")
	assert.Equal(t, cli.ExitInterrupted, r.code)
	assert.Contains(t, r.stderr, "interrupted")
}
