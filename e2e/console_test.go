package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/e2e/stack"
	"github.com/prism-es/prism/shared/eventstore"
)

// TestOperationsConsoleInChromium opens the operations console in headless
// Chromium on a whole stack and uses every panel on real data: the flow
// shows every service and queue and a burst of commands moving through it;
// a poisoned command is inspected and redriven from the page and then
// succeeds; a rebuild started from the page finishes and swaps the table; a
// cart is looked up an hour ago, at a version, and stepped through; a
// checkout is traced to its notification. The console's API refuses
// non-admins. Screenshots of each panel go to a folder the test prints.
func TestOperationsConsoleInChromium(t *testing.T) {
	s := startStack(t, stack.Options{Replicas: 2})
	ctx := ctxFor(t, 4*time.Minute)
	c := s.Client()
	admin, err := c.Token(ctx, "boss", true)
	require.NoError(t, err)
	alice, err := c.Token(ctx, "alice", false)
	require.NoError(t, err)

	// Admin only.
	res, err := c.Do(ctx, http.MethodGet, "/api/console/flow", "", nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, res.Status)
	for _, path := range []string{"/api/console/flow", "/api/console/poison", "/api/eventstore/cart/x"} {
		res, err = c.Do(ctx, http.MethodGet, path, alice, nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusForbidden, res.Status, path)
	}

	// Data: a product, a cart checked out (to trace), and a command that will
	// be poisoned (its cart's stream holds a corrupt row).
	product := sku("OPS")
	_, st, err := c.Run(ctx, http.MethodPost, "/api/products", admin, map[string]any{"sku": product, "name": "Console tea", "priceCents": 450, "stock": 50})
	require.NoError(t, err)
	require.Equal(t, "succeeded", st.Status)
	created, _, err := c.Run(ctx, http.MethodPost, "/api/carts", alice, map[string]any{})
	require.NoError(t, err)
	broken := created.AggregateID
	brokenQueue := s.CommandQueue("cart-" + broken) // the command shard its commands travel on
	productQueue := s.CommandQueue("product-" + product)
	table := corruptCart(t, s, broken)
	poisoned, err := c.Command(ctx, http.MethodPost, "/api/carts/"+broken+"/items", alice, map[string]any{"sku": product, "quantity": 1})
	require.NoError(t, err)

	created, _, err = c.Run(ctx, http.MethodPost, "/api/carts", alice, map[string]any{})
	require.NoError(t, err)
	cart := created.AggregateID
	for _, q := range []int{1, 2} {
		_, st, err = c.Run(ctx, http.MethodPost, "/api/carts/"+cart+"/items", alice, map[string]any{"sku": product, "quantity": q})
		require.NoError(t, err)
		require.Equal(t, "succeeded", st.Status)
	}
	checkout, st, err := c.Run(ctx, http.MethodPost, "/api/carts/"+cart+"/checkout", alice, map[string]any{"paymentToken": "pm_ok"})
	require.NoError(t, err)
	require.Equal(t, "succeeded", st.Status)

	shots, err := os.MkdirTemp("", "prism-console-screenshots-")
	require.NoError(t, err)
	t.Logf("console screenshots: %s", shots)
	b := newBrowser(t)
	tab := b.tab("operator")
	shot := func(name string) {
		var png []byte
		b.run(tab, "screenshot "+name, chromedp.FullScreenshot(&png, 100))
		require.NoError(t, os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644))
	}

	// Sign in and watch the flow.
	b.run(tab, "sign in",
		chromedp.Navigate(s.API+"/console"),
		chromedp.WaitVisible(`body[data-ready="true"]`, chromedp.ByQuery),
		chromedp.WaitVisible(testid("signin-submit"), chromedp.ByQuery),
		chromedp.Click(testid("signin-submit"), chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="flow-status"][data-state="live"]`, chromedp.ByQuery),
	)
	b.run(tab, "the flow shows every service and queue",
		chromedp.WaitReady(`[data-testid="flow-service"][data-service="prism-api"]`, chromedp.ByQuery),
		chromedp.WaitReady(`[data-testid="flow-service"][data-service="domain-service"][data-replicas="2"]`, chromedp.ByQuery),
		chromedp.WaitReady(`[data-testid="flow-service"][data-service="readmodel-updater"][data-replicas="1"]`, chromedp.ByQuery),
		chromedp.WaitReady(`[data-testid="flow-service"][data-service="stream-service"]`, chromedp.ByQuery),
		chromedp.WaitReady(`[data-testid="flow-queue"][data-queue="`+productQueue+`"]`, chromedp.ByQuery),
		chromedp.WaitReady(`[data-testid="flow-queue"][data-queue="events-readmodel"]`, chromedp.ByQuery),
		chromedp.WaitReady(`[data-testid="flow-queue"][data-queue="events-saga"]`, chromedp.ByQuery),
		chromedp.Evaluate(`window.sawTraffic = false; new MutationObserver(() => {
			const q = document.querySelector('[data-testid="flow-queue"][data-queue="`+productQueue+`"]');
			if (q && /handled [0-9.]*[1-9]/.test(q.textContent)) window.sawTraffic = true;
		}).observe(document.querySelector('[data-testid="flow-svg"]'), {subtree: true, childList: true, characterData: true})`, nil),
	)
	var burst []stack.Accepted
	for i := range 30 {
		a, err := c.Command(ctx, http.MethodPost, "/api/products/"+product+"/restock", admin, map[string]any{"quantity": i + 1})
		require.NoError(t, err)
		burst = append(burst, a)
	}
	b.run(tab, "the burst shows as handled messages/s on the product's command shard", chromedp.Poll(`window.sawTraffic`, nil, chromedp.WithPollingTimeout(20*time.Second)))
	for _, a := range burst {
		_, err := c.Settle(ctx, admin, a.CommandID)
		require.NoError(t, err)
	}
	shot("1-flow")

	// Poison: the corrupt cart's command is parked after its 5th delivery.
	st, err = c.Settle(ctx, alice, poisoned.CommandID)
	require.NoError(t, err)
	require.Equal(t, "failed", st.Status)
	row := `[data-testid="poison-queue"][data-queue="` + brokenQueue + `"] [data-testid="poison-message"]`
	var detail string
	b.run(tab, "poison panel",
		chromedp.Click(testid("tab-poison"), chromedp.ByQuery),
		chromedp.WaitVisible(row, chromedp.ByQuery),
		chromedp.Click(row+` `+testid("poison-inspect"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("poison-detail"), chromedp.ByQuery),
		chromedp.Text(testid("poison-detail"), &detail, chromedp.ByQuery),
	)
	assert.Contains(t, detail, poisoned.CommandID, "inspect shows the parked command")
	assert.Contains(t, detail, "v2 (ItemAdded)", "and why it failed")
	assert.Contains(t, detail, `"dequeueCount": 5`)
	shot("2-poison")
	_, err = table.DeleteEntity(context.Background(), "cart-"+broken, eventstore.RowKey(2), &aztables.DeleteEntityOptions{})
	require.NoError(t, err)
	var result string
	b.run(tab, "redrive from the page",
		chromedp.Click(row+` `+testid("poison-redrive"), chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('[data-testid="poison-result"]').textContent.includes('moved 1 message')`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Text(testid("poison-result"), &result, chromedp.ByQuery),
	)
	assert.Contains(t, result, "from "+brokenQueue+"-poison back to "+brokenQueue)
	require.Eventually(t, func() bool {
		st, err := c.Settle(ctx, alice, poisoned.CommandID)
		return err == nil && st.Status == "succeeded"
	}, 30*time.Second, 100*time.Millisecond, "the redriven command is handled")
	shot("3-poison-redriven")

	// Projections: a rebuild started from the page finishes and swaps tables.
	carts := `[data-testid="projection"][data-name="carts"]`
	b.run(tab, "rebuild carts",
		chromedp.Click(testid("tab-projections"), chromedp.ByQuery),
		chromedp.WaitVisible(carts+`[data-table="carts"]`, chromedp.ByQuery),
		chromedp.Click(carts+` `+testid("projection-rebuild"), chromedp.ByQuery),
		chromedp.WaitVisible(carts+` [data-testid="projection-progress"]`, chromedp.ByQuery),
		chromedp.Poll(fmt.Sprintf(`!!document.querySelector('%s [data-testid="projection-progress"][data-phase="done"]')`, carts), nil, chromedp.WithPollingTimeout(90*time.Second)),
		chromedp.WaitVisible(carts+`:not([data-table="carts"])`, chromedp.ByQuery),
	)
	var progress string
	b.run(tab, "progress", chromedp.Text(carts+` [data-testid="projection-progress"]`, &progress, chromedp.ByQuery))
	assert.Contains(t, progress, "swap carts → carts", "the swap shows")
	res, err = c.Do(ctx, http.MethodGet, "/api/carts/"+cart, alice, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.Status, "the rebuilt read model serves the cart")
	shot("4-projections")

	// Event store: the cart an hour ago (before it existed), at version 2,
	// then stepped forward.
	var at string
	b.run(tab, "the cart an hour ago",
		chromedp.Click(testid("tab-eventstore"), chromedp.ByQuery),
		chromedp.SetValue(testid("es-type"), "cart", chromedp.ByQuery),
		chromedp.SendKeys(testid("es-id"), cart, chromedp.ByQuery),
		chromedp.Click(testid("es-hour-ago"), chromedp.ByQuery),
		chromedp.Click(testid("es-submit"), chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="es-result"][data-version="0"]`, chromedp.ByQuery),
		chromedp.Text(`[data-es-at]`, &at, chromedp.ByQuery),
	)
	assert.Contains(t, at, "at version 0 of 4", "an hour ago the cart had no events")
	var events int
	var state string
	b.run(tab, "the cart at version 2, stepped to 3",
		chromedp.SetValue(testid("es-asof"), "", chromedp.ByQuery),
		chromedp.SendKeys(testid("es-version"), "2", chromedp.ByQuery),
		chromedp.Click(testid("es-submit"), chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="es-result"][data-version="2"][data-latest="4"]`, chromedp.ByQuery),
		chromedp.Click(testid("es-next"), chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="es-result"][data-version="3"]`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('[data-testid="es-event"]').length`, &events),
		chromedp.Text(testid("es-state"), &state, chromedp.ByQuery),
	)
	assert.Equal(t, 3, events)
	assert.Contains(t, state, product)
	var meta string
	b.run(tab, "event metadata", chromedp.Text(`[data-testid="es-event"][data-version="2"] .meta`, &meta, chromedp.ByQuery))
	assert.Contains(t, meta, "correlation ")
	assert.NotContains(t, meta, "trace –", "the trace id is shown")
	shot("5-eventstore")

	// Trace: the checkout to its notification.
	b.run(tab, "trace the checkout",
		chromedp.Click(testid("tab-trace"), chromedp.ByQuery),
		chromedp.SendKeys(testid("trace-id"), checkout.CommandID, chromedp.ByQuery),
		chromedp.Click(testid("trace-submit"), chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="trace-node"][data-kind="command"][data-type="CheckoutCart"]`, chromedp.ByQuery),
	)
	require.Eventually(t, func() bool { // the saga may still be finishing: trace again until the notification is written
		var done bool
		b.run(tab, "trace again",
			chromedp.Click(testid("trace-submit"), chromedp.ByQuery),
			chromedp.Sleep(300*time.Millisecond),
			chromedp.Evaluate(`!!document.querySelector('[data-testid="trace-node"][data-kind="notification"][data-status="written"]')`, &done))
		return done
	}, 60*time.Second, time.Second)
	var tree string
	b.run(tab, "the chain", chromedp.Text(testid("trace-tree"), &tree, chromedp.ByQuery))
	for _, step := range []string{"PlaceOrder", "StartCheckout", "ReserveStock", "ChargePayment", "ConfirmOrder", "OrderConfirmed"} {
		assert.Contains(t, tree, step)
	}
	assert.True(t, strings.Contains(tree, "+"), "steps carry their time from the command")
	shot("6-trace")
}
