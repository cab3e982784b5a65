// Package orders projects order events into the orders read model: one row
// per order with its status history, plus an index row per order under its
// user's partition, newest first, for GET /api/orders.
package orders

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/projection"
	"github.com/prism-es/prism/shared/readmodel"
)

// Name is the projection's name and default table.
const Name = readmodel.Orders

// Item is one line of an order.
type Item struct {
	SKU            string `json:"sku"`
	Name           string `json:"name"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

// StatusChange is one step of an order's history.
type StatusChange struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
}

// View is the document GET /api/orders/{orderId} returns (API.md).
type View struct {
	OrderID      string `json:"orderId"`
	CartID       string `json:"cartId"`
	UserID       string `json:"userId"`
	Status       string `json:"status"`
	CancelReason string `json:"cancelReason,omitempty"`
	// TrackingNumber is the carrier's, once shipped (when the admin gave one).
	TrackingNumber string         `json:"trackingNumber,omitempty"`
	Items          []Item         `json:"items"`
	TotalCents     int64          `json:"totalCents"`
	History        []StatusChange `json:"history"`
	Version        int64          `json:"version"`
	CreatedAt      time.Time      `json:"createdAt"`
	UpdatedAt      time.Time      `json:"updatedAt"`
}

// Summary is an entry of GET /api/orders.
type Summary struct {
	OrderID      string    `json:"orderId"`
	Status       string    `json:"status"`
	CancelReason string    `json:"cancelReason,omitempty"`
	TotalCents   int64     `json:"totalCents"`
	ItemCount    int       `json:"itemCount"`
	Version      int64     `json:"version"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

var statusOf = map[string]string{
	"OrderStockReserved": "stockReserved",
	"OrderPaid":          "paid",
	"OrderConfirmed":     "confirmed",
	"OrderShipped":       "shipped",
	"OrderDelivered":     "delivered",
	"OrderCancelled":     "cancelled",
}

// Projection returns the orders projection.
func Projection() projection.Projection {
	return projection.Of[View]{
		Name:          Name,
		AggregateType: "order",
		Key:           readmodel.OrderKey,
		New: func(e envelope.Event) View {
			return View{OrderID: e.AggregateID, Items: []Item{}, History: []StatusChange{}}
		},
		Apply: Apply,
		Secondary: func(v *View) ([]projection.Entry, error) {
			n := 0
			for _, it := range v.Items {
				n += it.Quantity
			}
			return []projection.Entry{{PartitionKey: readmodel.UserOrdersPartition(v.UserID), RowKey: readmodel.OrderIndexKey(v.CreatedAt, v.OrderID),
				Doc: Summary{OrderID: v.OrderID, Status: v.Status, CancelReason: v.CancelReason, TotalCents: v.TotalCents,
					ItemCount: n, Version: v.Version, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}}}, nil
		},
		Notices: func(v *View, doc json.RawMessage) []notices.Item {
			// Kept once, in the order's history; the owner's refers to it.
			return []notices.Item{
				{Stream: notices.OrderStream(v.OrderID), Type: "order.updated", Data: doc, Also: []string{notices.UserStream(v.UserID)}},
			}
		},
	}.Projection()
}

// Apply folds one order event into v.
func Apply(v *View, e envelope.Event) error {
	var d struct {
		CartID     string `json:"cartId"`
		Owner      string `json:"owner"`
		Lines      []Item `json:"lines"`
		TotalCents int64  `json:"totalCents"`
		Reason     string `json:"reason"`
		Tracking   string `json:"trackingNumber"`
	}
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return err
	}
	status := "placed"
	switch e.Type {
	case "OrderPlaced":
		v.CartID, v.UserID, v.TotalCents, v.CreatedAt = d.CartID, d.Owner, d.TotalCents, e.OccurredAt
		v.Items = append([]Item{}, d.Lines...)
	case "OrderCancelled":
		status, v.CancelReason = statusOf[e.Type], d.Reason
	case "OrderShipped":
		status, v.TrackingNumber = statusOf[e.Type], d.Tracking
	default:
		s, ok := statusOf[e.Type]
		if !ok {
			return fmt.Errorf("orders: unknown event type %q", e.Type)
		}
		status = s
	}
	v.Status = status
	v.History = append(v.History, StatusChange{Status: status, At: e.OccurredAt})
	v.Version, v.UpdatedAt = e.Version, e.OccurredAt
	return nil
}
