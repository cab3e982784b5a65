package auth

import (
	"fmt"

	"github.com/prism-es/prism/shared/config"
)

// Settings are the token settings every service that verifies tokens reads.
type Settings struct {
	// DevMode enables POST /api/dev/token and the development secret. It is
	// on by default only on the local stack: no connection string and no
	// identity auth (either means a real storage account).
	DevMode bool
	// Keys sign and verify tokens.
	Keys *Keys
}

// LoadSettings reads PRISM_DEV_MODE and PRISM_JWT_SECRET. Outside dev mode a
// secret is required; problems are recorded on r.
func LoadSettings(r *config.Reader) Settings {
	local := r.String("AZURE_STORAGE_CONNECTION_STRING", "") == "" &&
		r.String("PRISM_STORAGE_AUTH", config.StorageAuthConnectionString) != config.StorageAuthIdentity
	s := Settings{DevMode: r.Bool("PRISM_DEV_MODE", local)}
	secret := r.String("PRISM_JWT_SECRET", "")
	switch {
	case secret == "" && !s.DevMode:
		r.Fail("PRISM_JWT_SECRET is required outside dev mode (PRISM_DEV_MODE=false)")
		return s
	case secret == "":
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
func (s Settings) String() string { return fmt.Sprintf("devMode=%t", s.DevMode) }
