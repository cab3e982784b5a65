// Package sms is the SMS channel. Prism has no SMS provider yet: the port
// (notifications.Channel) is where one plugs in (an adapter calling the
// provider's API with the notification id as its idempotency key). Locally
// the Sink stands in: it logs each message and keeps it as a row. Outside
// dev mode there is no sink: None records every SMS as failed, never as
// sent.
package sms

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/prism-es/prism/readmodel-updater/internal/notifications"
	"github.com/prism-es/prism/shared/preferences"
	"github.com/prism-es/prism/shared/readmodel"
)

// Table holds the sink's messages: PartitionKey "user:<id>", RowKey the
// notification id (so a resend writes the same row).
const Table = "smssink"

// MaxBody bounds a message (about one concatenated SMS of three parts).
const MaxBody = 459

// Message is a row of Table.
type Message struct {
	NotificationID string    `json:"notificationId"`
	To             string    `json:"to"`
	Body           string    `json:"body"`
	At             time.Time `json:"at"`
}

// Sink is the local SMS channel: a log line and a row per message.
type Sink struct {
	Store *readmodel.Store
}

var _ notifications.Channel = Sink{}

// Send implements notifications.Channel.
func (s Sink) Send(ctx context.Context, d notifications.Delivery, p preferences.Preferences) error {
	if p.Phone == "" {
		return notifications.Skipped("no phone number for %s", d.UserID)
	}
	body := Body(d.Notification)
	doc, err := json.Marshal(Message{NotificationID: d.Notification.ID, To: p.Phone, Body: body, At: time.Now().UTC()})
	if err != nil {
		return err
	}
	if err := s.Store.Upsert(ctx, Table, readmodel.Row{PartitionKey: "user:" + d.UserID, RowKey: d.Notification.ID, Version: 1, Doc: doc}); err != nil {
		return err
	}
	slog.InfoContext(ctx, "sms (local sink, not sent)", "to", p.Phone, "notificationId", d.Notification.ID, "body", body)
	return nil
}

// Body is the text of the SMS for a notification (the tracking number is
// in the message of a shipped order).
func Body(n notifications.Notification) string {
	b := "Prism: " + n.Message
	if r := []rune(b); len(r) > MaxBody {
		b = string(r[:MaxBody-1]) + "…"
	}
	return b
}

// None is the SMS channel without a provider: nothing is sent, and every
// delivery is recorded as failed.
type None struct{}

var _ notifications.Channel = None{}

// Send implements notifications.Channel.
func (None) Send(context.Context, notifications.Delivery, preferences.Preferences) error {
	return notifications.Refused("no SMS provider configured (PRISM_SMS_PROVIDER=none)")
}
