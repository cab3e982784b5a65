// Package commands declares the shop's command routes (API.md "Commands")
// on the kit's command machinery (shared/commandapi): each route validates
// its body's shape and names its command; the kit authenticates, claims the
// Idempotency-Key, records the status, enqueues and answers 202.
package commands

import (
	"net/http"

	"github.com/prism-es/prism/shared/commandapi"
)

// Service accepts commands (the kit's).
type Service = commandapi.Service

// Aggregate types on the commands queue (domain-service's contract).
const (
	cartType    = "cart"
	productType = "product"
	orderType   = "order"
)

// The kinds of id the API names for a client.
const (
	cartIDKind  = "cart"
	orderIDKind = "order"
)

// empty is the body of a route that takes no fields: "{}" (or no body) only.
type empty = struct{}

type (
	createCartBody struct {
		CartID *string `json:"cartId"`
	}
	addItemBody struct {
		SKU      *string `json:"sku"`
		Quantity *int64  `json:"quantity"`
	}
	quantityBody struct {
		Quantity *int64 `json:"quantity"`
	}
	checkoutBody struct {
		PaymentToken *string `json:"paymentToken"`
	}
	shipBody struct {
		TrackingNumber *string `json:"trackingNumber"`
	}
	defineProductBody struct {
		SKU        *string `json:"sku"`
		Name       *string `json:"name"`
		PriceCents *int64  `json:"priceCents"`
		Stock      *int64  `json:"stock"`
		Threshold  *int64  `json:"lowStockThreshold"`
	}
)

// User are the command routes any signed-in user may call, relative to /api.
var User = []commandapi.Mountable{CreateCart, AddItem, ChangeQuantity, RemoveItem, Checkout, CancelOrder}

// Admin are the command routes that need the admin role, relative to /api.
var Admin = []commandapi.Mountable{DefineProduct, RestockProduct, ShipOrder, DeliverOrder}

// CreateCart is POST /api/carts {} or {"cartId": "<uuid>"}.
var CreateCart = commandapi.Route[createCartBody]{
	Method: http.MethodPost, Path: "/carts", Type: "CreateCart", AggregateType: cartType,
	Build: func(r *commandapi.Request, b *createCartBody) (commandapi.Command, error) {
		id := r.NewID(cartIDKind)
		var c commandapi.Checks
		if b.CartID != nil {
			c.UUID("cartId", *b.CartID)
			id = *b.CartID
		}
		return commandapi.Command{AggregateID: id, Payload: empty{}}, c.Err()
	},
}

// AddItem is POST /api/carts/{cartId}/items {"sku", "quantity"}.
var AddItem = commandapi.Route[addItemBody]{
	Method: http.MethodPost, Path: "/carts/{cartId}/items", Type: "AddItem", AggregateType: cartType,
	Build: func(r *commandapi.Request, b *addItemBody) (commandapi.Command, error) {
		var c commandapi.Checks
		c.UUID("cartId", r.Path("cartId"))
		requiredSKU(&c, "sku", b.SKU)
		c.IntRange("quantity", b.Quantity, 1, MaxQuantity)
		if err := c.Err(); err != nil {
			return commandapi.Command{}, err
		}
		return commandapi.Command{AggregateID: r.Path("cartId"), Payload: map[string]any{"sku": *b.SKU, "quantity": *b.Quantity}}, nil
	},
}

// ChangeQuantity is PUT /api/carts/{cartId}/items/{sku} {"quantity"} (0 removes).
var ChangeQuantity = commandapi.Route[quantityBody]{
	Method: http.MethodPut, Path: "/carts/{cartId}/items/{sku}", Type: "ChangeQuantity", AggregateType: cartType,
	Build: func(r *commandapi.Request, b *quantityBody) (commandapi.Command, error) {
		var c commandapi.Checks
		c.UUID("cartId", r.Path("cartId"))
		sku(&c, "sku", r.Path("sku"))
		c.IntRange("quantity", b.Quantity, 0, MaxQuantity)
		if err := c.Err(); err != nil {
			return commandapi.Command{}, err
		}
		return commandapi.Command{AggregateID: r.Path("cartId"), Payload: map[string]any{"sku": r.Path("sku"), "quantity": *b.Quantity}}, nil
	},
}

// RemoveItem is DELETE /api/carts/{cartId}/items/{sku}.
var RemoveItem = commandapi.Route[empty]{
	Method: http.MethodDelete, Path: "/carts/{cartId}/items/{sku}", Type: "RemoveItem", AggregateType: cartType,
	Build: func(r *commandapi.Request, _ *empty) (commandapi.Command, error) {
		var c commandapi.Checks
		c.UUID("cartId", r.Path("cartId"))
		sku(&c, "sku", r.Path("sku"))
		return commandapi.Command{AggregateID: r.Path("cartId"), Payload: map[string]any{"sku": r.Path("sku")}}, c.Err()
	},
}

