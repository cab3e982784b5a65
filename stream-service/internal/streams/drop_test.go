package streams

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/notices"
)

func TestAStalledClientIsDroppedWithoutDelayingOthers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{ClientBuffer: 32}, true)
	alice := newID("alice-")
	cart := h.create(t, "cart", alice)
	stream := notices.CartStream(cart)
	tok := h.token(t, alice)
	droppedBefore := testutil.ToFloat64(clientsDropped)

	healthy := h.open(t, "/streams/carts/"+cart, tok)
	stalled := dialStalled(t, h.url, h.ticketPath(t, "/streams/carts/"+cart, tok))
	require.True(t, waitFor(t, func() bool { return attachedTo(h.hub, stream) == 2 }, "both clients attached"))

	// 2,000 notices of 4 KiB (8 MB, more than the kernel buffers of the
	// stalled connection), in batches the healthy client's small buffer holds.
	const total, batch = 2000, 10
	pad := strings.Repeat("x", 4096)
	got := 0
	for got < total {
		data := make([]string, batch)
		for i := range data {
			data[i] = fmt.Sprintf(`{"n":%d,"pad":"%s"}`, got+i, pad)
		}
		ids := h.publish(t, h.pub, stream, "cart.updated", data...)
		for _, id := range ids {
			require.Equal(t, id, healthy.next(t).ID, "notice %d", got)
			got++
		}
	}

	assert.Greater(t, testutil.ToFloat64(clientsDropped), droppedBefore, "the stalled client was dropped")
	assert.Equal(t, 1, attachedTo(h.hub, stream), "only the healthy client is left")
	// The server closed the stalled connection: reading it now ends (after
	// whatever the kernel had buffered) instead of waiting forever.
	require.NoError(t, stalled.SetReadDeadline(time.Now().Add(wait)))
	_, err := io.Copy(io.Discard, stalled)
	var ne net.Error
	assert.False(t, errors.As(err, &ne) && ne.Timeout(), "the stalled connection did not end: %v", err)
}

// dialStalled opens a stream (path holds its ticket) over a raw connection
// with a tiny receive buffer and never reads it.
func dialStalled(t *testing.T, base, path string) net.Conn {
	t.Helper()
	u, err := url.Parse(base)
	require.NoError(t, err)
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
	conn, err := d.Dial("tcp", u.Host)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", path, u.Host)
	require.NoError(t, err)
	return conn
}
