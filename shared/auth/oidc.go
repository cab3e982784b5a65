package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/prism-es/prism/shared/apperr"
)

// OIDCConfig says which OpenID Connect provider's tokens to accept.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL, exactly as its tokens' "iss" and
	// its discovery document name it (Entra ID:
	// https://login.microsoftonline.com/<tenant>/v2.0). https, except on
	// loopback (tests).
	Issuer string
	// Audience lists the accepted "aud" values (this API's application id
	// or its App ID URI); a token must name one of them.
	Audience []string
	// MaxLifetime refuses tokens whose exp - iat exceeds it (0: 2h).
	MaxLifetime time.Duration
	// KeysRefresh is how often the signing keys are refetched (0: 1h).
	KeysRefresh time.Duration
	// UnknownKeyRefresh is the least time between two refetches caused by
	// a token signed with a key id not seen yet, as after a rotation (0:
	// 1m): a stream of forged key ids cannot make Prism hammer the
	// provider.
	UnknownKeyRefresh time.Duration
	// Client fetches the discovery document and the keys (nil: a client
	// with a 10 s timeout).
	Client *http.Client
}

// Defaults of OIDCConfig.
const (
	DefaultMaxTokenLifetime  = 2 * time.Hour
	DefaultKeysRefresh       = time.Hour
	DefaultUnknownKeyRefresh = time.Minute
)

// OIDC verifies tokens from an OpenID Connect provider: RS256 or ES256,
// signed by a key of the provider's JWKS (found through its discovery
// document and refetched as keys rotate), with the configured issuer and
// an accepted audience, unexpired, issued at a known time and valid for no
// longer than MaxLifetime.
type OIDC struct {
	cfg    OIDCConfig
	keys   keyfunc.Keyfunc
	parser *jwt.Parser
}

var _ Verifier = (*OIDC)(nil)

// discovery is what Prism reads of a discovery document.
type discovery struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// NewOIDC reads the provider's discovery document and its keys (both must
// answer now) and keeps the keys fresh until ctx ends.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	if cfg.MaxLifetime <= 0 {
		cfg.MaxLifetime = DefaultMaxTokenLifetime
	}
	if cfg.KeysRefresh <= 0 {
		cfg.KeysRefresh = DefaultKeysRefresh
	}
	if cfg.UnknownKeyRefresh <= 0 {
		cfg.UnknownKeyRefresh = DefaultUnknownKeyRefresh
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if len(cfg.Audience) == 0 {
		return nil, errors.New("OIDC: no audience configured")
	}
	if err := checkProviderURL(cfg.Issuer); err != nil {
		return nil, fmt.Errorf("OIDC issuer: %w", err)
	}
	doc, err := discover(ctx, cfg)
	if err != nil {
		return nil, err
	}
	noError := false
	keys, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{doc.JWKSURI}, keyfunc.Override{
		Client:                    cfg.Client,
		HTTPTimeout:               10 * time.Second,
		NoErrorReturnFirstHTTPReq: &noError, // the keys must answer at start
		RefreshInterval:           cfg.KeysRefresh,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(cfg.UnknownKeyRefresh), 1),
		// A token with an unknown key id waits at most this long for a
		// refetch (and the refetch itself): when the limiter has no refetch
		// to give, it is refused at once rather than held.
		RateLimitWaitMax: 5 * time.Second,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				slog.WarnContext(ctx, "could not refresh the OIDC signing keys", "url", u, "err", err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("OIDC keys from %s: %w", doc.JWKSURI, err)
	}
	return &OIDC{
		cfg:  cfg,
		keys: keys,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg()}),
			jwt.WithIssuer(cfg.Issuer), jwt.WithAudience(cfg.Audience...),
			jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(30*time.Second)),
	}, nil
}

// discover reads and checks the provider's discovery document.
func discover(ctx context.Context, cfg OIDCConfig) (discovery, error) {
	u := strings.TrimRight(cfg.Issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return discovery{}, err
	}
	res, err := cfg.Client.Do(req)
	if err != nil {
		return discovery{}, fmt.Errorf("OIDC discovery %s: %w", u, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return discovery{}, fmt.Errorf("OIDC discovery %s: HTTP %d", u, res.StatusCode)
	}
	var doc discovery
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&doc); err != nil {
		return discovery{}, fmt.Errorf("OIDC discovery %s: %w", u, err)
	}
	// OpenID Connect Discovery 1.0 §4.3: the document's issuer must be the
	// one it was fetched for, exactly.
	if doc.Issuer != cfg.Issuer {
		return discovery{}, fmt.Errorf("OIDC discovery %s names issuer %q, not %q", u, doc.Issuer, cfg.Issuer)
	}
	if err := checkProviderURL(doc.JWKSURI); err != nil {
		return discovery{}, fmt.Errorf("OIDC jwks_uri: %w", err)
	}
	return doc, nil
}

// checkProviderURL accepts https URLs, and http ones on loopback only.
func checkProviderURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", s)
	}
	if u.Scheme == "https" {
		return nil
	}
	if ip := net.ParseIP(u.Hostname()); u.Scheme == "http" && (u.Hostname() == "localhost" || ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("%q must be https", s)
}

// Verify checks a token from the provider.
func (o *OIDC) Verify(ctx context.Context, token string) (Principal, error) {
	var c claims
	keyOf := o.keys.KeyfuncCtx(ctx)
	_, err := o.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid == "" {
			return nil, errors.New("the token names no signing key (kid)")
		}
		return keyOf(t)
	})
	if err != nil {
		return Principal{}, apperr.Wrap(apperr.Unauthenticated, err, "invalid or expired token")
	}
	if c.IssuedAt == nil {
		return Principal{}, apperr.New(apperr.Unauthenticated, "the token has no issue time (iat)")
	}
	if life := c.ExpiresAt.Sub(c.IssuedAt.Time); life > o.cfg.MaxLifetime {
		return Principal{}, apperr.New(apperr.Unauthenticated, "the token is valid for %s, longer than the %s accepted", life, o.cfg.MaxLifetime)
	}
	return principalOf(c)
}
