// Command prismctl is the command-line client of a Prism stack: it sends
// commands and waits for their outcome, reads carts, orders and products,
// follows live streams, and operates poison queues and read-model rebuilds.
// `prismctl --help` lists the commands; docs/prismctl.md shows each one.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/prism-es/prism/prismctl/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(cli.ExitCode(err))
}

// run runs prismctl with args (without the program name), printing results
// to stdout and errors to stderr; cli.ExitCode maps its error to the exit
// code. Ctrl-C cancels ctx.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	app := cli.New(stdout, stderr, os.LookupEnv)
	err := app.Run(ctx, args)
	app.Report(err)
	return err
}
