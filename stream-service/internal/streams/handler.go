package streams

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/logging"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/streamtickets"
)

// Deps are what the stream routes need.
type Deps struct {
	Hub *Hub
	// Tokens verifies bearer tokens (accepted on /streams/me only).
	Tokens auth.Verifier
	// Tickets redeems the stream tickets prism-api issues
	// (POST /api/stream-tickets): how browsers, and any client for a cart
	// or an order, open a stream.
	Tickets *streamtickets.Tickets
	// Limits bound the streams per user, per address and per replica, and
	// how long one lasts.
	Limits Limits
	// Redis counts the limits across replicas (nil: only the replica cap
	// and the maximum duration apply).
	Redis *redis.Client
	// Checks are the readiness checks; the public /readyz says only ready
	// or not (details are on the ops port).
	Checks map[string]httpapi.Check
	// CORSOrigins are the browser origins whose pages may read the streams
	// (the storefront's; PRISM_CORS_ORIGINS). None: same-origin only.
	CORSOrigins []string
}

// Handler returns stream-service's public HTTP surface: the stream routes
// and /healthz, /readyz (no details), behind correlation ids, panic
// recovery, metrics (labelled by route template) and CORS for
// d.CORSOrigins. /metrics is on the ops port (platform.ServeOpsAt).
func Handler(d Deps) http.Handler {
	rt := routes{Deps: d, gate: newGate(d.Limits, d.Redis)}
	mux := http.NewServeMux()
	httpapi.MountPublic(mux, d.Checks)
	mux.Handle("/streams/carts/{cartId}", getOnly(rt.owned("cartId", KindCart, notices.CartStream)))
	mux.Handle("/streams/orders/{orderId}", getOnly(rt.owned("orderId", KindOrder, notices.OrderStream)))
	mux.Handle("/streams/me", getOnly(http.HandlerFunc(rt.me)))
	mux.Handle("/streams/products", getOnly(http.HandlerFunc(rt.products)))
	mux.Handle("/", httpapi.NotFoundHandler())
	return httpapi.Stack(httpapi.PatternRoute, cors(d.CORSOrigins, mux))
}

type routes struct {
	Deps
	gate *gate
}

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

// TicketParam is the query parameter a stream ticket comes in.
const TicketParam = "ticket"

// caller is who opens a stream and until when their token is good.
type caller struct {
	userID  string
	expires time.Time
}

// unauthenticated answers 401 with the bearer challenge.
func unauthenticated(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="prism"`)
	httpapi.WriteError(w, r, err)
}

// byTicket redeems the request's ticket for the path it asks for.
func (rt routes) byTicket(r *http.Request) (caller, error) {
	g, err := rt.Tickets.Redeem(r.Context(), r.URL.Query().Get(TicketParam), r.URL.Path)
	if err != nil {
		return caller{}, err
	}
	return caller{userID: g.UserID, expires: g.TokenExpiresAt}, nil
}

// owned serves the stream of one cart or order. Only a ticket opens it:
// prism-api checked, when it issued the ticket, that the caller owns the
// cart or order (stream-service has no access to storage to check it).
func (rt routes) owned(param, kind string, stream func(string) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue(param)
		if !envelope.ValidID(id) {
			httpapi.WriteError(w, r, apperr.New(apperr.NotFound, "no %s %s", kind, id))
			return
		}
		if !r.URL.Query().Has(TicketParam) {
			unauthenticated(w, r, apperr.New(apperr.Unauthenticated, "open this stream with a ticket: POST /api/stream-tickets {\"stream\": %q}, then ?ticket=", r.URL.Path))
			return
		}
		c, err := rt.byTicket(r)
		if err != nil {
			unauthenticated(w, r, err)
			return
		}
		rt.serve(w, r, stream(id), kind, c)
	})
}

// me serves everything of the caller's, who comes with a ticket or (a
// client that can set headers) a bearer token.
func (rt routes) me(w http.ResponseWriter, r *http.Request) {
	var c caller
	var err error
	if r.URL.Query().Has(TicketParam) {
		c, err = rt.byTicket(r)
	} else {
		var p auth.Principal
		p, err = auth.FromRequest(rt.Tokens, r)
		c = caller{userID: p.UserID, expires: p.ExpiresAt}
	}
	if err != nil {
		unauthenticated(w, r, err)
		return
	}
	rt.serve(w, r, notices.UserStream(c.userID), KindMe, c)
}

// products serves the public product stream; no token is needed.
func (rt routes) products(w http.ResponseWriter, r *http.Request) {
	rt.serve(w, r, notices.ProductsStream, KindProducts, caller{})
}

// deadlineSlack lets a stream's last writes out after its end.
const deadlineSlack = 10 * time.Second

// serve streams to c once the gate admits it, until the client leaves, the
// hub closes, or the stream's time is up: when c's token expires (the
// stream closes with it) or after the maximum duration. The server's read
// and write timeouts are set for requests, not for streams (the write
// timeout would cut a stream off), so the stream's own end replaces both on
// its connection.
func (rt routes) serve(w http.ResponseWriter, r *http.Request, stream, kind string, c caller) {
	release, ok := rt.gate.admit(w, r, c.userID)
	if !ok {
		return
	}
	defer release()
	end := time.Now().Add(rt.gate.limits.MaxDuration)
	if !c.expires.IsZero() && c.expires.Before(end) {
		end = c.expires
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(end.Add(deadlineSlack))
	_ = rc.SetWriteDeadline(end.Add(deadlineSlack))
	ctx, cancel := context.WithDeadline(r.Context(), end)
	defer cancel()
	if c.userID != "" {
		ctx = logging.With(auth.WithPrincipal(ctx, auth.Principal{UserID: c.userID, ExpiresAt: c.expires}), slog.String("userId", c.userID))
	}
	rt.Hub.Serve(w, r.WithContext(ctx), stream, kind)
	if ctx.Err() == context.DeadlineExceeded && r.Context().Err() == nil {
		slog.DebugContext(ctx, "sse stream reached its end (token expiry or maximum duration)", "stream", stream)
	}
}
