package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/storage"
)

// Settings are the token settings every service that verifies tokens reads.
type Settings struct {
	// DevMode enables POST /api/dev/token and the development secret. It is
	// on by default only on the local stack (no connection string, no
	// identity auth), and it refuses to start unless storage is Azurite's
	// development account on a loopback host (PRISM_DEV_STORAGE_HOSTS).
	DevMode bool
	// Keys sign and verify HS256 tokens: dev mode only, nil otherwise.
	Keys *Keys
	// OIDC is the token provider (PRISM_OIDC_*); nil when none is
	// configured, which only dev mode allows.
	OIDC *OIDCConfig
}

// LoadSettings reads PRISM_DEV_MODE, PRISM_JWT_SECRET, PRISM_OIDC_* and
// PRISM_DEV_STORAGE_HOSTS. Outside dev mode an OIDC provider is required
// and no signing secret is accepted; in dev mode storage must be a local
// Azurite. Problems are recorded on r.
func LoadSettings(r *config.Reader) Settings {
	connString := r.String("AZURE_STORAGE_CONNECTION_STRING", "")
	accounts := r.List("PRISM_STORAGE_ACCOUNTS", nil)
	identity := r.String("PRISM_STORAGE_AUTH", config.StorageAuthConnectionString) == config.StorageAuthIdentity
	devHosts := r.List("PRISM_DEV_STORAGE_HOSTS", storage.LoopbackHosts)
	// The local default: no storage named, or only local Azurites
	// (ACCOUNTS=2 make up names two in PRISM_STORAGE_ACCOUNTS).
	localAccounts := len(accounts) > 0
	for _, cs := range accounts {
		localAccounts = localAccounts && storage.CheckLocalAzurite(cs, devHosts) == nil
	}
	s := Settings{DevMode: r.Bool("PRISM_DEV_MODE", !identity && (connString == "" && len(accounts) == 0 || localAccounts))}
	secret := r.String("PRISM_JWT_SECRET", "")
	if issuer := r.String("PRISM_OIDC_ISSUER", ""); issuer != "" {
		s.OIDC = &OIDCConfig{
			Issuer:      issuer,
			Audience:    r.List("PRISM_OIDC_AUDIENCE", nil),
			MaxLifetime: r.Duration("PRISM_OIDC_MAX_TOKEN_LIFETIME", DefaultMaxTokenLifetime),
		}
		if len(s.OIDC.Audience) == 0 {
			r.Fail("PRISM_OIDC_AUDIENCE is required with PRISM_OIDC_ISSUER: the audience (application id) tokens must be issued for")
		}
		if err := checkProviderURL(issuer); err != nil {
			r.Fail("PRISM_OIDC_ISSUER: %v", err)
		}
	}

	if !s.DevMode {
		if secret != "" {
			r.Fail("PRISM_JWT_SECRET is for dev mode only: outside it tokens come from the OIDC provider (PRISM_OIDC_ISSUER) and no service holds a signing secret")
		}
		if s.OIDC == nil {
			r.Fail("PRISM_OIDC_ISSUER and PRISM_OIDC_AUDIENCE are required outside dev mode (PRISM_DEV_MODE=false)")
		}
		return s
	}
	// Dev mode mints tokens for anyone: it must never run against real data.
	switch {
	case identity:
		r.Fail("PRISM_DEV_MODE=true with PRISM_STORAGE_AUTH=identity: dev mode runs only against a local Azurite")
	default:
		// PRISM_STORAGE_ACCOUNTS, when set, replaces the connection string:
		// every account of it must be a local Azurite.
		for _, cs := range devAccounts(connString, accounts) {
			if err := storage.CheckLocalAzurite(cs, devHosts); err != nil {
				r.Fail("PRISM_DEV_MODE=true refused: %v (dev mode runs only against Azurite on %s; PRISM_DEV_STORAGE_HOSTS)", err, strings.Join(devHosts, ", "))
				break
			}
		}
	}
	if secret == "" {
		secret = DevSecret
	}
	k, err := NewKeys(secret)
	if err != nil {
		r.Fail("PRISM_JWT_SECRET: %v", err)
		return s
	}
	s.Keys = k
	return s
}

// String describes the settings for logs, without the secret.
func (s Settings) String() string {
	issuer := ""
	if s.OIDC != nil {
		issuer = s.OIDC.Issuer
	}
	return fmt.Sprintf("devMode=%t oidcIssuer=%q", s.DevMode, issuer)
}

// Verifier returns the verifier the settings describe: the OIDC provider's
// (fetching its discovery document and keys, retrying for up to wait while
// it does not answer, and keeping the keys fresh until ctx ends), and in
// dev mode the development keys, alone or beside the provider.
func (s Settings) Verifier(ctx context.Context, wait time.Duration) (Verifier, error) {
	if s.OIDC == nil {
		if s.Keys == nil {
			return nil, errors.New("no token verifier configured")
		}
		return s.Keys, nil
	}
	deadline := time.Now().Add(wait)
	for {
		o, err := NewOIDC(ctx, *s.OIDC)
		if err == nil {
			if s.Keys == nil {
				return o, nil
			}
			return devAndOIDC{dev: s.Keys, oidc: o}, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, err
		}
		slog.WarnContext(ctx, "OIDC provider not ready; retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// devAndOIDC accepts dev-mode HS256 tokens and the provider's: the token's
// algorithm says which verifier checks it.
type devAndOIDC struct {
	dev  *Keys
	oidc *OIDC
}

func (v devAndOIDC) Verify(ctx context.Context, token string) (Principal, error) {
	var alg string
	if t, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{}); err == nil {
		alg, _ = t.Header["alg"].(string)
	}
	if alg == jwt.SigningMethodHS256.Alg() {
		return v.dev.Verify(ctx, token)
	}
	return v.oidc.Verify(ctx, token)
}

// devAccounts are the storage accounts dev mode would run against:
// PRISM_STORAGE_ACCOUNTS when set, else the connection string (Azurite's
// when unset).
func devAccounts(connString string, accounts []string) []string {
	switch {
	case len(accounts) > 0:
		return accounts
	case connString != "":
		return []string{connString}
	default:
		return []string{storage.AzuriteConnectionString}
	}
}
