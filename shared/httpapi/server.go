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
		return nil, fmt.Errorf("port %s is already in use: stop whatever listens there (is another `make up` running?) or set PRISM_HTTP_ADDR (PRISM_OPS_ADDR for an ops port)", addr)
	}
	return l, err
}

// Server timeouts every Prism server gets unless it sets its own (Serve
// fills in the zero ones): a client that sends its request slowly, reads
// the answer slowly or holds an idle connection is cut off. A handler that
// must outlive them (an SSE stream) extends its own deadlines with
// http.ResponseController.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxHeaderBytes    = 64 << 10
)

// WithTimeouts fills srv's zero timeouts (and header size limit) with the
// defaults and returns it.
func WithTimeouts(srv *http.Server) *http.Server {
	if srv.ReadHeaderTimeout == 0 {
		srv.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if srv.ReadTimeout == 0 {
		srv.ReadTimeout = DefaultReadTimeout
	}
	if srv.WriteTimeout == 0 {
		srv.WriteTimeout = DefaultWriteTimeout
	}
	if srv.IdleTimeout == 0 {
		srv.IdleTimeout = DefaultIdleTimeout
	}
	if srv.MaxHeaderBytes == 0 {
		srv.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return srv
}

// Serve serves srv on l until ctx ends, then runs beforeShutdown (close
// long-lived streams here, or Shutdown waits for them) and shuts down within
// timeout. Zero timeouts of srv get the defaults (WithTimeouts).
func Serve(ctx context.Context, srv *http.Server, l net.Listener, timeout time.Duration, beforeShutdown func()) error {
	WithTimeouts(srv)
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
