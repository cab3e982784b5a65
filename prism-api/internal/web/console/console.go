// Package console serves the operations console's page: GET /console is
// console.html and GET /console/assets/... its stylesheet and ES modules
// (no build step), all embedded. The page needs the admin role for its data
// (prism-api's /api/console routes); it reads the storefront's session from
// sessionStorage, so an admin signed in there is signed in here.
package console

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed console.html console.css js/*.js
var files embed.FS

// Paths the router mounts the handler on.
const (
	// PagePath serves console.html.
	PagePath = "/console"
	// AssetsPrefix serves console.css and js/*.js.
	AssetsPrefix = "/console/assets/"
)

// csp allows the page's own files and same-origin fetches (the console's
// live stream is a fetch to prism-api, not an EventSource elsewhere).
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the page and its assets.
func Handler() http.Handler {
	assets := http.StripPrefix(AssetsPrefix, http.FileServerFS(files))
	page, err := files.ReadFile("console.html")
	if err != nil {
		panic("console: " + err.Error()) // compiled in
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if r.URL.Path == PagePath {
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Cache-Control", "no-store")
			_, _ = w.Write(page)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, AssetsPrefix)
		if name == "console.html" || !fs.ValidPath(name) {
			http.NotFound(w, r)
			return
		}
		if strings.HasSuffix(name, ".js") {
			h.Set("Content-Type", "text/javascript; charset=utf-8")
		}
		h.Set("Cache-Control", "no-cache")
		assets.ServeHTTP(w, r)
	})
}
