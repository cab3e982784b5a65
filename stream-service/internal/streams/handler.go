package streams

import (
	"log/slog"
	"net/http"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/logging"
	"github.com/prism-es/prism/shared/notices"
)

// Deps are what the stream routes need.
type Deps struct {
	Hub    *Hub
	Keys   *auth.Keys
	Owners *Owners
	// Checks are the readiness checks of /readyz.
	Checks map[string]httpapi.Check
	// CORSOrigins are the browser origins whose pages may read the streams
	// (the storefront's; PRISM_CORS_ORIGINS). None: same-origin only.
	CORSOrigins []string
}

// Handler returns stream-service's HTTP surface: the stream routes and
// /healthz, /readyz, /metrics, behind correlation ids, panic recovery,
// metrics (labelled by route template) and CORS for d.CORSOrigins.
func Handler(d Deps) http.Handler {
	rt := routes{Deps: d}
	mux := http.NewServeMux()
	httpapi.MountOps(mux, d.Checks)
	mux.Handle("/streams/carts/{cartId}", getOnly(rt.user(rt.owned("cart", "cartId", KindCart, notices.CartStream))))
	mux.Handle("/streams/orders/{orderId}", getOnly(rt.user(rt.owned("order", "orderId", KindOrder, notices.OrderStream))))
	mux.Handle("/streams/me", getOnly(rt.user(http.HandlerFunc(rt.me))))
	mux.Handle("/streams/products", getOnly(http.HandlerFunc(rt.products)))
	mux.Handle("/", httpapi.NotFoundHandler())
	return httpapi.Stack(httpapi.PatternRoute, cors(d.CORSOrigins, mux))
}

type routes struct{ Deps }

// getOnly answers anything but GET with a 405 problem.
func getOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			httpapi.MethodNotAllowedHandler().ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// user answers 401 unless the request carries a valid token, in the
// Authorization header or (EventSource cannot set headers) ?access_token=.
func (rt routes) user(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := rt.Keys.FromRequest(r, true)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="prism"`)
			httpapi.WriteError(w, r, err)
			return
		}
		ctx := auth.WithPrincipal(r.Context(), p)
		next.ServeHTTP(w, r.WithContext(logging.With(ctx, slog.String("userId", p.UserID))))
	})
}

// owned serves the stream of one cart or order to its owner; to anyone else,
// as for an unknown or malformed id, it answers 404 (ids must not leak).
func (rt routes) owned(aggregateType, param, kind string, stream func(string) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue(param)
		notFound := apperr.New(apperr.NotFound, "no %s %s", aggregateType, id)
		if !envelope.ValidID(id) {
			httpapi.WriteError(w, r, notFound)
			return
		}
		owner, err := rt.Owners.Owner(r.Context(), aggregateType, id)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		if p, _ := auth.PrincipalFrom(r.Context()); owner != p.UserID {
			httpapi.WriteError(w, r, notFound)
			return
		}
		rt.Hub.Serve(w, r, stream(id), kind)
	})
}

// me serves everything of the caller's.
func (rt routes) me(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.PrincipalFrom(r.Context())
	rt.Hub.Serve(w, r, notices.UserStream(p.UserID), KindMe)
}

// products serves the public product stream; no token is needed.
func (rt routes) products(w http.ResponseWriter, r *http.Request) {
	rt.Hub.Serve(w, r, notices.ProductsStream, KindProducts)
}
