package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/e2e/stack"
)

// hostile generates requests a careless or malicious client might send.
type hostile struct {
	r            *rand.Rand
	good, admin  string
	cart, order  string
	api, streams string
}

func (h *hostile) pick(xs ...string) string { return xs[h.r.IntN(len(xs))] }

func (h *hostile) token() string {
	b64 := base64.RawURLEncoding.EncodeToString
	switch h.r.IntN(9) {
	case 0:
		return ""
	case 1:
		return "garbage"
	case 2: // alg none
		return b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64([]byte(`{"sub":"alice","iss":"prism","exp":9999999999}`)) + "."
	case 3: // forged signature
		parts := strings.Split(h.good, ".")
		return parts[0] + "." + b64([]byte(`{"sub":"mallory","iss":"prism","roles":["admin"],"exp":9999999999}`)) + "." + parts[2]
	case 4:
		return strings.Repeat("A", 10000)
	case 5:
		return h.admin
	default:
		return h.good
	}
}

func (h *hostile) path() string {
	return h.pick(
		"/api/carts", "/api/carts/"+h.cart+"/items", "/api/carts/"+h.cart+"/items/SKU-1", "/api/carts/"+h.cart+"/checkout",
		"/api/orders/"+h.order+"/cancel", "/api/products", "/api/products/SKU-1/restock", "/api/orders", "/api/orders/"+h.order,
		"/api/carts/../../etc/passwd", "/api/carts/%2e%2e%2fetc%2fpasswd/items", "/api/carts/"+strings.Repeat("x", 3000),
		"/api/carts/'%20OR%201=1--/items", "/api/commands/"+uuid.NewString(), "/api/products/%00", "/api/carts/\u202eevil/items",
		"/api/products/"+url(h.pick("SKU-1", "../x", "ÅÄÖ", "💥", "a b")), "/api/notifications?limit=-1", "/api/orders?cursor=%ff%fe",
		"/api/carts/"+h.cart+"?minVersion=99999999999999999999&wait=1e309", "/openapi.json", "/nope", "//api//carts",
	)
}

func url(s string) string { return strings.ReplaceAll(s, " ", "%20") }

func (h *hostile) body() []byte {
	switch h.r.IntN(14) {
	case 0:
		return nil
	case 1:
		return []byte(`{"sku":`)
	case 2:
		return []byte(strings.Repeat("[", 50000))
	case 3:
		return []byte(`{"sku":"SKU-1","quantity":` + h.pick("1e400", "-1", "99999999999999999999999", "1.5", `"2"`, "null", "[]", "true", "NaN") + `}`)
	case 4:
		return bytes.Repeat([]byte("x"), 1<<20)
	case 5:
		return []byte(`{"sku":"` + h.pick("\\u0000", "\\ud800", "../../etc", "<script>alert(1)</script>", "💥💥", strings.Repeat("é", 100)) + `","quantity":1}`)
	case 6:
		return []byte{0xff, 0xfe, 0xfd}
	case 7:
		return []byte(`{"sku":"SKU-1","quantity":1,"__proto__":{"admin":true}}`)
	case 8:
		return []byte(`{"cartId":"` + h.pick("x", uuid.NewString(), strings.Repeat("9", 500)) + `"}`)
	case 9:
		return []byte(`{"sku":"S","name":"` + strings.Repeat("n", 300) + `","priceCents":1,"stock":1}`)
	case 10:
		return []byte(`{"quantity":5} {"quantity":6}`)
	case 11:
		return []byte(`{"paymentToken":"` + h.pick("pm_ok", "pm_\n", strings.Repeat("p", 100)) + `"}`)
	default:
		return []byte(`{"sku":"SKU-1","quantity":` + fmt.Sprint(h.r.IntN(200)-50) + `}`)
	}
}

