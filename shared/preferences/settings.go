package preferences

import (
	"net/mail"

	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/money"
)

// DevVAPIDPublicKey and DevVAPIDPrivateKey are the development VAPID key
// pair (base64url, P-256), used only in dev mode when PRISM_VAPID_* are
// unset, like Azurite's well-known account key. Never use them outside the
// local stack: anyone can sign pushes with them.
const (
	DevVAPIDPublicKey  = "BBTjyjajhG98mGHht1yYFDDpfct4W4ywa33FEVwx1tvi6vY2hCBo-cFEiQXY2gXMNbioP93M7p2I0cUuq38ce3o"
	DevVAPIDPrivateKey = "EtwTrYBnzAuc7yiQePrJHoNIGK9tQMKQZqVX8B0UbAk"
)

// Settings are what both prism-api and the notification subscriber know
// of the channels (see docs/operations.md); the sending side's own settings
// (SMTP, the VAPID private key, SMS) are readmodel-updater's.
type Settings struct {
	// VAPIDPublicKey is the application server key browsers subscribe
	// with ("": push is off).
	VAPIDPublicKey string
	// MailUserDomain makes the address of a user without one:
	// <userId>@<domain> ("": such users get no e-mail).
	MailUserDomain string
	// Money formats amounts (PRISM_CURRENCY, PRISM_LOCALE).
	Money money.Format
	// InsecurePushEndpoints accepts http:// push endpoints (tests only).
	InsecurePushEndpoints bool
}

// LoadSettings reads the settings; devMode turns on the local defaults
// (the dev VAPID public key and the prism.test user domain).
func LoadSettings(r *config.Reader, devMode bool) Settings {
	s := Settings{
		VAPIDPublicKey:        r.String("PRISM_VAPID_PUBLIC_KEY", DevDefault(devMode, DevVAPIDPublicKey)),
		MailUserDomain:        r.String("PRISM_MAIL_USER_DOMAIN", DevDefault(devMode, "prism.test")),
		InsecurePushEndpoints: r.Bool("PRISM_PUSH_INSECURE_ENDPOINTS", false),
	}
	var err error
	if s.Money, err = money.New(r.String("PRISM_CURRENCY", money.DefaultCurrency), r.String("PRISM_LOCALE", money.DefaultLocale)); err != nil {
		r.Fail("PRISM_CURRENCY/PRISM_LOCALE: %v", err)
	}
	return s
}

// DevDefault is v in dev mode and "" outside it.
func DevDefault(devMode bool, v string) string {
	if devMode {
		return v
	}
	return ""
}

// AddressOf is where e-mail for the user goes: their own address, else
// <userId>@MailUserDomain, else "" (no e-mail).
func (s Settings) AddressOf(userID string, p Preferences) string {
	if p.Email != "" {
		return p.Email
	}
	if s.MailUserDomain == "" {
		return ""
	}
	a := userID + "@" + s.MailUserDomain
	if _, err := mail.ParseAddress(a); err != nil {
		return ""
	}
	return a
}
