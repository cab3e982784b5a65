package auth_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/auth/oidctest"
	"github.com/prism-es/prism/shared/config"
)

func newOIDC(t *testing.T, p *oidctest.Provider, cfg auth.OIDCConfig) *auth.OIDC {
	t.Helper()
	cfg.Issuer = p.Issuer
	if cfg.Audience == nil {
		cfg.Audience = []string{oidctest.Audience}
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	v, err := auth.NewOIDC(ctx, cfg)
	require.NoError(t, err)
	return v
}

func TestOIDCTokenFromTheProviderWorks(t *testing.T) {
	p := oidctest.Start(t)
	v := newOIDC(t, p, auth.OIDCConfig{})
	tok := p.Token(t, "alice", "admin")
	got, err := v.Verify(t.Context(), tok)
	require.NoError(t, err)
	assert.Equal(t, "alice", got.UserID)
	assert.True(t, got.HasRole("admin"))
	assert.WithinDuration(t, time.Now().Add(time.Hour), got.ExpiresAt, 5*time.Second)

	// ES256 keys work as well as RS256 ones.
	p.Rotate(t, "ES256")
	got, err = v.Verify(t.Context(), p.Token(t, "bob"))
	require.NoError(t, err)
	assert.Equal(t, "bob", got.UserID)
}

func TestOIDCKeyRotation(t *testing.T) {
	p := oidctest.Start(t)
	v := newOIDC(t, p, auth.OIDCConfig{UnknownKeyRefresh: time.Hour})
	before := p.Token(t, "alice")
	_, err := v.Verify(t.Context(), before)
	require.NoError(t, err)

	old := p.Rotate(t, "RS256")
	// A token signed with the new key (a kid not seen yet) makes the
	// verifier fetch the keys again, and it is accepted.
	_, err = v.Verify(t.Context(), p.Token(t, "alice"))
	require.NoError(t, err, "a token signed with the rotated-in key")
	// The rotated-out key is gone from the new key set: its tokens, even
	// ones still unexpired, are refused.
	_, err = v.Verify(t.Context(), before)
	assert.Equal(t, apperr.Unauthenticated, apperr.KindOf(err), "a token signed with the rotated-out key")
	_, err = v.Verify(t.Context(), p.Sign(t, old, oidctest.Claims{Subject: "mallory"}))
	assert.Equal(t, apperr.Unauthenticated, apperr.KindOf(err), "a fresh token signed with the rotated-out key")
}

func TestOIDCUnknownKeyIDsDoNotHammerTheProvider(t *testing.T) {
	p := oidctest.Start(t)
	v := newOIDC(t, p, auth.OIDCConfig{UnknownKeyRefresh: time.Hour})
	start := p.KeyFetches()
	for range 50 {
		forged := p.Sign(t, oidctest.NewKey(t, "ES256"), oidctest.Claims{Subject: "mallory"})
		began := time.Now()
		_, err := v.Verify(t.Context(), forged)
		assert.Equal(t, apperr.Unauthenticated, apperr.KindOf(err))
		assert.Less(t, time.Since(began), 3*time.Second, "a forged kid is refused without waiting for a refetch")
	}
	assert.LessOrEqual(t, p.KeyFetches()-start, int64(1), "at most one refetch per UnknownKeyRefresh, however many forged key ids arrive")
}

func TestOIDCRefusedTokens(t *testing.T) {
	p := oidctest.Start(t)
	v := newOIDC(t, p, auth.OIDCConfig{MaxLifetime: 2 * time.Hour})
	k := p.Current()
	b64 := base64.RawURLEncoding.EncodeToString
	noKid := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "x", "iss": p.Issuer, "aud": oidctest.Audience, "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
		s, err := tok.SignedString([]byte("some-secret-some-secret-some-secret"))
		require.NoError(t, err)
		return s
	}()
	// HS256 with a "kid" of a published RSA key: the classic algorithm
	// confusion (the public key used as an HMAC secret).
	confused := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "x", "iss": p.Issuer, "aud": oidctest.Audience, "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
		tok.Header["kid"] = k.ID
		s, err := tok.SignedString([]byte("public-key-bytes-public-key-bytes"))
		require.NoError(t, err)
		return s
	}()
	for name, tok := range map[string]string{
		"another issuer":           p.Sign(t, k, oidctest.Claims{Subject: "x", Issuer: "https://evil.example.com"}),
		"another audience":         p.Sign(t, k, oidctest.Claims{Subject: "x", Audience: "api://someone-else"}),
		"expired":                  p.Sign(t, k, oidctest.Claims{Subject: "x", IssuedAt: time.Now().Add(-2 * time.Hour), Lifetime: time.Hour}),
		"issued in the future":     p.Sign(t, k, oidctest.Claims{Subject: "x", IssuedAt: time.Now().Add(time.Hour)}),
		"valid for too long":       p.Sign(t, k, oidctest.Claims{Subject: "x", Lifetime: 30 * 24 * time.Hour}),
		"hostile subject":          p.Sign(t, k, oidctest.Claims{Subject: "../../etc"}),
		"unknown key":              p.Sign(t, oidctest.NewKey(t, "RS256"), oidctest.Claims{Subject: "x"}),
		"no kid, HS256":            noKid,
		"HS256 with an RSA kid":    confused,
		"no iat":                   p.Sign(t, k, oidctest.Claims{Subject: "x", OmitIssuedAt: true}),
		"alg none":                 b64([]byte(`{"alg":"none","kid":"`+k.ID+`"}`)) + "." + b64([]byte(`{"sub":"x","iss":"`+p.Issuer+`","aud":"`+oidctest.Audience+`","exp":9999999999,"iat":1}`)) + ".",
		"garbage":                  "not.a.token",
		"signature of another key": strings.Join(append(strings.Split(p.Token(t, "x"), ".")[:2], strings.Split(p.Sign(t, oidctest.NewKey(t, "RS256"), oidctest.Claims{Subject: "x"}), ".")[2]), "."),
	} {
		_, err := v.Verify(t.Context(), tok)
		assert.Equal(t, apperr.Unauthenticated, apperr.KindOf(err), name)
	}
}

