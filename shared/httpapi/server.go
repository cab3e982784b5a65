package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Listen opens addr, turning "address already in use" into a clear message.
func Listen(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("port %s is already in use: stop whatever listens there (is another `make up` running?) or set PRISM_HTTP_ADDR", addr)
	}
	return l, err
}

// Serve serves srv on l until ctx ends, then runs beforeShutdown (close
// long-lived streams here, or Shutdown waits for them) and shuts down within
// timeout.
func Serve(ctx context.Context, srv *http.Server, l net.Listener, timeout time.Duration, beforeShutdown func()) error {
	if srv.ReadHeaderTimeout == 0 {
		srv.ReadHeaderTimeout = 10 * time.Second
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	slog.Info("listening", "addr", l.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if beforeShutdown != nil {
		beforeShutdown()
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
