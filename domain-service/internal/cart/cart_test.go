package cart_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/domain-service/internal/cart"
	"github.com/prism-es/prism/shared/aggregate/aggtest"
	"github.com/prism-es/prism/shared/apperr"
)

const (
	cartID = "cart-1"
	owner  = "alice"
	other  = "bob"
)

// fold evolves s through events.
func fold(s cart.State, events ...cart.Event) cart.State {
	return aggtest.Fold(cart.Evolve, s, events...)
}

// line is a cart line for sku with a derived name.
func line(sku string, qty int, price int64) cart.Line {
	return cart.Line{SKU: sku, Name: "Name " + sku, Quantity: qty, UnitPriceCents: price}
}

// product is an existing product as the handler would look it up.
func product(name string, price int64) cart.ProductInfo {
	return cart.ProductInfo{Exists: true, Name: name, PriceCents: price}
}

// openCart is alice's open cart holding lines.
func openCart(lines ...cart.Line) cart.State {
	s := fold(cart.New(cartID), cart.Created{Owner: owner})
	for _, l := range lines {
		s = cart.Evolve(s, cart.ItemAdded{SKU: l.SKU, Name: l.Name, Quantity: l.Quantity, UnitPriceCents: l.UnitPriceCents})
	}
	return s
}

// fullCart is an open cart with MaxLines different lines sku-00…sku-49.
func fullCart() cart.State {
	lines := make([]cart.Line, cart.MaxLines)
	for i := range lines {
		lines[i] = line(fmt.Sprintf("sku-%02d", i), 1, 100)
	}
	return openCart(lines...)
}

// checkedOut is alice's cart with one line, checked out as order-1.
func checkedOut() cart.State {
	s := openCart(line("sku-a", 2, 500))
	return cart.Evolve(s, cart.CheckedOut{OrderID: "order-1", Owner: owner, Lines: []cart.Line{line("sku-a", 2, 500)}, TotalCents: 1000})
}

// clone deep-copies a state, keeping nil and empty slices apart.
func clone(s cart.State) cart.State {
	if s.Lines != nil {
		s.Lines = append(make([]cart.Line, 0, len(s.Lines)), s.Lines...)
	}
	return s
}

type decideCase struct {
	name  string
	state cart.State
	cmd   cart.Command
	want  []cart.Event // nil with kind "" means: no events
	kind  apperr.Kind  // "" means success
	msg   string       // substring of the error message
}

