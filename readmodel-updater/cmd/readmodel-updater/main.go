// Command readmodel-updater projects events into read-model tables and
// publishes change notices for live clients.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/platform"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "readmodel-updater:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	r := config.FromEnv()
	cfg := config.LoadCommon(r, "readmodel-updater", 8083)
	if err := r.Err(); err != nil {
		return err
	}
	deps, err := platform.Open(cfg)
	if err != nil {
		return err
	}
	defer deps.Close()
	if err := deps.Provision(ctx, time.Minute, nil, []string{config.EventQueue("readmodel")}); err != nil {
		return err
	}
	return deps.ServeOps(ctx, nil)
}
