package commandapi

import (
	"net/http"

	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/httpapi"
)

// Request is what a route's Build sees: the HTTP request (path values,
// query) and the ids it may name for the client.
type Request struct {
	*http.Request
	user, key string
}

// UserID is the authenticated caller's id.
func (r *Request) UserID() string { return r.user }

// Path returns the path value name (see package doc on routers).
func (r *Request) Path(name string) string { return r.PathValue(name) }

// NewID names an id of the given kind for this request: a name-based UUID of
// (kind, user, Idempotency-Key), so a retry of the request names the same
// id whatever Redis remembers. Use it for an aggregate the client did not
// name ("cart") or one the command starts ("order"). Each kind must differ
// from [CommandIDKind].
func (r *Request) NewID(kind string) string { return envelope.KeyedID(kind, r.user, r.key) }

// Command is what a route makes of a valid request.
type Command struct {
	// AggregateID is the id of the aggregate the command is for.
	AggregateID string
	// Payload is encoded as the command's payload (nil: {}).
	Payload any
	// Also are ids named for the client, added to the 202 after the
	// standard fields (a checkout's "orderId").
	Also []Field
}

// Route declares a command route: Method Path becomes command Type on an
// aggregate of AggregateType, with a JSON body decoded strictly into B (an
// empty body decodes as {}). Use pointer fields in B to tell a missing field
// from a zero one, and struct{} for a route that takes no fields.
type Route[B any] struct {
	// Method is the HTTP method ("POST").
	Method string
	// Path is the path pattern, with {name} path values, as the router it is
	// mounted on expects it ("/api/seats/{seatId}/hold").
	Path string
	// Type is the command type domain-service dispatches on ("HoldSeat").
	Type string
	// AggregateType is the aggregate's type ("seat").
	AggregateType string
	// Build validates the request's shape (never business rules; collect
	// bad fields with [Checks]) and returns the command. Its errors are
	// answered through httpapi.WriteError (apperr kinds).
	Build func(r *Request, body *B) (Command, error)
}

// Mountable is a declared route, whatever its body type.
type Mountable interface {
	// Endpoint returns the route's method and path pattern.
	Endpoint() (method, path string)
	// Handler returns the route's handler on s.
	Handler(s *Service) http.Handler
}

// Endpoint returns the route's method and path pattern.
func (rt Route[B]) Endpoint() (method, path string) { return rt.Method, rt.Path }

// Handler returns the route's handler on s. It creates the command type's
// metric series at zero.
func (rt Route[B]) Handler(s *Service) http.Handler {
	acceptedTotal.WithLabelValues(rt.Type)
	return s.accept(func(r *Request, raw []byte) (draft, error) {
		var body B
		if err := httpapi.Decode(raw, &body); err != nil {
			return draft{}, err
		}
		cmd, err := rt.Build(r, &body)
		return draft{typ: rt.Type, aggregateType: rt.AggregateType, cmd: cmd}, err
	})
}

// Mount registers routes on mux as "METHOD path" patterns, each with s's
// handler. Wrap mux (or each handler) in the authentication middleware that
// sets the caller's principal (shared/auth.WithPrincipal).
func Mount(mux *http.ServeMux, s *Service, routes ...Mountable) {
	for _, rt := range routes {
		method, path := rt.Endpoint()
		mux.Handle(method+" "+path, rt.Handler(s))
	}
}