func runDecide(t *testing.T, tc decideCase) {
	t.Helper()
	before := clone(tc.state)
	events, err := cart.Decide(tc.state, tc.cmd)
	assert.Equal(t, before, tc.state, "Decide must not mutate its state")
	if tc.kind != "" {
		require.Error(t, err)
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
}

// unknownCommand is a Command the cart does not know (it borrows actor()).
type unknownCommand struct{ cart.RemoveItem }

func TestDecide(t *testing.T) {
	withA := openCart(line("sku-a", 2, 500))
	withAB := openCart(line("sku-a", 2, 500), line("sku-b", 1, 1500))
	almostFull := openCart(line("sku-a", 98, 500))
	full := fullCart()
	fortyNine := fullCart()
	fortyNine = cart.Evolve(fortyNine, cart.ItemRemoved{SKU: "sku-49"})
	emptied := cart.Evolve(withA, cart.ItemRemoved{SKU: "sku-a"})
	expired := cart.Evolve(withA, cart.Expired{IdleSeconds: 600})

	tests := []decideCase{
		// CreateCart.
		{name: "create: new cart", state: cart.New(cartID), cmd: cart.CreateCart{By: owner},
			want: []cart.Event{cart.Created{Owner: owner}}},
		{name: "create: twice by the same owner", state: openCart(), cmd: cart.CreateCart{By: owner},
			kind: apperr.Rejected, msg: "cart already exists"},
		{name: "create: twice by another user", state: openCart(), cmd: cart.CreateCart{By: other},
			kind: apperr.Rejected, msg: "cart id is taken"},
		{name: "create: after checkout by the same owner", state: checkedOut(), cmd: cart.CreateCart{By: owner},
			kind: apperr.Rejected, msg: "cart already exists"},
		{name: "create: after checkout by another user", state: checkedOut(), cmd: cart.CreateCart{By: other},
			kind: apperr.Rejected, msg: "cart id is taken"},

		// AddItem: quantity bounds.
		{name: "add: quantity 1", state: openCart(), cmd: cart.AddItem{By: owner, SKU: "sku-a", Quantity: 1, Product: product("Apple", 250)},
			want: []cart.Event{cart.ItemAdded{SKU: "sku-a", Name: "Apple", Quantity: 1, UnitPriceCents: 250}}},
		{name: "add: quantity 99", state: openCart(), cmd: cart.AddItem{By: owner, SKU: "sku-a", Quantity: 99, Product: product("Apple", 250)},
			want: []cart.Event{cart.ItemAdded{SKU: "sku-a", Name: "Apple", Quantity: 99, UnitPriceCents: 250}}},
		{name: "add: quantity 0", state: openCart(), cmd: cart.AddItem{By: owner, SKU: "sku-a", Quantity: 0, Product: product("Apple", 250)},
			kind: apperr.Rejected, msg: "quantity must be between 1 and 99"},
		{name: "add: quantity 100", state: openCart(), cmd: cart.AddItem{By: owner, SKU: "sku-a", Quantity: 100, Product: product("Apple", 250)},
			kind: apperr.Rejected, msg: "quantity must be between 1 and 99"},
		{name: "add: quantity -1", state: openCart(), cmd: cart.AddItem{By: owner, SKU: "sku-a", Quantity: -1, Product: product("Apple", 250)},
			kind: apperr.Rejected, msg: "quantity must be between 1 and 99"},

		// AddItem: product.
		{name: "add: unknown product", state: openCart(), cmd: cart.AddItem{By: owner, SKU: "sku-x", Quantity: 1, Product: cart.ProductInfo{Exists: false, Name: "Ghost", PriceCents: 1}},
			kind: apperr.Rejected, msg: "unknown product sku-x"},
		{name: "add: price and name come from the product", state: withA, cmd: cart.AddItem{By: owner, SKU: "sku-b", Quantity: 3, Product: product("Banana", 1234)},
			want: []cart.Event{cart.ItemAdded{SKU: "sku-b", Name: "Banana", Quantity: 3, UnitPriceCents: 1234}}},
		{name: "add: free product", state: openCart(), cmd: cart.AddItem{By: owner, SKU: "sku-f", Quantity: 1, Product: product("Freebie", 0)},
			want: []cart.Event{cart.ItemAdded{SKU: "sku-f", Name: "Freebie", Quantity: 1, UnitPriceCents: 0}}},
		{name: "add: existing line is priced from the current product", state: withA, cmd: cart.AddItem{By: owner, SKU: "sku-a", Quantity: 1, Product: product("Apple v2", 600)},
			want: []cart.Event{cart.ItemAdded{SKU: "sku-a", Name: "Apple v2", Quantity: 1, UnitPriceCents: 600}}},

		// AddItem: line total.
		{name: "add: line reaches exactly 99", state: almostFull, cmd: cart.AddItem{By: owner, SKU: "sku-a", Quantity: 1, Product: product("Apple", 500)},
			want: []cart.Event{cart.ItemAdded{SKU: "sku-a", Name: "Apple", Quantity: 1, UnitPriceCents: 500}}},
		{name: "add: line would exceed 99", state: almostFull, cmd: cart.AddItem{By: owner, SKU: "sku-a", Quantity: 2, Product: product("Apple", 500)},
			kind: apperr.Rejected, msg: "at most 99 of sku-a per cart (it holds 98)"},
		{name: "add: 99 onto a line of 1", state: openCart(line("sku-a", 1, 500)), cmd: cart.AddItem{By: owner, SKU: "sku-a", Quantity: 99, Product: product("Apple", 500)},
			kind: apperr.Rejected, msg: "at most 99 of sku-a per cart (it holds 1)"},

		// AddItem: number of lines.
		{name: "add: 50th different line", state: fortyNine, cmd: cart.AddItem{By: owner, SKU: "sku-new", Quantity: 1, Product: product("New", 1)},
			want: []cart.Event{cart.ItemAdded{SKU: "sku-new", Name: "New", Quantity: 1, UnitPriceCents: 1}}},
		{name: "add: 51st different line", state: full, cmd: cart.AddItem{By: owner, SKU: "sku-new", Quantity: 1, Product: product("New", 1)},
			kind: apperr.Rejected, msg: "a cart holds at most 50 different products"},
		{name: "add: to an existing line of a full cart", state: full, cmd: cart.AddItem{By: owner, SKU: "sku-07", Quantity: 5, Product: product("Seven", 700)},
			want: []cart.Event{cart.ItemAdded{SKU: "sku-07", Name: "Seven", Quantity: 5, UnitPriceCents: 700}}},

		// ChangeQuantity.
		{name: "change: to 5", state: withA, cmd: cart.ChangeQuantity{By: owner, SKU: "sku-a", Quantity: 5},
			want: []cart.Event{cart.QuantityChanged{SKU: "sku-a", Quantity: 5}}},
		{name: "change: to 1", state: withA, cmd: cart.ChangeQuantity{By: owner, SKU: "sku-a", Quantity: 1},
			want: []cart.Event{cart.QuantityChanged{SKU: "sku-a", Quantity: 1}}},
		{name: "change: to 99", state: withA, cmd: cart.ChangeQuantity{By: owner, SKU: "sku-a", Quantity: 99},
			want: []cart.Event{cart.QuantityChanged{SKU: "sku-a", Quantity: 99}}},
		{name: "change: to 0 removes the line", state: withAB, cmd: cart.ChangeQuantity{By: owner, SKU: "sku-b", Quantity: 0},
			want: []cart.Event{cart.ItemRemoved{SKU: "sku-b"}}},
		{name: "change: to 100", state: withA, cmd: cart.ChangeQuantity{By: owner, SKU: "sku-a", Quantity: 100},
			kind: apperr.Rejected, msg: "quantity must be between 1 and 99"},
		{name: "change: to -1", state: withA, cmd: cart.ChangeQuantity{By: owner, SKU: "sku-a", Quantity: -1},
			kind: apperr.Rejected, msg: "quantity must be between 1 and 99"},
		{name: "change: to the same quantity", state: withA, cmd: cart.ChangeQuantity{By: owner, SKU: "sku-a", Quantity: 2},
			want: nil},
		{name: "change: missing item", state: withA, cmd: cart.ChangeQuantity{By: owner, SKU: "sku-z", Quantity: 3},
			kind: apperr.Rejected, msg: "sku-z is not in the cart"},
		{name: "change: missing item to 0", state: withA, cmd: cart.ChangeQuantity{By: owner, SKU: "sku-z", Quantity: 0},
			kind: apperr.Rejected, msg: "sku-z is not in the cart"},
		{name: "change: in an empty cart", state: openCart(), cmd: cart.ChangeQuantity{By: owner, SKU: "sku-a", Quantity: 3},
			kind: apperr.Rejected, msg: "sku-a is not in the cart"},

		// RemoveItem.
		{name: "remove: present item", state: withAB, cmd: cart.RemoveItem{By: owner, SKU: "sku-a"},
			want: []cart.Event{cart.ItemRemoved{SKU: "sku-a"}}},
		{name: "remove: missing item", state: withA, cmd: cart.RemoveItem{By: owner, SKU: "sku-z"},
			kind: apperr.Rejected, msg: "sku-z is not in the cart"},
		{name: "remove: already removed item", state: emptied, cmd: cart.RemoveItem{By: owner, SKU: "sku-a"},
			kind: apperr.Rejected, msg: "sku-a is not in the cart"},

		// Checkout.
		{name: "checkout: carries lines and total", state: withAB, cmd: cart.Checkout{By: owner, OrderID: "order-9", PaymentToken: "tok_1"},
			want: []cart.Event{cart.CheckedOut{OrderID: "order-9", Owner: owner,
				Lines:      []cart.Line{line("sku-a", 2, 500), line("sku-b", 1, 1500)},
				TotalCents: 2*500 + 1500, PaymentToken: "tok_1"}}},
		{name: "checkout: without payment token", state: withA, cmd: cart.Checkout{By: owner, OrderID: "order-9"},
			want: []cart.Event{cart.CheckedOut{OrderID: "order-9", Owner: owner, Lines: []cart.Line{line("sku-a", 2, 500)}, TotalCents: 1000}}},
		{name: "checkout: empty cart", state: openCart(), cmd: cart.Checkout{By: owner, OrderID: "order-9"},
			kind: apperr.Rejected, msg: "cart is empty"},
		{name: "checkout: cart emptied by removal", state: emptied, cmd: cart.Checkout{By: owner, OrderID: "order-9"},
			kind: apperr.Rejected, msg: "cart is empty"},
		{name: "checkout: no order id", state: withA, cmd: cart.Checkout{By: owner, PaymentToken: "tok_1"},
			kind: apperr.Rejected, msg: "checkout needs an order id"},

		// ExpireCart: the deadline set at a version expires the cart only if
		// nothing happened since.
		{name: "expire: open cart untouched since the deadline was set", state: withA, cmd: cart.Expire{AfterVersion: 2, IdleSeconds: 600},
			want: []cart.Event{cart.Expired{IdleSeconds: 600}}},
		{name: "expire: an empty open cart expires too", state: emptied, cmd: cart.Expire{AfterVersion: 3, IdleSeconds: 600},
			want: []cart.Event{cart.Expired{IdleSeconds: 600}}},
		{name: "expire: touched since", state: withAB, cmd: cart.Expire{AfterVersion: 2, IdleSeconds: 600}, want: nil},
		{name: "expire: a deadline from the future (never set)", state: withA, cmd: cart.Expire{AfterVersion: 9, IdleSeconds: 600}, want: nil},
		{name: "expire: checked out", state: checkedOut(), cmd: cart.Expire{AfterVersion: 3, IdleSeconds: 600}, want: nil},
		{name: "expire: already expired", state: expired, cmd: cart.Expire{AfterVersion: 3, IdleSeconds: 600}, want: nil},
		{name: "expire: no such cart", state: cart.New(cartID), cmd: cart.Expire{AfterVersion: 0, IdleSeconds: 600}, want: nil},

		// Unknown command.
		{name: "unknown command", state: withA, cmd: unknownCommand{cart.RemoveItem{By: owner, SKU: "sku-a"}},
			kind: apperr.Rejected, msg: "unknown cart command"},
	}

	// Every non-create command: another user's cart, a cart that does not
	// exist, and a checked-out cart.
	nonCreate := map[string]func(by string) cart.Command{
		"add": func(by string) cart.Command {
			return cart.AddItem{By: by, SKU: "sku-a", Quantity: 1, Product: product("Apple", 500)}
		},
		"change":   func(by string) cart.Command { return cart.ChangeQuantity{By: by, SKU: "sku-a", Quantity: 3} },
		"remove":   func(by string) cart.Command { return cart.RemoveItem{By: by, SKU: "sku-a"} },
		"checkout": func(by string) cart.Command { return cart.Checkout{By: by, OrderID: "order-2"} },
	}
	for _, name := range []string{"add", "change", "remove", "checkout"} {
		mk := nonCreate[name]
		tests = append(tests,
			decideCase{name: name + ": another user's cart", state: withA, cmd: mk(other),
				kind: apperr.NotFound, msg: "cart not found"},
			decideCase{name: name + ": another user's checked-out cart", state: checkedOut(), cmd: mk(other),
				kind: apperr.NotFound, msg: "cart not found"},
			decideCase{name: name + ": cart not created", state: cart.New(cartID), cmd: mk(owner),
				kind: apperr.NotFound, msg: "cart not found"},
			decideCase{name: name + ": no user", state: withA, cmd: mk(""),
				kind: apperr.NotFound, msg: "cart not found"},
			decideCase{name: name + ": after checkout", state: checkedOut(), cmd: mk(owner),
				kind: apperr.Rejected, msg: "cart is checked out"},
			decideCase{name: name + ": after expiry", state: expired, cmd: mk(owner),
				kind: apperr.Rejected, msg: "cart has expired"},
			decideCase{name: name + ": another user's expired cart", state: expired, cmd: mk(other),
				kind: apperr.NotFound, msg: "cart not found"},
		)
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runDecide(t, tc) })
	}
}

