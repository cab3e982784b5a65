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
	"github.com/prism-es/prism/shared/storage"
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
	p, err := k.Verify(t.Context(), tok)
	require.NoError(t, err)
	assert.Equal(t, "alice", p.UserID)
	assert.WithinDuration(t, exp, p.ExpiresAt, time.Second, "the principal knows when its token expires")
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
		_, err := k.Verify(t.Context(), tok)
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
	p, err := auth.FromRequest(k, r)
	require.NoError(t, err)
	assert.Equal(t, "bob", p.UserID)

	r = httptest.NewRequest("GET", "/?access_token="+tok, nil)
	_, err = auth.FromRequest(k, r)
	assert.Equal(t, apperr.Unauthenticated, apperr.KindOf(err), "a token in the URL is never read: proxies log URLs")

	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Basic Ym9iOnB3")
	_, err = auth.FromRequest(k, r)
	assert.Equal(t, apperr.Unauthenticated, apperr.KindOf(err))
}

// azureAccount is a real storage account's connection string (a made-up key).
const azureAccount = "DefaultEndpointsProtocol=https;AccountName=prismprod;AccountKey=eA==;EndpointSuffix=core.windows.net"

func TestLoadSettings(t *testing.T) {
	r := config.FromMap(map[string]string{})
	s := auth.LoadSettings(r)
	require.NoError(t, r.Err())
	assert.True(t, s.DevMode, "the local stack defaults to dev mode")
	require.NotNil(t, s.Keys)
	assert.Nil(t, s.OIDC)

	r = config.FromMap(map[string]string{"AZURE_STORAGE_CONNECTION_STRING": azureAccount})
	s = auth.LoadSettings(r)
	assert.False(t, s.DevMode, "a real storage account means production defaults")
	assert.ErrorContains(t, r.Err(), "PRISM_OIDC_ISSUER and PRISM_OIDC_AUDIENCE are required outside dev mode")

	r = config.FromMap(map[string]string{"PRISM_STORAGE_AUTH": "identity", "AZURE_STORAGE_ACCOUNT_NAME": "prismprod"})
	s = auth.LoadSettings(r)
	assert.False(t, s.DevMode, "identity auth means a real storage account too")
	assert.ErrorContains(t, r.Err(), "PRISM_OIDC_ISSUER and PRISM_OIDC_AUDIENCE are required")

	r = config.FromMap(map[string]string{"PRISM_STORAGE_ACCOUNTS": storage.AzuriteConnectionString + "," + azureAccount})
	s = auth.LoadSettings(r)
	assert.False(t, s.DevMode, "a real account among PRISM_STORAGE_ACCOUNTS means production defaults")
	assert.ErrorContains(t, r.Err(), "PRISM_OIDC_ISSUER and PRISM_OIDC_AUDIENCE are required")

	second := strings.ReplaceAll(storage.AzuriteConnectionString, "10001", "10011")
	r = config.FromMap(map[string]string{"PRISM_STORAGE_ACCOUNTS": storage.AzuriteConnectionString + "," + second})
	s = auth.LoadSettings(r)
	require.NoError(t, r.Err())
	assert.True(t, s.DevMode, "two local Azurites (ACCOUNTS=2 make up) are the local stack")

	oidc := map[string]string{"PRISM_DEV_MODE": "false", "PRISM_OIDC_ISSUER": "https://login.microsoftonline.com/tenant/v2.0", "PRISM_OIDC_AUDIENCE": "api://prism"}
	r = config.FromMap(oidc)
	s = auth.LoadSettings(r)
	require.NoError(t, r.Err())
	assert.False(t, s.DevMode)
	assert.Nil(t, s.Keys, "no signing secret outside dev mode")
	require.NotNil(t, s.OIDC)
	assert.Equal(t, []string{"api://prism"}, s.OIDC.Audience)
	assert.Equal(t, auth.DefaultMaxTokenLifetime, s.OIDC.MaxLifetime)

	r = config.FromMap(map[string]string{"PRISM_DEV_MODE": "false", "PRISM_OIDC_ISSUER": "http://idp.example.com", "PRISM_OIDC_AUDIENCE": "x"})
	auth.LoadSettings(r)
	assert.ErrorContains(t, r.Err(), "must be https", "a provider reached over plain HTTP could hand out any key")
	r = config.FromMap(map[string]string{"PRISM_DEV_MODE": "false", "PRISM_OIDC_ISSUER": "https://idp.example.com"})
	auth.LoadSettings(r)
	assert.ErrorContains(t, r.Err(), "PRISM_OIDC_AUDIENCE is required")
}

