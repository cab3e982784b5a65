package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/prism-es/prism/prismctl/internal/client"
)

func runProductDefine(ctx context.Context, in *invocation, args []string) error {
	s := spec{args: "<sku> <name> <priceCents> <stock>", minArgs: 4, maxArgs: 4, exitCodes: true, about: `
Define a product (DefineProduct; admin): its SKU, name, price in cents and
initial stock. Needs an admin token: --token/$PRISM_TOKEN with the admin role,
or --user NAME, which fetches a dev token with the admin role.` + waitAbout,
		examples: `prismctl product define TEA-1 "Green tea" 450 20 --user shopkeeper
prismctl product define TEA-1 "Green tea" 450 20 --token "$ADMIN" --json`}
	w := in.waitFlags()
	pos, err := in.parse(s, args)
	if err != nil {
		return err
	}
	price, err := in.intArg("priceCents", pos[2])
	if err != nil {
		return err
	}
	stock, err := in.intArg("stock", pos[3])
	if err != nil {
		return err
	}
	return in.send(ctx, authAdmin, client.DefineProduct(pos[0], pos[1], price, stock), w, "product")
}

func runProductRestock(ctx context.Context, in *invocation, args []string) error {
	s := spec{args: "<sku> <qty>", minArgs: 2, maxArgs: 2, exitCodes: true, about: `
Add qty to a product's stock (RestockProduct; admin).` + waitAbout,
		examples: `prismctl product restock TEA-1 10 --user shopkeeper`}
	w := in.waitFlags()
	pos, err := in.parse(s, args)
	if err != nil {
		return err
	}
	qty, err := in.intArg("qty", pos[1])
	if err != nil {
		return err
	}
	return in.send(ctx, authAdmin, client.RestockProduct(pos[0], qty), w, "product")
}

func runProductList(ctx context.Context, in *invocation, args []string) error {
	s := spec{maxArgs: 0, about: `
List products in SKU order (GET /api/products; public, no token needed),
paged like ` + "`order list`" + `.`,
		examples: `prismctl product list
prismctl product list --all --json`}
	l := in.listFlags()
	if _, err := in.parse(s, args); err != nil {
		return err
	}
	c, err := in.api(ctx, authOptional)
	if err != nil {
		return err
	}
	items, raw, next, err := pages(ctx, l, c.Products)
	if err != nil {
		return explain(err)
	}
	if in.g.json {
		return in.printPage(raw, next)
	}
	if len(items) == 0 {
		fmt.Fprintln(in.Stdout, "no products")
	} else {
		t := newTable(in.Stdout, "SKU", "NAME", "PRICE", "AVAILABLE", "VERSION")
		for _, p := range items {
			t.row(p.SKU, p.Name, money(p.PriceCents), p.Available, p.Version)
		}
		t.flush()
	}
	if next != "" {
		in.note("more: prismctl product list --cursor %s (or --all)", next)
	}
	return nil
}

func runProductShow(ctx context.Context, in *invocation, args []string) error {
	s := spec{args: "<sku>", minArgs: 1, maxArgs: 1, about: `
Show one product (GET /api/products/{sku}; public).`,
		examples: `prismctl product show TEA-1`}
	pos, err := in.parse(s, args)
	if err != nil {
		return err
	}
	c, err := in.api(ctx, authOptional)
	if err != nil {
		return err
	}
	d, err := c.Product(ctx, pos[0])
	if err != nil {
		return explain(err)
	}
	if in.g.json {
		return in.printRaw(d.Raw)
	}
	p := d.Value
	fields(in.Stdout, "sku", p.SKU, "name", p.Name, "price", money(p.PriceCents),
		"available", strconv.FormatInt(p.Available, 10), "version", strconv.FormatInt(p.Version, 10), "updated", p.UpdatedAt)
	return nil
}

func runStatus(ctx context.Context, in *invocation, args []string) error {
	s := spec{args: "<commandId>", minArgs: 1, maxArgs: 1, exitCodes: true, about: `
Show a command's status (GET /api/commands/{commandId}): pending, succeeded,
rejected (with the business reason) or failed. --wait polls until it is final,
up to --timeout. Statuses are kept for 24 h and visible only to the user who
sent the command. The exit code follows the status: 2 for rejected or failed.`,
		examples: `prismctl status 6f1c2a9e-8d0b-4c55-9a43-1f2e3d4c5b6a
prismctl status $CMD --wait --timeout 1m --json`}
	wait := in.fs.Bool("wait", false, "poll until the status is final")
	timeout := in.fs.Duration("timeout", DefaultTimeout, "how long --wait waits")
	pos, err := in.parse(s, args)
	if err != nil {
		return err
	}
	c, err := in.api(ctx, authUser)
	if err != nil {
		return err
	}
	var st client.Status
	timedOut := false
	if *wait {
		wctx, cancel := context.WithTimeout(ctx, *timeout)
		st, err = c.Wait(wctx, pos[0])
		cancel()
		if err != nil && ctx.Err() == nil && wctx.Err() != nil {
			err, timedOut = nil, true
		}
	} else {
		st, err = c.Status(ctx, pos[0])
	}
	if err != nil {
		return explain(err)
	}
	r := commandResult{CommandID: pos[0], AggregateID: st.AggregateID, TimedOut: timedOut}
	r.apply(st)
	if st.CommandID != "" {
		r.CommandID = st.CommandID
	}
	if !in.g.json {
		fields(in.Stdout, "command", withType(r.CommandID, r.Type), "aggregate", r.AggregateID, "updated", r.UpdatedAt)
	}
	return in.finish(r, nil, "", *timeout)
}