func TestCheckoutLinesDoNotAliasState(t *testing.T) {
	s := openCart(line("sku-a", 2, 500))
	events, err := cart.Decide(s, cart.Checkout{By: owner, OrderID: "order-1"})
	require.NoError(t, err)
	require.Len(t, events, 1)
	co := events[0].(cart.CheckedOut)
	co.Lines[0].Quantity = 77
	assert.Equal(t, 2, s.Lines[0].Quantity, "the event's lines must be a copy")
}

func TestEvolve(t *testing.T) {
	withA := openCart(line("sku-a", 2, 500))
	withAB := openCart(line("sku-a", 2, 500), line("sku-b", 1, 1500))

	tests := []struct {
		name  string
		state cart.State
		event cart.Event
		want  cart.State
	}{
		{name: "created", state: cart.New(cartID), event: cart.Created{Owner: owner},
			want: cart.State{ID: cartID, Exists: true, Owner: owner, Version: 1, Status: cart.StatusOpen}},
		{name: "item added: new line", state: openCart(), event: cart.ItemAdded{SKU: "sku-a", Name: "Apple", Quantity: 3, UnitPriceCents: 250},
			want: cart.State{ID: cartID, Exists: true, Owner: owner, Version: 2, Status: cart.StatusOpen,
				Lines: []cart.Line{{SKU: "sku-a", Name: "Apple", Quantity: 3, UnitPriceCents: 250}}}},
		{name: "item added: appended after existing lines", state: withA, event: cart.ItemAdded{SKU: "sku-b", Name: "Banana", Quantity: 1, UnitPriceCents: 99},
			want: cart.State{ID: cartID, Exists: true, Owner: owner, Version: 3, Status: cart.StatusOpen,
				Lines: []cart.Line{line("sku-a", 2, 500), {SKU: "sku-b", Name: "Banana", Quantity: 1, UnitPriceCents: 99}}}},
		{name: "item added: existing line adds up, latest name and price win", state: withAB, event: cart.ItemAdded{SKU: "sku-a", Name: "Apple v2", Quantity: 4, UnitPriceCents: 600},
			want: cart.State{ID: cartID, Exists: true, Owner: owner, Version: 4, Status: cart.StatusOpen,
				Lines: []cart.Line{{SKU: "sku-a", Name: "Apple v2", Quantity: 6, UnitPriceCents: 600}, line("sku-b", 1, 1500)}}},
		{name: "quantity changed", state: withAB, event: cart.QuantityChanged{SKU: "sku-b", Quantity: 7},
			want: cart.State{ID: cartID, Exists: true, Owner: owner, Version: 4, Status: cart.StatusOpen,
				Lines: []cart.Line{line("sku-a", 2, 500), line("sku-b", 7, 1500)}}},
		{name: "quantity changed: unknown sku is ignored", state: withA, event: cart.QuantityChanged{SKU: "sku-z", Quantity: 7},
			want: cart.State{ID: cartID, Exists: true, Owner: owner, Version: 3, Status: cart.StatusOpen,
				Lines: []cart.Line{line("sku-a", 2, 500)}}},
		{name: "item removed: first line", state: withAB, event: cart.ItemRemoved{SKU: "sku-a"},
			want: cart.State{ID: cartID, Exists: true, Owner: owner, Version: 4, Status: cart.StatusOpen,
				Lines: []cart.Line{line("sku-b", 1, 1500)}}},
		{name: "item removed: last line leaves an empty cart", state: withA, event: cart.ItemRemoved{SKU: "sku-a"},
			want: cart.State{ID: cartID, Exists: true, Owner: owner, Version: 3, Status: cart.StatusOpen, Lines: []cart.Line{}}},
		{name: "item removed: unknown sku keeps the lines", state: withA, event: cart.ItemRemoved{SKU: "sku-z"},
			want: cart.State{ID: cartID, Exists: true, Owner: owner, Version: 3, Status: cart.StatusOpen, Lines: []cart.Line{line("sku-a", 2, 500)}}},
		{name: "checked out", state: withA, event: cart.CheckedOut{OrderID: "order-1", Owner: owner, Lines: []cart.Line{line("sku-a", 2, 500)}, TotalCents: 1000},
			want: cart.State{ID: cartID, Exists: true, Owner: owner, Version: 3, Status: cart.StatusCheckedOut, OrderID: "order-1",
				Lines: []cart.Line{line("sku-a", 2, 500)}}},
		{name: "expired", state: withA, event: cart.Expired{IdleSeconds: 3600},
			want: cart.State{ID: cartID, Exists: true, Owner: owner, Version: 3, Status: cart.StatusExpired,
				Lines: []cart.Line{line("sku-a", 2, 500)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := clone(tc.state)
			got := cart.Evolve(tc.state, tc.event)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, before, tc.state, "Evolve must not mutate its state")
		})
	}
}

