// Package auth is prism-api's authentication: bearer-token middleware over
// the kit's token verifier (the OIDC provider's tokens; in dev mode also
// the development keys'), the admin-role guard, and the dev-mode token
// endpoint.
package auth

import (
	"net/http"
	"time"

	"github.com/prism-es/prism/shared/apperr"
	kitauth "github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/httpapi"
)

// DevTokenTTL is how long dev tokens last.
const DevTokenTTL = 12 * time.Hour

// RequireUser answers 401 unless the request carries a valid bearer token,
// and stores the principal in the context (the kit's, realm "prism").
func RequireUser(tokens kitauth.Verifier) func(http.Handler) http.Handler {
	return kitauth.RequireUser(tokens, "prism")
}

// RequireAdmin answers 403 unless the (authenticated) caller has the admin role.
func RequireAdmin(next http.Handler) http.Handler { return kitauth.RequireAdmin(next) }

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
