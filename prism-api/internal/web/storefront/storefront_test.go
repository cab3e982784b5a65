package storefront_test

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/prism-api/internal/web"
	"github.com/prism-es/prism/prism-api/internal/web/storefront"
	"github.com/prism-es/prism/shared/auth"
)

type answer struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, h http.Handler, method, path string, headers ...string) answer {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, err := io.ReadAll(rec.Result().Body)
	require.NoError(t, err)
	return answer{status: rec.Code, header: rec.Result().Header, body: string(b)}
}

func assertSecurityHeaders(t *testing.T, a answer, streamsOrigin string) {
	t.Helper()
	csp := a.header.Get("Content-Security-Policy")
	require.NotEmpty(t, csp, "Content-Security-Policy")
	directives := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	assert.Equal(t, "'none'", directives["default-src"])
	assert.Equal(t, "'self'", directives["script-src"], "no inline script, no other origin")
	assert.Equal(t, "'self'", directives["style-src"])
	assert.Equal(t, "'self' "+streamsOrigin, directives["connect-src"], "the API (same origin) and stream-service")
	assert.Equal(t, "'none'", directives["frame-ancestors"])
	assert.Equal(t, "'self'", directives["manifest-src"], "the web app manifest")
	assert.Equal(t, "'self'", directives["worker-src"], "the service worker")
	assert.Equal(t, "nosniff", a.header.Get("X-Content-Type-Options"))
	assert.Equal(t, "no-referrer", a.header.Get("Referrer-Policy"))
}

func TestIndexIsServedAtRoot(t *testing.T) {
	t.Parallel()
	h := storefront.New(storefront.Config{StreamsURL: "https://streams.example:9443", DevMode: true})
	a := do(t, h, http.MethodGet, "/")
	require.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "text/html; charset=utf-8", a.header.Get("Content-Type"))
	assert.Equal(t, "no-store", a.header.Get("Cache-Control"))
	assert.True(t, strings.HasPrefix(a.body, "<!doctype html>"), "index.html")
	assert.Contains(t, a.body, `<script type="module" src="/assets/js/app.js"></script>`)
	assertSecurityHeaders(t, a, "https://streams.example:9443")

	head := do(t, h, http.MethodHead, "/")
	assert.Equal(t, http.StatusOK, head.status)
	assert.Empty(t, head.body)

	post := do(t, h, http.MethodPost, "/")
	assert.Equal(t, http.StatusMethodNotAllowed, post.status)
	assert.Equal(t, "application/problem+json", post.header.Get("Content-Type"))
}

func TestAssetsHaveTheirContentTypes(t *testing.T) {
	t.Parallel()
	h := storefront.New(storefront.Config{})
	for path, want := range map[string]string{
		"/assets/app.css":           "text/css; charset=utf-8",
		"/assets/js/app.js":         "text/javascript; charset=utf-8",
		"/assets/js/live.js":        "text/javascript; charset=utf-8",
		"/assets/favicon.svg":       "image/svg+xml",
		"/storefront-config.json":   "application/json",
		"/assets/js/../js/store.js": "", // not cleaned: unknown
	} {
		a := do(t, h, http.MethodGet, path)
		if want == "" {
			assert.Equal(t, http.StatusNotFound, a.status, path)
			continue
		}
		require.Equal(t, http.StatusOK, a.status, path)
		assert.Equal(t, want, a.header.Get("Content-Type"), path)
		assert.NotEmpty(t, a.body, path)
		assertSecurityHeaders(t, a, "http://localhost:8081")
	}

	css := do(t, h, http.MethodGet, "/assets/app.css")
	assert.Equal(t, "public, max-age=300", css.header.Get("Cache-Control"), "short: assets are not fingerprinted")
	etag := css.header.Get("ETag")
	require.NotEmpty(t, etag)
	again := do(t, h, http.MethodGet, "/assets/app.css", "If-None-Match", etag)
	assert.Equal(t, http.StatusNotModified, again.status)
	assert.Empty(t, again.body)

	for _, path := range []string{"/assets/nope.js", "/assets/index.html", "/assets/", "/index.html", "/assets/js"} {
		a := do(t, h, http.MethodGet, path)
		assert.Equal(t, http.StatusNotFound, a.status, path)
		assert.Equal(t, "application/problem+json", a.header.Get("Content-Type"), path)
	}
}

