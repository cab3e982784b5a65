package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/prismctl/internal/client"
)

func newClient(t *testing.T, h http.Handler) *client.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := client.New(srv.URL, "tok")
	c.PollInterval = time.Millisecond
	c.MaxPollInterval = 2 * time.Millisecond
	return c
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func TestProblemIsDecodedWithItsFields(t *testing.T) {
	t.Parallel()
	c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"type":"urn:prism:problem:invalid","title":"Bad Request","status":400,
			"detail":"invalid request","correlationId":"c-1",
			"errors":[{"field":"quantity","message":"must be between 1 and 99"},{"field":"sku","message":"is required"}]}`)
	}))
	_, err := c.Send(context.Background(), client.AddItem("9b7e5c1e-0000-4000-8000-000000000001", "", 0))
	p, ok := client.AsProblem(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, 400, p.Status)
	assert.Equal(t, "invalid", p.Kind())
	assert.Equal(t, "c-1", p.CorrelationID)
	assert.Equal(t, []client.FieldError{{Field: "quantity", Message: "must be between 1 and 99"}, {Field: "sku", Message: "is required"}}, p.Errors)
	assert.Equal(t, "Bad Request: invalid request\n  quantity: must be between 1 and 99\n  sku: is required", err.Error())
}

func TestANonProblemErrorStillReadsWell(t *testing.T) {
	t.Parallel()
	c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html>upstream gone</html>")
	}))
	_, err := c.Status(context.Background(), "x")
	assert.EqualError(t, err, "Bad Gateway: <html>upstream gone</html>")
	assert.True(t, client.HasStatus(err, http.StatusBadGateway))
}

func TestCommandsCarryAnIdempotencyKeyAndTheToken(t *testing.T) {
	t.Parallel()
	var got *http.Request
	var body map[string]any
	c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		_ = json.NewDecoder(r.Body).Decode(&body)
		w.Header().Set("Idempotent-Replayed", "true")
		writeJSON(w, http.StatusAccepted, `{"commandId":"cmd-1","aggregateId":"cart-1","status":"pending","statusUrl":"/api/commands/cmd-1","orderId":"ord-1"}`)
	}))
	a, err := c.Send(context.Background(), client.Checkout("cart-1", "pm_declined"))
	require.NoError(t, err)
	assert.Equal(t, http.MethodPost, got.Method)
	assert.Equal(t, "/api/carts/cart-1/checkout", got.URL.Path)
	assert.Equal(t, "Bearer tok", got.Header.Get("Authorization"))
	assert.Equal(t, "application/json", got.Header.Get("Content-Type"))
	key := got.Header.Get(client.IdempotencyHeader)
	assert.Len(t, key, 36, "a generated UUID")
	assert.Equal(t, key, a.Key)
	assert.True(t, a.Replayed)
	assert.Equal(t, map[string]any{"paymentToken": "pm_declined"}, body)
	assert.Equal(t, client.Accepted{CommandID: "cmd-1", AggregateID: "cart-1", Status: "pending", StatusURL: "/api/commands/cmd-1", OrderID: "ord-1", Key: key, Replayed: true}, a)

	// A given key is sent as is.
	cmd := client.RemoveItem("cart-1", "TEA 1")
	cmd.Key = "my-key"
	_, err = c.Send(context.Background(), cmd)
	require.NoError(t, err)
	assert.Equal(t, "my-key", got.Header.Get(client.IdempotencyHeader))
	assert.Equal(t, http.MethodDelete, got.Method)
	assert.Equal(t, "/api/carts/cart-1/items/TEA%201", got.URL.EscapedPath())
}

func TestAKeyInFlightIsRetriedWithTheSameKey(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var keys []string
	c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get(client.IdempotencyHeader))
		n := len(keys)
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"title":"Conflict","status":409,"detail":"a request with this Idempotency-Key is still being processed"}`)
			return
		}
		writeJSON(w, http.StatusAccepted, `{"commandId":"cmd-1","aggregateId":"a","status":"pending"}`)
	}))
	c.MaxRetryAfter = time.Millisecond
	a, err := c.Send(context.Background(), client.CreateCart(""))
	require.NoError(t, err)
	assert.Equal(t, "cmd-1", a.CommandID)
	require.Len(t, keys, 2)
	assert.Equal(t, keys[0], keys[1])
}

