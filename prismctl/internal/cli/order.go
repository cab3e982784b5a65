package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/prism-es/prism/prismctl/internal/client"
)

// listFlags are the paging flags of list commands.
type listFlags struct {
	limit  int
	cursor string
	all    bool
}

func (in *invocation) listFlags() *listFlags {
	l := &listFlags{}
	in.fs.IntVar(&l.limit, "limit", 0, "page size, 1-100 (default: the server's, 20)")
	in.fs.StringVar(&l.cursor, "cursor", "", "start at this page (the nextCursor of the previous one)")
	in.fs.BoolVar(&l.all, "all", false, "follow nextCursor and print every page")
	return l
}

// pages fetches one page, or all of them with --all, and returns the items
// (typed and raw) and the cursor of the page after the last one fetched.
func pages[T any](ctx context.Context, l *listFlags, fetch func(ctx context.Context, limit int, cursor string) (client.Page[T], error)) ([]T, []json.RawMessage, string, error) {
	var items []T
	var raw []json.RawMessage
	cursor := l.cursor
	for {
		p, err := fetch(ctx, l.limit, cursor)
		if err != nil {
			return nil, nil, "", err
		}
		items = append(items, p.Items...)
		raw = append(raw, p.Raw...)
		cursor = p.NextCursor
		if !l.all || cursor == "" {
			return items, raw, cursor, nil
		}
	}
}

// printPage prints a list with --json: {"items": [...], "nextCursor"?}.
func (in *invocation) printPage(raw []json.RawMessage, next string) error {
	if raw == nil {
		raw = []json.RawMessage{}
	}
	return in.printJSON(struct {
		Items      []json.RawMessage `json:"items"`
		NextCursor string            `json:"nextCursor,omitempty"`
	}{raw, next})
}

func runOrderList(ctx context.Context, in *invocation, args []string) error {
	s := spec{maxArgs: 0, about: `
List your orders, newest first (GET /api/orders), one page at a time: --limit
sets the page size, --cursor continues where a page ended, --all follows
nextCursor to the end.`,
		examples: `prismctl order list
prismctl order list --limit 5 --all --json`}
	l := in.listFlags()
	if _, err := in.parse(s, args); err != nil {
		return err
	}
	c, err := in.api(ctx, authUser)
	if err != nil {
		return err
	}
	items, raw, next, err := pages(ctx, l, c.Orders)
	if err != nil {
		return explain(err)
	}
	if in.g.json {
		return in.printPage(raw, next)
	}
	if len(items) == 0 {
		fmt.Fprintln(in.Stdout, "no orders")
	} else {
		t := newTable(in.Stdout, "ORDER", "STATUS", "ITEMS", "TOTAL", "CREATED")
		for _, o := range items {
			status := o.Status
			if o.CancelReason != "" {
				status += " (" + o.CancelReason + ")"
			}
			t.row(o.OrderID, status, o.ItemCount, money(o.TotalCents), o.CreatedAt)
		}
		t.flush()
	}
	if next != "" {
		in.note("more: prismctl order list --cursor %s (or --all)", next)
	}
	return nil
}

func runOrderShow(ctx context.Context, in *invocation, args []string) error {
	s := spec{args: "<orderId>", minArgs: 1, maxArgs: 1, about: `
Show an order of yours (GET /api/orders/{orderId}): status, items, total and
the history of its status changes. --min-version waits for your own write, as
for ` + "`cart show`" + `.`,
		examples: `prismctl order show $ORDER
prismctl order show $ORDER --json`}
	rw := in.readWaitFlags("order")
	pos, err := in.parse(s, args)
	if err != nil {
		return err
	}
	c, err := in.api(ctx, authUser)
	if err != nil {
		return err
	}
	d, err := c.Order(ctx, pos[0], rw.options())
	if err != nil {
		return explain(err)
	}
	in.noteIfStale(rw, d.Stale, d.Value.Version)
	if in.g.json {
		return in.printRaw(d.Raw)
	}
	o := d.Value
	status := o.Status
	if o.CancelReason != "" {
		status += " (" + o.CancelReason + ")"
	}
	fields(in.Stdout, "order", o.OrderID, "status", status, "cart", o.CartID,
		"version", strconv.FormatInt(o.Version, 10), "created", o.CreatedAt, "updated", o.UpdatedAt)
	in.printItems(o.Items, o.TotalCents)
	if len(o.History) > 0 {
		steps := make([]string, len(o.History))
		for i, h := range o.History {
			steps[i] = h.Status
		}
		fmt.Fprintf(in.Stdout, "\nhistory: %s\n", strings.Join(steps, " → "))
	}
	return nil
}

func runOrderCancel(ctx context.Context, in *invocation, args []string) error {
	return orderStep(ctx, in, args, "CancelOrder", authUser, `
Cancel an order of yours (CancelOrder). The order's reserved stock is released;
a shipped or delivered order cannot be cancelled (rejected, exit 2).`, client.CancelOrder)
}

func runOrderShip(ctx context.Context, in *invocation, args []string) error {
	tracking := in.fs.String("tracking", "", "the carrier's tracking number (the order shows it; the shipped e-mail and SMS carry it)")
	return orderStep(ctx, in, args, "ShipOrder", authAdmin, `
Ship a confirmed order (ShipOrder; admin), with --tracking the carrier's
tracking number.`, func(id string) client.Command { return client.ShipOrder(id, *tracking) })
}

func runOrderDeliver(ctx context.Context, in *invocation, args []string) error {
	return orderStep(ctx, in, args, "DeliverOrder", authAdmin, `
Mark a shipped order delivered (DeliverOrder; admin).`, client.DeliverOrder)
}

func orderStep(ctx context.Context, in *invocation, args []string, name string, need auth, about string, build func(string) client.Command) error {
	verb := strings.TrimPrefix(in.path, "order ")
	ex := "prismctl order " + verb + " $ORDER"
	if need == authAdmin {
		ex += " --user shopkeeper"
	}
	s := spec{args: "<orderId>", minArgs: 1, maxArgs: 1, exitCodes: true, about: about + waitAbout, examples: ex}
	w := in.waitFlags()
	pos, err := in.parse(s, args)
	if err != nil {
		return err
	}
	return in.send(ctx, need, build(pos[0]), w, "order")
}
