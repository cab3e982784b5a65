// Package storefront serves Prism's storefront: a single-page app of plain
// ES modules (no build step) embedded in the prism-api binary, installable
// as a Progressive Web App (the mobile client). GET / is index.html,
// GET /assets/... the stylesheet, scripts and icons, GET /manifest.webmanifest
// the web app manifest, GET /sw.js the service worker (it caches the app
// shell, so the app opens offline), and GET /storefront-config.json tells
// the app where stream-service is (another origin), the currency and the
// VAPID public key. See README.md in this directory for the app's layout
// and its data-testid hooks.
package storefront

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/prism-es/prism/shared/httpapi"
)

//go:embed index.html app.css favicon.svg manifest.webmanifest sw.js js/*.js icons/*.png
var files embed.FS

// Paths the handler answers; the router mounts it on each of them.
const (
	// IndexPath serves index.html.
	IndexPath = "/"
	// ConfigPath serves {"streamsUrl", "devMode"}.
	ConfigPath = "/storefront-config.json"
	// AssetsPrefix serves the embedded files: /assets/app.css, /assets/js/app.js, …
	AssetsPrefix = "/assets/"
	// ManifestPath serves the web app manifest.
	ManifestPath = "/manifest.webmanifest"
	// ServiceWorkerPath serves the service worker (at the root, so its scope
	// is the whole app).
	ServiceWorkerPath = "/sw.js"
)

// DefaultStreamsURL is stream-service under `make up` (PRISM_STREAMS_URL).
const DefaultStreamsURL = "http://localhost:8081"

// AssetsMaxAge is how long a browser may reuse an asset without asking.
// Assets are not fingerprinted, so it stays short; a changed asset also
// changes its ETag, so a revalidation after that is cheap.
const AssetsMaxAge = 5 * time.Minute

// Config is what the storefront needs to know about its deployment.
type Config struct {
	// StreamsURL is stream-service's base URL as the browser reaches it
	// ("" means DefaultStreamsURL). It must pass CheckStreamsURL.
	StreamsURL string
	// DevMode says POST /api/dev/token exists, so the app offers a user-id
	// sign-in; otherwise it asks for a bearer token.
	DevMode bool
	// Currency (ISO 4217, "" means DefaultCurrency) and Locale (BCP 47, ""
	// means DefaultLocale) format money with Intl.NumberFormat.
	Currency, Locale string
	// VAPIDPublicKey is the application server key for web push ("": the
	// app offers no push).
	VAPIDPublicKey string
}

// Defaults of Config's money settings (PRISM_CURRENCY, PRISM_LOCALE).
const (
	DefaultCurrency = "EUR"
	DefaultLocale   = "en"
)

// CheckStreamsURL reports whether s can be the streams URL: an absolute
// http or https URL with a host, and no query or fragment.
func CheckStreamsURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("must be an http:// or https:// URL")
	}
	if u.Host == "" {
		return errors.New("must name a host")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return errors.New("must not have a query, fragment or user info")
	}
	return nil
}

// asset is one embedded file, ready to serve.
type asset struct {
	body         []byte
	contentType  string
	cacheControl string
	etag         string
}

// Handler serves the storefront.
type Handler struct {
	index    asset
	manifest asset
	worker   asset
	config   []byte
	csp      string
	assets   map[string]asset // by path under AssetsPrefix, e.g. "js/app.js"
}

// contentTypes are the types of what is embedded, by extension; the
// system's MIME table is not consulted, so every machine serves the same.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
}

