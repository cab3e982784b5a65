// Package push is the web-push channel (RFC 8030 delivery, RFC 8291
// message encryption, RFC 8292 VAPID), through
// github.com/SherClockHolmes/webpush-go: each notification goes to every
// push subscription of the user; one the push service says is gone (404,
// 410) is removed. The Topic header (derived from the notification id)
// makes the push service replace a resend still waiting for the device,
// and the service worker tags its notification with the id, so a resend
// shows once.
package push

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/prism-es/prism/readmodel-updater/internal/notifications"
	"github.com/prism-es/prism/shared/preferences"
)

// Subscriptions lists and removes a user's push subscriptions.
type Subscriptions interface {
	Subscriptions(ctx context.Context, userID string) ([]preferences.PushSubscription, error)
	RemoveSubscription(ctx context.Context, userID, id string) error
}

// Sender pushes notifications.
type Sender struct {
	settings notifications.Settings
	subs     Subscriptions
	client   *http.Client
}

var _ notifications.Channel = (*Sender)(nil)

// New returns the push channel.
func New(s notifications.Settings, subs Subscriptions) *Sender {
	return &Sender{settings: s, subs: subs, client: &http.Client{Timeout: 15 * time.Second}}
}

// Payload is what the service worker receives (decrypted) in its push event.
type Payload struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Title string `json:"title"`
	Body  string `json:"body"`
	// URL is the page to open on a click (same origin, a hash route).
	URL string `json:"url"`
}

// Send implements notifications.Channel.
func (s *Sender) Send(ctx context.Context, d notifications.Delivery, _ preferences.Preferences) error {
	subs, err := s.subs.Subscriptions(ctx, d.UserID)
	if err != nil {
		return err
	}
	if len(subs) == 0 {
		return notifications.Skipped("no push subscription for %s", d.UserID)
	}
	n := d.Notification
	p := Payload{ID: n.ID, Kind: n.Kind, Title: "Prism shop", Body: n.Message, URL: "/#/notifications"}
	if n.OrderID != "" {
		p.URL = "/#/orders/" + url.PathEscape(n.OrderID)
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	var failed []error
	delivered := 0
	for _, sub := range subs {
		err := s.push(ctx, body, Topic(n.ID), sub)
		switch {
		case errors.Is(err, errGone):
			slog.InfoContext(ctx, "push subscription expired; removed", "user", d.UserID, "subscription", sub.ID)
			if rerr := s.subs.RemoveSubscription(ctx, d.UserID, sub.ID); rerr != nil {
				failed = append(failed, rerr)
			}
		case err != nil:
			failed = append(failed, err)
		default:
			delivered++
		}
	}
	if len(failed) > 0 {
		return errors.Join(failed...) // retried: the topic replaces what is still pending
	}
	if delivered == 0 {
		return notifications.Skipped("every push subscription of %s had expired", d.UserID)
	}
	return nil
}

var errGone = errors.New("push subscription gone")

func (s *Sender) push(ctx context.Context, body []byte, topic string, sub preferences.PushSubscription) error {
	res, err := webpush.SendNotificationWithContext(ctx, body, &webpush.Subscription{
		Endpoint: sub.Endpoint,
		Keys:     webpush.Keys{Auth: sub.Keys.Auth, P256dh: sub.Keys.P256DH},
	}, &webpush.Options{
		HTTPClient:      s.client,
		Subscriber:      s.settings.VAPIDSubject,
		VAPIDPublicKey:  s.settings.VAPIDPublicKey,
		VAPIDPrivateKey: s.settings.VAPIDPrivateKey,
		TTL:             24 * 60 * 60,
		Topic:           topic,
		Urgency:         webpush.UrgencyNormal,
	})
	if err != nil {
		return fmt.Errorf("push to %s: %w", host(sub.Endpoint), err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return nil
	case res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusGone:
		return errGone
	default:
		return fmt.Errorf("push to %s: %s", host(sub.Endpoint), res.Status)
	}
}

// Topic is the push Topic of a notification: 32 base64url-safe characters
// derived from its id.
func Topic(notificationID string) string {
	sum := sha256.Sum256([]byte(notificationID))
	return hex.EncodeToString(sum[:16])
}

func host(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil {
		return u.Host
	}
	return "?"
}
