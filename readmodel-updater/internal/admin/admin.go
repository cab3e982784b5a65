// Package admin serves readmodel-updater's operator routes: start a rebuild
// of a projection and follow its progress (admin bearer token required).
package admin

import (
	"context"
	"net/http"

	"github.com/prism-es/prism/readmodel-updater/internal/rebuild"
	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/projection"
)

// Routes mounts POST and GET /admin/rebuilds/{projection} on mux. Rebuilds
// run in the background under ctx (the service's lifetime).
func Routes(ctx context.Context, mux *http.ServeMux, tokens auth.Verifier, r *rebuild.Rebuilder, projections map[string]projection.Projection) {
	guard := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, req *http.Request) {
			if _, err := auth.Admin(tokens, req, "rebuilds"); err != nil {
				httpapi.WriteError(w, req, err)
				return
			}
			h(w, req)
		}
	}
	lookup := func(w http.ResponseWriter, req *http.Request) (projection.Projection, bool) {
		p, ok := projections[req.PathValue("projection")]
		if !ok {
			httpapi.WriteError(w, req, apperr.New(apperr.NotFound, "no projection %q (there are carts, orders, products)", req.PathValue("projection")))
		}
		return p, ok
	}
	mux.HandleFunc("POST /admin/rebuilds/{projection}", guard(func(w http.ResponseWriter, req *http.Request) {
		p, ok := lookup(w, req)
		if !ok {
			return
		}
		if _, err := r.Start(ctx, p); err != nil {
			httpapi.WriteError(w, req, apperr.Wrap(apperr.Conflict, err, "%v", err))
			return
		}
		w.Header().Set("Location", "/admin/rebuilds/"+p.Name)
		prog, _ := r.Progress(p.Name)
		httpapi.WriteJSON(w, http.StatusAccepted, prog)
	}))
	mux.HandleFunc("GET /admin/rebuilds/{projection}", guard(func(w http.ResponseWriter, req *http.Request) {
		p, ok := lookup(w, req)
		if !ok {
			return
		}
		prog, ok := r.Progress(p.Name)
		if !ok {
			httpapi.WriteError(w, req, apperr.New(apperr.NotFound, "no rebuild of %s has run in this process", p.Name))
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, prog)
	}))
}
