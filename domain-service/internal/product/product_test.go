package product_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/domain-service/internal/product"
	"github.com/prism-es/prism/shared/aggregate/aggtest"
	"github.com/prism-es/prism/shared/apperr"
)

const sku = "sku-1"

func fold(s product.State, events ...product.Event) product.State {
	return aggtest.Fold(product.Evolve, s, events...)
}

// defined is sku-1 defined with stock, then evolved through events.
func defined(stock int, events ...product.Event) product.State {
	s := fold(product.New(sku), product.Defined{SKU: sku, Name: "Widget", PriceCents: 1999, Stock: stock})
	return fold(s, events...)
}

// watched is a product with stock and a low-stock threshold, after events.
func watched(stock, threshold int, events ...product.Event) product.State {
	s := product.Evolve(product.New(sku), product.Defined{SKU: sku, Name: "Widget", PriceCents: 1999, Stock: stock, LowStockThreshold: threshold})
	for _, e := range events {
		s = product.Evolve(s, e)
	}
	return s
}

// clone deep-copies a state, keeping nil and empty maps apart.
func clone(s product.State) product.State {
	s.Reserved = maps.Clone(s.Reserved)
	return s
}

// normalized treats an empty Reserved map like a nil one.
func normalized(s product.State) product.State {
	if len(s.Reserved) == 0 {
		s.Reserved = nil
	}
	return s
}

type decideCase struct {
	name  string
	state product.State
	cmd   product.Command
	want  []product.Event // nil with kind "" means: no events
	kind  apperr.Kind     // "" means success
	msg   string          // substring of the error message
}

// unknownCommand is a Command the product does not know.
type unknownCommand struct{ product.Restock }