func TestConfigNamesTheStreamsURL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cfg  storefront.Config
		want string
	}{
		{storefront.Config{StreamsURL: "https://streams.example/", DevMode: false}, `{"streamsUrl":"https://streams.example","devMode":false,"currency":"EUR","locale":"en","vapidPublicKey":""}`},
		{storefront.Config{StreamsURL: "http://127.0.0.1:43123", DevMode: true}, `{"streamsUrl":"http://127.0.0.1:43123","devMode":true,"currency":"EUR","locale":"en","vapidPublicKey":""}`},
		{storefront.Config{}, `{"streamsUrl":"` + storefront.DefaultStreamsURL + `","devMode":false,"currency":"EUR","locale":"en","vapidPublicKey":""}`},
		{storefront.Config{StreamsURL: "https://gw.example/sse"}, `{"streamsUrl":"https://gw.example/sse","devMode":false,"currency":"EUR","locale":"en","vapidPublicKey":""}`},
		{storefront.Config{StreamsURL: "https://gw.example", Currency: "GBP", Locale: "en-GB", VAPIDPublicKey: "BPk"}, `{"streamsUrl":"https://gw.example","devMode":false,"currency":"GBP","locale":"en-GB","vapidPublicKey":"BPk"}`},
	} {
		a := do(t, storefront.New(c.cfg), http.MethodGet, storefront.ConfigPath)
		require.Equal(t, http.StatusOK, a.status)
		assert.JSONEq(t, c.want, a.body)
		assert.Equal(t, "no-store", a.header.Get("Cache-Control"))
	}
	// The CSP allows the streams origin, not its path.
	a := do(t, storefront.New(storefront.Config{StreamsURL: "https://gw.example/sse"}), http.MethodGet, "/")
	assertSecurityHeaders(t, a, "https://gw.example")
}

func TestCheckStreamsURL(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"http://localhost:8081", "https://streams.example", "https://gw.example/sse/"} {
		assert.NoError(t, storefront.CheckStreamsURL(ok), ok)
	}
	for _, bad := range []string{"", "localhost:8081", "ftp://x.example", "https://", "/streams", "http://x.example?a=1", "http://u:p@x.example"} {
		assert.Error(t, storefront.CheckStreamsURL(bad), bad)
	}
}

// TestRouterServesTheStorefront checks the mount: the storefront's routes
// answer, and the API's still do (nothing else changed).
func TestRouterServesTheStorefront(t *testing.T) {
	t.Parallel()
	keys, err := auth.NewKeys("test-secret-0123456789abcdef0123456789")
	require.NoError(t, err)
	r := web.Handler(web.Deps{Keys: keys, DevMode: true, StreamsURL: "http://127.0.0.1:9081"})

	index := do(t, r, http.MethodGet, "/")
	require.Equal(t, http.StatusOK, index.status)
	assert.Equal(t, "text/html; charset=utf-8", index.header.Get("Content-Type"))
	assert.NotEmpty(t, index.header.Get("X-Correlation-Id"), "behind the API's middleware")
	assertSecurityHeaders(t, index, "http://127.0.0.1:9081")

	js := do(t, r, http.MethodGet, "/assets/js/app.js")
	require.Equal(t, http.StatusOK, js.status)
	assert.Equal(t, "text/javascript; charset=utf-8", js.header.Get("Content-Type"))

	conf := do(t, r, http.MethodGet, storefront.ConfigPath)
	require.Equal(t, http.StatusOK, conf.status)
	assert.JSONEq(t, `{"streamsUrl":"http://127.0.0.1:9081","devMode":true,"currency":"EUR","locale":"en","vapidPublicKey":""}`, conf.body)
	for _, p := range []string{storefront.ManifestPath, storefront.ServiceWorkerPath, "/assets/icons/icon-192.png"} {
		assert.Equal(t, http.StatusOK, do(t, r, http.MethodGet, p).status, p)
	}

	assert.Equal(t, http.StatusMethodNotAllowed, do(t, r, http.MethodPost, "/").status)
	assert.Equal(t, http.StatusOK, do(t, r, http.MethodGet, "/openapi.json").status)
	assert.Equal(t, http.StatusUnauthorized, do(t, r, http.MethodGet, "/api/orders").status)
	missing := do(t, r, http.MethodGet, "/nothing-here")
	assert.Equal(t, http.StatusNotFound, missing.status)
	assert.Equal(t, "application/problem+json", missing.header.Get("Content-Type"))
	assert.Empty(t, missing.header.Get("Content-Security-Policy"), "API answers are not the storefront's")
}

