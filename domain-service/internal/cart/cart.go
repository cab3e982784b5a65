// Package cart is the shopping-cart aggregate: pure Decide and Evolve, no I/O.
package cart

import "github.com/prism-es/prism/shared/apperr"

// AggregateType names carts in streams ("cart-<id>") and envelopes.
const AggregateType = "cart"

// Limits of a cart.
const (
	MinQuantity = 1
	MaxQuantity = 99
	MaxLines    = 50
)

// Status of a cart.
const (
	StatusOpen       = "open"
	StatusCheckedOut = "checkedOut"
	StatusExpired    = "expired"
)

// Line is one SKU in the cart, priced when it was added.
type Line struct {
	SKU            string `json:"sku"`
	Name           string `json:"name"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

// State is a cart folded from its events. Evolve never mutates a State it
// is given, so states can be cached and shared.
type State struct {
	ID      string `json:"id"`
	Exists  bool   `json:"exists"`
	Owner   string `json:"owner"`
	Status  string `json:"status"`
	Lines   []Line `json:"lines"`
	OrderID string `json:"orderId,omitempty"`
	// Version counts the cart's events (its stream version): an expiry
	// deadline names the version it was set at, so a later touch voids it.
	Version int64 `json:"version"`
}

// StateVersion is the schema version of State in snapshots (2: Version).
const StateVersion = 2

// New is the state of a cart that does not exist yet.
func New(id string) State { return State{ID: id} }

// line returns the index of sku's line, or -1.
func (s State) line(sku string) int {
	for i, l := range s.Lines {
		if l.SKU == sku {
			return i
		}
	}
	return -1
}

// TotalCents is the sum of the lines.
func (s State) TotalCents() int64 {
	var t int64
	for _, l := range s.Lines {
		t += int64(l.Quantity) * l.UnitPriceCents
	}
	return t
}

// ProductInfo is what the cart needs to know about a product to add it.
type ProductInfo struct {
	Exists     bool
	Name       string
	PriceCents int64
}

// Commands.

// Command is a request to change a cart. By is the requesting user.
type Command interface{ actor() string }

// CreateCart opens a cart owned by By.
type CreateCart struct{ By string }

// AddItem adds Quantity of SKU, priced from Product (filled in by the
// handler from the product's stream).
type AddItem struct {
	By       string
	SKU      string
	Quantity int
	Product  ProductInfo
}

// ChangeQuantity sets SKU's quantity; 0 removes the line.
type ChangeQuantity struct {
	By       string
	SKU      string
	Quantity int
}

// RemoveItem removes SKU's line.
type RemoveItem struct {
	By  string
	SKU string
}

// Checkout closes the cart and names the order it becomes.
type Checkout struct {
	By           string
	OrderID      string
	PaymentToken string
}

// Expire closes the cart if nothing happened to it since version
// AfterVersion: the deadline the system sets IdleSeconds after each change
// (a delayed message, like the checkout's payment deadline).
type Expire struct {
	AfterVersion int64
	IdleSeconds  int64
}

func (c CreateCart) actor() string     { return c.By }
func (Expire) actor() string           { return "" }
func (c AddItem) actor() string        { return c.By }
func (c ChangeQuantity) actor() string { return c.By }
func (c RemoveItem) actor() string     { return c.By }
func (c Checkout) actor() string       { return c.By }

// Events.

// Event is a fact about a cart.
type Event interface{ EventType() string }

// Created says the cart was opened by Owner.
type Created struct {
	Owner string `json:"owner"`
}

// ItemAdded says Quantity of SKU was added at UnitPriceCents.
type ItemAdded struct {
	SKU            string `json:"sku"`
	Name           string `json:"name"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

// QuantityChanged says SKU's line now holds Quantity (never 0).
type QuantityChanged struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// ItemRemoved says SKU's line was removed.
type ItemRemoved struct {
	SKU string `json:"sku"`
}

// CheckedOut says the cart was closed and became order OrderID.
type CheckedOut struct {
	OrderID      string `json:"orderId"`
	Owner        string `json:"owner"`
	Lines        []Line `json:"lines"`
	TotalCents   int64  `json:"totalCents"`
	PaymentToken string `json:"paymentToken,omitempty"`
}

// Expired says the open cart was untouched for IdleSeconds and is closed.
type Expired struct {
	IdleSeconds int64 `json:"idleSeconds"`
}

// EventType implements Event.
func (Created) EventType() string { return "CartCreated" }

// EventType implements Event.
func (Expired) EventType() string { return "CartExpired" }

// EventType implements Event.
func (ItemAdded) EventType() string { return "ItemAdded" }

// EventType implements Event.
func (QuantityChanged) EventType() string { return "ItemQuantityChanged" }

// EventType implements Event.
func (ItemRemoved) EventType() string { return "ItemRemoved" }

// EventType implements Event.
func (CheckedOut) EventType() string { return "CartCheckedOut" }

func reject(format string, args ...any) error { return apperr.New(apperr.Rejected, format, args...) }

// notFound hides other users' carts: to them, the cart does not exist.
func notFound() error { return apperr.New(apperr.NotFound, "cart not found") }
