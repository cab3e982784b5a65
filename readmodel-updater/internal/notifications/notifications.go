// Package notifications tells people what happened: for each event worth
// telling (an order confirmed, shipped, delivered or cancelled, a payment
// failed, a product's stock running low) it records one notification row
// per recipient (idempotent by event id), announces it on the recipient's
// /streams/me as a `notification` event, and queues one delivery per
// channel the recipient's preferences name (e-mail, SMS, web push). The
// Deliverer sends each delivery through its channel's port, idempotent by
// (notification id, channel) and retried on its own, so a failing SMS never
// resends the e-mail.
package notifications

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventcatalog"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/preferences"
	"github.com/prism-es/prism/shared/projection"
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
	// TrackingNumber is the carrier's (order.shipped).
	TrackingNumber string `json:"trackingNumber,omitempty"`
	// SKU and Available name the product (stock.low).
	SKU       string `json:"sku,omitempty"`
	Available *int   `json:"available,omitempty"`
}

// Order is what a message tells of the order: its lines and total.
type Order struct {
	Owner      string `json:"owner"`
	Lines      []Line `json:"lines"`
	TotalCents int64  `json:"totalCents"`
}

// Line is one line of an order.
type Line struct {
	SKU            string `json:"sku"`
	Name           string `json:"name"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

// Row versions: 1 = recorded, 2 = its deliveries are queued.
const (
	recorded   = 1
	dispatched = 2
)

// Preferences reads a user's notification preferences.
type Preferences interface {
	Get(ctx context.Context, userID string) (preferences.Preferences, error)
}

// Subscriber handles events-notifications.
type Subscriber struct {
	store      *readmodel.Store
	catalog    *readmodel.Catalog
	events     projection.EventLoader // reads an order's first event: owner, lines, total
	notices    projection.Publisher
	prefs      Preferences
	deliveries queue.Sender
	admins     []string
	orders     *lru.Cache[string, Order]
}

// New returns the notification subscriber: it queues deliveries on
// deliveries (handled by a Deliverer) and tells admins (user ids) about
// low stock.
func New(store *readmodel.Store, catalog *readmodel.Catalog, events projection.EventLoader, pub projection.Publisher,
	prefs Preferences, deliveries queue.Sender, admins []string) *Subscriber {
	orders, _ := lru.New[string, Order](10_000)
	return &Subscriber{store: store, catalog: catalog, events: events, notices: pub, prefs: prefs, deliveries: deliveries, admins: admins, orders: orders}
}

// Handle is the queue.Handler of events-notifications.
func (s *Subscriber) Handle(ctx context.Context, m *queue.Message) error {
	e, err := eventcatalog.DecodeEvent(m.Body)
	if err != nil {
		return queue.Permanent(fmt.Errorf("undecodable event: %w", err))
	}
	n, ok := For(e)
	if !ok {
		return nil
	}
	ctx, span := tracing.StartFrom(ctx, e.Metadata.Traceparent, "notify "+e.Type, trace.SpanKindConsumer, attribute.String("prism.event_id", e.EventID))
	defer span.End()
	if n.Kind == preferences.StockLow {
		for _, admin := range s.admins {
			each := n
			each.ID = envelope.DerivedID(e.EventID, "admin", admin) // one notification per admin
			if err := s.notify(ctx, admin, each, e.OccurredAt, nil); err != nil {
				return err
			}
		}
		return nil
	}
	o, err := s.order(ctx, e.AggregateID)
	if err != nil {
		return err
	}
	return s.notify(ctx, o.Owner, n, e.OccurredAt, &o)
}

// notify records n for user, announces it, and queues its deliveries once.
func (s *Subscriber) notify(ctx context.Context, user string, n Notification, at time.Time, o *Order) error {
	table, err := s.catalog.Live(ctx, readmodel.Notifications)
	if err != nil {
		return err
	}
	doc, err := json.Marshal(n)
	if err != nil {
		return err
	}
	pk, rk := readmodel.NotificationsPartition(user), readmodel.NotificationKey(at, n.ID)
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
	if _, err := s.notices.Publish(ctx, notices.Item{Stream: notices.UserStream(user), Type: "notification", Data: doc, Traceparent: tracing.Traceparent(ctx)}); err != nil {
		return err
	}
	if row.Version >= dispatched {
		return nil
	}
	prefs, err := s.prefs.Get(ctx, user)
	if err != nil {
		return err
	}
	for _, channel := range preferences.AllChannels {
		if !prefs.Wants(n.Kind, channel) {
			continue
		}
		// Queued again if we crash before the row says so: the Deliverer
		// drops a delivery already made.
		body, err := json.Marshal(Delivery{Channel: channel, UserID: user, Notification: n, Order: o, Traceparent: tracing.Traceparent(ctx)})
		if err != nil {
			return err
		}
		if err := s.deliveries.Send(ctx, body); err != nil {
			return err
		}
	}
	row.Version = dispatched
	if _, err := s.store.Put(ctx, table, row); err != nil && !errors.Is(err, readmodel.ErrPreconditionFailed) {
		return err
	}
	return nil
}

// order is the order's owner, lines and total: its first event's.
func (s *Subscriber) order(ctx context.Context, orderID string) (Order, error) {
	if o, ok := s.orders.Get(orderID); ok {
		return o, nil
	}
	first, err := s.events.LoadRange(ctx, envelope.StreamID("order", orderID), 1, 1)
	if err != nil {
		return Order{}, err
	}
	var o Order
	if len(first) == 0 || json.Unmarshal(first[0].Data, &o) != nil || o.Owner == "" {
		return Order{}, queue.Permanent(fmt.Errorf("order %s has no owner in its first event", orderID))
	}
	s.orders.Add(orderID, o)
	return o, nil
}

var reasons = map[string]string{
	"out_of_stock":     "an item is out of stock",
	"payment_declined": "the payment was declined",
	"payment_timeout":  "the payment did not go through in time",
	"customer":         "you cancelled it",
}

// For returns the notification an event is worth, if any. Its id is the
// event's (admins' copies derive theirs from it).
func For(e envelope.Event) (Notification, bool) {
	short := e.AggregateID
	if len(short) > 8 {
		short = short[:8]
	}
	n := Notification{ID: e.EventID, CreatedAt: e.OccurredAt}
	if e.AggregateType == "order" {
		n.OrderID = e.AggregateID
	}
	var d struct {
		Reason         string `json:"reason"`
		TrackingNumber string `json:"trackingNumber"`
		SKU            string `json:"sku"`
		Available      int    `json:"available"`
		Threshold      int    `json:"threshold"`
	}
	_ = json.Unmarshal(e.Data, &d)
	switch {
	case e.AggregateType == "order" && e.Type == "OrderConfirmed":
		n.Kind, n.Message = preferences.OrderConfirmed, fmt.Sprintf("Your order %s is confirmed.", short)
	case e.AggregateType == "order" && e.Type == "OrderCancelled":
		why := reasons[d.Reason]
		if why == "" {
			why = d.Reason
		}
		n.Kind, n.Message = preferences.OrderCancelled, fmt.Sprintf("Your order %s was cancelled: %s.", short, why)
		if d.Reason == "payment_declined" || d.Reason == "payment_timeout" {
			n.Kind, n.Message = preferences.PaymentFailed, fmt.Sprintf("The payment for your order %s failed (%s), so the order was cancelled.", short, why)
		}
	case e.AggregateType == "order" && e.Type == "OrderShipped":
		n.Kind, n.Message, n.TrackingNumber = preferences.OrderShipped, fmt.Sprintf("Your order %s has shipped.", short), d.TrackingNumber
		if d.TrackingNumber != "" {
			n.Message = fmt.Sprintf("Your order %s has shipped: tracking number %s.", short, d.TrackingNumber)
		}
	case e.AggregateType == "order" && e.Type == "OrderDelivered":
		n.Kind, n.Message = preferences.OrderDelivered, fmt.Sprintf("Your order %s was delivered.", short)
	case e.AggregateType == "product" && e.Type == "LowStockAlert":
		available := d.Available
		n.Kind, n.SKU, n.Available = preferences.StockLow, d.SKU, &available
		n.Message = fmt.Sprintf("Low stock: %s has %d left (alert threshold %d).", d.SKU, d.Available, d.Threshold)
	default:
		return Notification{}, false
	}
	return n, true
}
