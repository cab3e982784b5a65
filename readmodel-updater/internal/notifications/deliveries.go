package notifications

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/prism-es/prism/shared/preferences"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/readmodel"
	"github.com/prism-es/prism/shared/tracing"
)

// DeliveriesQueue carries one message per (notification, channel).
const DeliveriesQueue = "notification-deliveries"

// DeliveriesTable records each delivery's outcome: PartitionKey the
// notification id, RowKey the channel.
const DeliveriesTable = "deliveries"

// Delivery is one notification to send to one user through one channel.
type Delivery struct {
	Channel      string       `json:"channel"`
	UserID       string       `json:"userId"`
	Notification Notification `json:"notification"`
	// Order, for order notifications: its lines and total.
	Order       *Order `json:"order,omitempty"`
	Traceparent string `json:"traceparent,omitempty"`
}

// Channel is the port of one medium (e-mail, SMS, web push). Send gets the
// recipient's preferences (addresses); it is called again for the same
// delivery only if it returned an error or the process died before the
// outcome was recorded, and gets d.Notification.ID to make that harmless
// where the medium allows (Message-ID, push Topic, SMS row key).
type Channel interface {
	Send(ctx context.Context, d Delivery, p preferences.Preferences) error
}

// undeliverable is a delivery that cannot be made and must not be retried.
type undeliverable struct {
	status, reason string
}

func (u *undeliverable) Error() string { return u.status + ": " + u.reason }

// Skipped says the delivery has nowhere to go (no address, no phone, no
// push subscription): recorded as skipped, not retried.
func Skipped(format string, args ...any) error {
	return &undeliverable{status: StatusSkipped, reason: fmt.Sprintf(format, args...)}
}

// Refused says the delivery cannot be made here (no provider configured,
// an address the server refuses): recorded as failed, not retried, never
// as sent.
func Refused(format string, args ...any) error {
	return &undeliverable{status: StatusFailed, reason: fmt.Sprintf(format, args...)}
}

// Delivery outcomes (DeliveryRecord.Status).
const (
	StatusSent    = "sent"
	StatusSkipped = "skipped"
	StatusFailed  = "failed"
)

// DeliveryRecord is a row of DeliveriesTable.
type DeliveryRecord struct {
	NotificationID string    `json:"notificationId"`
	Channel        string    `json:"channel"`
	UserID         string    `json:"userId"`
	Kind           string    `json:"kind"`
	Status         string    `json:"status"`
	Reason         string    `json:"reason,omitempty"`
	At             time.Time `json:"at"`
}

// Deliverer handles the deliveries queue.
type Deliverer struct {
	store    *readmodel.Store
	prefs    Preferences
	channels map[string]Channel
}

// NewDeliverer returns the handler of the deliveries queue; channels maps
// channel names (preferences.Email, SMS, Push) to their adapters. A channel
// without an adapter records its deliveries as failed.
func NewDeliverer(store *readmodel.Store, prefs Preferences, channels map[string]Channel) *Deliverer {
	return &Deliverer{store: store, prefs: prefs, channels: channels}
}

// Handle is the queue.Handler of DeliveriesQueue.
func (d *Deliverer) Handle(ctx context.Context, m *queue.Message) error {
	var del Delivery
	if err := json.Unmarshal(m.Body, &del); err != nil || del.Notification.ID == "" || del.Channel == "" || del.UserID == "" {
		return queue.Permanent(fmt.Errorf("undecodable delivery: %v", err))
	}
	ctx, span := tracing.StartFrom(ctx, del.Traceparent, "deliver "+del.Channel, trace.SpanKindConsumer,
		attribute.String("prism.notification_id", del.Notification.ID), attribute.String("prism.channel", del.Channel))
	defer span.End()
	_, done, err := d.store.Get(ctx, DeliveriesTable, del.Notification.ID, del.Channel)
	if err != nil {
		return err
	}
	if done {
		return nil // made (or given up) before: never twice
	}
	ch, ok := d.channels[del.Channel]
	if !ok {
		return d.record(ctx, del, StatusFailed, "no "+del.Channel+" channel configured")
	}
	prefs, err := d.prefs.Get(ctx, del.UserID)
	if err != nil {
		return err
	}
	err = ch.Send(ctx, del, prefs)
	var u *undeliverable
	switch {
	case errors.As(err, &u):
		level := slog.LevelInfo
		if u.status == StatusFailed {
			level = slog.LevelWarn
		}
		slog.Log(ctx, level, "notification not delivered", "channel", del.Channel, "notificationId", del.Notification.ID, "status", u.status, "reason", u.reason)
		return d.record(ctx, del, u.status, u.reason)
	case err != nil:
		return err // retried on its own, on the queue's schedule
	}
	deliveriesTotal.WithLabelValues(del.Channel, StatusSent).Inc()
	return d.record(ctx, del, StatusSent, "")
}

// Failed records a delivery given up on (moved to the poison queue); it is
// the consumer's OnPoison hook.
func (d *Deliverer) Failed(ctx context.Context, m *queue.Message, reason string) {
	var del Delivery
	if json.Unmarshal(m.Body, &del) != nil || del.Notification.ID == "" || del.Channel == "" {
		return
	}
	if err := d.record(ctx, del, StatusFailed, reason); err != nil {
		slog.WarnContext(ctx, "could not record the failed delivery", "notificationId", del.Notification.ID, "err", err)
	}
}

func (d *Deliverer) record(ctx context.Context, del Delivery, status, reason string) error {
	if status != StatusSent {
		deliveriesTotal.WithLabelValues(del.Channel, status).Inc()
	}
	doc, err := json.Marshal(DeliveryRecord{NotificationID: del.Notification.ID, Channel: del.Channel, UserID: del.UserID,
		Kind: del.Notification.Kind, Status: status, Reason: reason, At: time.Now().UTC()})
	if err != nil {
		return err
	}
	return d.store.Upsert(ctx, DeliveriesTable, readmodel.Row{PartitionKey: del.Notification.ID, RowKey: del.Channel, Version: 1, Doc: doc})
}
