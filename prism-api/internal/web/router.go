// Package web assembles prism-api's HTTP surface: middleware, the command
// and query routes, auth, operations endpoints, the OpenAPI document and
// the storefront (the single-page app at /).
package web

import (
	"net/http"

	"github.com/gorilla/mux"

	prismapi "github.com/prism-es/prism/prism-api"
	"github.com/prism-es/prism/prism-api/internal/auth"
	"github.com/prism-es/prism/prism-api/internal/commands"
	"github.com/prism-es/prism/prism-api/internal/limits"
	"github.com/prism-es/prism/prism-api/internal/operations"
	"github.com/prism-es/prism/prism-api/internal/queries"
	"github.com/prism-es/prism/prism-api/internal/settings"
	"github.com/prism-es/prism/prism-api/internal/tickets"
	"github.com/prism-es/prism/prism-api/internal/web/console"
	"github.com/prism-es/prism/prism-api/internal/web/storefront"
	kitauth "github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/commandapi"
	"github.com/prism-es/prism/shared/httpapi"
)

// Deps are what the routes need.
type Deps struct {
	// Tokens verifies bearer tokens.
	Tokens kitauth.Verifier
	// Keys issue dev tokens (POST /api/dev/token); dev mode only.
	Keys     *kitauth.Keys
	DevMode  bool
	Commands *commands.Service
	Queries  *queries.Service
	Tickets  *tickets.Service
	// Limits are the rate limits and quotas (nil: none, for tests about
	// something else).
	Limits *limits.Limits
	// Checks are the readiness checks; the public /readyz says only ready
	// or not (the details are on the ops port).
	Checks map[string]httpapi.Check
	// StreamsURL is stream-service's base URL as browsers reach it, for the
	// storefront ("" means storefront.DefaultStreamsURL).
	StreamsURL string
	// Operations serves the operations console's API (admin).
	Operations *operations.Service
	// Settings serves /api/me/preferences and /api/me/push-subscriptions.
	Settings *settings.Service
	// Storefront carries the rest of the storefront's configuration
	// (currency, locale, VAPID public key); StreamsURL and DevMode above win.
	Storefront storefront.Config
}

// NewRouter returns the router (without the outer middleware; see Handler).
func NewRouter(d Deps) *mux.Router {
	r := mux.NewRouter()
	// mux runs Use middleware only on matched routes, and names the route
	// only inside them: so Instrument (with Recover inside it, as in
	// httpapi.Stack) goes there, and the unmatched answers get their own.
	instrument := httpapi.Instrument(routeTemplate)
	r.NotFoundHandler = instrument(httpapi.NotFoundHandler())
	r.MethodNotAllowedHandler = instrument(httpapi.MethodNotAllowedHandler())
	r.Use(instrument, httpapi.Recover, pathValues, d.Limits.PerIP)

	for path, h := range httpapi.PublicHandlers(d.Checks) {
		r.Handle(path, h).Methods(http.MethodGet)
	}
	r.HandleFunc("/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(prismapi.OpenAPI)
	}).Methods(http.MethodGet)
	if d.DevMode {
		r.Handle("/api/dev/token", auth.DevToken(d.Keys)).Methods(http.MethodPost)
	}

	// The storefront: pages and assets for browsers, not API routes (they
	// are not in openapi.json).
	sfc := d.Storefront
	sfc.StreamsURL, sfc.DevMode = d.StreamsURL, d.DevMode
	sf := storefront.New(sfc)
	r.Handle(storefront.IndexPath, sf).Methods(http.MethodGet, http.MethodHead)
	r.Handle(storefront.ConfigPath, sf).Methods(http.MethodGet, http.MethodHead)
	r.Handle(storefront.ManifestPath, sf).Methods(http.MethodGet, http.MethodHead)
	r.Handle(storefront.ServiceWorkerPath, sf).Methods(http.MethodGet, http.MethodHead)
	r.PathPrefix(storefront.AssetsPrefix).Handler(sf).Methods(http.MethodGet, http.MethodHead)

	// The operations console: its page and assets (its data needs the
	// admin role, below).
	page := console.Handler()
	r.Handle(console.PagePath, page).Methods(http.MethodGet, http.MethodHead)
	r.PathPrefix(console.AssetsPrefix).Handler(page).Methods(http.MethodGet, http.MethodHead)

	q := d.Queries
	// Public reads, before the authenticated /api subrouter.
	r.Handle("/api/products", queries.Products(q)).Methods(http.MethodGet)
	r.Handle("/api/products/{sku}", queries.Product(q)).Methods(http.MethodGet)

	user := r.PathPrefix("/api").Subrouter()
	user.Use(auth.RequireUser(d.Tokens), d.Limits.PerUser)
	c := d.Commands
	mountCommands(user, c, commands.User)
	user.Handle("/commands/{"+commandapi.StatusParam+"}", c.StatusHandler()).Methods(http.MethodGet)
	user.Handle("/carts/{cartId}", queries.Cart(q)).Methods(http.MethodGet)
	user.Handle("/orders", queries.Orders(q)).Methods(http.MethodGet)
	user.Handle("/orders/{orderId}", queries.Order(q)).Methods(http.MethodGet)
	user.Handle("/notifications", queries.Notifications(q)).Methods(http.MethodGet)
	st := d.Settings
	if st == nil {
		st = &settings.Service{} // answers 503: no store
	}
	user.Handle("/me/preferences", st.GetPreferences()).Methods(http.MethodGet)
	user.Handle("/me/preferences", st.PutPreferences()).Methods(http.MethodPut)
	user.Handle("/me/push-subscriptions", st.AddPushSubscription()).Methods(http.MethodPost)
	user.Handle("/me/push-subscriptions/{id}", st.RemovePushSubscription()).Methods(http.MethodDelete)
	if d.Tickets != nil {
		user.Handle("/stream-tickets", d.Tickets.Issue()).Methods(http.MethodPost)
	}

	admin := user.NewRoute().Subrouter()
	admin.Use(auth.RequireAdmin)
	mountCommands(admin, c, commands.Admin)
	ops := d.Operations
	if ops == nil {
		ops = &operations.Service{} // routes only (the OpenAPI test walks them)
	}
	ops.Mount(admin)
	return r
}

// Handler wraps the router in the outer middleware: correlation ids and
// panic recovery apply to every request, matched or not (the router itself
// instruments and recovers inside each route).
func Handler(d Deps) http.Handler {
	return httpapi.Correlate(httpapi.Recover(NewRouter(d)))
}

// mountCommands mounts the kit's command routes on a gorilla/mux router.
func mountCommands(r *mux.Router, s *commandapi.Service, routes []commandapi.Mountable) {
	for _, rt := range routes {
		method, path := rt.Endpoint()
		r.Handle(path, rt.Handler(s)).Methods(method)
	}
}

// pathValues copies the matched route's variables into the request's path
// values, where the kit's handlers (shared/commandapi) read them.
func pathValues(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range mux.Vars(r) {
			r.SetPathValue(k, v)
		}
		next.ServeHTTP(w, r)
	})
}

func routeTemplate(r *http.Request) string {
	if route := mux.CurrentRoute(r); route != nil {
		if t, err := route.GetPathTemplate(); err == nil {
			return t
		}
	}
	return ""
}