// script is a realistic sequence of events touching every event type and
// every branch of Evolve.
func script() []cart.Event {
	return []cart.Event{
		cart.Created{Owner: owner},
		cart.ItemAdded{SKU: "sku-a", Name: "Apple", Quantity: 2, UnitPriceCents: 250},
		cart.ItemAdded{SKU: "sku-b", Name: "Banana", Quantity: 1, UnitPriceCents: 1000},
		cart.ItemAdded{SKU: "sku-c", Name: "Cherry", Quantity: 5, UnitPriceCents: 10},
		cart.ItemAdded{SKU: "sku-a", Name: "Apple", Quantity: 3, UnitPriceCents: 300},
		cart.QuantityChanged{SKU: "sku-b", Quantity: 4},
		cart.ItemRemoved{SKU: "sku-c"},
		cart.QuantityChanged{SKU: "sku-a", Quantity: 1},
		cart.ItemAdded{SKU: "sku-d", Name: "Date", Quantity: 9, UnitPriceCents: 5},
		cart.ItemRemoved{SKU: "sku-a"},
		cart.CheckedOut{OrderID: "order-1", Owner: owner, Lines: []cart.Line{{SKU: "sku-b"}}, TotalCents: 4045},
	}
}

func TestEvolveNeverMutatesItsInput(t *testing.T) {
	s := cart.New(cartID)
	var states, copies []cart.State
	for _, e := range script() {
		states = append(states, s)
		copies = append(copies, clone(s))
		s = cart.Evolve(s, e)
	}
	for i := range states {
		assert.Equal(t, copies[i], states[i], "state before event %d was mutated", i)
	}
}