// Checkout is POST /api/carts/{cartId}/checkout {} or {"paymentToken"}; the
// API names the order, and the 202 carries its id.
var Checkout = commandapi.Route[checkoutBody]{
	Method: http.MethodPost, Path: "/carts/{cartId}/checkout", Type: "CheckoutCart", AggregateType: cartType,
	Build: func(r *commandapi.Request, b *checkoutBody) (commandapi.Command, error) {
		var c commandapi.Checks
		c.UUID("cartId", r.Path("cartId"))
		token := DefaultPayToken
		if b.PaymentToken != nil {
			token = *b.PaymentToken
			c.Match("paymentToken", token, paymentTokenPattern, "must be 1-64 letters, digits or _ (e.g. pm_ok)")
		}
		orderID := r.NewID(orderIDKind)
		return commandapi.Command{AggregateID: r.Path("cartId"), Payload: map[string]any{"orderId": orderID, "paymentToken": token},
			Also: []commandapi.Field{{Name: "orderId", Value: orderID}}}, c.Err()
	},
}

// orderStep declares a body-less order command (cancel, deliver).
func orderStep(path, typ string) commandapi.Route[empty] {
	return commandapi.Route[empty]{
		Method: http.MethodPost, Path: path, Type: typ, AggregateType: orderType,
		Build: func(r *commandapi.Request, _ *empty) (commandapi.Command, error) {
			var c commandapi.Checks
			c.UUID("orderId", r.Path("orderId"))
			return commandapi.Command{AggregateID: r.Path("orderId"), Payload: empty{}}, c.Err()
		},
	}
}

// CancelOrder is POST /api/orders/{orderId}/cancel.
var CancelOrder = orderStep("/orders/{orderId}/cancel", "CancelOrder")

// DeliverOrder is POST /api/orders/{orderId}/deliver (admin).
var DeliverOrder = orderStep("/orders/{orderId}/deliver", "DeliverOrder")

// ShipOrder is POST /api/orders/{orderId}/ship {} or {"trackingNumber"} (admin).
var ShipOrder = commandapi.Route[shipBody]{
	Method: http.MethodPost, Path: "/orders/{orderId}/ship", Type: "ShipOrder", AggregateType: orderType,
	Build: func(r *commandapi.Request, b *shipBody) (commandapi.Command, error) {
		var c commandapi.Checks
		c.UUID("orderId", r.Path("orderId"))
		payload := map[string]any{}
		if b.TrackingNumber != nil {
			c.Match("trackingNumber", *b.TrackingNumber, trackingPattern, "must be 1-64 letters, digits, spaces and . _ / - (starting with a letter or digit)")
			payload["trackingNumber"] = *b.TrackingNumber
		}
		return commandapi.Command{AggregateID: r.Path("orderId"), Payload: payload}, c.Err()
	},
}

// DefineProduct is POST /api/products {"sku", "name", "priceCents", "stock",
// "lowStockThreshold"?} (admin).
var DefineProduct = commandapi.Route[defineProductBody]{
	Method: http.MethodPost, Path: "/products", Type: "DefineProduct", AggregateType: productType,
	Build: func(_ *commandapi.Request, b *defineProductBody) (commandapi.Command, error) {
		var c commandapi.Checks
		requiredSKU(&c, "sku", b.SKU)
		c.Text("name", b.Name, MaxNameLength)
		c.IntRange("priceCents", b.PriceCents, 0, MaxPriceCents)
		c.IntRange("stock", b.Stock, 0, MaxStock)
		payload := map[string]any{}
		if b.Threshold != nil {
			c.IntRange("lowStockThreshold", b.Threshold, 0, MaxStock)
			payload["lowStockThreshold"] = *b.Threshold
		}
		if err := c.Err(); err != nil {
			return commandapi.Command{}, err
		}
		payload["sku"], payload["name"], payload["priceCents"], payload["stock"] = *b.SKU, *b.Name, *b.PriceCents, *b.Stock
		return commandapi.Command{AggregateID: *b.SKU, Payload: payload}, nil
	},
}

// RestockProduct is POST /api/products/{sku}/restock {"quantity"} (admin).
var RestockProduct = commandapi.Route[quantityBody]{
	Method: http.MethodPost, Path: "/products/{sku}/restock", Type: "RestockProduct", AggregateType: productType,
	Build: func(r *commandapi.Request, b *quantityBody) (commandapi.Command, error) {
		var c commandapi.Checks
		sku(&c, "sku", r.Path("sku"))
		c.IntRange("quantity", b.Quantity, 1, MaxStock)
		if err := c.Err(); err != nil {
			return commandapi.Command{}, err
		}
		return commandapi.Command{AggregateID: r.Path("sku"), Payload: map[string]any{"quantity": *b.Quantity}}, nil
	},
}
