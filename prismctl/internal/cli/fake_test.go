package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prism-es/prism/prismctl/internal/cli"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// result is one prismctl run.
type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs prismctl with args and the environment env (nothing else from
// the real environment leaks in).
func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return runCLICtx(t, context.Background(), env, nil, nil, args...)
}

func runCLICtx(t *testing.T, ctx context.Context, env map[string]string, stdout, stderr io.Writer, args ...string) result {
	t.Helper()
	var out, errOut syncBuffer
	if stdout == nil {
		stdout = &out
	}
	if stderr == nil {
		stderr = &errOut
	}
	app := cli.New(stdout, stderr, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	app.PollInterval = time.Millisecond
	app.RebuildInterval = time.Millisecond
	app.StreamBackoff = time.Millisecond
	err := app.Run(ctx, args)
	code := app.Report(err)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// recorded is a request the fake API received.
type recorded struct {
	Method, Path, Query string
	Header              http.Header
	Body                map[string]any
}

// fakeAPI answers like prism-api. Commands are decided by their body: sku
// NOPE is rejected, BOOM fails, SLOW stays pending; everything else succeeds
// after two pending polls.
type fakeAPI struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
	commands map[string]string // commandId → final status JSON
	polls    map[string]int
	n        int
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{commands: map[string]string{}, polls: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/dev/token", f.devToken)
	for _, route := range []string{
		"POST /api/carts", "POST /api/carts/{cartId}/items", "PUT /api/carts/{cartId}/items/{sku}",
		"DELETE /api/carts/{cartId}/items/{sku}", "POST /api/carts/{cartId}/checkout",
		"POST /api/orders/{orderId}/cancel", "POST /api/orders/{orderId}/ship", "POST /api/products", "POST /api/products/{sku}/restock",
	} {
		mux.HandleFunc(route, f.command)
	}
	mux.HandleFunc("GET /api/commands/{id}", f.status)
	mux.HandleFunc("GET /api/carts/{id}", f.cart)
	mux.HandleFunc("GET /api/orders", f.orders)
	mux.HandleFunc("GET /api/products", f.products)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		f.mu.Lock()
		f.requests = append(f.requests, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// sent returns the requests made so far whose path starts with prefix.
func (f *fakeAPI) sent(method, prefix string) []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recorded
	for _, r := range f.requests {
		if r.Method == method && strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

func problem(w http.ResponseWriter, status int, detail string, fields ...string) {
	var errs []map[string]string
	for i := 0; i+1 < len(fields); i += 2 {
		errs = append(errs, map[string]string{"field": fields[i], "message": fields[i+1]})
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "urn:prism:problem:x", "title": http.StatusText(status), "status": status, "detail": detail, "errors": errs})
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeAPI) devToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UserID string   `json:"userId"`
		Roles  []string `json:"roles"`
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	tok := "tok-" + req.UserID
	if len(req.Roles) > 0 {
		tok += "-" + strings.Join(req.Roles, "-")
	}
	reply(w, http.StatusOK, map[string]any{"token": tok, "tokenType": "Bearer", "expiresAt": "2030-01-01T00:00:00Z", "userId": req.UserID, "roles": req.Roles})
}

func authorized(w http.ResponseWriter, r *http.Request) bool {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		problem(w, http.StatusUnauthorized, "missing bearer token")
		return false
	}
	return true
}

func (f *fakeAPI) command(w http.ResponseWriter, r *http.Request) {
	if !authorized(w, r) {
		return
	}
	if r.Header.Get("Idempotency-Key") == "" {
		problem(w, http.StatusBadRequest, "missing or invalid Idempotency-Key", "Idempotency-Key", "is required (1-128 printable characters)")
		return
	}
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	if q, ok := body["quantity"].(float64); ok && (q < 0 || q > 99) {
		problem(w, http.StatusBadRequest, "invalid request", "quantity", "must be between 1 and 99")
		return
	}
	f.mu.Lock()
	f.n++
	id := fmt.Sprintf("cmd-%d", f.n)
	agg := r.PathValue("cartId") + r.PathValue("orderId")
	if agg == "" {
		agg = "agg-1"
	}
	final := fmt.Sprintf(`{"commandId":%q,"status":"succeeded","aggregateId":%q,"version":%d}`, id, agg, f.n+1)
	sku, _ := body["sku"].(string)
	if sku == "" {
		sku = r.PathValue("sku")
	}
	switch sku {
	case "NOPE":
		final = fmt.Sprintf(`{"commandId":%q,"status":"rejected","reason":"unknown product NOPE","aggregateId":%q}`, id, agg)
	case "BOOM":
		final = fmt.Sprintf(`{"commandId":%q,"status":"failed","reason":"handler crashed 5 times","aggregateId":%q}`, id, agg)
	case "SLOW":
		final = ""
	}
	f.commands[id] = final
	f.mu.Unlock()
	acc := map[string]any{"commandId": id, "correlationId": "corr-" + id, "aggregateId": agg, "status": "pending", "statusUrl": "/api/commands/" + id}
	if strings.HasSuffix(r.URL.Path, "/checkout") {
		acc["orderId"] = "order-1"
	}
	reply(w, http.StatusAccepted, acc)
}

func (f *fakeAPI) status(w http.ResponseWriter, r *http.Request) {
	if !authorized(w, r) {
		return
	}
	id := r.PathValue("id")
	f.mu.Lock()
	final, ok := f.commands[id]
	f.polls[id]++
	polls := f.polls[id]
	f.mu.Unlock()
	if !ok {
		problem(w, http.StatusNotFound, "command not found")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if final == "" || polls <= 2 {
		fmt.Fprintf(w, `{"commandId":%q,"status":"pending","aggregateId":"a"}`, id)
		return
	}
	fmt.Fprint(w, final)
}

func (f *fakeAPI) cart(w http.ResponseWriter, r *http.Request) {
	if !authorized(w, r) {
		return
	}
	if r.URL.Query().Get("minVersion") == "9" {
		w.Header().Set("X-Stale", "true")
	}
	reply(w, http.StatusOK, map[string]any{"cartId": r.PathValue("id"), "userId": "alice", "status": "open",
		"items":      []map[string]any{{"sku": "TEA-1", "name": "Green tea", "quantity": 2, "unitPriceCents": 450}},
		"totalCents": 900, "version": 3, "updatedAt": "2030-01-01T00:00:00Z"})
}

// orders serves three pages of one order each.
func (f *fakeAPI) orders(w http.ResponseWriter, r *http.Request) {
	if !authorized(w, r) {
		return
	}
	page := map[string]int{"": 1, "c2": 2, "c3": 3}[r.URL.Query().Get("cursor")]
	next := map[int]string{1: "c2", 2: "c3", 3: ""}[page]
	reply(w, http.StatusOK, map[string]any{
		"items":      []map[string]any{{"orderId": fmt.Sprintf("order-%d", page), "status": "confirmed", "totalCents": 450 * page, "itemCount": page}},
		"nextCursor": next,
	})
}

func (f *fakeAPI) products(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, map[string]any{"items": []map[string]any{{"sku": "TEA-1", "name": "Green tea", "priceCents": 450, "available": 18, "version": 3}}})
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