func TestWaitPollsUntilAFinalStatus(t *testing.T) {
	t.Parallel()
	var polls atomic.Int32
	c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/api/commands/cmd-1", r.URL.Path)
		switch polls.Add(1) {
		case 1, 2:
			writeJSON(w, http.StatusOK, `{"commandId":"cmd-1","status":"pending","aggregateId":"a"}`)
		case 3:
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"title":"Service Unavailable","status":503}`)
		default:
			writeJSON(w, http.StatusOK, `{"commandId":"cmd-1","status":"rejected","reason":"unknown product NOPE","aggregateId":"a","version":0}`)
		}
	}))
	s, err := c.Wait(context.Background(), "cmd-1")
	require.NoError(t, err)
	assert.Equal(t, client.Status{CommandID: "cmd-1", Status: "rejected", Reason: "unknown product NOPE", AggregateID: "a"}, s)
	assert.Equal(t, int32(4), polls.Load(), "no poll after the final status")
}

func TestWaitStopsAtTheDeadline(t *testing.T) {
	t.Parallel()
	c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, `{"commandId":"cmd-1","status":"pending","aggregateId":"a"}`)
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	s, err := c.Wait(ctx, "cmd-1")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, "pending", s.Status)
}

func TestWaitReturnsA404(t *testing.T) {
	t.Parallel()
	c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"title":"Not Found","status":404,"detail":"command not found"}`)
	}))
	_, err := c.Wait(context.Background(), "cmd-1")
	assert.EqualError(t, err, "Not Found: command not found")
}

func TestDevToken(t *testing.T) {
	t.Parallel()
	var body map[string]any
	c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/api/dev/token", r.URL.Path)
		assert.Empty(t, r.Header.Get("Authorization"), "no token is sent to get one")
		_ = json.NewDecoder(r.Body).Decode(&body)
		writeJSON(w, http.StatusOK, `{"token":"eyJ.x.y","tokenType":"Bearer","expiresAt":"2030-01-01T00:00:00Z","userId":"alice","roles":["admin"]}`)
	}))
	c.Token = ""
	tok, err := c.DevToken(context.Background(), "alice", client.AdminRole)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"userId": "alice", "roles": []any{"admin"}}, body)
	assert.Equal(t, "eyJ.x.y", tok.Token)
	assert.Equal(t, []string{"admin"}, tok.Roles)
	assert.Contains(t, string(tok.Raw), `"expiresAt"`)
}

func TestTransportErrorNamesTheURLAndSuggestsMakeUp(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c := client.New(srv.URL, "")
	_, err := c.Products(context.Background(), 0, "")
	var te *client.TransportError
	require.ErrorAs(t, err, &te)
	assert.Contains(t, err.Error(), "cannot reach the API at "+srv.URL+"/api/products (GET)")
	assert.Contains(t, err.Error(), "make up")
}

func TestQueriesPassTheirParameters(t *testing.T) {
	t.Parallel()
	var queries []string
	c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.Path+"?"+r.URL.RawQuery)
		switch r.URL.Path {
		case "/api/carts/c1":
			w.Header().Set("X-Stale", "true")
			writeJSON(w, http.StatusOK, `{"cartId":"c1","userId":"u","status":"open","items":[{"sku":"A","name":"a","quantity":2,"unitPriceCents":150}],"totalCents":300,"version":2,"extra":true}`)
		case "/api/orders":
			writeJSON(w, http.StatusOK, `{"items":[{"orderId":"o1","status":"placed","totalCents":5}],"nextCursor":"next"}`)
		}
	}))
	ctx := context.Background()
	cart, err := c.Cart(ctx, "c1", client.ReadOptions{MinVersion: 3, Wait: 1500 * time.Millisecond})
	require.NoError(t, err)
	assert.True(t, cart.Stale)
	assert.Equal(t, int64(300), cart.Value.TotalCents)
	assert.Contains(t, string(cart.Raw), `"extra":true`, "the raw document keeps every field")
	page, err := c.Orders(ctx, 5, "abc")
	require.NoError(t, err)
	assert.Equal(t, "next", page.NextCursor)
	assert.Equal(t, "o1", page.Items[0].OrderID)
	assert.Equal(t, []string{"/api/carts/c1?minVersion=3&wait=1.5", "/api/orders?cursor=abc&limit=5"}, queries)
}

func TestContextCancellationIsNotATransportError(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Status(ctx, "x")
	assert.True(t, errors.Is(err, context.Canceled), "%v", err)
	assert.False(t, strings.Contains(err.Error(), "make up"))
}