func TestDecide(t *testing.T) {
	reservedO1 := defined(10, product.StockReserved{OrderID: "o1", Quantity: 4})
	released := defined(10, product.StockReserved{OrderID: "o1", Quantity: 4}, product.StockReleased{OrderID: "o1", Quantity: 4})
	nearMax := defined(product.MaxStock - 1)

	tests := []decideCase{
		// Define.
		{name: "define", state: product.New(sku), cmd: product.Define{Name: "Widget", PriceCents: 1999, Stock: 10},
			want: []product.Event{product.Defined{SKU: sku, Name: "Widget", PriceCents: 1999, Stock: 10}}},
		{name: "define: free, no stock", state: product.New(sku), cmd: product.Define{Name: "Widget", PriceCents: 0, Stock: 0},
			want: []product.Event{product.Defined{SKU: sku, Name: "Widget", PriceCents: 0, Stock: 0}}},
		{name: "define: maximum price and stock", state: product.New(sku), cmd: product.Define{Name: "Widget", PriceCents: product.MaxPriceCents, Stock: product.MaxStock},
			want: []product.Event{product.Defined{SKU: sku, Name: "Widget", PriceCents: product.MaxPriceCents, Stock: product.MaxStock}}},
		{name: "define: no name", state: product.New(sku), cmd: product.Define{Name: "", PriceCents: 1, Stock: 1},
			kind: apperr.Rejected, msg: "a product needs a name"},
		{name: "define: negative price", state: product.New(sku), cmd: product.Define{Name: "Widget", PriceCents: -1, Stock: 1},
			kind: apperr.Rejected, msg: "price must be between 0 and 100000000 cents"},
		{name: "define: price above maximum", state: product.New(sku), cmd: product.Define{Name: "Widget", PriceCents: product.MaxPriceCents + 1, Stock: 1},
			kind: apperr.Rejected, msg: "price must be between 0 and 100000000 cents"},
		{name: "define: negative stock", state: product.New(sku), cmd: product.Define{Name: "Widget", PriceCents: 1, Stock: -1},
			kind: apperr.Rejected, msg: "stock must be between 0 and 1000000"},
		{name: "define: stock above maximum", state: product.New(sku), cmd: product.Define{Name: "Widget", PriceCents: 1, Stock: product.MaxStock + 1},
			kind: apperr.Rejected, msg: "stock must be between 0 and 1000000"},
		{name: "define: twice", state: defined(10), cmd: product.Define{Name: "Widget", PriceCents: 1999, Stock: 10},
			kind: apperr.Rejected, msg: "product sku-1 is already defined"},
		{name: "define: twice with other values", state: defined(10), cmd: product.Define{Name: "Gadget", PriceCents: 1, Stock: 1},
			kind: apperr.Rejected, msg: "product sku-1 is already defined"},

		// Restock.
		{name: "restock: 1", state: defined(10), cmd: product.Restock{Quantity: 1},
			want: []product.Event{product.Restocked{Quantity: 1}}},
		{name: "restock: 0", state: defined(10), cmd: product.Restock{Quantity: 0},
			kind: apperr.Rejected, msg: "restock must be at least 1 and keep stock at most 1000000"},
		{name: "restock: -1", state: defined(10), cmd: product.Restock{Quantity: -1},
			kind: apperr.Rejected, msg: "restock must be at least 1 and keep stock at most 1000000"},
		{name: "restock: up to exactly the maximum", state: nearMax, cmd: product.Restock{Quantity: 1},
			want: []product.Event{product.Restocked{Quantity: 1}}},
		{name: "restock: beyond the maximum", state: nearMax, cmd: product.Restock{Quantity: 2},
			kind: apperr.Rejected, msg: "restock must be at least 1 and keep stock at most 1000000"},
		{name: "restock: maximum from empty", state: defined(0), cmd: product.Restock{Quantity: product.MaxStock},
			want: []product.Event{product.Restocked{Quantity: product.MaxStock}}},
		{name: "restock: maximum plus one from empty", state: defined(0), cmd: product.Restock{Quantity: product.MaxStock + 1},
			kind: apperr.Rejected, msg: "restock must be at least 1 and keep stock at most 1000000"},
		{name: "restock: huge quantity must not overflow the bound check", state: defined(10), cmd: product.Restock{Quantity: math.MaxInt},
			kind: apperr.Rejected, msg: "restock must be at least 1 and keep stock at most 1000000"},
		{name: "restock: huge quantity, empty stock", state: defined(0), cmd: product.Restock{Quantity: math.MaxInt},
			kind: apperr.Rejected, msg: "restock must be at least 1 and keep stock at most 1000000"},

		// Define: low-stock threshold.
		{name: "define: with a low-stock threshold", state: product.New(sku), cmd: product.Define{Name: "Widget", PriceCents: 1, Stock: 10, LowStockThreshold: 3},
			want: []product.Event{product.Defined{SKU: sku, Name: "Widget", PriceCents: 1, Stock: 10, LowStockThreshold: 3}}},
		{name: "define: negative threshold", state: product.New(sku), cmd: product.Define{Name: "Widget", PriceCents: 1, Stock: 10, LowStockThreshold: -1},
			kind: apperr.Rejected, msg: "low-stock threshold must be between 0 and 1000000"},
		{name: "define: threshold above maximum", state: product.New(sku), cmd: product.Define{Name: "Widget", PriceCents: 1, Stock: 10, LowStockThreshold: product.MaxStock + 1},
			kind: apperr.Rejected, msg: "low-stock threshold must be between 0 and 1000000"},

		// Reserve: the low-stock alert, once per crossing of the threshold.
		{name: "reserve: crossing the threshold alerts", state: watched(10, 5), cmd: product.Reserve{OrderID: "o1", Quantity: 6},
			want: []product.Event{product.StockReserved{OrderID: "o1", Quantity: 6}, product.LowStockAlert{SKU: sku, Available: 4, Threshold: 5}}},
		{name: "reserve: landing on the threshold does not alert", state: watched(10, 5), cmd: product.Reserve{OrderID: "o1", Quantity: 5},
			want: []product.Event{product.StockReserved{OrderID: "o1", Quantity: 5}}},
		{name: "reserve: from exactly the threshold to below alerts", state: watched(5, 5), cmd: product.Reserve{OrderID: "o1", Quantity: 1},
			want: []product.Event{product.StockReserved{OrderID: "o1", Quantity: 1}, product.LowStockAlert{SKU: sku, Available: 4, Threshold: 5}}},
		{name: "reserve: already below does not alert again", state: watched(4, 5), cmd: product.Reserve{OrderID: "o1", Quantity: 1},
			want: []product.Event{product.StockReserved{OrderID: "o1", Quantity: 1}}},
		{name: "reserve: taking the last unit alerts", state: watched(1, 1), cmd: product.Reserve{OrderID: "o1", Quantity: 1},
			want: []product.Event{product.StockReserved{OrderID: "o1", Quantity: 1}, product.LowStockAlert{SKU: sku, Available: 0, Threshold: 1}}},
		{name: "reserve: after a restock above it, alerts again", state: watched(4, 5, product.Restocked{Quantity: 6}), cmd: product.Reserve{OrderID: "o1", Quantity: 7},
			want: []product.Event{product.StockReserved{OrderID: "o1", Quantity: 7}, product.LowStockAlert{SKU: sku, Available: 3, Threshold: 5}}},
		{name: "reserve: no threshold, no alert", state: defined(1), cmd: product.Reserve{OrderID: "o1", Quantity: 1},
			want: []product.Event{product.StockReserved{OrderID: "o1", Quantity: 1}}},
		{name: "reserve: a failed reservation does not alert", state: watched(3, 5), cmd: product.Reserve{OrderID: "o1", Quantity: 4},
			want: []product.Event{product.StockReservationFailed{OrderID: "o1", Quantity: 4, Available: 3}}},

		// Reserve.
		{name: "reserve: part of the stock", state: defined(10), cmd: product.Reserve{OrderID: "o1", Quantity: 3},
			want: []product.Event{product.StockReserved{OrderID: "o1", Quantity: 3}}},
		{name: "reserve: exactly what is available", state: defined(10), cmd: product.Reserve{OrderID: "o1", Quantity: 10},
			want: []product.Event{product.StockReserved{OrderID: "o1", Quantity: 10}}},
		{name: "reserve: one more than available", state: defined(10), cmd: product.Reserve{OrderID: "o1", Quantity: 11},
			want: []product.Event{product.StockReservationFailed{OrderID: "o1", Quantity: 11, Available: 10}}},
		{name: "reserve: nothing in stock", state: defined(0), cmd: product.Reserve{OrderID: "o1", Quantity: 1},
			want: []product.Event{product.StockReservationFailed{OrderID: "o1", Quantity: 1, Available: 0}}},
		{name: "reserve: quantity 0", state: defined(10), cmd: product.Reserve{OrderID: "o1", Quantity: 0},
			kind: apperr.Rejected, msg: "reservation must be at least 1"},
		{name: "reserve: quantity -1", state: defined(10), cmd: product.Reserve{OrderID: "o1", Quantity: -1},
			kind: apperr.Rejected, msg: "reservation must be at least 1"},
		{name: "reserve: twice for the same order", state: reservedO1, cmd: product.Reserve{OrderID: "o1", Quantity: 4},
			want: nil},
		{name: "reserve: twice for the same order, other quantity", state: reservedO1, cmd: product.Reserve{OrderID: "o1", Quantity: 1000},
			want: nil},
		{name: "reserve: another order takes what is left", state: reservedO1, cmd: product.Reserve{OrderID: "o2", Quantity: 6},
			want: []product.Event{product.StockReserved{OrderID: "o2", Quantity: 6}}},
		{name: "reserve: another order wants more than is left", state: reservedO1, cmd: product.Reserve{OrderID: "o2", Quantity: 7},
			want: []product.Event{product.StockReservationFailed{OrderID: "o2", Quantity: 7, Available: 6}}},
		{name: "commit: makes the reservation final", state: reservedO1, cmd: product.Commit{OrderID: "o1"},
			want: []product.Event{product.StockCommitted{OrderID: "o1", Quantity: 4}}},
		{name: "commit: nothing reserved", state: defined(10), cmd: product.Commit{OrderID: "o1"}, want: nil},
		{name: "reserve: again after release", state: released, cmd: product.Reserve{OrderID: "o1", Quantity: 2},
			want: []product.Event{product.StockReserved{OrderID: "o1", Quantity: 2}}},
		{name: "reserve: restocked stock counts", state: defined(0, product.Restocked{Quantity: 5}), cmd: product.Reserve{OrderID: "o1", Quantity: 5},
			want: []product.Event{product.StockReserved{OrderID: "o1", Quantity: 5}}},

		// Release.
		{name: "release: gives back the exact reserved quantity", state: reservedO1, cmd: product.Release{OrderID: "o1"},
			want: []product.Event{product.StockReleased{OrderID: "o1", Quantity: 4}}},
		{name: "release: one of two reservations", state: defined(10, product.StockReserved{OrderID: "o1", Quantity: 4}, product.StockReserved{OrderID: "o2", Quantity: 5}),
			cmd: product.Release{OrderID: "o2"}, want: []product.Event{product.StockReleased{OrderID: "o2", Quantity: 5}}},
		{name: "release: unknown order", state: reservedO1, cmd: product.Release{OrderID: "o9"},
			want: nil},
		{name: "release: nothing reserved at all", state: defined(10), cmd: product.Release{OrderID: "o1"},
			want: nil},
		{name: "release: twice", state: released, cmd: product.Release{OrderID: "o1"},
			want: nil},

		// Undefined product.
		{name: "restock: undefined", state: product.New(sku), cmd: product.Restock{Quantity: 1},
			kind: apperr.NotFound, msg: "product sku-1 not found"},
		{name: "reserve: undefined", state: product.New(sku), cmd: product.Reserve{OrderID: "o1", Quantity: 1},
			kind: apperr.NotFound, msg: "product sku-1 not found"},
		{name: "release: undefined", state: product.New(sku), cmd: product.Release{OrderID: "o1"},
			kind: apperr.NotFound, msg: "product sku-1 not found"},

		// Unknown command.
		{name: "unknown command", state: defined(10), cmd: unknownCommand{product.Restock{Quantity: 1}},
			kind: apperr.Rejected, msg: "unknown product command"},
		{name: "unknown command: undefined", state: product.New(sku), cmd: unknownCommand{product.Restock{Quantity: 1}},
			kind: apperr.NotFound, msg: "product sku-1 not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := clone(tc.state)
			events, err := product.Decide(tc.state, tc.cmd)
			assert.Equal(t, before, tc.state, "Decide must not mutate its state")
			if tc.kind != "" {
				require.Error(t, err, "events: %v", events)
				assert.Equal(t, tc.kind, apperr.KindOf(err), "error: %v", err)
				assert.Contains(t, apperr.MessageOf(err), tc.msg)
				assert.Empty(t, events)
				return
			}
			require.NoError(t, err)
			if tc.want == nil {
				assert.Empty(t, events)
				return
			}
			assert.Equal(t, tc.want, events)
		})
	}
}

