package auth

import (
	"log/slog"
	"net/http"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/logging"
)

// RequireUser is middleware that answers 401 (problem+json, with a
// WWW-Authenticate challenge for realm) unless the request carries a valid
// bearer token, and stores the principal in the request's context (where
// shared/commandapi and shared/queryapi read the caller) and its user id in
// the log context.
func RequireUser(tokens Verifier, realm string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := FromRequest(tokens, r)
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`"`)
				httpapi.WriteError(w, r, err)
				return
			}
			ctx := WithPrincipal(r.Context(), p)
			next.ServeHTTP(w, r.WithContext(logging.With(ctx, slog.String("userId", p.UserID))))
		})
	}
}

// RequireAdmin is middleware (after RequireUser) that answers 403 unless the
// caller has the admin role.
func RequireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := PrincipalFrom(r.Context())
		if !ok || !p.HasRole(AdminRole) {
			httpapi.WriteError(w, r, apperr.New(apperr.Forbidden, "this route needs the %q role", AdminRole))
			return
		}
		next.ServeHTTP(w, r)
	})
}
