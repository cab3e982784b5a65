// Package tickets serves POST /api/stream-tickets: a single-use ticket, valid
// about a minute, that opens one stream of stream-service for the caller
// (EventSource cannot send an Authorization header, and a token in a URL
// would land in proxy and ingress logs). The API checks here, once, that
// the caller may see the stream (its own cart or order: the event store
// names the owner), so stream-service needs no access to storage.
package tickets

import (
	"net/http"
	"strings"
	"time"

	"github.com/prism-es/prism/prism-api/internal/auth"
	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/streamtickets"
)

// Service issues tickets.
type Service struct {
	Tickets *streamtickets.Tickets
	Owners  *Owners
}

// Answer is the body of a ticket's 200.
type Answer struct {
	Ticket    string `json:"ticket"`
	ExpiresAt string `json:"expiresAt"`
	Stream    string `json:"stream"`
}

// Issue serves POST /api/stream-tickets {"stream": "/streams/me"}.
func (s *Service) Issue() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := httpapi.ReadBody(r)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		var req struct {
			Stream *string `json:"stream"`
		}
		if err := httpapi.Decode(body, &req); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		if req.Stream == nil {
			httpapi.WriteError(w, r, apperr.Fields("missing field", apperr.FieldError{Field: "stream", Message: "is required, e.g. \"/streams/me\""}))
			return
		}
		p := auth.Principal(r)
		if err := s.mayOpen(r, p.UserID, *req.Stream); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		t, err := s.Tickets.Issue(r.Context(), streamtickets.Grant{UserID: p.UserID, Stream: *req.Stream, TokenExpiresAt: p.ExpiresAt})
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, Answer{Ticket: t.Value, ExpiresAt: t.ExpiresAt.UTC().Format(time.RFC3339), Stream: *req.Stream})
	}
}

// mayOpen checks that stream is a stream route and that user may see it:
// me and products always, a cart or an order only its owner (anyone else,
// like an unknown id, gets 404: ids must not leak).
func (s *Service) mayOpen(r *http.Request, user, stream string) error {
	switch stream {
	case "/streams/me", "/streams/products":
		return nil
	}
	kind, id, ok := strings.Cut(strings.TrimPrefix(stream, "/streams/"), "/")
	aggregateType := map[string]string{"carts": "cart", "orders": "order"}[kind]
	if !strings.HasPrefix(stream, "/streams/") || !ok || aggregateType == "" {
		return apperr.Fields("unknown stream", apperr.FieldError{Field: "stream",
			Message: "must be /streams/me, /streams/products, /streams/carts/<cartId> or /streams/orders/<orderId>"})
	}
	notFound := apperr.New(apperr.NotFound, "no %s %s", aggregateType, id)
	if !envelope.ValidID(id) {
		return notFound
	}
	owner, err := s.Owners.Owner(r.Context(), aggregateType, id)
	if err != nil {
		return err
	}
	if owner != user {
		return notFound
	}
	return nil
}
