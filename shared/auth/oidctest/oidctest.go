// Package oidctest is a local OpenID Connect provider for tests: a discovery
// document and a JWKS on a loopback port, keys that can be rotated, and
// tokens signed like Entra ID's (RS256 or ES256, with a kid). It never runs
// in a service.
package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Audience is the audience tokens are issued for unless a test says otherwise.
const Audience = "api://prism-test"

// Key is one signing key.
type Key struct {
	ID     string
	Alg    string // RS256 or ES256
	signer crypto.Signer
}

// Provider is a running provider.
type Provider struct {
	// Issuer is its issuer URL (the server's base URL).
	Issuer string
	srv    *httptest.Server

	mu        sync.Mutex
	current   *Key
	published []*Key
	fetches   atomic.Int64
}

// Start runs a provider with one RS256 key, stopped when t ends.
func Start(t testing.TB) *Provider {
	t.Helper()
	p := &Provider{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": p.Issuer, "jwks_uri": p.Issuer + "/keys",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		p.mu.Lock()
		keys := make([]map[string]string, 0, len(p.published))
		for _, k := range p.published {
			keys = append(keys, jwk(k))
		}
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	})
	p.srv = httptest.NewServer(mux)
	p.Issuer = p.srv.URL
	t.Cleanup(p.srv.Close)
	p.current = NewKey(t, "RS256")
	p.published = []*Key{p.current}
	return p
}

// NewKey makes a key of alg (RS256 or ES256) with a fresh id.
func NewKey(t testing.TB, alg string) *Key {
	t.Helper()
	var signer crypto.Signer
	var err error
	switch alg {
	case "RS256":
		signer, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		t.Fatalf("oidctest: unknown algorithm %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return &Key{ID: alg + "-" + rand.Text()[:10], Alg: alg, signer: signer}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwk is the public JWK of k.
func jwk(k *Key) map[string]string {
	switch pub := k.signer.Public().(type) {
	case *rsa.PublicKey:
		return map[string]string{"kty": "RSA", "use": "sig", "alg": k.Alg, "kid": k.ID,
			"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())}
	case *ecdsa.PublicKey:
		pt, err := pub.Bytes() // 0x04 || X || Y, each 32 bytes for P-256
		if err != nil {
			panic(err)
		}
		return map[string]string{"kty": "EC", "use": "sig", "alg": k.Alg, "kid": k.ID, "crv": "P-256",
			"x": b64(pt[1:33]), "y": b64(pt[33:65])}
	}
	panic("oidctest: unknown key type")
}

// Rotate makes a new key of alg the one tokens are signed with and stops
// publishing every other key (a rotation that retires the old key at once).
// It returns the key that was current.
func (p *Provider) Rotate(t testing.TB, alg string) *Key {
	t.Helper()
	k := NewKey(t, alg)
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.current
	p.current, p.published = k, []*Key{k}
	return old
}

// Current is the key tokens are signed with.
func (p *Provider) Current() *Key {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.current
}

// KeyFetches is how many times the JWKS was fetched.
func (p *Provider) KeyFetches() int64 { return p.fetches.Load() }

// Claims are a token's claims; Token fills in what is left zero.
type Claims struct {
	Subject  string
	Roles    []string
	Audience string
	Issuer   string
	// IssuedAt and Lifetime: default now and one hour.
	IssuedAt time.Time
	Lifetime time.Duration
	// OmitIssuedAt leaves "iat" out.
	OmitIssuedAt bool
}

// Token returns a token for subject with roles, signed with the current key.
func (p *Provider) Token(t testing.TB, subject string, roles ...string) string {
	t.Helper()
	return p.Sign(t, p.Current(), Claims{Subject: subject, Roles: roles})
}

// Sign returns a token with claims c signed by k (whether published or not).
func (p *Provider) Sign(t testing.TB, k *Key, c Claims) string {
	t.Helper()
	if c.Audience == "" {
		c.Audience = Audience
	}
	if c.Issuer == "" {
		c.Issuer = p.Issuer
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = time.Now()
	}
	if c.Lifetime == 0 {
		c.Lifetime = time.Hour
	}
	claims := jwt.MapClaims{
		"sub": c.Subject, "iss": c.Issuer, "aud": c.Audience,
		"iat": c.IssuedAt.Unix(), "nbf": c.IssuedAt.Unix(), "exp": c.IssuedAt.Add(c.Lifetime).Unix(),
	}
	if len(c.Roles) > 0 {
		claims["roles"] = c.Roles
	}
	if c.OmitIssuedAt {
		delete(claims, "iat")
	}
	method := jwt.GetSigningMethod(k.Alg)
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = k.ID
	s, err := tok.SignedString(k.signer)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
