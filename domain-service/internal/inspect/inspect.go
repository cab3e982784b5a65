// Package inspect serves domain-service's operator route: GET
// /api/eventstore/{aggregateType}/{aggregateId} answers a stream's events
// (upcast) and the state folded from them (admin bearer token required).
package inspect

import (
	"context"
	"net/http"

	"github.com/prism-es/prism/domain-service/internal/handling"
	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/httpapi"
)

// Replayer folds streams (the command handler).
type Replayer interface {
	Replay(ctx context.Context, aggregateType, id string) (handling.Replayed, error)
}

// Routes mounts the replay route on mux.
func Routes(mux *http.ServeMux, keys *auth.Keys, r Replayer) {
	mux.HandleFunc("GET /api/eventstore/{aggregateType}/{aggregateId}", func(w http.ResponseWriter, req *http.Request) {
		p, err := keys.FromRequest(req, false)
		if err != nil {
			httpapi.WriteError(w, req, err)
			return
		}
		if !p.HasRole(auth.AdminRole) {
			httpapi.WriteError(w, req, apperr.New(apperr.Forbidden, "the event store is for the %q role", auth.AdminRole))
			return
		}
		out, err := r.Replay(req.Context(), req.PathValue("aggregateType"), req.PathValue("aggregateId"))
		if err != nil {
			httpapi.WriteError(w, req, err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, out)
	})
}
