// Package auth is prism-api's authentication: bearer-token middleware over
// the kit's token verifier (the OIDC provider's tokens; in dev mode also
// the development keys'), the admin-role guard, and the dev-mode token
// endpoint.
package auth

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prism-es/prism/shared/apperr"
	kitauth "github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/logging"
)

// DevTokenTTL is how long dev tokens last.
const DevTokenTTL = 12 * time.Hour

// RequireUser answers 401 unless the request carries a valid bearer token,
// and stores the principal in the context.
func RequireUser(tokens kitauth.Verifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := kitauth.FromRequest(tokens, r)
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="prism"`)
				httpapi.WriteError(w, r, err)
				return
			}
			ctx := kitauth.WithPrincipal(r.Context(), p)
			next.ServeHTTP(w, r.WithContext(logging.With(ctx, slog.String("userId", p.UserID))))
		})
	}
}

// RequireAdmin answers 403 unless the (authenticated) caller has the admin role.
func RequireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := kitauth.PrincipalFrom(r.Context())
		if !ok || !p.HasRole(kitauth.AdminRole) {
			httpapi.WriteError(w, r, apperr.New(apperr.Forbidden, "this route needs the %q role", kitauth.AdminRole))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Principal returns the caller (set by RequireUser).
func Principal(r *http.Request) kitauth.Principal {
	p, _ := kitauth.PrincipalFrom(r.Context())
	return p
}

// DevToken serves POST /api/dev/token {"userId", "roles"}: a token for
// anyone, which is why it exists only in dev mode.
func DevToken(keys *kitauth.Keys) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := httpapi.ReadBody(r)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		var req struct {
			UserID string   `json:"userId"`
			Roles  []string `json:"roles"`
		}
		if err := httpapi.Decode(body, &req); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		for _, role := range req.Roles {
			if role != kitauth.AdminRole {
				httpapi.WriteError(w, r, apperr.Fields("invalid roles", apperr.FieldError{Field: "roles", Message: "the only role is \"admin\""}))
				return
			}
		}
		tok, exp, err := keys.Issue(req.UserID, req.Roles, DevTokenTTL)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{
			"token": tok, "tokenType": "Bearer", "expiresAt": exp.UTC().Format(time.RFC3339), "userId": req.UserID, "roles": req.Roles,
		})
	}
}
