package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/httpapi"
)

// httpSeries counts the series of Prism's HTTP metrics in the default registry.
func httpSeries(t *testing.T) int {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	require.NoError(t, err)
	n := 0
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "prism_http_") {
			n += len(f.GetMetric())
		}
	}
	return n
}

// inventedMethod is a valid HTTP token no one uses as a method.
func inventedMethod() string {
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, 12)
	for i := range b {
		b[i] = letters[rand.IntN(len(letters))]
	}
	return "X" + string(b)
}

// TestInventedMethodsMakeNoNewSeries: Go accepts any token as a method, and
// the metrics once labelled the raw method, so every invented method was a
// new series for ever (memory without bound, on an unauthenticated port).
// Methods are now a fixed set plus OTHER, and routes a template or
// "unmatched".
func TestInventedMethodsMakeNoNewSeries(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /things/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	mux.Handle("/", httpapi.NotFoundHandler())
	srv := httptest.NewServer(httpapi.Stack(httpapi.PatternRoute, mux))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	send := func(method, path string) {
		req, err := http.NewRequest(method, srv.URL+path, nil)
		require.NoError(t, err)
		res, err := client.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	// Warm up: the OTHER series of both routes exist from here on.
	send(inventedMethod(), "/things/1")
	send(inventedMethod(), "/nowhere")
	before := httpSeries(t)
	for i := range 10_000 {
		send(inventedMethod(), fmt.Sprintf("/random-%d/%s", i, inventedMethod()))
	}
	assert.Equal(t, before, httpSeries(t), "10,000 invented methods on 10,000 paths leave the metrics the same size")
	assert.Equal(t, "OTHER", httpapi.MethodLabel("PROPFIND"))
	assert.Equal(t, "GET", httpapi.MethodLabel("GET"))
}

func TestAPIAnswersAreNosniff(t *testing.T) {
	for name, write := range map[string]func(http.ResponseWriter, *http.Request){
		"json":     func(w http.ResponseWriter, r *http.Request) { httpapi.WriteJSON(w, 200, map[string]int{"a": 1}) },
		"raw json": func(w http.ResponseWriter, r *http.Request) { httpapi.WriteRawJSON(w, 202, []byte(`{}`)) },
		"problem": func(w http.ResponseWriter, r *http.Request) {
			httpapi.WriteError(w, r, apperr.New(apperr.NotFound, "x"))
		},
		"405":       httpapi.MethodNotAllowedHandler().ServeHTTP,
		"404 route": httpapi.NotFoundHandler().ServeHTTP,
		"rate limit": func(w http.ResponseWriter, r *http.Request) {
			httpapi.WriteError(w, r, apperr.New(apperr.RateLimited, "slow down"))
		},
	} {
		rec := httptest.NewRecorder()
		write(rec, httptest.NewRequest("GET", "/", nil))
		assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"), name)
	}
	rec := httptest.NewRecorder()
	httpapi.WriteError(rec, httptest.NewRequest("GET", "/", nil), apperr.New(apperr.RateLimited, "slow down"))
	assert.Equal(t, http.StatusTooManyRequests, rec.Code)
}

func TestPublicReadinessSaysNoMore(t *testing.T) {
	mux := http.NewServeMux()
	httpapi.MountPublic(mux, map[string]httpapi.Check{
		"storage": func(context.Context) error { return errors.New("dial tcp 10.0.0.7:443: connection refused") },
	})
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	assert.Equal(t, 503, rec.Code)
	assert.JSONEq(t, `{"status":"not ready"}`, rec.Body.String(), "no dependency names, addresses or errors")
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	assert.Equal(t, 404, rec.Code, "no metrics on a public port")
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	assert.Equal(t, 200, rec.Code)
}

// TestServeGivesEveryServerTimeouts: a server without timeouts lets a
// client hold a connection open for ever by sending its request slowly.
func TestServeGivesEveryServerTimeouts(t *testing.T) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	})}
	httpapi.WithTimeouts(srv)
	assert.Equal(t, httpapi.DefaultReadTimeout, srv.ReadTimeout)
	assert.Equal(t, httpapi.DefaultWriteTimeout, srv.WriteTimeout)
	assert.Equal(t, httpapi.DefaultIdleTimeout, srv.IdleTimeout)
	assert.Equal(t, httpapi.DefaultReadHeaderTimeout, srv.ReadHeaderTimeout)

	// Served through Serve, a slow body is cut off at the read timeout.
	slow := &http.Server{ReadTimeout: 300 * time.Millisecond, Handler: srv.Handler}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- httpapi.Serve(ctx, slow, l, time.Second, nil) }()
	defer func() { cancel(); <-done }()

	conn, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc")
	require.NoError(t, err)
	began := time.Now()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, _ = io.ReadAll(conn) // returns when the server closes the connection
	assert.Less(t, time.Since(began), 5*time.Second, "the server closed a connection whose body never came")
}

func TestClientIPs(t *testing.T) {
	none, err := httpapi.ParseTrustedProxies(nil)
	require.NoError(t, err)
	proxies, err := httpapi.ParseTrustedProxies([]string{"10.0.0.0/8", "192.168.1.1"})
	require.NoError(t, err)
	req := func(peer string, xff ...string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		for _, v := range xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		return r
	}
	assert.Equal(t, "203.0.113.9", none.Of(req("203.0.113.9:5555", "1.2.3.4")), "no trusted proxy: X-Forwarded-For is ignored")
	assert.Equal(t, "10.1.1.1", none.Of(req("10.1.1.1:5555", "1.2.3.4")))
	assert.Equal(t, "1.2.3.4", proxies.Of(req("10.1.1.1:5555", "1.2.3.4")), "the ingress's word is taken")
	assert.Equal(t, "1.2.3.4", proxies.Of(req("10.1.1.1:5555", "6.6.6.6, 1.2.3.4")), "what the client wrote itself (left) is not")
	assert.Equal(t, "1.2.3.4", proxies.Of(req("10.1.1.1:5555", "6.6.6.6", "1.2.3.4, 192.168.1.1")), "proxies are skipped from the right")
	assert.Equal(t, "203.0.113.9", proxies.Of(req("203.0.113.9:5555", "1.2.3.4")), "a peer that is no proxy cannot claim another address")
	assert.Equal(t, "10.1.1.1", proxies.Of(req("10.1.1.1:5555", "not-an-ip")))
	assert.Equal(t, "2001:db8::1", none.Of(req("[2001:db8::1]:443")))
	_, err = httpapi.ParseTrustedProxies([]string{"10.0.0.0/33"})
	assert.Error(t, err)
}
