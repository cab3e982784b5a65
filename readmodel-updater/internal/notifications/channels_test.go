package notifications_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/readmodel-updater/internal/notifications"
	"github.com/prism-es/prism/readmodel-updater/internal/notifications/email"
	"github.com/prism-es/prism/readmodel-updater/internal/notifications/push"
	"github.com/prism-es/prism/readmodel-updater/internal/notifications/sms"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/preferences"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/readmodel"
	"github.com/prism-es/prism/shared/testenv"
)

// settings are the dev-mode channel settings with overrides.
func settings(t *testing.T, vars map[string]string) notifications.Settings {
	r := config.FromMap(vars)
	s := notifications.LoadSettings(r, true)
	require.NoError(t, r.Err())
	return s
}

// record reads a delivery's outcome.
func record(t *testing.T, r *rig, id, channel string) notifications.DeliveryRecord {
	t.Helper()
	row, ok, err := readmodel.NewStore(r.acc).Get(context.Background(), notifications.DeliveriesTable, id, channel)
	require.NoError(t, err)
	require.True(t, ok, "no outcome recorded for %s/%s", id, channel)
	var rec notifications.DeliveryRecord
	require.NoError(t, json.Unmarshal(row.Doc, &rec))
	return rec
}

// TestEmailReachesMailpitOnce sends an order confirmation over SMTP to a
// real Mailpit and reads it back through Mailpit's API: one message, text
// and HTML from the templates, amounts with their currency, the Message-ID
// derived from the notification, however often the delivery arrives.
func TestEmailReachesMailpitOnce(t *testing.T) {
	mp, err := testenv.StartMailpit()
	require.NoError(t, err)
	t.Cleanup(mp.Stop)
	r := newRig(t)
	owner := "u-" + uuid.NewString()
	order := r.place(owner)
	r.deliver(orderEvent(order, 2, "OrderConfirmed", struct{}{}, owner))
	msgs := r.queued()
	require.Len(t, msgs, 1)

	s := settings(t, map[string]string{"PRISM_SMTP_ADDR": mp.SMTPAddr, "PRISM_CURRENCY": "EUR", "PRISM_PUBLIC_URL": "http://shop.test:8080"})
	sender, err := email.New(s)
	require.NoError(t, err)
	d := notifications.NewDeliverer(readmodel.NewStore(r.acc), r.prefs, map[string]notifications.Channel{"email": sender})
	for range 3 {
		require.NoError(t, d.Handle(context.Background(), msgs[0]))
	}
	to := owner + "@prism.test"
	var got []testenv.Mail
	require.Eventually(t, func() bool {
		got, err = mp.Messages(context.Background(), to)
		return err == nil && len(got) > 0
	}, 20*time.Second, 50*time.Millisecond)
	require.Len(t, got, 1, "sent once")
	m := got[0]
	id := deliveriesOf(t, msgs)[0].Notification.ID
	assert.Equal(t, id+".email@prism.notifications", m.MessageID)
	assert.Equal(t, "shop@prism.test", m.From.Address)
	assert.Equal(t, "Your order is confirmed ("+order[:8]+")", m.Subject)
	assert.Contains(t, m.Text, "Your order "+order[:8]+" is confirmed.")
	assert.Contains(t, m.Text, "2 × Blue mug  €25.00")
	assert.Contains(t, m.Text, "Total: €25.00")
	assert.Contains(t, m.Text, "http://shop.test:8080/#/orders/"+order)
	assert.Contains(t, m.HTML, `<td style="text-align: right;" data-role="total"><strong>€25.00</strong></td>`)
	assert.Contains(t, m.HTML, `href="http://shop.test:8080/#/orders/`+order+`"`)
	assert.Equal(t, notifications.StatusSent, record(t, r, id, "email").Status)

	// A user's own address wins over the default one.
	_, err = r.prefs.Put(context.Background(), owner, preferences.Preferences{Email: "alice@example.org", Channels: preferences.DefaultChannels()})
	require.NoError(t, err)
	r.deliver(orderEvent(order, 3, "OrderShipped", map[string]string{"trackingNumber": "1Z-55"}, owner))
	for _, m := range r.queued() {
		require.NoError(t, d.Handle(context.Background(), m))
	}
	require.Eventually(t, func() bool {
		got, err = mp.Messages(context.Background(), "alice@example.org")
		return err == nil && len(got) == 1
	}, 20*time.Second, 50*time.Millisecond)
	assert.Contains(t, got[0].Text, "Tracking number: 1Z-55")
	assert.Contains(t, got[0].HTML, `<strong data-role="tracking">1Z-55</strong>`)
}