// TestPageReferencesResolve: every /assets/ URL in index.html is served,
// and every relative import of every module names a module that exists and
// exports what is imported (no browser runs in the unit tests).
func TestPageReferencesResolve(t *testing.T) {
	t.Parallel()
	h := storefront.New(storefront.Config{})
	index := do(t, h, http.MethodGet, "/").body
	refs := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(index, -1)
	require.NotEmpty(t, refs)
	for _, m := range refs {
		assert.Equal(t, http.StatusOK, do(t, h, http.MethodGet, m[1]).status, "index.html refers to %s", m[1])
	}

	modules := jsFiles(t)
	exportRE := regexp.MustCompile(`export\s+(?:async\s+)?(?:function\*?|const|let|class)\s+([A-Za-z_$][\w$]*)`)
	exports := map[string]map[string]bool{}
	for _, f := range modules {
		exports[f] = map[string]bool{}
		for _, m := range exportRE.FindAllStringSubmatch(read(t, f), -1) {
			exports[f][m[1]] = true
		}
	}
	importRE := regexp.MustCompile(`(?s)import\s+(\{[^}]*\}|\*\s+as\s+\w+)\s+from\s+'([^']+)'`)
	for _, f := range modules {
		for _, m := range importRE.FindAllStringSubmatch(read(t, f), -1) {
			target := filepath.Join(filepath.Dir(f), m[2])
			names, ok := exports[target]
			if !assert.True(t, ok, "%s imports %s, which does not exist", f, m[2]) {
				continue
			}
			if strings.HasPrefix(m[1], "*") {
				continue
			}
			for _, name := range strings.Split(strings.Trim(m[1], "{} \n"), ",") {
				name = strings.TrimSpace(name)
				name, _, _ = strings.Cut(name, " as ")
				if name != "" {
					assert.True(t, names[name], "%s imports %s from %s, which does not export it", f, name, m[2])
				}
			}
		}
	}
}

// TestTestIDsAreDocumented: every data-testid in the page and the modules
// is listed in the comment at the top of index.html (the end-to-end tests
// rely on that list).
func TestTestIDsAreDocumented(t *testing.T) {
	t.Parallel()
	index := read(t, "index.html")
	start, end := strings.Index(index, "<!--"), strings.Index(index, "-->")
	require.True(t, start >= 0 && end > start)
	doc := regexp.MustCompile(`[a-z][a-z-]*[a-z]`).FindAllString(index[start:end], -1)
	documented := map[string]bool{}
	for _, w := range doc {
		documented[w] = true
	}
	sources := append([]string{"index.html"}, jsFiles(t)...)
	idRE := regexp.MustCompile(`data-testid(?:"|')?\s*[=:]\s*["']([a-z0-9-]+)["']`)
	var used []string
	for _, f := range sources {
		for _, m := range idRE.FindAllStringSubmatch(read(t, f), -1) {
			used = append(used, m[1])
			assert.True(t, documented[m[1]], "data-testid %q (%s) is not documented at the top of index.html", m[1], f)
		}
	}
	sort.Strings(used)
	for _, must := range []string{"signin-user", "signin-submit", "product-card", "add-to-cart", "cart-line", "cart-total", "checkout-button", "payment-select", "order-status", "order-list-item", "notification", "connection-status"} {
		assert.Contains(t, used, must)
	}
}