func TestEvolveBranchesAreIndependent(t *testing.T) {
	// A state whose Lines have spare capacity: an append in place would
	// let two states evolved from it share and overwrite one backing array.
	base := openCart(line("sku-a", 2, 500))
	lines := make([]cart.Line, len(base.Lines), len(base.Lines)+8)
	copy(lines, base.Lines)
	base.Lines = lines

	events := []cart.Event{
		cart.ItemAdded{SKU: "sku-b", Name: "B", Quantity: 1, UnitPriceCents: 1},
		cart.ItemAdded{SKU: "sku-c", Name: "C", Quantity: 2, UnitPriceCents: 2},
		cart.ItemAdded{SKU: "sku-a", Name: "A", Quantity: 1, UnitPriceCents: 3},
		cart.QuantityChanged{SKU: "sku-a", Quantity: 9},
		cart.ItemRemoved{SKU: "sku-a"},
		cart.CheckedOut{OrderID: "o"},
	}
	baseCopy := clone(base)
	results := make([]cart.State, len(events))
	resultCopies := make([]cart.State, len(events))
	for i, e := range events {
		results[i] = cart.Evolve(base, e)
		resultCopies[i] = clone(results[i])
	}
	assert.Equal(t, baseCopy, base)
	for i := range results {
		assert.Equal(t, resultCopies[i], results[i], "result of event %d changed by a sibling", i)
	}
}

