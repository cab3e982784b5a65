// Package inspect serves domain-service's operator routes (admin bearer
// token required):
//
//	GET /api/eventstore/{aggregateType}/{aggregateId}?asOf=&version=&fromDate=
//	GET /api/traces/{commandId}?aggregateId=
//
// The first answers a stream's events (upcast) and the state folded from
// them as of a time or a version; the second a command's causation chain.
// prism-api's operations console reaches both through its own routes.
package inspect

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prism-es/prism/shared/aggregate"
	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/httpapi"
)

// Inspector replays streams and traces commands (the command handler).
type Inspector interface {
	ReplayAt(ctx context.Context, aggregateType, id string, at aggregate.Point) (aggregate.Replayed, error)
	Trace(ctx context.Context, commandID, aggregateID string) (aggregate.Traced, error)
}

// Routes mounts the routes on mux.
func Routes(mux *http.ServeMux, tokens auth.Verifier, in Inspector) {
	admin := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, req *http.Request) {
			if _, err := auth.Admin(tokens, req, "the event store and traces"); err != nil {
				httpapi.WriteError(w, req, err)
				return
			}
			h(w, req)
		}
	}
	mux.HandleFunc("GET /api/eventstore/{aggregateType}/{aggregateId}", admin(func(w http.ResponseWriter, req *http.Request) {
		at, err := ParsePoint(req)
		if err != nil {
			httpapi.WriteError(w, req, err)
			return
		}
		out, err := in.ReplayAt(req.Context(), req.PathValue("aggregateType"), req.PathValue("aggregateId"), at)
		if err != nil {
			httpapi.WriteError(w, req, err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, out)
	}))
	mux.HandleFunc("GET /api/traces/{commandId}", admin(func(w http.ResponseWriter, req *http.Request) {
		agg := req.URL.Query().Get("aggregateId")
		if agg == "" {
			httpapi.WriteError(w, req, apperr.Fields("invalid query", apperr.FieldError{Field: "aggregateId", Message: "is required"}))
			return
		}
		out, err := in.Trace(req.Context(), req.PathValue("commandId"), agg)
		if err != nil {
			httpapi.WriteError(w, req, err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, out)
	}))
}

// ParsePoint reads ?asOf= and ?fromDate= (RFC 3339) and ?version= (a
// positive integer), naming each bad one.
func ParsePoint(req *http.Request) (aggregate.Point, error) {
	q := req.URL.Query()
	var at aggregate.Point
	var bad []apperr.FieldError
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"asOf", &at.AsOf}, {"fromDate", &at.From}} {
		if v := q.Get(f.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				bad = append(bad, apperr.FieldError{Field: f.name, Message: "must be an RFC 3339 time such as 2026-11-30T12:00:00Z"})
			}
			*f.dst = t
		}
	}
	if v := q.Get("version"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			bad = append(bad, apperr.FieldError{Field: "version", Message: "must be a positive integer"})
		}
		at.Version = n
	}
	if len(bad) > 0 {
		return aggregate.Point{}, apperr.Fields("invalid query", bad...)
	}
	return at, nil
}
