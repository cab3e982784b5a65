package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/config"
)

// TestNoFreePaymentsOutsideDevMode: the simulator approves pm_ok for free,
// so outside dev mode domain-service refuses to start without a real
// provider (Stripe, with a key, at Stripe's own address).
func TestNoFreePaymentsOutsideDevMode(t *testing.T) {
	prod := func(extra map[string]string) map[string]string {
		m := map[string]string{"PRISM_DEV_MODE": "false", "PRISM_OIDC_ISSUER": "https://login.microsoftonline.com/t/v2.0", "PRISM_OIDC_AUDIENCE": "api://prism"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for name, c := range map[string]struct {
		env  map[string]string
		want string // "" means it starts
	}{
		"dev mode: the simulator by default": {map[string]string{}, ""},
		"dev mode: stripe-mock":              {map[string]string{"PRISM_PAYMENT_PROVIDER": "stripe", "PRISM_STRIPE_API_KEY": "sk_test_x", "PRISM_STRIPE_API_BASE": "http://127.0.0.1:12111"}, ""},
		"production: nothing configured":     {prod(nil), "PRISM_PAYMENT_PROVIDER=stripe needs PRISM_STRIPE_API_KEY"},
		"production: the simulator":          {prod(map[string]string{"PRISM_PAYMENT_PROVIDER": "simulator"}), "dev mode only"},
		"production: stripe-mock":            {prod(map[string]string{"PRISM_STRIPE_API_KEY": "sk_live_x", "PRISM_STRIPE_API_BASE": "http://stripe-mock:12111"}), "for dev mode only"},
		"production: stripe":                 {prod(map[string]string{"PRISM_STRIPE_API_KEY": "sk_live_x"}), ""},
		"an unknown provider":                {map[string]string{"PRISM_PAYMENT_PROVIDER": "paypal"}, `want "stripe" or "simulator"`},
	} {
		_, err := loadFrom(config.FromMap(c.env))
		if c.want == "" {
			require.NoError(t, err, name)
			continue
		}
		assert.ErrorContains(t, err, c.want, name)
	}
	s, err := loadFrom(config.FromMap(map[string]string{}))
	require.NoError(t, err)
	assert.Equal(t, "simulator", s.PaymentProvider)
	s, err = loadFrom(config.FromMap(prod(map[string]string{"PRISM_STRIPE_API_KEY": "sk_live_x"})))
	require.NoError(t, err)
	assert.Equal(t, "stripe", s.PaymentProvider)
	assert.Equal(t, "EUR", s.Stripe.Currency, "charges are in the shop's currency (PRISM_CURRENCY)")
	_, err = loadFrom(config.FromMap(prod(map[string]string{"PRISM_STRIPE_API_KEY": "sk_live_x", "PRISM_CURRENCY": "EURO"})))
	assert.ErrorContains(t, err, "PRISM_CURRENCY")
}