// run folds Decide+Evolve over commands, failing on any error.
func run(t *testing.T, s cart.State, cmds ...cart.Command) (cart.State, []cart.Event) {
	t.Helper()
	return aggtest.Run(t, cart.Decide, cart.Evolve, s, cmds...)
}

func TestFoldScript(t *testing.T) {
	s, events := run(t, cart.New(cartID),
		cart.CreateCart{By: owner},
		cart.AddItem{By: owner, SKU: "sku-a", Quantity: 2, Product: product("Apple", 250)},
		cart.AddItem{By: owner, SKU: "sku-b", Quantity: 1, Product: product("Banana", 1000)},
		cart.AddItem{By: owner, SKU: "sku-c", Quantity: 5, Product: product("Cherry", 10)},
		cart.AddItem{By: owner, SKU: "sku-a", Quantity: 3, Product: product("Apple", 300)}, // 5 × 300
		cart.ChangeQuantity{By: owner, SKU: "sku-b", Quantity: 4},                          // 4 × 1000
		cart.ChangeQuantity{By: owner, SKU: "sku-b", Quantity: 4},                          // no-op
		cart.RemoveItem{By: owner, SKU: "sku-c"},
		cart.AddItem{By: owner, SKU: "sku-d", Quantity: 9, Product: product("Date", 5)}, // 9 × 5
		cart.ChangeQuantity{By: owner, SKU: "sku-d", Quantity: 0},                       // removed
		cart.AddItem{By: owner, SKU: "sku-e", Quantity: 1, Product: product("Egg", 1)},
	)
	assert.Len(t, events, 10, "the repeated quantity change adds nothing")
	assert.Equal(t, int64(5*300+4*1000+1), s.TotalCents())
	assert.Equal(t, []cart.Line{
		{SKU: "sku-a", Name: "Apple", Quantity: 5, UnitPriceCents: 300},
		{SKU: "sku-b", Name: "Banana", Quantity: 4, UnitPriceCents: 1000},
		{SKU: "sku-e", Name: "Egg", Quantity: 1, UnitPriceCents: 1},
	}, s.Lines)
	assert.Equal(t, cart.StatusOpen, s.Status)

	s, events = run(t, s, cart.Checkout{By: owner, OrderID: "order-1", PaymentToken: "tok"})
	require.Len(t, events, 1)
	assert.Equal(t, cart.CheckedOut{OrderID: "order-1", Owner: owner, Lines: s.Lines, TotalCents: 5501, PaymentToken: "tok"}, events[0])
	assert.Equal(t, cart.StatusCheckedOut, s.Status)
	assert.Equal(t, "order-1", s.OrderID)
	assert.Equal(t, int64(5501), s.TotalCents())
}