// New returns the storefront handler. A streams URL that fails
// CheckStreamsURL (validate it when loading settings) leaves the app
// without live updates: the Content-Security-Policy then allows only 'self'.
func New(cfg Config) *Handler {
	streams := strings.TrimRight(cfg.StreamsURL, "/")
	if streams == "" {
		streams = DefaultStreamsURL
	}
	connect := "'self'"
	if CheckStreamsURL(streams) == nil {
		u, _ := url.Parse(streams)
		connect += " " + u.Scheme + "://" + u.Host
	}
	if cfg.Currency == "" {
		cfg.Currency = DefaultCurrency
	}
	if cfg.Locale == "" {
		cfg.Locale = DefaultLocale
	}
	conf, _ := json.Marshal(struct {
		StreamsURL     string `json:"streamsUrl"`
		DevMode        bool   `json:"devMode"`
		Currency       string `json:"currency"`
		Locale         string `json:"locale"`
		VAPIDPublicKey string `json:"vapidPublicKey"`
	}{streams, cfg.DevMode, cfg.Currency, cfg.Locale, cfg.VAPIDPublicKey})

	h := &Handler{
		config: append(conf, '\n'),
		csp: strings.Join([]string{
			"default-src 'none'",
			"script-src 'self'",
			"style-src 'self'",
			"img-src 'self' data:",
			"connect-src " + connect,
			"manifest-src 'self'",
			"worker-src 'self'",
			"base-uri 'none'",
			"form-action 'self'",
			"frame-ancestors 'none'",
		}, "; "),
		assets: map[string]asset{},
	}
	maxAge := fmt.Sprintf("public, max-age=%d", int(AssetsMaxAge.Seconds()))
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		a := asset{
			body:         body,
			contentType:  contentTypes[path.Ext(p)],
			cacheControl: maxAge,
			etag:         `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`,
		}
		if a.contentType == "" {
			a.contentType = "application/octet-stream"
		}
		switch p {
		case "index.html":
			a.cacheControl = "no-store"
			h.index = a
		case "manifest.webmanifest":
			a.contentType, a.cacheControl = "application/manifest+json", "no-cache"
			h.manifest = a
		case "sw.js":
			h.worker = a // built below, once every asset is known
		default:
			h.assets[p] = a
		}
		return nil
	})
	if err != nil {
		panic("storefront: reading the embedded files: " + err.Error()) // they are compiled in
	}
	h.worker = h.serviceWorker(h.worker.body)
	return h
}

// serviceWorker fills sw.js's placeholders: the list of the app shell's
// URLs to cache, and a version that changes with any of them (so a new
// build installs a new cache and drops the old one).
func (h *Handler) serviceWorker(src []byte) asset {
	names := make([]string, 0, len(h.assets))
	for name := range h.assets {
		names = append(names, name)
	}
	sort.Strings(names)
	shell := []string{IndexPath, ConfigPath, ManifestPath}
	sum := sha256.New()
	sum.Write(h.index.body)
	sum.Write(h.manifest.body)
	sum.Write(h.config)
	sum.Write(src)
	for _, n := range names {
		shell = append(shell, AssetsPrefix+n)
		sum.Write([]byte(h.assets[n].etag))
	}
	version := base64.RawURLEncoding.EncodeToString(sum.Sum(nil)[:9])
	list, _ := json.Marshal(shell)
	body := bytes.Replace(src, []byte(`"__SHELL__"`), list, 1)
	body = bytes.Replace(body, []byte("__VERSION__"), []byte(version), 1)
	etag := sha256.Sum256(body)
	return asset{
		body: body, contentType: "text/javascript; charset=utf-8",
		// The browser checks for a new worker on each visit anyway; no-cache
		// makes that check reach the server.
		cacheControl: "no-cache",
		etag:         `"` + base64.RawURLEncoding.EncodeToString(etag[:12]) + `"`,
	}
}

// ServeHTTP answers GET and HEAD of index.html (IndexPath), the config
// (ConfigPath) and the assets (under AssetsPrefix); anything else is a 404
// problem. Every answer carries the security headers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", h.csp)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		httpapi.MethodNotAllowedHandler().ServeHTTP(w, r)
		return
	}
	switch p := r.URL.Path; {
	case p == IndexPath:
		serve(w, r, "index.html", h.index)
	case p == ConfigPath:
		serve(w, r, "config.json", asset{body: h.config, contentType: "application/json", cacheControl: "no-store"})
	case p == ManifestPath:
		serve(w, r, "manifest.webmanifest", h.manifest)
	case p == ServiceWorkerPath:
		serve(w, r, "sw.js", h.worker)
	case strings.HasPrefix(p, AssetsPrefix):
		name := strings.TrimPrefix(p, AssetsPrefix)
		a, ok := h.assets[name]
		if !ok {
			httpapi.NotFoundHandler().ServeHTTP(w, r)
			return
		}
		serve(w, r, name, a)
	default:
		httpapi.NotFoundHandler().ServeHTTP(w, r)
	}
}

// serve writes a; http.ServeContent answers HEAD, ranges and If-None-Match.
func serve(w http.ResponseWriter, r *http.Request, name string, a asset) {
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Cache-Control", a.cacheControl)
	if a.etag != "" {
		hdr.Set("ETag", a.etag)
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}
