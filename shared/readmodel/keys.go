package readmodel

import (
	"fmt"
	"math"
	"time"
)

// The read models, by projection name (also each one's default live table).
// Their row layout below is the contract between readmodel-updater, which
// writes the rows, and prism-api, which returns them as stored.
const (
	Carts    = "carts"
	Orders   = "orders"
	Products = "products"
)

// CartKey is the row of a cart in Carts.
func CartKey(cartID string) (pk, rk string) { return cartID, "cart" }

// OrderKey is the row of an order in Orders.
func OrderKey(orderID string) (pk, rk string) { return orderID, "order" }

// UserOrdersPartition holds a user's order summaries in Orders, one row per
// order keyed by OrderIndexKey, so they list newest first.
func UserOrdersPartition(userID string) string { return "user:" + userID }

// OrderIndexKey sorts a user's orders newest first.
func OrderIndexKey(createdAt time.Time, orderID string) string {
	return fmt.Sprintf("%019d-%s", math.MaxInt64-createdAt.UnixNano(), orderID)
}

// ProductsPartition holds every product row in Products, so the catalogue
// lists in one query.
const ProductsPartition = "product"

// ProductKey is the row of a product in Products.
func ProductKey(sku string) (pk, rk string) { return ProductsPartition, sku }

// Notifications is the table of user notifications (rows written once per
// event by the notification subscriber).
const Notifications = "notifications"

// NotificationsPartition holds a user's notifications, newest first.
func NotificationsPartition(userID string) string { return "user:" + userID }

// NotificationKey sorts a user's notifications newest first; the event id
// makes it unique and deterministic, so a redelivered event finds its row.
func NotificationKey(at time.Time, eventID string) string {
	return OrderIndexKey(at, eventID)
}
