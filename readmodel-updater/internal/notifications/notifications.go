// Package notifications tells customers about their orders: for each order
// event worth telling (confirmed, cancelled with its reason, shipped,
// delivered) it records one notification row (idempotent by event id),
// announces it on the owner's /streams/me as a `notification` event, and
// hands it to a Sender (email, in production; a log line locally).
package notifications

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/prism-es/prism/readmodel-updater/internal/projection"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/readmodel"
	"github.com/prism-es/prism/shared/tracing"
)

// Notification is a row of GET /api/notifications (API.md).
type Notification struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	OrderID   string    `json:"orderId,omitempty"`
	Message   string    `json:"message"`
	CreatedAt time.Time `json:"createdAt"`
}

// Sender delivers a notification outside the app (email). It gets the
// notification id as an idempotency key.
type Sender interface {
	Send(ctx context.Context, userID string, n Notification) error
}

// LogSender is the local Sender: it logs.
type LogSender struct{}

// Send implements Sender.
func (LogSender) Send(ctx context.Context, userID string, n Notification) error {
	slog.InfoContext(ctx, "notification sent", "to", userID, "kind", n.Kind, "orderId", n.OrderID, "message", n.Message)
	return nil
}

// Row versions: 1 = recorded, 2 = handed to the Sender.
const (
	recorded = 1
	sent     = 2
)

// Subscriber handles events-notifications.
type Subscriber struct {
	store   *readmodel.Store
	catalog *readmodel.Catalog
	events  projection.EventLoader // reads an order's first event, to find its owner
	notices projection.Publisher
	sender  Sender
	owners  *lru.Cache[string, string]
}

// New returns the notification subscriber.
func New(store *readmodel.Store, catalog *readmodel.Catalog, events projection.EventLoader, pub projection.Publisher, sender Sender) *Subscriber {
	owners, _ := lru.New[string, string](10_000)
	return &Subscriber{store: store, catalog: catalog, events: events, notices: pub, sender: sender, owners: owners}
}

// Handle is the queue.Handler of events-notifications.
func (s *Subscriber) Handle(ctx context.Context, m *queue.Message) error {
	e, err := envelope.DecodeEvent(m.Body)
	if err != nil {
		return queue.Permanent(fmt.Errorf("undecodable event: %w", err))
	}
	n, ok := For(e)
	if !ok {
		return nil
	}
	ctx, span := tracing.StartFrom(ctx, e.Metadata.Traceparent, "notify "+e.Type, trace.SpanKindConsumer, attribute.String("prism.event_id", e.EventID))
	defer span.End()
	owner, err := s.owner(ctx, e.AggregateID)
	if err != nil {
		return err
	}
	table, err := s.catalog.Live(ctx, readmodel.Notifications)
	if err != nil {
		return err
	}
	doc, err := json.Marshal(n)
	if err != nil {
		return err
	}
	pk, rk := readmodel.NotificationsPartition(owner), readmodel.NotificationKey(e.OccurredAt, e.EventID)
	row, exists, err := s.store.Get(ctx, table, pk, rk)
	if err != nil {
		return err
	}
	if !exists {
		row, err = s.store.Put(ctx, table, readmodel.Row{PartitionKey: pk, RowKey: rk, Version: recorded, Doc: doc})
		if errors.Is(err, readmodel.ErrPreconditionFailed) {
			return fmt.Errorf("notification %s written concurrently; retrying", n.ID)
		} else if err != nil {
			return err
		}
	}
	// The notice may go out again on a redelivery; clients key on the id.
	if _, err := s.notices.Publish(ctx, notices.Item{Stream: notices.UserStream(owner), Type: "notification", Data: doc, Traceparent: tracing.Traceparent(ctx)}); err != nil {
		return err
	}
	if row.Version >= sent {
		return nil
	}
	if err := s.sender.Send(ctx, owner, n); err != nil {
		return err
	}
	row.Version = sent
	if _, err := s.store.Put(ctx, table, row); err != nil && !errors.Is(err, readmodel.ErrPreconditionFailed) {
		return err
	}
	return nil
}

// owner is the order's customer: the owner its first event names.
func (s *Subscriber) owner(ctx context.Context, orderID string) (string, error) {
	if o, ok := s.owners.Get(orderID); ok {
		return o, nil
	}
	first, err := s.events.LoadRange(ctx, envelope.StreamID("order", orderID), 1, 1)
	if err != nil {
		return "", err
	}
	var d struct {
		Owner string `json:"owner"`
	}
	if len(first) == 0 || json.Unmarshal(first[0].Data, &d) != nil || d.Owner == "" {
		return "", queue.Permanent(fmt.Errorf("order %s has no owner in its first event", orderID))
	}
	s.owners.Add(orderID, d.Owner)
	return d.Owner, nil
}

var reasons = map[string]string{
	"out_of_stock":     "an item is out of stock",
	"payment_declined": "the payment was declined",
	"payment_timeout":  "the payment did not go through in time",
	"customer":         "you cancelled it",
}

// For returns the notification an event is worth, if any.
func For(e envelope.Event) (Notification, bool) {
	if e.AggregateType != "order" {
		return Notification{}, false
	}
	short := e.AggregateID
	if len(short) > 8 {
		short = short[:8]
	}
	n := Notification{ID: e.EventID, OrderID: e.AggregateID, CreatedAt: e.OccurredAt}
	switch e.Type {
	case "OrderConfirmed":
		n.Kind, n.Message = "order.confirmed", fmt.Sprintf("Your order %s is confirmed.", short)
	case "OrderCancelled":
		var d struct {
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal(e.Data, &d)
		why := reasons[d.Reason]
		if why == "" {
			why = d.Reason
		}
		n.Kind, n.Message = "order.cancelled", fmt.Sprintf("Your order %s was cancelled: %s.", short, why)
	case "OrderShipped":
		n.Kind, n.Message = "order.shipped", fmt.Sprintf("Your order %s has shipped.", short)
	case "OrderDelivered":
		n.Kind, n.Message = "order.delivered", fmt.Sprintf("Your order %s was delivered.", short)
	default:
		return Notification{}, false
	}
	return n, true
}