func TestEvolve(t *testing.T) {
	base := product.State{SKU: sku, Exists: true, Name: "Widget", PriceCents: 1999, Available: 10}
	withO1 := product.State{SKU: sku, Exists: true, Name: "Widget", PriceCents: 1999, Available: 6, Reserved: map[string]int{"o1": 4}}
	withO1O2 := product.State{SKU: sku, Exists: true, Name: "Widget", PriceCents: 1999, Available: 1, Reserved: map[string]int{"o1": 4, "o2": 5}}

	tests := []struct {
		name  string
		state product.State
		event product.Event
		want  product.State
	}{
		{name: "defined", state: product.New(sku), event: product.Defined{SKU: sku, Name: "Widget", PriceCents: 1999, Stock: 10},
			want: base},
		{name: "defined with a threshold", state: product.New(sku), event: product.Defined{SKU: sku, Name: "Widget", PriceCents: 1999, Stock: 10, LowStockThreshold: 4},
			want: product.State{SKU: sku, Exists: true, Name: "Widget", PriceCents: 1999, Available: 10, LowStockThreshold: 4}},
		{name: "low-stock alert changes nothing", state: withO1, event: product.LowStockAlert{SKU: sku, Available: 6, Threshold: 7},
			want: withO1},
		{name: "restocked", state: base, event: product.Restocked{Quantity: 5},
			want: product.State{SKU: sku, Exists: true, Name: "Widget", PriceCents: 1999, Available: 15}},
		{name: "restocked with reservations", state: withO1, event: product.Restocked{Quantity: 5},
			want: product.State{SKU: sku, Exists: true, Name: "Widget", PriceCents: 1999, Available: 11, Reserved: map[string]int{"o1": 4}}},
		{name: "stock reserved: first reservation", state: base, event: product.StockReserved{OrderID: "o1", Quantity: 4},
			want: withO1},
		{name: "stock reserved: second reservation", state: withO1, event: product.StockReserved{OrderID: "o2", Quantity: 5},
			want: withO1O2},
		{name: "stock released: one of two", state: withO1O2, event: product.StockReleased{OrderID: "o2", Quantity: 5},
			want: withO1},
		{name: "stock released: the last one", state: withO1, event: product.StockReleased{OrderID: "o1", Quantity: 4},
			want: base},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := clone(tc.state)
			got := product.Evolve(tc.state, tc.event)
			assert.Equal(t, normalized(tc.want), normalized(got))
			assert.Equal(t, before, tc.state, "Evolve must not mutate its state")
		})
	}
}

