package preferences_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/preferences"
)

func TestCheckFillsDefaultsAndNamesBadFields(t *testing.T) {
	p, err := preferences.Check(preferences.Preferences{Email: "a@example.org", Phone: "+14155550100",
		Channels: map[string][]string{preferences.OrderConfirmed: {"push", "email", "push"}, preferences.OrderShipped: {}}})
	require.NoError(t, err)
	assert.Equal(t, []string{"push", "email"}, p.Channels[preferences.OrderConfirmed], "duplicates dropped, order kept")
	assert.Equal(t, []string{}, p.Channels[preferences.OrderShipped], "switched off")
	assert.Equal(t, []string{"email", "push"}, p.Channels[preferences.OrderDelivered], "left out: its default")
	assert.True(t, p.Wants(preferences.OrderConfirmed, preferences.Push))
	assert.False(t, p.Wants(preferences.OrderShipped, preferences.Email))

	_, err = preferences.Check(preferences.Preferences{Email: "Alice <a@example.org>", Phone: "555-0100",
		Channels: map[string][]string{"order.lost": {"email"}, preferences.StockLow: {"pigeon"}}})
	var fields []string
	for _, f := range apperr.FieldsOf(err) {
		fields = append(fields, f.Field)
	}
	assert.ElementsMatch(t, []string{"email", "phone", "channels.order.lost", "channels.stock.low"}, fields)
}

func TestDefaultsAreTheShopDesign(t *testing.T) {
	d := preferences.Defaults()
	assert.Equal(t, map[string][]string{
		"order.confirmed": {"email"}, "order.shipped": {"email", "sms"}, "order.delivered": {"email", "push"},
		"order.cancelled": {"email"}, "payment.failed": {"email", "sms"}, "stock.low": {"email"},
	}, d.Channels)
}

func TestCheckSubscription(t *testing.T) {
	var s preferences.PushSubscription
	s.Endpoint = "https://push.example/x"
	s.Keys.P256DH = "BBTjyjajhG98mGHht1yYFDDpfct4W4ywa33FEVwx1tvi6vY2hCBo-cFEiQXY2gXMNbioP93M7p2I0cUuq38ce3o" // a P-256 point
	s.Keys.Auth = "AAECAwQFBgcICQoLDA0ODw"
	require.NoError(t, preferences.CheckSubscription(s, false))
	http := s
	http.Endpoint = "http://127.0.0.1:9/x"
	assert.Error(t, preferences.CheckSubscription(http, false))
	assert.NoError(t, preferences.CheckSubscription(http, true))
	off := s
	off.Keys.P256DH = "BA" + s.Keys.P256DH[2:len(s.Keys.P256DH)-2] + "AA" // 65 bytes, not on the curve
	assert.Error(t, preferences.CheckSubscription(off, false))
	assert.Len(t, preferences.SubscriptionID(s.Endpoint), 32)
}

func TestAddressOf(t *testing.T) {
	r := config.FromMap(nil)
	dev := preferences.LoadSettings(r, true)
	require.NoError(t, r.Err())
	assert.Equal(t, "alice@prism.test", dev.AddressOf("alice", preferences.Preferences{}))
	assert.Equal(t, "a@example.org", dev.AddressOf("alice", preferences.Preferences{Email: "a@example.org"}))
	assert.Equal(t, "", dev.AddressOf("no spaces allowed", preferences.Preferences{}))
	prod := preferences.LoadSettings(config.FromMap(nil), false)
	assert.Equal(t, "", prod.AddressOf("alice", preferences.Preferences{}), "outside dev mode no address is made up")
	assert.Equal(t, "", prod.VAPIDPublicKey, "nor a VAPID key")
	bad := config.FromMap(map[string]string{"PRISM_CURRENCY": "EURO"})
	preferences.LoadSettings(bad, true)
	assert.Error(t, bad.Err())
}
