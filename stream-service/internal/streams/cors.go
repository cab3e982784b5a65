package streams

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// DefaultCORSOrigins are the storefront's origins under `make up`
// (PRISM_CORS_ORIGINS): prism-api serves it on port 8080.
var DefaultCORSOrigins = []string{"http://localhost:8080", "http://127.0.0.1:8080"}

// CheckOrigin reports whether o is a browser origin: scheme://host[:port],
// http or https, nothing after it but an optional "/".
func CheckOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be http(s)://host[:port]")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return errors.New("must be only scheme://host[:port], with no path")
	}
	return nil
}

// cors lets pages of the allowed origins read the streams: a browser's
// EventSource (no credentials: it carries a ?ticket=) makes a simple
// cross-origin GET and reads the answer only if Access-Control-Allow-Origin
// names its origin. A preflight (OPTIONS with Access-Control-Request-Method,
// which EventSource never sends, but a fetch-based client with an
// Authorization header would) from an allowed origin is answered here;
// anything from another origin passes through without CORS headers.
func cors(origins []string, next http.Handler) http.Handler {
	allowed := make(map[string]bool, len(origins))
	for _, o := range origins {
		allowed[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		if !allowed[strings.ToLower(origin)] {
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", "GET")
			h.Set("Access-Control-Allow-Headers", "Authorization, Last-Event-ID, Cache-Control")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
