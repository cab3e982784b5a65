// Package products projects product events into the products read model:
// one row per SKU with its price and available stock.
package products

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
const Name = readmodel.Products

// View is the document GET /api/products/{sku} returns (API.md).
type View struct {
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	PriceCents int64  `json:"priceCents"`
	Available  int    `json:"available"`
	// LowStockThreshold is the product's alert threshold (0: none).
	LowStockThreshold int       `json:"lowStockThreshold,omitempty"`
	Version           int64     `json:"version"`
	UpdatedAt         time.Time `json:"updatedAt"`
}

// Projection returns the products projection.
func Projection() projection.Projection {
	return projection.Of[View]{
		Name:          Name,
		AggregateType: "product",
		Key:           readmodel.ProductKey,
		New:           func(e envelope.Event) View { return View{SKU: e.AggregateID} },
		Apply:         Apply,
		Notices: func(_ *View, doc json.RawMessage) []notices.Item {
			return []notices.Item{{Stream: notices.ProductsStream, Type: "product.updated", Data: doc}}
		},
	}.Projection()
}

// Apply folds one product event into v.
func Apply(v *View, e envelope.Event) error {
	var d struct {
		Name       string `json:"name"`
		PriceCents int64  `json:"priceCents"`
		Stock      int    `json:"stock"`
		Quantity   int    `json:"quantity"`
		Threshold  int    `json:"lowStockThreshold"`
	}
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return err
	}
	switch e.Type {
	case "ProductDefined":
		v.Name, v.PriceCents, v.Available, v.LowStockThreshold = d.Name, d.PriceCents, d.Stock, d.Threshold
	case "ProductRestocked", "StockReleased":
		v.Available += d.Quantity
	case "StockReserved":
		v.Available -= d.Quantity
	case "StockCommitted", "StockReservationFailed", "LowStockAlert":
		// A commit ships what a reservation already took from available
		// stock; a failed reservation took nothing. Only the version moves.
	default:
		return fmt.Errorf("products: unknown event type %q", e.Type)
	}
	v.Version, v.UpdatedAt = e.Version, e.OccurredAt
	return nil
}