// TestTheAppIsInstallable checks what Chromium needs to offer installing the
// storefront: a manifest (name, start URL, standalone display, 192 and 512
// px PNG icons that are served), linked from the page, and a service worker
// at the root whose cache list names the app shell and whose version moves
// with it.
func TestTheAppIsInstallable(t *testing.T) {
	t.Parallel()
	h := storefront.New(storefront.Config{DevMode: true})
	index := do(t, h, http.MethodGet, "/")
	assert.Contains(t, index.body, `<link rel="manifest" href="/manifest.webmanifest">`)
	assert.Contains(t, index.body, `<meta name="theme-color"`)

	m := do(t, h, http.MethodGet, storefront.ManifestPath)
	require.Equal(t, http.StatusOK, m.status)
	assert.Equal(t, "application/manifest+json", m.header.Get("Content-Type"))
	var manifest struct {
		Name, ShortName, StartURL, Scope, Display string
		Icons                                     []struct{ Src, Sizes, Type, Purpose string }
	}
	raw := map[string]any{}
	require.NoError(t, json.Unmarshal([]byte(m.body), &raw))
	manifest.Name, _ = raw["name"].(string)
	manifest.ShortName, _ = raw["short_name"].(string)
	manifest.StartURL, _ = raw["start_url"].(string)
	manifest.Display, _ = raw["display"].(string)
	require.NoError(t, json.Unmarshal([]byte(m.body), &struct {
		Icons *[]struct{ Src, Sizes, Type, Purpose string } `json:"icons"`
	}{&manifest.Icons}))
	assert.Equal(t, "Prism shop", manifest.Name)
	assert.NotEmpty(t, manifest.ShortName)
	assert.Equal(t, "/#/", manifest.StartURL)
	assert.Equal(t, "standalone", manifest.Display)
	sizes := map[string]bool{}
	for _, icon := range manifest.Icons {
		a := do(t, h, http.MethodGet, icon.Src)
		require.Equal(t, http.StatusOK, a.status, icon.Src)
		assert.Equal(t, "image/png", a.header.Get("Content-Type"), icon.Src)
		assert.True(t, strings.HasPrefix(a.body, "\x89PNG"), icon.Src)
		sizes[icon.Sizes] = true
	}
	assert.True(t, sizes["192x192"] && sizes["512x512"], "192 and 512 px icons: %v", sizes)

	sw := do(t, h, http.MethodGet, storefront.ServiceWorkerPath)
	require.Equal(t, http.StatusOK, sw.status)
	assert.Equal(t, "text/javascript; charset=utf-8", sw.header.Get("Content-Type"))
	assert.Equal(t, "no-cache", sw.header.Get("Cache-Control"), "the browser must see a new worker")
	assert.NotContains(t, sw.body, "__SHELL__")
	assert.NotContains(t, sw.body, "__VERSION__")
	for _, want := range []string{`"/"`, `"/storefront-config.json"`, `"/manifest.webmanifest"`, `"/assets/js/app.js"`, `"/assets/js/outbox.js"`, `"/assets/app.css"`, `"/assets/icons/icon-192.png"`} {
		assert.Contains(t, sw.body, want, "the shell list names %s", want)
	}
	other := do(t, storefront.New(storefront.Config{DevMode: false}), http.MethodGet, storefront.ServiceWorkerPath)
	assert.NotEqual(t, sw.header.Get("ETag"), other.header.Get("ETag"), "another config is another version of the shell")
	assert.Equal(t, sw.header.Get("ETag"), do(t, storefront.New(storefront.Config{DevMode: true}), http.MethodGet, storefront.ServiceWorkerPath).header.Get("ETag"), "the same build is the same version")

	node, err := exec.LookPath("node")
	require.NoError(t, err, "node checks that sw.js parses")
	cmd := exec.Command(node, "--check", "-")
	cmd.Stdin = strings.NewReader(sw.body)
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "sw.js does not parse:\n%s", out)
}

