package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/e2e/stack"
	"github.com/prism-es/prism/shared/testenv"
)

// phone is a phone-sized Chromium tab (Pixel 5: viewport, touch, user
// agent) whose network the test turns off and on: the page's (DevTools
// emulation, so navigator.onLine and the online/offline events are real)
// and the wire's (the proxies in front of prism-api and stream-service, so
// the service worker is offline too).
type phone struct {
	t       *testing.T
	b       *browser
	tab     context.Context
	api     *flakyProxy
	streams *flakyProxy
	shots   string
	n       int
}

// run runs actions with a deadline long enough for a busy machine.
func (p *phone) run(what string, d time.Duration, actions ...chromedp.Action) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.tab, d)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		p.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		require.NoError(p.t, err, what)
	}
}

// network sets the page's and the wire's network.
func (p *phone) network(mode int) {
	p.t.Helper()
	p.api.setMode(mode)
	p.streams.setMode(mode)
	p.run("emulate the network", 10*time.Second, network.Enable(), network.EmulateNetworkConditions(mode == proxyOffline, 0, -1, -1))
}

// shot writes a screenshot of the whole page as the phone lays it out,
// numbered, into p.shots.
func (p *phone) shot(name string) {
	p.n++
	var png []byte
	ctx, cancel := context.WithTimeout(p.tab, 15*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(p.shots, fmt.Sprintf("%02d-%s.png", p.n, name))
	if err := os.WriteFile(path, png, 0o644); err == nil {
		p.t.Logf("screenshot: %s", path)
	}
}

func (p *phone) count(sel string) int {
	var n int
	p.run("count "+sel, 10*time.Second, chromedp.Evaluate(fmt.Sprintf(`document.querySelectorAll(%q).length`, sel), &n))
	return n
}

// TestMobileOfflineInChromium is issue 16's "done when", on a phone-sized
// Chromium against a whole stack: a new user opens the app (installable:
// manifest and service worker), turns on push for confirmed orders, goes
// offline, reloads (the shell comes from the service worker, the products
// from the last known reads), adds two items and checks out (waiting on
// the device with their Idempotency-Keys), comes back online through a
// network that first loses the answers (so commands are retried with the
// same keys), and sees the order confirmed, once: exactly one of each
// command's events in the event store, one e-mail in Mailpit, one push
// received and decrypted. Then a command made offline that the shop
// refuses is shown on the item it concerns. Screenshots of each state go to
// the folder the test prints ($PRISM_SCREENSHOTS, or one in the temp dir).
func TestMobileOfflineInChromium(t *testing.T) {
	apiProxy, streamsProxy := newFlakyProxy(t), newFlakyProxy(t)
	s := startStack(t, stack.Options{Replicas: 1, ServiceEnv: map[string]map[string]string{
		"prism-api":      {"PRISM_STREAMS_URL": streamsProxy.URL(), "PRISM_PUSH_INSECURE_ENDPOINTS": "true"},
		"stream-service": {"PRISM_CORS_ORIGINS": apiProxy.URL()},
	}})
	apiProxy.setTarget(s.API)
	streamsProxy.setTarget(s.Streams)
	ctx := ctxFor(t, 6*time.Minute)
	c := s.Client()
	mug, tea := sku("MUG"), sku("TEA")
	defineProducts(ctx, t, c,
		map[string]any{"sku": mug, "name": "Blue mug", "priceCents": 1250, "stock": 200},
		map[string]any{"sku": tea, "name": "Green tea", "priceCents": 450, "stock": 200})

	shots := os.Getenv("PRISM_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(os.TempDir(), "prism-mobile-screenshots")
	}
	_ = os.RemoveAll(shots)
	require.NoError(t, os.MkdirAll(shots, 0o755))
	t.Logf("screenshots of each state: %s", shots)
	b := newBrowser(t)
	ph := &phone{t: t, b: b, tab: b.tab("phone"), api: apiProxy, streams: streamsProxy, shots: shots}
	user := "phone-" + uuid.NewString()[:8]
	card := func(sku string) string { return fmt.Sprintf(`[data-testid="product-card"][data-sku=%q]`, sku) }
	line := func(sku string) string { return fmt.Sprintf(`[data-testid="cart-line"][data-sku=%q]`, sku) }

	// 1. A new user opens the app on a phone and signs in.
	ph.run("open the app", time.Minute,
		chromedp.Emulate(device.Pixel5),
		chromedp.Navigate(apiProxy.URL()+"/"),
		chromedp.WaitVisible(`body[data-ready="true"]`, chromedp.ByQuery),
		chromedp.WaitVisible(card(mug), chromedp.ByQuery),
		chromedp.Click(testid("signin-jump"), chromedp.ByQuery),
	)
	var focused string
	ph.run("the sign-in link leads to the form", 10*time.Second, chromedp.Evaluate(`document.activeElement.dataset.testid || ''`, &focused))
	assert.Equal(t, "signin-user", focused, `"sign in below" focuses the form, it does not submit it`)
	ph.run("sign in", time.Minute,
		chromedp.SendKeys(testid("signin-user"), user, chromedp.ByQuery),
		chromedp.Click(testid("signin-submit"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("session-user"), chromedp.ByQuery),
		chromedp.Poll(`navigator.serviceWorker.controller !== null && document.body.dataset.sw === 'ready'`, nil, chromedp.WithPollingTimeout(50*time.Second)),
	)
	var price string
	ph.run("price", 10*time.Second, chromedp.Text(card(mug)+` `+testid("product-price"), &price, chromedp.ByQuery))
	assert.Equal(t, "€12.50", price, "money has its currency")

	// Installable: the manifest parses with no errors and Chromium has no
	// installability errors (manifest, icons, service worker).
	var manifestErrs []*page.AppManifestError
	var installErrs []*page.InstallabilityError
	ph.run("installability", 20*time.Second, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		if _, manifestErrs, _, _, err = page.GetAppManifest().Do(ctx); err != nil {
			return err
		}
		installErrs, err = page.GetInstallabilityErrors().Do(ctx)
		return err
	}))
	assert.Empty(t, manifestErrs, "manifest errors")
	assert.Empty(t, installErrs, "installability errors: %s", describeInstall(installErrs))
	ph.shot("installed-and-signed-in")

	// Push on this device: a headless browser has no push service, so the
	// test is the device: its subscription (keys made like a browser's)
	// registers with the API, and the app's settings turn push on for
	// confirmed orders.
	recv, err := testenv.StartPushReceiver()
	require.NoError(t, err)
	t.Cleanup(recv.Stop)
	userToken, err := c.Token(ctx, user, false)
	require.NoError(t, err)
	res, err := c.Do(ctx, http.MethodPost, "/api/me/push-subscriptions", userToken,
		map[string]any{"endpoint": recv.Endpoint, "keys": map[string]string{"p256dh": recv.P256DH, "auth": recv.Auth}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	ph.run("turn on push for confirmed orders", time.Minute,
		chromedp.Click(testid("nav-notifications"), chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="prefs-channel"][data-kind="order.confirmed"][data-channel="email"]:checked`, chromedp.ByQuery),
		chromedp.Click(`[data-testid="prefs-channel"][data-kind="order.confirmed"][data-channel="push"]`, chromedp.ByQuery),
		chromedp.Click(testid("prefs-save"), chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('[data-testid="prefs-status"]').textContent.startsWith('Saved')`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Click(testid("nav-shop"), chromedp.ByQuery),
		chromedp.WaitVisible(card(mug), chromedp.ByQuery),
	)

	// 2. Offline: the app reloads from the service worker, with the last
	// known products.
	ph.network(proxyOffline)
	ph.run("offline reload", time.Minute,
		chromedp.Reload(),
		chromedp.WaitVisible(`body[data-ready="true"]`, chromedp.ByQuery),
		chromedp.WaitVisible(card(tea), chromedp.ByQuery),
		chromedp.WaitVisible(testid("offline-banner"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("session-user"), chromedp.ByQuery),
	)
	ph.shot("offline-app-shell-from-the-service-worker")

	// 3. Offline: two items and the checkout wait on the device.
	ph.run("add offline", time.Minute,
		chromedp.Click(card(mug)+` `+testid("add-to-cart"), chromedp.ByQuery),
		chromedp.WaitVisible(line(mug)+`[data-pending="waiting"][data-quantity="1"]`, chromedp.ByQuery),
		chromedp.Click(card(tea)+` `+testid("add-to-cart"), chromedp.ByQuery),
		chromedp.WaitVisible(line(tea)+`[data-pending="waiting"][data-quantity="1"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="cart-total"][data-cents="1700"]`, chromedp.ByQuery),
		chromedp.Click(testid("checkout-button"), chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('[data-testid="checkout-status"]').textContent.includes('waiting for network')`, nil, chromedp.WithPollingTimeout(20*time.Second)),
	)
	var cartID string
	ph.run("cart id", 10*time.Second, chromedp.AttributeValue("#cart-id", "title", &cartID, nil, chromedp.ByQuery))
	require.NotEmpty(t, cartID)
	// They are on the device, not in the page: a reload keeps them.
	ph.run("offline reload with waiting commands", time.Minute,
		chromedp.Reload(),
		chromedp.WaitVisible(`body[data-ready="true"]`, chromedp.ByQuery),
		chromedp.WaitVisible(line(mug)+`[data-pending="waiting"]`, chromedp.ByQuery),
		chromedp.WaitVisible(line(tea)+`[data-pending="waiting"]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelectorAll('[data-testid="command"][data-status="queued"]').length === 4`, nil, chromedp.WithPollingTimeout(30*time.Second)),
	)
	assert.Equal(t, 4, ph.count(`[data-testid="command"][data-status="queued"]`), "start the cart, add, add, check out: waiting for network")
	ph.shot("offline-commands-waiting-for-network")
	assert.Empty(t, events(t, s, "cart-"+cartID), "nothing reached the shop while offline")

	// 4. Back online through a network that loses answers: the commands
	// reach the API but the phone never hears back, so it sends them again
	// with the same keys.
	ph.api.setMode(proxyLossy)
	ph.streams.setMode(proxyLossy)
	ph.run("the page is online", 10*time.Second, network.EmulateNetworkConditions(false, 0, -1, -1))
	require.Eventually(t, func() bool {
		for _, l := range apiProxy.lostRequests() {
			if strings.HasPrefix(l, "POST /api/carts ") {
				return true
			}
		}
		return false
	}, 30*time.Second, 20*time.Millisecond, "the first command reached the API and its answer was lost")
	ph.network(proxyOnline)
	ph.run("the order is confirmed", 3*time.Minute,
		chromedp.WaitVisible(`[data-testid="order-status"][data-status="confirmed"]`, chromedp.ByQuery),
	)
	ph.shot("online-order-confirmed")

	// Exactly once, in the event store: each command made offline once.
	evs := events(t, s, "cart-"+cartID)
	var types []string
	commands := map[string]bool{}
	for _, e := range evs {
		types = append(types, e.Type)
		commands[e.Metadata.CommandID] = true
	}
	assert.Equal(t, []string{"CartCreated", "ItemAdded", "ItemAdded", "CartCheckedOut"}, types, "each offline command applied exactly once")
	assert.Len(t, commands, 4, "four commands, one event each")
	assert.GreaterOrEqual(t, ph.count(`[data-testid="command"][data-status="succeeded"]`), 4)
	var replayed int
	ph.run("replayed", 10*time.Second, chromedp.Evaluate(`[...document.querySelectorAll('[data-testid="command"][data-status="succeeded"] [data-testid="command-detail"]')].filter(e => e.textContent.includes('same key')).length`, &replayed))
	assert.GreaterOrEqual(t, replayed, 1, "a command whose answer was lost was sent again with its key and applied once")
	var orderID string
	ph.run("order id", 10*time.Second, chromedp.AttributeValue(`[data-testid="order-view"]`, "data-order-id", &orderID, nil, chromedp.ByQuery))
	var orders struct {
		Items []struct{ OrderID, Status string }
	}
	res, err = c.Do(ctx, http.MethodGet, "/api/orders", userToken, nil)
	require.NoError(t, err)
	require.NoError(t, res.JSON(&orders))
	require.Len(t, orders.Items, 1, "one order")
	assert.Equal(t, orderID, orders.Items[0].OrderID)
	assert.Equal(t, "confirmed", orders.Items[0].Status)
	confirmed := 0
	for _, e := range events(t, s, "order-"+orderID) {
		if e.Type == "OrderConfirmed" {
			confirmed++
		}
	}
	assert.Equal(t, 1, confirmed, "confirmed once")

	// Told once: one e-mail in Mailpit, one push, one notification in the app.
	var mails []testenv.Mail
	require.Eventually(t, func() bool {
		mails, err = s.Mail.Messages(ctx, user+"@prism.test")
		return err == nil && len(mails) >= 1
	}, time.Minute, 100*time.Millisecond, "the confirmation e-mail reaches Mailpit")
	require.Eventually(t, func() bool { return len(recv.Received()) >= 1 }, time.Minute, 50*time.Millisecond, "the push arrives")
	assert.Never(t, func() bool {
		m, _ := s.Mail.Messages(ctx, user+"@prism.test")
		return len(m) > 1 || len(recv.Received()) > 1
	}, 2*time.Second, 100*time.Millisecond, "no second e-mail or push")
	assert.Equal(t, "Your order is confirmed ("+orderID[:8]+")", mails[0].Subject)
	assert.Contains(t, mails[0].Text, "Total: €17.00")
	push := recv.Received()[0]
	require.NoError(t, push.Err)
	var payload struct{ ID, Kind, Body, URL string }
	require.NoError(t, json.Unmarshal(push.Plaintext, &payload))
	assert.Equal(t, "order.confirmed", payload.Kind)
	assert.Equal(t, "/#/orders/"+orderID, payload.URL)
	ph.run("one notification in the app", time.Minute,
		chromedp.Click(testid("nav-notifications"), chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="notification"][data-kind="order.confirmed"]`, chromedp.ByQuery),
	)
	assert.Equal(t, 1, ph.count(`[data-testid="notification"][data-kind="order.confirmed"]`))
	ph.shot("notified-once")
	// The service worker shows a push (what the phone's push service would
	// hand it), tagged with the notification id, and tells the open page.
	ph.showsPush(apiProxy.URL(), push.Plaintext)
	ph.run("the streams are live again", time.Minute,
		chromedp.Poll(`['connected', 'resumed'].includes(document.querySelector('[data-testid="connection-status"]').dataset.state)`, nil, chromedp.WithPollingTimeout(50*time.Second)),
	)

	// 5. A command made offline that the shop refuses is shown on its item:
	// 99 mugs, then one more (at most 99 of a product per cart).
	ph.run("a new cart with a mug", time.Minute,
		chromedp.Click(testid("nav-shop"), chromedp.ByQuery),
		chromedp.Click(card(mug)+` `+testid("add-to-cart"), chromedp.ByQuery),
		chromedp.WaitVisible(line(mug)+`[data-pending=""][data-quantity="1"]`, chromedp.ByQuery),
	)
	var cart2 string
	ph.run("cart id", 10*time.Second, chromedp.AttributeValue("#cart-id", "title", &cart2, nil, chromedp.ByQuery))
	require.NotEqual(t, cartID, cart2)
	ph.network(proxyOffline)
	ph.run("99 and one more, offline", time.Minute,
		chromedp.SetValue(line(mug)+` `+testid("cart-line-quantity"), "99", chromedp.ByQuery),
		chromedp.Click(line(mug)+` `+testid("cart-line-update"), chromedp.ByQuery),
		chromedp.WaitVisible(line(mug)+`[data-pending="waiting"][data-quantity="99"]`, chromedp.ByQuery),
		chromedp.Click(card(mug)+` `+testid("add-to-cart"), chromedp.ByQuery),
		chromedp.WaitVisible(line(mug)+`[data-pending="waiting"][data-quantity="100"]`, chromedp.ByQuery),
	)
	ph.shot("offline-one-too-many")
	ph.network(proxyOnline)
	var note string
	ph.run("the refusal is shown on the mug", 2*time.Minute,
		chromedp.WaitVisible(line(mug)+`[data-pending="rejected"][data-quantity="99"]`, chromedp.ByQuery),
		chromedp.Text(line(mug)+` `+testid("cart-line-note"), &note, chromedp.ByQuery),
	)
	assert.Contains(t, note, "rejected")
	assert.Contains(t, note, "At most 99 of "+mug+" per cart (it holds 99)")
	assert.Equal(t, 1, ph.count(`[data-testid="command"][data-status="rejected"]`))
	ph.shot("rejected-offline-command-shown-on-its-item")
	var types2 []string
	for _, e := range events(t, s, "cart-"+cart2) {
		types2 = append(types2, e.Type)
	}
	assert.Equal(t, []string{"CartCreated", "ItemAdded", "ItemQuantityChanged"}, types2, "the refused add changed nothing")
	ph.run("dismiss it", 30*time.Second,
		chromedp.Click(line(mug)+` `+testid("cart-line-dismiss"), chromedp.ByQuery),
		chromedp.WaitVisible(line(mug)+`[data-pending=""][data-quantity="99"]`, chromedp.ByQuery),
	)
}

// showsPush delivers payload to the app's service worker as a push message
// (DevTools' ServiceWorker.deliverPushMessage) and waits for the
// notification it shows, tagged with the notification's id.
func (p *phone) showsPush(origin string, payload []byte) {
	p.t.Helper()
	var reg serviceworker.RegistrationID
	found := make(chan serviceworker.RegistrationID, 8)
	chromedp.ListenTarget(p.tab, func(ev any) {
		if u, ok := ev.(*serviceworker.EventWorkerRegistrationUpdated); ok {
			for _, r := range u.Registrations {
				if !r.IsDeleted && strings.HasPrefix(r.ScopeURL, origin) {
					select {
					case found <- r.RegistrationID:
					default:
					}
				}
			}
		}
	})
	p.run("grant notifications and find the worker", 20*time.Second,
		cdpbrowser.GrantPermissions([]cdpbrowser.PermissionType{cdpbrowser.PermissionTypeNotifications}).WithOrigin(origin),
		serviceworker.Enable(),
	)
	select {
	case reg = <-found:
	case <-time.After(20 * time.Second):
		p.t.Fatal("the service worker's registration was not reported")
	}
	var n struct{ ID string }
	require.NoError(p.t, json.Unmarshal(payload, &n))
	// A push service delivers again what was not acknowledged; so does
	// this test, up to three times: on a busy machine DevTools' delivery
	// to a worker that is still starting can be dropped (seen once in
	// make test). The tag makes a second delivery show the same single
	// notification.
	var body string
	show := fmt.Sprintf(`navigator.serviceWorker.ready.then(r => r.getNotifications({tag: %q})).then(ns => ns.length ? ns[0].body : '')`, n.ID)
	for attempt := 1; body == "" && attempt <= 3; attempt++ {
		ctx, cancel := context.WithTimeout(p.tab, 30*time.Second)
		err := chromedp.Run(ctx,
			serviceworker.DeliverPushMessage(origin, reg, string(payload)),
			chromedp.Poll(show, &body, chromedp.WithPollingTimeout(20*time.Second)),
		)
		cancel()
		if err != nil && attempt == 3 {
			p.shot("failed-the-worker-shows-the-push")
			require.NoError(p.t, err, "the worker shows the push (three deliveries)")
		}
	}
	assert.Contains(p.t, body, "is confirmed", "the notification the worker shows")
	var shown int
	p.run("one notification for the push", 10*time.Second,
		chromedp.Evaluate(fmt.Sprintf(`navigator.serviceWorker.ready.then(r => r.getNotifications({tag: %q})).then(ns => ns.length)`, n.ID), &shown,
			func(ep *runtime.EvaluateParams) *runtime.EvaluateParams { return ep.WithAwaitPromise(true) }),
	)
	assert.Equal(p.t, 1, shown, "however often it was delivered, one notification")
}

func describeInstall(errs []*page.InstallabilityError) string {
	var out []string
	for _, e := range errs {
		out = append(out, e.ErrorID)
	}
	return strings.Join(out, ", ")
}

// TestExpiredCartInChromium: an open cart left alone for PRISM_CART_TTL
// expires (CartExpired, by its deadline message); the storefront shows it
// live and the next add starts a new cart.
func TestExpiredCartInChromium(t *testing.T) {
	// The TTL leaves a busy machine room to apply the CreateCart and the
	// AddItem before the cart expires (rightly) with no line in it.
	s := startStack(t, stack.Options{Replicas: 1, ServiceEnv: map[string]map[string]string{"domain-service": {"PRISM_CART_TTL": "15s"}}})
	ctx := ctxFor(t, 3*time.Minute)
	mug := sku("MUG")
	defineProducts(ctx, t, s.Client(), map[string]any{"sku": mug, "name": "Blue mug", "priceCents": 1250, "stock": 10})
	b := newBrowser(t)
	tab := b.tab("idle")
	card := fmt.Sprintf(`[data-testid="product-card"][data-sku=%q]`, mug)
	line := fmt.Sprintf(`[data-testid="cart-line"][data-sku=%q]`, mug)
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, 90*time.Second)
		defer cancel()
		require.NoError(t, chromedp.Run(ctx, actions...), what)
	}
	run("add a mug",
		chromedp.Navigate(s.API+"/"),
		chromedp.WaitVisible(`body[data-ready="true"]`, chromedp.ByQuery),
		chromedp.SendKeys(testid("signin-user"), "idle-"+uuid.NewString()[:8], chromedp.ByQuery),
		chromedp.Click(testid("signin-submit"), chromedp.ByQuery),
		chromedp.WaitVisible(card, chromedp.ByQuery),
		chromedp.Click(card+` `+testid("add-to-cart"), chromedp.ByQuery),
		chromedp.WaitVisible(line+`[data-quantity="1"]`, chromedp.ByQuery),
	)
	var first string
	run("cart id", chromedp.AttributeValue("#cart-id", "title", &first, nil, chromedp.ByQuery))
	var words string
	run("the cart expires",
		chromedp.WaitVisible(`#cart-panel[data-status="expired"]`, chromedp.ByQuery),
		chromedp.Text(testid("cart-status"), &words, chromedp.ByQuery),
	)
	assert.Contains(t, words, "This cart expired after 15 seconds without changes")
	evs := events(t, s, "cart-"+first)
	require.NotEmpty(t, evs)
	assert.Equal(t, "CartExpired", evs[len(evs)-1].Type)
	run("the next add starts a new cart",
		chromedp.Click(card+` `+testid("add-to-cart"), chromedp.ByQuery),
		chromedp.WaitVisible(`#cart-panel[data-status="open"] `+line+`[data-quantity="1"]`, chromedp.ByQuery),
	)
	var second string
	run("cart id", chromedp.AttributeValue("#cart-id", "title", &second, nil, chromedp.ByQuery))
	assert.NotEqual(t, first, second)
}