func TestOIDCDiscoveryMustNameItsIssuer(t *testing.T) {
	// A discovery document that names another issuer (a mix-up, or an
	// attacker's document) is refused.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"issuer":"https://login.microsoftonline.com/other/v2.0","jwks_uri":"https://login.microsoftonline.com/other/keys"}`))
	}))
	defer srv.Close()
	_, err := auth.NewOIDC(t.Context(), auth.OIDCConfig{Issuer: srv.URL, Audience: []string{"x"}})
	assert.ErrorContains(t, err, "names issuer")
	_, err = auth.NewOIDC(t.Context(), auth.OIDCConfig{Issuer: "http://idp.example.com", Audience: []string{"x"}})
	assert.ErrorContains(t, err, "must be https")
}

func TestSettingsVerifierInDevModeTakesBoth(t *testing.T) {
	p := oidctest.Start(t)
	r := config.FromMap(map[string]string{"PRISM_OIDC_ISSUER": p.Issuer, "PRISM_OIDC_AUDIENCE": oidctest.Audience})
	s := auth.LoadSettings(r)
	require.NoError(t, r.Err())
	require.True(t, s.DevMode)
	v, err := s.Verifier(t.Context(), time.Second)
	require.NoError(t, err)
	dev, _, err := s.Keys.Issue("dev-user", nil, time.Hour)
	require.NoError(t, err)
	got, err := v.Verify(t.Context(), dev)
	require.NoError(t, err)
	assert.Equal(t, "dev-user", got.UserID)
	got, err = v.Verify(t.Context(), p.Token(t, "oidc-user"))
	require.NoError(t, err)
	assert.Equal(t, "oidc-user", got.UserID)

	// Outside dev mode only the provider's tokens count.
	r = config.FromMap(map[string]string{"PRISM_DEV_MODE": "false", "PRISM_OIDC_ISSUER": p.Issuer, "PRISM_OIDC_AUDIENCE": oidctest.Audience})
	s = auth.LoadSettings(r)
	require.NoError(t, r.Err())
	v, err = s.Verifier(t.Context(), time.Second)
	require.NoError(t, err)
	_, err = v.Verify(t.Context(), dev)
	assert.Equal(t, apperr.Unauthenticated, apperr.KindOf(err), "a dev token outside dev mode")
}