// TestEmailToNobodyIsSkipped: without an address (no own address, no user
// domain) nothing is sent and the outcome says why.
func TestEmailToNobodyIsSkipped(t *testing.T) {
	r := newRig(t)
	owner := "u-" + uuid.NewString()
	order := r.place(owner)
	r.deliver(orderEvent(order, 2, "OrderConfirmed", struct{}{}, owner))
	msgs := r.queued()
	s := settings(t, map[string]string{"PRISM_SMTP_ADDR": "127.0.0.1:1", "PRISM_MAIL_USER_DOMAIN": " "})
	s.MailUserDomain = ""
	sender, err := email.New(s)
	require.NoError(t, err)
	d := notifications.NewDeliverer(readmodel.NewStore(r.acc), r.prefs, map[string]notifications.Channel{"email": sender})
	require.NoError(t, d.Handle(context.Background(), msgs[0]), "not retried: there is nowhere to send it")
	rec := record(t, r, deliveriesOf(t, msgs)[0].Notification.ID, "email")
	assert.Equal(t, notifications.StatusSkipped, rec.Status)
	assert.Contains(t, rec.Reason, "no e-mail address")
}

// TestPushIsEncryptedForTheSubscription: a delivered order's push reaches
// the subscription's endpoint, signed with VAPID, and decrypts with the
// subscription's own keys (RFC 8291) to the notification; once the push
// service answers 410 the subscription is removed.
func TestPushIsEncryptedForTheSubscription(t *testing.T) {
	r := newRig(t)
	recv, err := testenv.StartPushReceiver()
	require.NoError(t, err)
	t.Cleanup(recv.Stop)
	owner := "u-" + uuid.NewString()
	var sub preferences.PushSubscription
	sub.Endpoint, sub.Keys.P256DH, sub.Keys.Auth = recv.Endpoint, recv.P256DH, recv.Auth
	require.NoError(t, preferences.CheckSubscription(sub, true))
	stored, created, err := r.prefs.AddSubscription(context.Background(), owner, sub)
	require.NoError(t, err)
	require.True(t, created)

	order := r.place(owner)
	r.deliver(orderEvent(order, 5, "OrderDelivered", struct{}{}, owner))
	var pushDelivery []byte
	for _, m := range r.queued() {
		var del notifications.Delivery
		require.NoError(t, json.Unmarshal(m.Body, &del))
		if del.Channel == "push" {
			pushDelivery = m.Body
		}
	}
	require.NotNil(t, pushDelivery, "order.delivered goes through push")
	s := settings(t, nil)
	d := notifications.NewDeliverer(readmodel.NewStore(r.acc), r.prefs, map[string]notifications.Channel{"push": push.New(s, r.prefs)})
	require.NoError(t, d.Handle(context.Background(), msgOf(pushDelivery)))

	got := recv.Received()
	require.Len(t, got, 1)
	require.NoError(t, got[0].Err)
	var p push.Payload
	require.NoError(t, json.Unmarshal(got[0].Plaintext, &p))
	assert.Equal(t, preferences.OrderDelivered, p.Kind)
	assert.Equal(t, "Your order "+order[:8]+" was delivered.", p.Body)
	assert.Equal(t, "/#/orders/"+order, p.URL)
	assert.Equal(t, push.Topic(p.ID), got[0].Header.Get("Topic"))
	assert.NotEmpty(t, got[0].Header.Get("TTL"))

	// VAPID (RFC 8292): "vapid t=<JWT signed ES256 by the private key>, k=<public key>".
	auth := got[0].Header.Get("Authorization")
	require.True(t, strings.HasPrefix(auth, "vapid t="), auth)
	tok, k, ok := strings.Cut(strings.TrimPrefix(auth, "vapid t="), ", k=")
	require.True(t, ok, auth)
	assert.Equal(t, preferences.DevVAPIDPublicKey, k)
	pub, err := base64.RawURLEncoding.DecodeString(k)
	require.NoError(t, err)
	parsed, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return ecdsaKey(t, pub), nil }, jwt.WithValidMethods([]string{"ES256"}))
	require.NoError(t, err, "the VAPID JWT verifies with the public key")
	claims := parsed.Claims.(jwt.MapClaims)
	assert.Equal(t, "http://"+strings.Split(strings.TrimPrefix(recv.Endpoint, "http://"), "/")[0], claims["aud"])

	// The subscription expires: 410 removes it, and the delivery is skipped.
	recv.Answer(http.StatusGone)
	r.deliver(orderEvent(order, 6, "OrderDelivered", struct{}{}, owner))
	for _, m := range r.queued() {
		require.NoError(t, d.Handle(context.Background(), m))
	}
	left, err := r.prefs.Subscriptions(context.Background(), owner)
	require.NoError(t, err)
	assert.Empty(t, left, "the expired subscription %s is gone", stored.ID)
}