func script() []product.Event {
	return []product.Event{
		product.Defined{SKU: sku, Name: "Widget", PriceCents: 1999, Stock: 10},
		product.StockReserved{OrderID: "o1", Quantity: 4},
		product.StockReserved{OrderID: "o2", Quantity: 5},
		product.Restocked{Quantity: 20},
		product.StockReleased{OrderID: "o1", Quantity: 4},
		product.StockReserved{OrderID: "o3", Quantity: 7},
		product.StockReserved{OrderID: "o1", Quantity: 2},
		product.StockReleased{OrderID: "o2", Quantity: 5},
		product.StockReleased{OrderID: "o3", Quantity: 7},
		product.StockReleased{OrderID: "o1", Quantity: 2},
		product.StockReserved{OrderID: "o4", Quantity: 1},
	}
}

func TestEvolveNeverMutatesItsInput(t *testing.T) {
	s := product.New(sku)
	var states, copies []product.State
	for _, e := range script() {
		states = append(states, s)
		copies = append(copies, clone(s))
		s = product.Evolve(s, e)
	}
	for i := range states {
		assert.Equal(t, copies[i], states[i], "state before event %d was mutated", i)
	}
	assert.Equal(t, product.State{SKU: sku, Exists: true, Name: "Widget", PriceCents: 1999, Available: 29, Reserved: map[string]int{"o4": 1}}, s)
}

