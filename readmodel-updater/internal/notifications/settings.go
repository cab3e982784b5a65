package notifications

import (
	"net/mail"
	"net/url"
	"strings"

	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/preferences"
)

// SMS providers (PRISM_SMS_PROVIDER).
const (
	// SMSSink logs each SMS and keeps it as a row (dev mode only).
	SMSSink = "sink"
	// SMSNone sends no SMS: each one is recorded as failed, never as sent.
	SMSNone = "none"
)

// Settings are the sending side's settings of the channels (see
// docs/operations.md), with those prism-api shares.
type Settings struct {
	preferences.Settings
	// VAPIDPrivateKey signs web pushes ("": push is off).
	VAPIDPrivateKey string
	// VAPIDSubject is the contact the push services see (mailto: or https:).
	VAPIDSubject string
	// SMTPAddr is the SMTP server's host:port ("": e-mail is off).
	SMTPAddr string
	// SMTPUser and SMTPPassword log in when set (PLAIN, over STARTTLS when
	// the server offers it).
	SMTPUser, SMTPPassword string
	// MailFrom is the From of every e-mail.
	MailFrom string
	// SMSProvider is SMSSink or SMSNone (a real provider plugs in here).
	SMSProvider string
	// PublicURL is the storefront's base URL, for links in messages.
	PublicURL string
	// Admins are the user ids that get admin notifications (low stock).
	Admins []string
}

// LoadSettings reads the settings; devMode turns on the local defaults (the
// dev VAPID pair, Mailpit on 127.0.0.1:1025, the SMS sink, the prism.test
// user domain and the admin "shopkeeper").
func LoadSettings(r *config.Reader, devMode bool) Settings {
	dev := func(v string) string { return preferences.DevDefault(devMode, v) }
	s := Settings{
		Settings:        preferences.LoadSettings(r, devMode),
		VAPIDPrivateKey: r.String("PRISM_VAPID_PRIVATE_KEY", dev(preferences.DevVAPIDPrivateKey)),
		VAPIDSubject:    r.String("PRISM_VAPID_SUBJECT", "mailto:shop@prism.test"),
		SMTPAddr:        r.String("PRISM_SMTP_ADDR", dev("127.0.0.1:1025")),
		SMTPUser:        r.String("PRISM_SMTP_USER", ""),
		SMTPPassword:    r.String("PRISM_SMTP_PASSWORD", ""),
		MailFrom:        r.String("PRISM_MAIL_FROM", "Prism shop <shop@prism.test>"),
		SMSProvider:     r.String("PRISM_SMS_PROVIDER", map[bool]string{true: SMSSink, false: SMSNone}[devMode]),
		PublicURL:       strings.TrimRight(r.String("PRISM_PUBLIC_URL", "http://localhost:8080"), "/"),
		Admins:          r.List("PRISM_ADMIN_USERS", strings.Fields(dev("shopkeeper"))),
	}
	if (s.VAPIDPublicKey == "") != (s.VAPIDPrivateKey == "") {
		r.Fail("PRISM_VAPID_PUBLIC_KEY and PRISM_VAPID_PRIVATE_KEY: set both or neither")
	}
	if !strings.HasPrefix(s.VAPIDSubject, "mailto:") && !strings.HasPrefix(s.VAPIDSubject, "https://") {
		r.Fail("PRISM_VAPID_SUBJECT=%q: must be a mailto: or https: URL", s.VAPIDSubject)
	}
	if _, err := mail.ParseAddress(s.MailFrom); err != nil {
		r.Fail("PRISM_MAIL_FROM=%q: %v", s.MailFrom, err)
	}
	switch s.SMSProvider {
	case SMSNone:
	case SMSSink:
		if !devMode {
			r.Fail("PRISM_SMS_PROVIDER=sink pretends to send: only in dev mode (use none, or plug a provider in)")
		}
	default:
		r.Fail("PRISM_SMS_PROVIDER=%q: use %q or %q", s.SMSProvider, SMSSink, SMSNone)
	}
	if u, err := url.Parse(s.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.Fail("PRISM_PUBLIC_URL=%q: must be an http(s) URL", s.PublicURL)
	}
	return s
}
