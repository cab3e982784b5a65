// Package product is the product/inventory aggregate (one per SKU): pure
// Decide and Evolve, no I/O. Available stock = defined + restocked −
// reserved + released, and never goes below zero.
package product

import (
	"maps"

	"github.com/prism-es/prism/shared/apperr"
)

// AggregateType names products in streams ("product-<sku>") and envelopes.
const AggregateType = "product"

// Limits of a product.
const (
	MaxPriceCents = 100_000_000
	MaxStock      = 1_000_000
)

// State is a product folded from its events. Evolve never mutates a State
// it is given.
type State struct {
	SKU        string `json:"sku"`
	Exists     bool   `json:"exists"`
	Name       string `json:"name"`
	PriceCents int64  `json:"priceCents"`
	Available  int    `json:"available"`
	// LowStockThreshold: when a reservation takes Available below it, the
	// product raises a LowStockAlert (0: never).
	LowStockThreshold int `json:"lowStockThreshold,omitempty"`
	// Reserved holds the active reservations by order id.
	Reserved map[string]int `json:"reserved,omitempty"`
}

// StateVersion is the schema version of State in snapshots.
const StateVersion = 1

// New is the state of a product that is not defined yet.
func New(sku string) State { return State{SKU: sku} }

// Command is a request to change a product.
type Command interface{ isCommand() }

// Define creates the product with its price, initial stock and the
// low-stock threshold (0: no alerts).
type Define struct {
	Name              string
	PriceCents        int64
	Stock             int
	LowStockThreshold int
}

// Restock adds Quantity to the available stock.
type Restock struct{ Quantity int }

// Reserve takes Quantity out of the available stock for OrderID.
type Reserve struct {
	OrderID  string
	Quantity int
}

// Release gives OrderID's reservation back.
type Release struct{ OrderID string }

// Commit makes OrderID's reservation final (the order shipped): it can no
// longer be released.
type Commit struct{ OrderID string }

func (Define) isCommand()  {}
func (Restock) isCommand() {}
func (Reserve) isCommand() {}
func (Release) isCommand() {}
func (Commit) isCommand()  {}

// Event is a fact about a product.
type Event interface{ EventType() string }

// Defined says the product was created (schema v2: with the low-stock
// threshold).
type Defined struct {
	SKU               string `json:"sku"`
	Name              string `json:"name"`
	PriceCents        int64  `json:"priceCents"`
	Stock             int    `json:"stock"`
	LowStockThreshold int    `json:"lowStockThreshold,omitempty"`
}

// Restocked says Quantity was added.
type Restocked struct {
	Quantity int `json:"quantity"`
}

// StockReserved says Quantity was set aside for OrderID.
type StockReserved struct {
	OrderID  string `json:"orderId"`
	Quantity int    `json:"quantity"`
}

// StockReleased says OrderID's reservation of Quantity was given back.
type StockReleased struct {
	OrderID  string `json:"orderId"`
	Quantity int    `json:"quantity"`
}

// StockReservationFailed says OrderID wanted more than was available. It is
// an event, not a rejection, because the checkout saga reacts to it.
type StockReservationFailed struct {
	OrderID   string `json:"orderId"`
	Quantity  int    `json:"quantity"`
	Available int    `json:"available"`
}

// StockCommitted says OrderID's reservation became final.
type StockCommitted struct {
	OrderID  string `json:"orderId"`
	Quantity int    `json:"quantity"`
}

// LowStockAlert says a reservation took the available stock below the
// product's threshold: Available is what is left. It changes no state; the
// notifications subscriber tells the admins.
type LowStockAlert struct {
	SKU       string `json:"sku"`
	Available int    `json:"available"`
	Threshold int    `json:"threshold"`
}

// EventType implements Event.
func (Defined) EventType() string { return "ProductDefined" }

// EventType implements Event.
func (LowStockAlert) EventType() string { return "LowStockAlert" }

// EventType implements Event.
func (Restocked) EventType() string { return "ProductRestocked" }

// EventType implements Event.
func (StockReserved) EventType() string { return "StockReserved" }

