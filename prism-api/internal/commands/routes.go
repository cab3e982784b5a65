package commands

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/prism-es/prism/shared/httpapi"
)

// Aggregate and command types on the commands queue (domain-service's contract).
const (
	cartType    = "cart"
	productType = "product"
	orderType   = "order"
)

// emptyBody accepts "{}" (or no body) only.
type emptyBody struct{}

// pathIDs validates the UUID path variables named.
func pathIDs(r *http.Request, c *checks, names ...string) {
	for _, n := range names {
		c.uuid(n, mux.Vars(r)[n])
	}
}

// CreateCart serves POST /api/carts {} or {"cartId": "<uuid>"}.
func (s *Service) CreateCart() http.HandlerFunc {
	return s.accept(func(r *http.Request, body []byte, names namer) (draft, error) {
		var req struct {
			CartID *string `json:"cartId"`
		}
		if err := httpapi.Decode(body, &req); err != nil {
			return draft{}, err
		}
		id := names(cartIDKind)
		var c checks
		if req.CartID != nil {
			c.uuid("cartId", *req.CartID)
			id = *req.CartID
		}
		return draft{typ: "CreateCart", aggregateType: cartType, aggregateID: id, payload: emptyBody{}}, c.err()
	})
}

// AddItem serves POST /api/carts/{cartId}/items {"sku", "quantity"}.
func (s *Service) AddItem() http.HandlerFunc {
	return s.accept(func(r *http.Request, body []byte, _ namer) (draft, error) {
		var req struct {
			SKU      *string `json:"sku"`
			Quantity *int64  `json:"quantity"`
		}
		if err := httpapi.Decode(body, &req); err != nil {
			return draft{}, err
		}
		var c checks
		pathIDs(r, &c, "cartId")
		c.requiredSKU("sku", req.SKU)
		c.intRange("quantity", req.Quantity, 1, MaxQuantity)
		if err := c.err(); err != nil {
			return draft{}, err
		}
		return draft{typ: "AddItem", aggregateType: cartType, aggregateID: mux.Vars(r)["cartId"],
			payload: map[string]any{"sku": *req.SKU, "quantity": *req.Quantity}}, nil
	})
}

// ChangeQuantity serves PUT /api/carts/{cartId}/items/{sku} {"quantity"} (0 removes).
func (s *Service) ChangeQuantity() http.HandlerFunc {
	return s.accept(func(r *http.Request, body []byte, _ namer) (draft, error) {
		var req struct {
			Quantity *int64 `json:"quantity"`
		}
		if err := httpapi.Decode(body, &req); err != nil {
			return draft{}, err
		}
		var c checks
		pathIDs(r, &c, "cartId")
		c.sku("sku", mux.Vars(r)["sku"])
		c.intRange("quantity", req.Quantity, 0, MaxQuantity)
		if err := c.err(); err != nil {
			return draft{}, err
		}
		return draft{typ: "ChangeQuantity", aggregateType: cartType, aggregateID: mux.Vars(r)["cartId"],
			payload: map[string]any{"sku": mux.Vars(r)["sku"], "quantity": *req.Quantity}}, nil
	})
}

// RemoveItem serves DELETE /api/carts/{cartId}/items/{sku}.
func (s *Service) RemoveItem() http.HandlerFunc {
	return s.accept(func(r *http.Request, body []byte, _ namer) (draft, error) {
		if err := httpapi.Decode(body, &emptyBody{}); err != nil {
			return draft{}, err
		}
		var c checks
		pathIDs(r, &c, "cartId")
		c.sku("sku", mux.Vars(r)["sku"])
		return draft{typ: "RemoveItem", aggregateType: cartType, aggregateID: mux.Vars(r)["cartId"],
			payload: map[string]any{"sku": mux.Vars(r)["sku"]}}, c.err()
	})
}

// Checkout serves POST /api/carts/{cartId}/checkout {} or {"paymentToken"};
// the API names the order, and the 202 carries its id.
func (s *Service) Checkout() http.HandlerFunc {
	return s.accept(func(r *http.Request, body []byte, names namer) (draft, error) {
		var req struct {
			PaymentToken *string `json:"paymentToken"`
		}
		if err := httpapi.Decode(body, &req); err != nil {
			return draft{}, err
		}
		var c checks
		pathIDs(r, &c, "cartId")
		token := DefaultPayToken
		if req.PaymentToken != nil {
			token = *req.PaymentToken
			if !paymentTokenPattern.MatchString(token) {
				c.Add("paymentToken", "must be 1-64 letters, digits or _ (e.g. pm_ok)")
			}
		}
		orderID := names(orderIDKind)
		return draft{typ: "CheckoutCart", aggregateType: cartType, aggregateID: mux.Vars(r)["cartId"], orderID: orderID,
			payload: map[string]any{"orderId": orderID, "paymentToken": token}}, c.err()
	})
}

