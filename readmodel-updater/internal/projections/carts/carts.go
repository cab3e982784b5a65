// Package carts projects cart events into the carts read model: one row per
// cart with its items (names and prices as added), total and status.
package carts

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
const Name = readmodel.Carts

// Item is one line of a cart.
type Item struct {
	SKU            string `json:"sku"`
	Name           string `json:"name"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

// View is the document GET /api/carts/{cartId} returns (API.md).
type View struct {
	CartID     string `json:"cartId"`
	UserID     string `json:"userId"`
	Status     string `json:"status"`
	Items      []Item `json:"items"`
	TotalCents int64  `json:"totalCents"`
	OrderID    string `json:"orderId,omitempty"`
	// IdleSeconds is how long an expired cart was left untouched.
	IdleSeconds int64     `json:"idleSeconds,omitempty"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// Projection returns the carts projection.
func Projection() projection.Projection {
	return projection.Of[View]{
		Name:          Name,
		AggregateType: "cart",
		Key:           readmodel.CartKey,
		New:           func(e envelope.Event) View { return View{CartID: e.AggregateID, Items: []Item{}} },
		Apply:         Apply,
		Notices: func(v *View, doc json.RawMessage) []notices.Item {
			// Kept once, in the cart's history; the owner's refers to it.
			return []notices.Item{
				{Stream: notices.CartStream(v.CartID), Type: "cart.updated", Data: doc, Also: []string{notices.UserStream(v.UserID)}},
			}
		},
	}.Projection()
}

// Apply folds one cart event into v.
func Apply(v *View, e envelope.Event) error {
	var d struct {
		Owner          string `json:"owner"`
		SKU            string `json:"sku"`
		Name           string `json:"name"`
		Quantity       int    `json:"quantity"`
		UnitPriceCents int64  `json:"unitPriceCents"`
		OrderID        string `json:"orderId"`
		IdleSeconds    int64  `json:"idleSeconds"`
	}
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return err
	}
	switch e.Type {
	case "CartCreated":
		v.UserID, v.Status, v.CreatedAt = d.Owner, "open", e.OccurredAt
	case "ItemAdded":
		found := false
		for i := range v.Items {
			if v.Items[i].SKU == d.SKU {
				v.Items[i].Quantity += d.Quantity
				v.Items[i].Name, v.Items[i].UnitPriceCents = d.Name, d.UnitPriceCents
				found = true
			}
		}
		if !found {
			v.Items = append(v.Items, Item{SKU: d.SKU, Name: d.Name, Quantity: d.Quantity, UnitPriceCents: d.UnitPriceCents})
		}
	case "ItemQuantityChanged":
		for i := range v.Items {
			if v.Items[i].SKU == d.SKU {
				v.Items[i].Quantity = d.Quantity
			}
		}
	case "ItemRemoved":
		kept := v.Items[:0]
		for _, it := range v.Items {
			if it.SKU != d.SKU {
				kept = append(kept, it)
			}
		}
		v.Items = kept
	case "CartCheckedOut":
		v.Status, v.OrderID = "checkedOut", d.OrderID
	case "CartExpired":
		v.Status, v.IdleSeconds = "expired", d.IdleSeconds
	default:
		return fmt.Errorf("carts: unknown event type %q", e.Type)
	}
	v.TotalCents = 0
	for _, it := range v.Items {
		v.TotalCents += int64(it.Quantity) * it.UnitPriceCents
	}
	v.Version, v.UpdatedAt = e.Version, e.OccurredAt
	return nil
}
