package auth_test

import (
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/config"
)

const secret = "0123456789abcdef0123456789abcdef-test"

func keys(t *testing.T) *auth.Keys {
	k, err := auth.NewKeys(secret)
	require.NoError(t, err)
	return k
}

func TestIssueAndVerify(t *testing.T) {
	k := keys(t)
	tok, exp, err := k.Issue("alice", []string{"admin"}, time.Hour)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(time.Hour), exp, 5*time.Second)
	p, err := k.Verify(tok)
	require.NoError(t, err)
	assert.Equal(t, "alice", p.UserID)
	assert.True(t, p.HasRole("admin"))
	assert.False(t, p.HasRole("root"))
}

func TestRefusedTokens(t *testing.T) {
	k := keys(t)
	other, err := auth.NewKeys(strings.Repeat("z", 40))
	require.NoError(t, err)
	foreign, _, err := other.Issue("alice", nil, time.Hour)
	require.NoError(t, err)
	expired, _, err := k.Issue("alice", nil, -time.Hour)
	require.NoError(t, err)
	b64 := base64.RawURLEncoding.EncodeToString
	none := b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64([]byte(`{"sub":"x","iss":"prism","exp":9999999999}`)) + "."
	noExp, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "x", "iss": "prism"}).SignedString([]byte(secret))
	require.NoError(t, err)
	hs512, err := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"sub": "x", "iss": "prism", "exp": 9999999999}).SignedString([]byte(secret))
	require.NoError(t, err)
	badSub, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "../etc/passwd", "iss": "prism", "exp": 9999999999}).SignedString([]byte(secret))
	require.NoError(t, err)

	for name, tok := range map[string]string{
		"wrong signature": foreign, "expired": expired, "alg none": none, "no expiry": noExp,
		"other algorithm": hs512, "garbage": "not.a.token", "empty": "", "hostile subject": badSub,
	} {
		_, err := k.Verify(tok)
		assert.Equal(t, apperr.Unauthenticated, apperr.KindOf(err), name)
	}
	_, _, err = k.Issue("bad user id!", nil, time.Hour)
	assert.Equal(t, apperr.Invalid, apperr.KindOf(err))
	_, err = auth.NewKeys("short")
	assert.Error(t, err)
}

func TestFromRequest(t *testing.T) {
	k := keys(t)
	tok, _, err := k.Issue("bob", nil, time.Hour)
	require.NoError(t, err)

	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	p, err := k.FromRequest(r, false)
	require.NoError(t, err)
	assert.Equal(t, "bob", p.UserID)

	r = httptest.NewRequest("GET", "/?access_token="+tok, nil)
	_, err = k.FromRequest(r, false)
	assert.Equal(t, apperr.Unauthenticated, apperr.KindOf(err), "query tokens only where allowed")
	p, err = k.FromRequest(r, true)
	require.NoError(t, err)
	assert.Equal(t, "bob", p.UserID)

	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Basic Ym9iOnB3")
	_, err = k.FromRequest(r, true)
	assert.Equal(t, apperr.Unauthenticated, apperr.KindOf(err))
}

func TestLoadSettings(t *testing.T) {
	r := config.FromMap(map[string]string{})
	s := auth.LoadSettings(r)
	require.NoError(t, r.Err())
	assert.True(t, s.DevMode, "the local stack defaults to dev mode")
	require.NotNil(t, s.Keys)

	r = config.FromMap(map[string]string{"AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=eA==;EndpointSuffix=core.windows.net"})
	s = auth.LoadSettings(r)
	assert.False(t, s.DevMode, "a real storage account means production defaults")
	assert.ErrorContains(t, r.Err(), "PRISM_JWT_SECRET is required")

	r = config.FromMap(map[string]string{"PRISM_STORAGE_AUTH": "identity", "AZURE_STORAGE_ACCOUNT_NAME": "prismprod"})
	s = auth.LoadSettings(r)
	assert.False(t, s.DevMode, "identity auth means a real storage account too")
	assert.ErrorContains(t, r.Err(), "PRISM_JWT_SECRET is required")

	r = config.FromMap(map[string]string{"PRISM_DEV_MODE": "false", "PRISM_JWT_SECRET": "short"})
	auth.LoadSettings(r)
	assert.ErrorContains(t, r.Err(), "at least 32 bytes")

	r = config.FromMap(map[string]string{"PRISM_DEV_MODE": "false", "PRISM_JWT_SECRET": strings.Repeat("s", 32)})
	s = auth.LoadSettings(r)
	require.NoError(t, r.Err())
	assert.False(t, s.DevMode)
	assert.NotNil(t, s.Keys)
}
