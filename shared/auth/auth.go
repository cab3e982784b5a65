// Package auth verifies Prism's bearer tokens: JWTs whose "sub" is the user
// id and whose "roles" claim may hold "admin". In production they come from
// an OpenID Connect provider (Microsoft Entra ID) and are checked against
// its discovery document and rotating signing keys (OIDC: RS256 or ES256,
// issuer, audience, expiry, a maximum lifetime). In dev mode only, Keys
// issues and verifies HS256 tokens with a local secret. Tokens with any
// other algorithm (including "none"), a bad signature, or no or a past
// expiry are refused.
package auth

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
)

// DevSecret is the signing secret used in dev mode when none is configured.
// Never use it outside local development.
const DevSecret = "prism-local-development-secret-do-not-use-in-production"

// Issuer is the "iss" of Prism tokens.
const Issuer = "prism"

// AdminRole is the role admin routes require.
const AdminRole = "admin"

// Principal is an authenticated caller.
type Principal struct {
	UserID string
	Roles  []string
	// ExpiresAt is when the caller's token expires: a stream it opened
	// closes then.
	ExpiresAt time.Time
}

// Verifier checks a bearer token and returns its principal, or an
// Unauthenticated error.
type Verifier interface {
	Verify(ctx context.Context, token string) (Principal, error)
}

// HasRole reports whether the principal has role.
func (p Principal) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

type claims struct {
	Roles []string `json:"roles,omitempty"`
	jwt.RegisteredClaims
}

// Keys signs and verifies tokens with one HS256 secret: dev mode only (no
// production service holds a signing secret).
type Keys struct {
	secret []byte
	parser *jwt.Parser
}

// NewKeys returns Keys for secret (at least 32 bytes).
func NewKeys(secret string) (*Keys, error) {
	if len(secret) < 32 {
		return nil, errors.New("the JWT secret must be at least 32 bytes")
	}
	return &Keys{
		secret: []byte(secret),
		parser: jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithExpirationRequired(),
			jwt.WithIssuer(Issuer), jwt.WithLeeway(30*time.Second)),
	}, nil
}

// Issue returns a token for userID with roles, valid for ttl.
func (k *Keys) Issue(userID string, roles []string, ttl time.Duration) (string, time.Time, error) {
	if !envelope.ValidID(userID) {
		return "", time.Time{}, apperr.Fields("invalid user", apperr.FieldError{Field: "userId", Message: "must be 1-128 characters of letters, digits and . _ : -"})
	}
	now := time.Now()
	exp := now.Add(ttl)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{Roles: roles, RegisteredClaims: jwt.RegisteredClaims{
		Subject: userID, Issuer: Issuer, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
	}})
	s, err := tok.SignedString(k.secret)
	return s, exp, err
}

var _ Verifier = (*Keys)(nil)

// Verify checks a token and returns its principal, or an Unauthenticated error.
func (k *Keys) Verify(_ context.Context, token string) (Principal, error) {
	var c claims
	_, err := k.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return k.secret, nil })
	if err != nil {
		return Principal{}, apperr.Wrap(apperr.Unauthenticated, err, "invalid or expired token")
	}
	return principalOf(c)
}

// principalOf is the principal of verified claims.
func principalOf(c claims) (Principal, error) {
	if !envelope.ValidID(c.Subject) {
		return Principal{}, apperr.New(apperr.Unauthenticated, "token subject is not a valid user id")
	}
	p := Principal{UserID: c.Subject, Roles: c.Roles}
	if c.ExpiresAt != nil {
		p.ExpiresAt = c.ExpiresAt.Time
	}
	return p, nil
}

// BearerToken returns the token of the request's Authorization header ("" if
// there is none) or an Unauthenticated error if the header is malformed.
// Tokens are taken from this header only, never from a URL: proxies and
// ingress logs keep URLs (browsers' streams use tickets instead).
func BearerToken(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", nil
	}
	if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(tok) != "" {
		return strings.TrimSpace(tok), nil
	}
	return "", apperr.New(apperr.Unauthenticated, "Authorization must be \"Bearer <token>\"")
}

// FromRequest verifies the bearer token in the Authorization header.
func FromRequest(v Verifier, r *http.Request) (Principal, error) {
	tok, err := BearerToken(r)
	if err != nil {
		return Principal{}, err
	}
	if tok == "" {
		return Principal{}, apperr.New(apperr.Unauthenticated, "a bearer token is required")
	}
	return v.Verify(r.Context(), tok)
}

// Admin verifies the request's bearer token and requires the admin role:
// Unauthenticated without a valid token, Forbidden without the role.
func Admin(v Verifier, r *http.Request, what string) (Principal, error) {
	p, err := FromRequest(v, r)
	if err != nil {
		return Principal{}, err
	}
	if !p.HasRole(AdminRole) {
		return Principal{}, apperr.New(apperr.Forbidden, "%s need the %q role", what, AdminRole)
	}
	return p, nil
}

type principalKey struct{}

// WithPrincipal stores p in ctx.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal stored in ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
