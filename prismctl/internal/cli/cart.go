package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/prism-es/prism/prismctl/internal/client"
)

func runToken(ctx context.Context, in *invocation, args []string) error {
	s := spec{args: "<userId>", minArgs: 1, maxArgs: 1, about: `
Get a development token for userId from POST /api/dev/token and print it (with
--json, the whole answer: token, expiresAt, roles). The route exists only when
the API runs in dev mode, as it does under ` + "`make up`" + `. Tokens last 12 h.`,
		examples: `export PRISM_TOKEN=$(prismctl token alice)
prismctl token shopkeeper --admin --json`}
	admin := in.fs.Bool("admin", false, "give the token the admin role")
	pos, err := in.parse(s, args)
	if err != nil {
		return err
	}
	t, err := in.devToken(ctx, pos[0], *admin)
	if err != nil {
		return err
	}
	if in.g.json {
		return in.printRaw(t.Raw)
	}
	_, err = fmt.Fprintln(in.Stdout, t.Token)
	return err
}

func runCartCreate(ctx context.Context, in *invocation, args []string) error {
	s := spec{exitCodes: true, about: `
Create a cart (CreateCart). The API picks its id unless --id gives one.` + waitAbout,
		examples: `prismctl cart create --user alice
CART=$(prismctl cart create --quiet)
prismctl cart create --id 0b6f3c1e-4a1d-4f7e-9a59-3f1d2b8c7e10 --no-wait --json`}
	id := in.fs.String("id", "", "the cart's id (a UUID)")
	w := in.waitFlags()
	if _, err := in.parse(s, args); err != nil {
		return err
	}
	return in.send(ctx, authUser, client.CreateCart(*id), w, "cart")
}

func runCartAdd(ctx context.Context, in *invocation, args []string) error {
	s := spec{args: "<cartId> <sku> <qty>", minArgs: 3, maxArgs: 3, exitCodes: true, about: `
Add qty (1-99) of sku to a cart (AddItem).` + waitAbout,
		examples: `prismctl cart add $CART TEA-1 2
prismctl cart add $CART NOPE 1      # rejected: unknown product NOPE (exit 2)`}
	return cartQuantity(ctx, in, args, s, client.AddItem)
}

func runCartSet(ctx context.Context, in *invocation, args []string) error {
	s := spec{args: "<cartId> <sku> <qty>", minArgs: 3, maxArgs: 3, exitCodes: true, about: `
Set the quantity of sku in a cart (ChangeQuantity); 0 removes the item.` + waitAbout,
		examples: `prismctl cart set $CART TEA-1 5
prismctl cart set $CART TEA-1 0 --no-wait`}
	return cartQuantity(ctx, in, args, s, client.ChangeQuantity)
}

// cartQuantity runs a "<cartId> <sku> <qty>" cart command built by command.
func cartQuantity(ctx context.Context, in *invocation, args []string, s spec, command func(cartID, sku string, qty int64) client.Command) error {
	w := in.waitFlags()
	pos, err := in.parse(s, args)
	if err != nil {
		return err
	}
	qty, err := in.intArg("qty", pos[2])
	if err != nil {
		return err
	}
	return in.send(ctx, authUser, command(pos[0], pos[1], qty), w, "cart")
}

func runCartRemove(ctx context.Context, in *invocation, args []string) error {
	s := spec{args: "<cartId> <sku>", minArgs: 2, maxArgs: 2, exitCodes: true, about: `
Remove sku from a cart (RemoveItem).` + waitAbout,
		examples: `prismctl cart remove $CART TEA-1`}
	w := in.waitFlags()
	pos, err := in.parse(s, args)
	if err != nil {
		return err
	}
	return in.send(ctx, authUser, client.RemoveItem(pos[0], pos[1]), w, "cart")
}

func runCartCheckout(ctx context.Context, in *invocation, args []string) error {
	s := spec{args: "<cartId>", minArgs: 1, maxArgs: 1, exitCodes: true, about: `
Check a cart out (CheckoutCart). The 202 names the order the checkout starts;
--quiet prints that order id. "succeeded" means the cart is checked out: the
order then goes on through stock reservation and payment (follow it with
` + "`prismctl watch order/<orderId>` or `prismctl order show <orderId>`" + `).
--pay picks the local payment simulator's answer: pm_ok (approved),
pm_declined (declined) or pm_slow (answers after the payment deadline).` + waitAbout,
		examples: `prismctl cart checkout $CART
ORDER=$(prismctl cart checkout $CART --pay pm_declined --quiet)`}
	pay := in.fs.String("pay", "", "payment token: pm_ok (the API's default), pm_declined or pm_slow")
	w := in.waitFlags()
	pos, err := in.parse(s, args)
	if err != nil {
		return err
	}
	return in.send(ctx, authUser, client.Checkout(pos[0], *pay), w, "cart")
}

func runCartShow(ctx context.Context, in *invocation, args []string) error {
	s := spec{args: "<cartId>", minArgs: 1, maxArgs: 1, about: `
Show a cart of yours (GET /api/carts/{cartId}). --min-version N waits (up to
--wait, at most 10s) until the read model has caught up with version N, so you
read your own write; if it has not, the cart is shown with a "stale" note.`,
		examples: `prismctl cart show $CART
prismctl cart show $CART --min-version 3 --json`}
	rw := in.readWaitFlags("cart")
	pos, err := in.parse(s, args)
	if err != nil {
		return err
	}
	c, err := in.api(ctx, authUser)
	if err != nil {
		return err
	}
	d, err := c.Cart(ctx, pos[0], rw.options())
	if err != nil {
		return explain(err)
	}
	in.noteIfStale(rw, d.Stale, d.Value.Version)
	if in.g.json {
		return in.printRaw(d.Raw)
	}
	cart := d.Value
	fields(in.Stdout, "cart", cart.CartID, "status", cart.Status, "order", cart.OrderID,
		"version", strconv.FormatInt(cart.Version, 10), "updated", cart.UpdatedAt)
	in.printItems(cart.Items, cart.TotalCents)
	return nil
}

// printItems prints line items and the total.
func (in *invocation) printItems(items []client.LineItem, totalCents int64) {
	if len(items) == 0 {
		fmt.Fprintln(in.Stdout, "\n(no items)")
		return
	}
	fmt.Fprintln(in.Stdout)
	t := newTable(in.Stdout, "SKU", "NAME", "QTY", "UNIT", "SUBTOTAL")
	for _, it := range items {
		t.row(it.SKU, it.Name, it.Quantity, money(it.UnitPriceCents), money(it.UnitPriceCents*it.Quantity))
	}
	t.row("", "", "", "total", money(totalCents))
	t.flush()
}

// intArg parses a whole-number argument.
func (in *invocation) intArg(name, v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, usagef(in.path, "%s %q is not a whole number", name, v)
	}
	return n, nil
}