// TestSMSSinkKeepsARowAndNoneNeverPretends: the local sink logs and keeps
// each SMS (once per notification); without a phone it is skipped; the
// production channel without a provider records failure, not success.
func TestSMSSinkKeepsARowAndNoneNeverPretends(t *testing.T) {
	r := newRig(t)
	store := readmodel.NewStore(r.acc)
	withPhone, without := "u-"+uuid.NewString(), "u-"+uuid.NewString()
	_, err := r.prefs.Put(context.Background(), withPhone, preferences.Preferences{Phone: "+447700900123", Channels: preferences.DefaultChannels()})
	require.NoError(t, err)
	sink := notifications.NewDeliverer(store, r.prefs, map[string]notifications.Channel{"sms": sms.Sink{Store: store}})
	none := notifications.NewDeliverer(store, r.prefs, map[string]notifications.Channel{"sms": sms.None{}})
	ship := func(user string, d *notifications.Deliverer) string {
		order := r.place(user)
		r.deliver(orderEvent(order, 4, "OrderShipped", map[string]string{"trackingNumber": "TRK-77"}, user))
		var id string
		for _, m := range r.queued() {
			del := deliveriesOf(t, []*queueMsg{m})[0]
			if del.Channel == "sms" {
				require.NoError(t, d.Handle(context.Background(), m))
				require.NoError(t, d.Handle(context.Background(), m))
				id = del.Notification.ID
			}
		}
		require.NotEmpty(t, id)
		return id
	}
	id := ship(withPhone, sink)
	assert.Equal(t, notifications.StatusSent, record(t, r, id, "sms").Status)
	row, ok, err := store.Get(context.Background(), sms.Table, "user:"+withPhone, id)
	require.NoError(t, err)
	require.True(t, ok)
	var m sms.Message
	require.NoError(t, json.Unmarshal(row.Doc, &m))
	assert.Equal(t, "+447700900123", m.To)
	assert.Contains(t, m.Body, "tracking number TRK-77")

	skipped := record(t, r, ship(without, sink), "sms")
	assert.Equal(t, notifications.StatusSkipped, skipped.Status)
	assert.Contains(t, skipped.Reason, "no phone number")

	refused := record(t, r, ship(withPhone, none), "sms")
	assert.Equal(t, notifications.StatusFailed, refused.Status)
	assert.Contains(t, refused.Reason, "no SMS provider configured")
}

type queueMsg = queue.Message

func msgOf(body []byte) *queue.Message { return &queue.Message{Body: body} }

// ecdsaKey parses an uncompressed P-256 public key.
func ecdsaKey(t *testing.T, pub []byte) *ecdsa.PublicKey {
	k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pub)
	require.NoError(t, err)
	return k
}