func TestTotalCents(t *testing.T) {
	tests := []struct {
		name  string
		lines []cart.Line
		want  int64
	}{
		{name: "no lines", want: 0},
		{name: "one line", lines: []cart.Line{line("a", 3, 250)}, want: 750},
		{name: "several lines", lines: []cart.Line{line("a", 3, 250), line("b", 1, 1), line("c", 99, 0)}, want: 751},
		{name: "largest cart", lines: func() []cart.Line {
			ls := make([]cart.Line, cart.MaxLines)
			for i := range ls {
				ls[i] = line(fmt.Sprint(i), cart.MaxQuantity, 100_000_000)
			}
			return ls
		}(), want: int64(cart.MaxLines) * cart.MaxQuantity * 100_000_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, cart.State{Lines: tc.lines}.TotalCents())
		})
	}
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name    string
		typ     string
		payload string
		want    cart.Command
		kind    apperr.Kind // "" means success
		msg     string
	}{
		{name: "create", typ: cart.CmdCreate, payload: `{}`, want: cart.CreateCart{By: owner}},
		{name: "add", typ: cart.CmdAddItem, payload: `{"sku":"sku-a","quantity":3}`,
			want: cart.AddItem{By: owner, SKU: "sku-a", Quantity: 3}},
		{name: "change", typ: cart.CmdChangeQuantity, payload: `{"sku":"sku-a","quantity":0}`,
			want: cart.ChangeQuantity{By: owner, SKU: "sku-a", Quantity: 0}},
		{name: "remove", typ: cart.CmdRemoveItem, payload: `{"sku":"sku-a"}`,
			want: cart.RemoveItem{By: owner, SKU: "sku-a"}},
		{name: "checkout", typ: cart.CmdCheckout, payload: `{"orderId":"order-1","paymentToken":"tok"}`,
			want: cart.Checkout{By: owner, OrderID: "order-1", PaymentToken: "tok"}},
		{name: "checkout without token", typ: cart.CmdCheckout, payload: `{"orderId":"order-1"}`,
			want: cart.Checkout{By: owner, OrderID: "order-1"}},

		{name: "expire", typ: cart.CmdExpire, payload: `{"afterVersion":4,"idleSeconds":86400}`,
			want: cart.Expire{AfterVersion: 4, IdleSeconds: 86400}},
		{name: "expire: unknown field", typ: cart.CmdExpire, payload: `{"afterVersion":4,"now":1}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "create: unknown field", typ: cart.CmdCreate, payload: `{"owner":"mallory"}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "add: unknown field", typ: cart.CmdAddItem, payload: `{"sku":"a","quantity":1,"priceCents":1}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "add: price cannot be sent", typ: cart.CmdAddItem, payload: `{"sku":"a","quantity":1,"product":{"exists":true}}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "change: unknown field", typ: cart.CmdChangeQuantity, payload: `{"sku":"a","quantity":1,"x":1}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "remove: unknown field", typ: cart.CmdRemoveItem, payload: `{"sku":"a","quantity":1}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "checkout: unknown field", typ: cart.CmdCheckout, payload: `{"orderId":"o","total":1}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "add: wrong type", typ: cart.CmdAddItem, payload: `{"sku":"a","quantity":"1"}`, kind: apperr.Rejected, msg: "malformed command payload"},
		{name: "add: not json", typ: cart.CmdAddItem, payload: `{`, kind: apperr.Rejected, msg: "malformed command payload"},

		{name: "unknown type", typ: "EmptyCart", payload: `{}`, kind: apperr.Internal, msg: "internal error"},
		{name: "event type is not a command", typ: "CartCreated", payload: `{}`, kind: apperr.Internal, msg: "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cart.ParseCommand(tc.typ, []byte(tc.payload), owner)
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
	events := []cart.Event{
		cart.Created{Owner: owner},
		cart.ItemAdded{SKU: "sku-a", Name: "Apple", Quantity: 3, UnitPriceCents: 250},
		cart.QuantityChanged{SKU: "sku-a", Quantity: 7},
		cart.ItemRemoved{SKU: "sku-a"},
		cart.CheckedOut{OrderID: "order-1", Owner: owner, Lines: []cart.Line{line("sku-a", 2, 500), line("sku-b", 1, 1)}, TotalCents: 1001, PaymentToken: "tok"},
		cart.CheckedOut{OrderID: "order-2", Owner: owner, Lines: []cart.Line{line("sku-a", 1, 1)}, TotalCents: 1},
		cart.Expired{IdleSeconds: 86400},
	}
	seen := map[string]bool{}
	for _, e := range events {
		t.Run(fmt.Sprintf("%s/%v", e.EventType(), e), func(t *testing.T) {
			data, err := json.Marshal(e)
			require.NoError(t, err)
			got, err := cart.DecodeEvent(e.EventType(), data)
			require.NoError(t, err)
			assert.Equal(t, e, got)
			want := 1
			if e.EventType() == "ItemAdded" {
				want = 2 // gained name and unitPriceCents; v1 is upcast on read
			}
			assert.Equal(t, want, cart.SchemaVersion(e.EventType()))
		})
		seen[e.EventType()] = true
	}
	assert.Equal(t, map[string]bool{
		"CartCreated": true, "ItemAdded": true, "ItemQuantityChanged": true, "ItemRemoved": true, "CartCheckedOut": true, "CartExpired": true,
	}, seen)
}

func TestDecodeEventErrors(t *testing.T) {
	tests := []struct {
		name string
		typ  string
		data string
		want cart.Event // nil means an error is expected
	}{
		{name: "unknown type", typ: "CartExploded", data: `{}`},
		{name: "command type", typ: cart.CmdCreate, data: `{}`},
		{name: "bad data", typ: "ItemAdded", data: `{"quantity":"x"}`},
		{name: "not json", typ: "CartCreated", data: `{`},
		{name: "unknown fields are ignored", typ: "ItemRemoved", data: `{"sku":"a","reason":"later field"}`, want: cart.ItemRemoved{SKU: "a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cart.DecodeEvent(tc.typ, []byte(tc.data))
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

// TestVersionCountsEveryEvent: the state's Version is its stream version,
// which expiry deadlines name.
func TestVersionCountsEveryEvent(t *testing.T) {
	s := fold(cart.New(cartID), script()...)
	assert.Equal(t, int64(len(script())), s.Version)
	assert.Equal(t, int64(0), cart.New(cartID).Version)
}