func TestEvolveBranchesAreIndependent(t *testing.T) {
	base := defined(10, product.StockReserved{OrderID: "o1", Quantity: 4})
	baseCopy := clone(base)
	events := []product.Event{
		product.StockReserved{OrderID: "o2", Quantity: 1},
		product.StockReserved{OrderID: "o3", Quantity: 2},
		product.StockReleased{OrderID: "o1", Quantity: 4},
		product.Restocked{Quantity: 3},
	}
	results := make([]product.State, len(events))
	resultCopies := make([]product.State, len(events))
	for i, e := range events {
		results[i] = product.Evolve(base, e)
		resultCopies[i] = clone(results[i])
	}
	assert.Equal(t, baseCopy, base)
	for i := range results {
		assert.Equal(t, resultCopies[i], results[i], "result of event %d changed by a sibling", i)
	}
}

// run folds Decide+Evolve over commands, failing on any error.
func run(t *testing.T, s product.State, cmds ...product.Command) (product.State, []product.Event) {
	t.Helper()
	return aggtest.Run(t, product.Decide, product.Evolve, s, cmds...)
}

func TestFoldScript(t *testing.T) {
	s, events := run(t, product.New(sku),
		product.Define{Name: "Widget", PriceCents: 1999, Stock: 10},
		product.Restock{Quantity: 5},
		product.Reserve{OrderID: "o1", Quantity: 4},
		product.Reserve{OrderID: "o2", Quantity: 6},
		product.Reserve{OrderID: "o1", Quantity: 4}, // no-op
		product.Release{OrderID: "o1"},
		product.Release{OrderID: "o1"}, // no-op
		product.Reserve{OrderID: "o3", Quantity: 9},
	)
	assert.Len(t, events, 6)
	assert.Equal(t, product.State{SKU: sku, Exists: true, Name: "Widget", PriceCents: 1999, Available: 0,
		Reserved: map[string]int{"o2": 6, "o3": 9}}, s)

	// Stock is conserved: available + reserved = defined + restocked.
	total := s.Available
	for _, q := range s.Reserved {
		total += q
	}
	assert.Equal(t, 15, total)

	events, err := product.Decide(s, product.Reserve{OrderID: "o4", Quantity: 1})
	require.NoError(t, err)
	assert.Equal(t, []product.Event{product.StockReservationFailed{OrderID: "o4", Quantity: 1, Available: 0}}, events, "never below zero")

	// A committed reservation cannot be released any more.
	committed := product.Evolve(s, product.StockCommitted{OrderID: "o1", Quantity: 4})
	assert.Equal(t, s.Available, committed.Available)
	released, err := product.Decide(committed, product.Release{OrderID: "o1"})
	require.NoError(t, err)
	assert.Empty(t, released)
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name    string
		typ     string
		payload string
		want    product.Command
		kind    apperr.Kind // "" means success
		msg     string
	}{
		{name: "define", typ: product.CmdDefine, payload: `{"sku":"sku-1","name":"Widget","priceCents":1999,"stock":10}`,
			want: product.Define{Name: "Widget", PriceCents: 1999, Stock: 10}},
		{name: "define with a threshold", typ: product.CmdDefine, payload: `{"sku":"sku-1","name":"Widget","priceCents":1,"stock":10,"lowStockThreshold":3}`,
			want: product.Define{Name: "Widget", PriceCents: 1, Stock: 10, LowStockThreshold: 3}},
		{name: "define without sku", typ: product.CmdDefine, payload: `{"name":"Widget","priceCents":0,"stock":0}`,
			want: product.Define{Name: "Widget"}},
		{name: "restock", typ: product.CmdRestock, payload: `{"quantity":5}`, want: product.Restock{Quantity: 5}},
		{name: "reserve", typ: product.CmdReserve, payload: `{"orderId":"o1","quantity":3}`, want: product.Reserve{OrderID: "o1", Quantity: 3}},
		{name: "release", typ: product.CmdRelease, payload: `{"orderId":"o1"}`, want: product.Release{OrderID: "o1"}},

		{name: "define: unknown field", typ: product.CmdDefine, payload: `{"name":"W","priceCents":1,"stock":1,"colour":"red"}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "restock: unknown field", typ: product.CmdRestock, payload: `{"quantity":5,"sku":"x"}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "reserve: unknown field", typ: product.CmdReserve, payload: `{"orderId":"o1","quantity":3,"force":true}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "release: unknown field", typ: product.CmdRelease, payload: `{"orderId":"o1","quantity":3}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "define: wrong type", typ: product.CmdDefine, payload: `{"name":"W","priceCents":"1"}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "restock: fractional quantity", typ: product.CmdRestock, payload: `{"quantity":1.5}`, kind: apperr.Rejected, msg: "malformed command payload"},

		{name: "unknown type", typ: "DeleteProduct", payload: `{}`, kind: apperr.Internal, msg: "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := product.ParseCommand(tc.typ, []byte(tc.payload))
			if tc.kind != "" {
				require.Error(t, err)
				assert.Equal(t, tc.kind, apperr.KindOf(err))
				assert.Contains(t, apperr.MessageOf(err), tc.msg)
				if tc.kind == apperr.Internal {
					assert.Nil(t, got)
					assert.Contains(t, err.Error(), fmt.Sprintf("unknown command type %q", tc.typ))
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestDecodeEventRoundTrip(t *testing.T) {
	events := []product.Event{
		product.Defined{SKU: sku, Name: "Widget", PriceCents: 1999, Stock: 10},
		product.Restocked{Quantity: 5},
		product.StockReserved{OrderID: "o1", Quantity: 4},
		product.StockReleased{OrderID: "o1", Quantity: 4},
		product.Defined{SKU: sku, Name: "Widget", PriceCents: 1999, Stock: 10, LowStockThreshold: 2},
		product.LowStockAlert{SKU: sku, Available: 1, Threshold: 2},
	}
	seen := map[string]bool{}
	for _, e := range events {
		t.Run(e.EventType(), func(t *testing.T) {
			data, err := json.Marshal(e)
			require.NoError(t, err)
			got, err := product.DecodeEvent(e.EventType(), data)
			require.NoError(t, err)
			assert.Equal(t, e, got)
			want := 1
			if e.EventType() == "ProductDefined" {
				want = 2 // gained lowStockThreshold; v1 is upcast on read
			}
			assert.Equal(t, want, product.SchemaVersion(e.EventType()))
		})
		seen[e.EventType()] = true
	}
	assert.Equal(t, map[string]bool{"ProductDefined": true, "ProductRestocked": true, "StockReserved": true, "StockReleased": true, "LowStockAlert": true}, seen)
}

func TestDecodeEventErrors(t *testing.T) {
	tests := []struct {
		name string
		typ  string
		data string
		want product.Event // nil means an error is expected
	}{
		{name: "unknown type", typ: "ProductDeleted", data: `{}`},
		{name: "command type", typ: product.CmdRestock, data: `{"quantity":1}`},
		{name: "bad data", typ: "ProductRestocked", data: `{"quantity":"x"}`},
		{name: "unknown fields are ignored", typ: "ProductRestocked", data: `{"quantity":3,"by":"admin"}`, want: product.Restocked{Quantity: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := product.DecodeEvent(tc.typ, []byte(tc.data))
			if tc.want == nil {
				require.Error(t, err)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