// orderStep serves a body-less order command (cancel, deliver).
func (s *Service) orderStep(typ string) http.HandlerFunc {
	return s.accept(func(r *http.Request, body []byte, _ namer) (draft, error) {
		if err := httpapi.Decode(body, &emptyBody{}); err != nil {
			return draft{}, err
		}
		var c checks
		pathIDs(r, &c, "orderId")
		return draft{typ: typ, aggregateType: orderType, aggregateID: mux.Vars(r)["orderId"], payload: emptyBody{}}, c.err()
	})
}

// CancelOrder serves POST /api/orders/{orderId}/cancel.
func (s *Service) CancelOrder() http.HandlerFunc { return s.orderStep("CancelOrder") }

// ShipOrder serves POST /api/orders/{orderId}/ship {} or {"trackingNumber"} (admin).
func (s *Service) ShipOrder() http.HandlerFunc {
	return s.accept(func(r *http.Request, body []byte, _ namer) (draft, error) {
		var req struct {
			TrackingNumber *string `json:"trackingNumber"`
		}
		if err := httpapi.Decode(body, &req); err != nil {
			return draft{}, err
		}
		var c checks
		pathIDs(r, &c, "orderId")
		payload := map[string]any{}
		if req.TrackingNumber != nil {
			if !trackingPattern.MatchString(*req.TrackingNumber) {
				c.Add("trackingNumber", "must be 1-64 letters, digits, spaces and . _ / - (starting with a letter or digit)")
			}
			payload["trackingNumber"] = *req.TrackingNumber
		}
		return draft{typ: "ShipOrder", aggregateType: orderType, aggregateID: mux.Vars(r)["orderId"], payload: payload}, c.err()
	})
}

// DeliverOrder serves POST /api/orders/{orderId}/deliver (admin).
func (s *Service) DeliverOrder() http.HandlerFunc { return s.orderStep("DeliverOrder") }

// DefineProduct serves POST /api/products {"sku", "name", "priceCents",
// "stock", "lowStockThreshold"?} (admin).
func (s *Service) DefineProduct() http.HandlerFunc {
	return s.accept(func(r *http.Request, body []byte, _ namer) (draft, error) {
		var req struct {
			SKU        *string `json:"sku"`
			Name       *string `json:"name"`
			PriceCents *int64  `json:"priceCents"`
			Stock      *int64  `json:"stock"`
			Threshold  *int64  `json:"lowStockThreshold"`
		}
		if err := httpapi.Decode(body, &req); err != nil {
			return draft{}, err
		}
		var c checks
		c.requiredSKU("sku", req.SKU)
		c.name("name", req.Name)
		c.intRange("priceCents", req.PriceCents, 0, MaxPriceCents)
		c.intRange("stock", req.Stock, 0, MaxStock)
		payload := map[string]any{}
		if req.Threshold != nil {
			c.intRange("lowStockThreshold", req.Threshold, 0, MaxStock)
			payload["lowStockThreshold"] = *req.Threshold
		}
		if err := c.err(); err != nil {
			return draft{}, err
		}
		payload["sku"], payload["name"], payload["priceCents"], payload["stock"] = *req.SKU, *req.Name, *req.PriceCents, *req.Stock
		return draft{typ: "DefineProduct", aggregateType: productType, aggregateID: *req.SKU, payload: payload}, nil
	})
}

// RestockProduct serves POST /api/products/{sku}/restock {"quantity"} (admin).
func (s *Service) RestockProduct() http.HandlerFunc {
	return s.accept(func(r *http.Request, body []byte, _ namer) (draft, error) {
		var req struct {
			Quantity *int64 `json:"quantity"`
		}
		if err := httpapi.Decode(body, &req); err != nil {
			return draft{}, err
		}
		var c checks
		c.sku("sku", mux.Vars(r)["sku"])
		c.intRange("quantity", req.Quantity, 1, MaxStock)
		if err := c.err(); err != nil {
			return draft{}, err
		}
		return draft{typ: "RestockProduct", aggregateType: productType, aggregateID: mux.Vars(r)["sku"],
			payload: map[string]any{"quantity": *req.Quantity}}, nil
	})
}