// TestMoneyHasACurrency runs dom.js's money() in node: amounts in cents
// are formatted with the configured currency and locale (Intl), never as
// bare numbers, and every place that shows an amount goes through it.
func TestMoneyHasACurrency(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	require.NoError(t, err)
	script := `
import { configureMoney, money } from './js/dom.js';
const out = [money(1250), money(5), money(0)];
out.push(String(configureMoney('GBP', 'en-GB')), money(123456));
out.push(String(configureMoney('JPY', 'en')), money(1234));
out.push(String(configureMoney('EUR', 'de')), money(123456));
out.push(String(configureMoney('NOPE', 'en')), money(100));
console.log(JSON.stringify(out));
`
	cmd := exec.Command(node, "--input-type=module", "-e", script)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	var got []string
	require.NoError(t, json.Unmarshal(out, &got))
	assert.Equal(t, []string{"€12.50", "€0.05", "€0.00", "true", "£1,234.56", "true", "¥1,234", "true", "1.234,56 €", "false", "1,00 €"}, got)

	// No module formats an amount by hand: every *Cents value shown goes
	// through money().
	for _, f := range jsFiles(t) {
		src := read(t, f)
		assert.NotContains(t, src, "/ 100)", "%s divides cents by hand", f)
		assert.NotContains(t, src, "toFixed(2)", "%s formats an amount by hand", f)
	}
}

// TestSignInHasOneSubmitButton: the page has exactly one "Sign in" button,
// the form's submit; the hint above the products is a link to the form,
// not a second primary button.
func TestSignInHasOneSubmitButton(t *testing.T) {
	t.Parallel()
	index := read(t, "index.html")
	body := index[strings.Index(index, "<body>"):]
	buttons := regexp.MustCompile(`(?s)<button[^>]*>(.*?)</button>`).FindAllStringSubmatch(body, -1)
	var signIn []string
	for _, b := range buttons {
		if strings.Contains(strings.ToLower(b[1]), "sign in") {
			signIn = append(signIn, b[0])
		}
	}
	require.Len(t, signIn, 1, "one Sign in button: %v", signIn)
	assert.Contains(t, signIn[0], `type="submit"`)
	assert.Contains(t, signIn[0], `data-testid="signin-submit"`)
	jump := regexp.MustCompile(`<a [^>]*data-testid="signin-jump"[^>]*>`).FindString(body)
	require.NotEmpty(t, jump, "the way to the form is a link")
	assert.NotContains(t, jump, "btn", "it does not look like a button")
	assert.Contains(t, jump, `href="#signin-title"`, "it leads to the form")
}

// TestJavaScriptModulesParse runs each module through node's parser.
func TestJavaScriptModulesParse(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH: it checks that the storefront's JavaScript modules parse (install Node.js; the Azurite setup needs it anyway)")
	}
	for _, f := range jsFiles(t) {
		// --input-type=module: parse as an ES module (a .js file on its own
		// would be parsed as CommonJS).
		cmd := exec.Command(node, "--input-type=module", "--check")
		cmd.Stdin = strings.NewReader(read(t, f))
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "%s does not parse:\n%s", f, out)
	}
}

func TestConfigJSONCarriesAwkwardURLsIntact(t *testing.T) {
	t.Parallel()
	url := `http://x.example/"quoted"</script>`
	a := do(t, storefront.New(storefront.Config{StreamsURL: url}), http.MethodGet, storefront.ConfigPath)
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(a.body), &v))
	assert.Equal(t, url, v["streamsUrl"])
}

func jsFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	require.NoError(t, fs.WalkDir(os.DirFS("."), "js", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".js") {
			out = append(out, p)
		}
		return err
	}))
	require.NotEmpty(t, out)
	return out
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}