func TestDevModeCannotLeakIntoProduction(t *testing.T) {
	oidc := map[string]string{"PRISM_OIDC_ISSUER": "https://login.microsoftonline.com/tenant/v2.0", "PRISM_OIDC_AUDIENCE": "api://prism"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range oidc {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for name, c := range map[string]struct {
		env  map[string]string
		want string
	}{
		"the dev secret outside dev mode": {with(map[string]string{"PRISM_DEV_MODE": "false", "PRISM_JWT_SECRET": auth.DevSecret}), "PRISM_JWT_SECRET is for dev mode only"},
		"any secret outside dev mode":     {with(map[string]string{"PRISM_DEV_MODE": "false", "PRISM_JWT_SECRET": strings.Repeat("s", 40)}), "PRISM_JWT_SECRET is for dev mode only"},
		"dev mode on a real account":      {with(map[string]string{"PRISM_DEV_MODE": "true", "AZURE_STORAGE_CONNECTION_STRING": azureAccount}), "PRISM_DEV_MODE=true refused"},
		"dev mode with identity auth":     {with(map[string]string{"PRISM_DEV_MODE": "true", "PRISM_STORAGE_AUTH": "identity", "AZURE_STORAGE_ACCOUNT_NAME": "prismprod"}), "dev mode runs only against a local Azurite"},
		"dev mode with a real account among several": {with(map[string]string{"PRISM_DEV_MODE": "true",
			"PRISM_STORAGE_ACCOUNTS": storage.AzuriteConnectionString + "," + azureAccount}), "PRISM_DEV_MODE=true refused"},
		"dev mode with account names (Entra ID)": {with(map[string]string{"PRISM_DEV_MODE": "true", "PRISM_STORAGE_ACCOUNTS": "prismprod,prismprod1"}), "PRISM_DEV_MODE=true refused"},
		"dev mode on a remote Azurite": {with(map[string]string{"PRISM_DEV_MODE": "true",
			"AZURE_STORAGE_CONNECTION_STRING": strings.ReplaceAll(storage.AzuriteConnectionString, "127.0.0.1", "10.1.2.3")}), "is not on 127.0.0.1, localhost, ::1"},
		"dev mode on Azurite's endpoints with another key": {with(map[string]string{"PRISM_DEV_MODE": "true",
			"AZURE_STORAGE_CONNECTION_STRING": strings.ReplaceAll(storage.AzuriteConnectionString, storage.AzuriteAccountKey, "eA==")}), "not Azurite's development account"},
	} {
		r := config.FromMap(c.env)
		auth.LoadSettings(r)
		assert.ErrorContains(t, r.Err(), c.want, name)
	}

	// What is allowed: Azurite on loopback, and on a host named in
	// PRISM_DEV_STORAGE_HOSTS (docker-compose's azurite container).
	r := config.FromMap(map[string]string{"PRISM_DEV_MODE": "true", "AZURE_STORAGE_CONNECTION_STRING": storage.AzuriteConnectionString})
	s := auth.LoadSettings(r)
	require.NoError(t, r.Err())
	assert.True(t, s.DevMode)
	r = config.FromMap(map[string]string{"PRISM_DEV_MODE": "true", "PRISM_DEV_STORAGE_HOSTS": "azurite",
		"AZURE_STORAGE_CONNECTION_STRING": strings.ReplaceAll(storage.AzuriteConnectionString, "127.0.0.1", "azurite")})
	auth.LoadSettings(r)
	require.NoError(t, r.Err())
}
