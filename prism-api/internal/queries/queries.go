// Package queries declares the shop's reads (API.md "Queries") on the kit's
// query machinery (shared/queryapi): which projection's row or partition
// each route answers, and whether it is the caller's own. A caller sees only
// their own carts and orders (anyone else's is 404).
package queries

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/prism-es/prism/prism-api/internal/auth"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/queryapi"
	"github.com/prism-es/prism/shared/readmodel"
)

// Service answers queries (the kit's).
type Service = queryapi.Service

// Cart serves GET /api/carts/{cartId}.
func Cart(s *Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := mux.Vars(r)["cartId"]
		pk, rk := readmodel.CartKey(id)
		s.ServeRow(w, r, id, queryapi.Row{Projection: readmodel.Carts, PartitionKey: pk, RowKey: rk, Stream: notices.CartStream(id), Owned: true, What: "cart"})
	}
}

// Order serves GET /api/orders/{orderId}.
func Order(s *Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := mux.Vars(r)["orderId"]
		pk, rk := readmodel.OrderKey(id)
		s.ServeRow(w, r, id, queryapi.Row{Projection: readmodel.Orders, PartitionKey: pk, RowKey: rk, Stream: notices.OrderStream(id), Owned: true, What: "order"})
	}
}

// Product serves GET /api/products/{sku} (public).
func Product(s *Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sku := mux.Vars(r)["sku"]
		pk, rk := readmodel.ProductKey(sku)
		s.ServeRow(w, r, sku, queryapi.Row{Projection: readmodel.Products, PartitionKey: pk, RowKey: rk, Stream: notices.ProductsStream, What: "product"})
	}
}

// Orders serves GET /api/orders: the caller's orders, newest first, paged.
func Orders(s *Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.ServeList(w, r, readmodel.Orders, readmodel.UserOrdersPartition(auth.Principal(r).UserID))
	}
}

// Notifications serves GET /api/notifications: the caller's, newest first, paged.
func Notifications(s *Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.ServeList(w, r, readmodel.Notifications, readmodel.NotificationsPartition(auth.Principal(r).UserID))
	}
}

// Products serves GET /api/products (public), in SKU order, paged.
func Products(s *Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.ServeList(w, r, readmodel.Products, readmodel.ProductsPartition)
	}
}
