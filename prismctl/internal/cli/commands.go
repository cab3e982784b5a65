package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
)

// command is a node of the command tree: a group (subs) or a leaf (run).
type command struct {
	name    string
	summary string
	subs    []*command
	run     func(ctx context.Context, in *invocation, args []string) error
}

func (c *command) find(name string) *command {
	for _, s := range c.subs {
		if s.name == name {
			return s
		}
	}
	return nil
}

// root is the whole command tree.
func root() *command {
	return &command{name: "prismctl", subs: []*command{
		{name: "token", summary: "Get a development token (dev mode only)", run: runToken},
		{name: "cart", summary: "Create carts, add, set and remove items, check out, show a cart", subs: []*command{
			{name: "create", summary: "Create a cart", run: runCartCreate},
			{name: "add", summary: "Add an item to a cart", run: runCartAdd},
			{name: "set", summary: "Set an item's quantity (0 removes it)", run: runCartSet},
			{name: "remove", summary: "Remove an item from a cart", run: runCartRemove},
			{name: "checkout", summary: "Check a cart out (starts an order)", run: runCartCheckout},
			{name: "show", summary: "Show a cart", run: runCartShow},
		}},
		{name: "order", summary: "List, show and cancel orders; ship and deliver (admin)", subs: []*command{
			{name: "list", summary: "List your orders, newest first", run: runOrderList},
			{name: "show", summary: "Show an order", run: runOrderShow},
			{name: "cancel", summary: "Cancel an order", run: runOrderCancel},
			{name: "ship", summary: "Ship a confirmed order (admin)", run: runOrderShip},
			{name: "deliver", summary: "Mark a shipped order delivered (admin)", run: runOrderDeliver},
		}},
		{name: "product", summary: "Define and restock products (admin); list and show them", subs: []*command{
			{name: "define", summary: "Define a product (admin)", run: runProductDefine},
			{name: "restock", summary: "Add stock to a product (admin)", run: runProductRestock},
			{name: "list", summary: "List products", run: runProductList},
			{name: "show", summary: "Show a product", run: runProductShow},
		}},
		{name: "status", summary: "Show (or wait for) a command's status", run: runStatus},
		{name: "watch", summary: "Follow a live stream (SSE), resuming after drops", run: runWatch},
		{name: "poison", summary: "Inspect and redrive poison queues (storage access)", subs: []*command{
			{name: "list", summary: "List poisoned messages (or every queue's depths)", run: runPoisonList},
			{name: "redrive", summary: "Move poisoned messages back to their queue", run: runPoisonRedrive},
		}},
		{name: "shards", summary: "Show each command shard's owner and backlog (storage access)", run: runShards},
		{name: "rebuild", summary: "Rebuild a read-model projection and follow it", run: runRebuild},
	}}
}

// leaves calls f with the path of every runnable command.
func leaves(c *command, prefix string, f func(path string)) {
	for _, s := range c.subs {
		p := s.name
		if prefix != "" {
			p = prefix + " " + s.name
		}
		if s.run != nil {
			f(p)
		}
		leaves(s, p, f)
	}
}

func (a *App) rootUsage(w io.Writer) {
	fmt.Fprint(w, `prismctl drives a Prism stack from the shell: send commands and wait for
their outcome, read carts, orders and products, follow live streams, and
operate poison queues and read-model rebuilds.

Usage: prismctl [global flags] <command> [arguments] [flags]

Commands:
`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range root().subs {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, "\n")
	a.globalsUsage(w)
	fmt.Fprint(w, `
Getting started (against `+"`make up`"+`):
  export PRISM_TOKEN=$(prismctl token alice)
  prismctl product define TEA-1 "Green tea" 450 20 --user shopkeeper
  CART=$(prismctl cart create --quiet)
  prismctl cart add $CART TEA-1 2
  prismctl cart checkout $CART --pay pm_ok
  prismctl watch me

`+exitCodesHelp+`
Run 'prismctl <command> --help' (or 'prismctl help <command>') for details.
`)
}

const exitCodesHelp = `Exit codes:
  0    success (a command succeeded)
  1    usage error, a service could not be reached, or the request was refused
  2    the command was rejected or failed; a rebuild failed
  3    the command was still pending when --timeout ran out
  130  interrupted (Ctrl-C)
`

func (a *App) groupUsage(w io.Writer, c *command, path string) {
	fmt.Fprintf(w, "Usage: prismctl %s <command> [arguments] [flags]\n\nCommands:\n", path)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range c.subs {
		fmt.Fprintf(tw, "  %s\t%s\n", s.name, s.summary)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nRun 'prismctl %s <command> --help' for details.\n", path)
}