// EventType implements Event.
func (StockReleased) EventType() string { return "StockReleased" }

// EventType implements Event.
func (StockReservationFailed) EventType() string { return "StockReservationFailed" }

// EventType implements Event.
func (StockCommitted) EventType() string { return "StockCommitted" }

func reject(format string, args ...any) error { return apperr.New(apperr.Rejected, format, args...) }

// Decide applies the product's rules to c.
func Decide(s State, c Command) ([]Event, error) {
	if d, ok := c.(Define); ok {
		switch {
		case s.Exists:
			return nil, reject("product %s is already defined", s.SKU)
		case d.Name == "":
			return nil, reject("a product needs a name")
		case d.PriceCents < 0 || d.PriceCents > MaxPriceCents:
			return nil, reject("price must be between 0 and %d cents", MaxPriceCents)
		case d.Stock < 0 || d.Stock > MaxStock:
			return nil, reject("stock must be between 0 and %d", MaxStock)
		case d.LowStockThreshold < 0 || d.LowStockThreshold > MaxStock:
			return nil, reject("low-stock threshold must be between 0 and %d", MaxStock)
		}
		return []Event{Defined{SKU: s.SKU, Name: d.Name, PriceCents: d.PriceCents, Stock: d.Stock, LowStockThreshold: d.LowStockThreshold}}, nil
	}
	if !s.Exists {
		return nil, apperr.New(apperr.NotFound, "product %s not found", s.SKU)
	}
	switch c := c.(type) {
	case Restock:
		if c.Quantity < 1 || c.Quantity > MaxStock-s.Available { // never overflows
			return nil, reject("restock must be at least 1 and keep stock at most %d", MaxStock)
		}
		return []Event{Restocked{Quantity: c.Quantity}}, nil
	case Reserve:
		if _, done := s.Reserved[c.OrderID]; done {
			return nil, nil // already reserved for this order
		}
		if c.Quantity < 1 {
			return nil, reject("reservation must be at least 1")
		}
		if c.Quantity > s.Available {
			return []Event{StockReservationFailed{OrderID: c.OrderID, Quantity: c.Quantity, Available: s.Available}}, nil
		}
		out := []Event{StockReserved{OrderID: c.OrderID, Quantity: c.Quantity}}
		if left := s.Available - c.Quantity; s.Available >= s.LowStockThreshold && left < s.LowStockThreshold {
			// Crossing the threshold, once: the next alert needs a restock
			// (or a release) above it first.
			out = append(out, LowStockAlert{SKU: s.SKU, Available: left, Threshold: s.LowStockThreshold})
		}
		return out, nil
	case Release:
		q, held := s.Reserved[c.OrderID]
		if !held {
			return nil, nil // nothing reserved (or already released)
		}
		return []Event{StockReleased{OrderID: c.OrderID, Quantity: q}}, nil
	case Commit:
		q, held := s.Reserved[c.OrderID]
		if !held {
			return nil, nil // nothing reserved (or already committed)
		}
		return []Event{StockCommitted{OrderID: c.OrderID, Quantity: q}}, nil
	}
	return nil, reject("unknown product command %T", c)
}

// Evolve returns the state after e. It never mutates s.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case Defined:
		s.Exists, s.Name, s.PriceCents, s.Available, s.LowStockThreshold = true, e.Name, e.PriceCents, e.Stock, e.LowStockThreshold
	case Restocked:
		s.Available += e.Quantity
	case StockReserved:
		s.Available -= e.Quantity
		s.Reserved = maps.Clone(s.Reserved)
		if s.Reserved == nil {
			s.Reserved = map[string]int{}
		}
		s.Reserved[e.OrderID] = e.Quantity
	case StockReleased:
		s.Available += e.Quantity
		s.Reserved = maps.Clone(s.Reserved)
		delete(s.Reserved, e.OrderID)
	case StockCommitted:
		s.Reserved = maps.Clone(s.Reserved)
		delete(s.Reserved, e.OrderID)
	}
	return s
}
