// Command stream-service pushes read-model changes to clients over
// Server-Sent Events, with resume from a bounded history.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/platform"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "stream-service:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	r := config.FromEnv()
	cfg := config.LoadCommon(r, "stream-service", 8081)
	if err := r.Err(); err != nil {
		return err
	}
	deps, err := platform.Open(cfg)
	if err != nil {
		return err
	}
	defer deps.Close()
	return deps.ServeOps(ctx, nil)
}