func (h *hostile) request() (*http.Request, error) {
	method := h.pick("GET", "POST", "PUT", "DELETE", "PATCH", "POST", "POST")
	base := h.api
	path := h.path()
	if h.r.IntN(6) == 0 {
		base = h.streams
		path = h.pick("/streams/me", "/streams/carts/"+h.cart, "/streams/orders/x", "/streams/products", "/streams/../etc", "/streams/carts/'%20or%201=1")
		method = h.pick("GET", "POST")
	}
	var body io.Reader
	if b := h.body(); b != nil && method != "GET" {
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		return nil, err
	}
	if tok := h.token(); tok != "" {
		req.Header.Set("Authorization", h.pick("Bearer ", "bearer ", "Basic ", "Bearer  ")+tok)
	}
	req.Header.Set("Content-Type", h.pick("application/json", "application/json", "text/plain", "application/json; charset=latin1", "multipart/form-data", ""))
	switch h.r.IntN(5) {
	case 0:
	case 1:
		req.Header.Set("Idempotency-Key", strings.Repeat("k", 500))
	case 2:
		req.Header.Set("Idempotency-Key", h.pick("ключ", "\tleading tab", "k:\"quoted\""))
	default:
		req.Header.Set("Idempotency-Key", uuid.NewString())
	}
	if h.r.IntN(4) == 0 {
		req.Header.Set("Last-Event-ID", h.pick("abc", "-1", "99999999999999999999-0", "0-0", "1-1-1"))
	}
	if h.r.IntN(4) == 0 {
		req.Header.Set("X-Correlation-Id", h.pick("ok-id", strings.Repeat("c", 300), "bad id\t"))
	}
	return req, nil
}

// TestHostileRequests sends thousands of generated hostile requests: zero
// 5xx, every error answered as problem+json, and every process still up.
func TestHostileRequests(t *testing.T) {
	s := startStack(t, stack.Options{Replicas: 1})
	ctx := ctxFor(t, 5*time.Minute)
	c := s.Client()
	good, err := c.Token(ctx, "alice", false)
	require.NoError(t, err)
	admin, err := c.Token(ctx, "boss", true)
	require.NoError(t, err)
	created, _, err := c.Run(ctx, http.MethodPost, "/api/carts", good, map[string]any{})
	require.NoError(t, err)

	n := size(2000, 10000)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %d requests", seed, n)
	client := &http.Client{Timeout: 10 * time.Second}
	var mu sync.Mutex
	statuses := map[int]int{}
	var failures []string
	var wg sync.WaitGroup
	const workers = 16
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := &hostile{r: rand.New(rand.NewPCG(seed, uint64(w))), good: good, admin: admin, cart: created.AggregateID, order: uuid.NewString(), api: s.API, streams: s.Streams}
			for i := w; i < n; i += workers {
				req, err := h.request()
				if err != nil {
					continue // a request Go itself refuses to build
				}
				rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
				res, err := client.Do(req.WithContext(rctx))
				if err != nil {
					cancel()
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s %.120s: %.200v", req.Method, req.URL, err))
					mu.Unlock()
					continue
				}
				ct := res.Header.Get("Content-Type")
				streaming := strings.HasPrefix(ct, "text/event-stream")
				if !streaming { // an accepted stream stays open: hang up at once
					_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
				}
				res.Body.Close()
				cancel()
				mu.Lock()
				statuses[res.StatusCode]++
				switch {
				case res.StatusCode >= 500:
					failures = append(failures, fmt.Sprintf("%s %.120s → %d", req.Method, req.URL, res.StatusCode))
				case res.StatusCode >= 400 && ct != "application/problem+json":
					failures = append(failures, fmt.Sprintf("%s %.120s → %d with Content-Type %q", req.Method, req.URL, res.StatusCode, ct))
				case res.StatusCode < 300 && !streaming && !strings.HasPrefix(ct, "application/json"):
					failures = append(failures, fmt.Sprintf("%s %.120s → %d with Content-Type %q", req.Method, req.URL, res.StatusCode, ct))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("statuses: %v", statuses)
	if len(failures) > 10 {
		failures = failures[:10]
	}
	assert.Empty(t, failures)
	for _, name := range []string{"prism-api", "stream-service", "readmodel-updater", "domain-1"} {
		p := s.Process(name)
		assert.False(t, p.Exited(), "%s crashed", name)
	}
	r, err := c.Do(ctx, http.MethodGet, "/healthz", "", nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, r.Status)
}
