package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// LineItem is one line of a cart or order.
type LineItem struct {
	SKU            string `json:"sku"`
	Name           string `json:"name,omitempty"`
	Quantity       int64  `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

// Cart is the cart read model.
type Cart struct {
	CartID     string     `json:"cartId"`
	UserID     string     `json:"userId"`
	Status     string     `json:"status"`
	Items      []LineItem `json:"items"`
	TotalCents int64      `json:"totalCents"`
	OrderID    string     `json:"orderId,omitempty"`
	Version    int64      `json:"version"`
	CreatedAt  string     `json:"createdAt,omitempty"`
	UpdatedAt  string     `json:"updatedAt,omitempty"`
}

// OrderStep is one status change in an order's history.
type OrderStep struct {
	Status string `json:"status"`
	At     string `json:"at"`
}

// Order is the order read model.
type Order struct {
	OrderID      string      `json:"orderId"`
	CartID       string      `json:"cartId"`
	UserID       string      `json:"userId"`
	Status       string      `json:"status"`
	CancelReason string      `json:"cancelReason,omitempty"`
	Items        []LineItem  `json:"items"`
	TotalCents   int64       `json:"totalCents"`
	History      []OrderStep `json:"history,omitempty"`
	Version      int64       `json:"version"`
	CreatedAt    string      `json:"createdAt"`
	UpdatedAt    string      `json:"updatedAt"`
}

// OrderSummary is one entry of the caller's order list.
type OrderSummary struct {
	OrderID      string `json:"orderId"`
	Status       string `json:"status"`
	CancelReason string `json:"cancelReason,omitempty"`
	TotalCents   int64  `json:"totalCents"`
	ItemCount    int64  `json:"itemCount"`
	Version      int64  `json:"version"`
	CreatedAt    string `json:"createdAt"`
	UpdatedAt    string `json:"updatedAt"`
}

// Product is the product read model.
type Product struct {
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	PriceCents int64  `json:"priceCents"`
	Available  int64  `json:"available"`
	Version    int64  `json:"version"`
	UpdatedAt  string `json:"updatedAt,omitempty"`
}

// Doc is one read-model document: typed, and as the server sent it.
type Doc[T any] struct {
	Value T
	Raw   json.RawMessage
	// Stale is set when a minVersion wait ran out (X-Stale: true).
	Stale bool
}

// Page is one page of a list query.
type Page[T any] struct {
	Items []T
	Raw   []json.RawMessage
	// NextCursor fetches the next page; "" on the last one.
	NextCursor string
}

// ReadOptions ask a query to wait for the caller's own write.
type ReadOptions struct {
	// MinVersion waits until the document reaches this version (0: no wait).
	MinVersion int64
	// Wait bounds that wait (the server allows at most 10 s).
	Wait time.Duration
}

func (o ReadOptions) query() url.Values {
	q := url.Values{}
	if o.MinVersion > 0 {
		q.Set("minVersion", strconv.FormatInt(o.MinVersion, 10))
		if o.Wait > 0 {
			q.Set("wait", strconv.FormatFloat(o.Wait.Seconds(), 'f', -1, 64))
		}
	}
	return q
}

// Cart returns a cart of the caller's.
func (c *Client) Cart(ctx context.Context, cartID string, o ReadOptions) (Doc[Cart], error) {
	return getDoc[Cart](ctx, c, "/api/carts/"+seg(cartID), o.query(), "cart")
}

// Order returns an order of the caller's.
func (c *Client) Order(ctx context.Context, orderID string, o ReadOptions) (Doc[Order], error) {
	return getDoc[Order](ctx, c, "/api/orders/"+seg(orderID), o.query(), "order")
}

// Product returns a product (public).
func (c *Client) Product(ctx context.Context, sku string) (Doc[Product], error) {
	return getDoc[Product](ctx, c, "/api/products/"+seg(sku), nil, "product")
}

// Orders returns one page of the caller's orders, newest first (limit 0:
// the server's default).
func (c *Client) Orders(ctx context.Context, limit int, cursor string) (Page[OrderSummary], error) {
	return getPage[OrderSummary](ctx, c, "/api/orders", limit, cursor, "order list")
}

// Products returns one page of products in SKU order (public).
func (c *Client) Products(ctx context.Context, limit int, cursor string) (Page[Product], error) {
	return getPage[Product](ctx, c, "/api/products", limit, cursor, "product list")
}

func getDoc[T any](ctx context.Context, c *Client, path string, q url.Values, what string) (Doc[T], error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path, query: q})
	if err != nil {
		return Doc[T]{}, err
	}
	d := Doc[T]{Raw: json.RawMessage(resp.body), Stale: resp.header.Get("X-Stale") == "true"}
	return d, decode(resp, what, &d.Value)
}

func getPage[T any](ctx context.Context, c *Client, path string, limit int, cursor, what string) (Page[T], error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path, query: q})
	if err != nil {
		return Page[T]{}, err
	}
	var raw struct {
		Items      []json.RawMessage `json:"items"`
		NextCursor string            `json:"nextCursor"`
	}
	if err := decode(resp, what, &raw); err != nil {
		return Page[T]{}, err
	}
	p := Page[T]{Items: make([]T, len(raw.Items)), Raw: raw.Items, NextCursor: raw.NextCursor}
	for i, r := range raw.Items {
		if err := decode(response{body: r}, what, &p.Items[i]); err != nil {
			return Page[T]{}, err
		}
	}
	return p, nil
}
