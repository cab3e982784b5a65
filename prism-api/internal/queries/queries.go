// Package queries answers prism-api's reads (API.md "Queries") from the
// read-model rows, returned as stored: no joins, no business logic. A
// caller sees only their own carts and orders (anyone else's is 404).
// ?minVersion=N&wait=S waits up to S seconds (at most 10) for the row to
// reach version N, woken by the row's change notice rather than polling.
package queries

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/prism-es/prism/prism-api/internal/auth"
	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/readmodel"
)

// MaxWait bounds ?wait=.
const MaxWait = 10 * time.Second

// Page sizes of list queries.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Service answers queries.
type Service struct {
	Store   *readmodel.Store
	Catalog *readmodel.Catalog
	Wakeups *notices.Subscriber
}

// row describes where one document lives and who may see it.
type row struct {
	projection string
	pk, rk     string
	stream     string // notices that announce its changes
	owned      bool   // only its userId may see it
	what       string // for "<what> not found"
}

// Cart serves GET /api/carts/{cartId}.
func (s *Service) Cart() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := mux.Vars(r)["cartId"]
		pk, rk := readmodel.CartKey(id)
		s.serveRow(w, r, id, row{projection: readmodel.Carts, pk: pk, rk: rk, stream: notices.CartStream(id), owned: true, what: "cart"})
	}
}

// Order serves GET /api/orders/{orderId}.
func (s *Service) Order() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := mux.Vars(r)["orderId"]
		pk, rk := readmodel.OrderKey(id)
		s.serveRow(w, r, id, row{projection: readmodel.Orders, pk: pk, rk: rk, stream: notices.OrderStream(id), owned: true, what: "order"})
	}
}

// Product serves GET /api/products/{sku} (public).
func (s *Service) Product() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sku := mux.Vars(r)["sku"]
		pk, rk := readmodel.ProductKey(sku)
		s.serveRow(w, r, sku, row{projection: readmodel.Products, pk: pk, rk: rk, stream: notices.ProductsStream, what: "product"})
	}
}

// Orders serves GET /api/orders: the caller's orders, newest first, paged.
func (s *Service) Orders() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.serveList(w, r, readmodel.Orders, readmodel.UserOrdersPartition(auth.Principal(r).UserID))
	}
}

// Notifications serves GET /api/notifications: the caller's, newest first, paged.
func (s *Service) Notifications() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.serveList(w, r, readmodel.Notifications, readmodel.NotificationsPartition(auth.Principal(r).UserID))
	}
}

// Products serves GET /api/products (public), in SKU order, paged.
func (s *Service) Products() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.serveList(w, r, readmodel.Products, readmodel.ProductsPartition)
	}
}

// List is the answer of a list query.
type List struct {
	Items      []json.RawMessage `json:"items"`
	NextCursor string            `json:"nextCursor,omitempty"`
}

func (s *Service) serveList(w http.ResponseWriter, r *http.Request, projection, partition string) {
	q := r.URL.Query()
	limit := DefaultLimit
	var c checks
	if v := q.Get("limit"); v != "" {
		limit = c.intParam("limit", v, 1, MaxLimit)
	}
	if err := c.err(); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	table, err := s.Catalog.Live(r.Context(), projection)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	rows, next, err := s.Store.List(r.Context(), table, partition, limit, q.Get("cursor"))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	out := List{Items: make([]json.RawMessage, len(rows)), NextCursor: next}
	for i, row := range rows {
		out.Items[i] = row.Doc
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) serveRow(w http.ResponseWriter, r *http.Request, id string, spec row) {
	notFound := apperr.New(apperr.NotFound, "%s not found", spec.what)
	if !envelope.ValidID(id) {
		httpapi.WriteError(w, r, notFound)
		return
	}
	minVersion, wait, err := readWait(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	ctx := r.Context()
	caller := auth.Principal(r).UserID
	deadline := time.Now().Add(wait)
	var wake <-chan notices.Notice
	subscribed := false
	for {
		doc, version, found, err := s.get(ctx, spec)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		if found && spec.owned && ownerOf(doc) != caller {
			httpapi.WriteError(w, r, notFound) // someone else's: it does not exist for the caller
			return
		}
		if found && version >= minVersion {
			writeDoc(w, doc, false)
			return
		}
		remaining := time.Until(deadline)
		if minVersion > 0 && remaining > 0 && !subscribed {
			// Not there yet: listen, then read again, so a change between
			// the read above and the subscription is not missed. Reads that
			// are already current never subscribe.
			subscribed = true
			l, err := s.Wakeups.Wakeups(ctx, spec.stream)
			if err == nil {
				defer l.Close()
				wake = l.C()
				continue
			}
			slog.WarnContext(ctx, "read-your-writes wait unavailable; answering at once", "err", err)
		}
		if wake == nil || remaining <= 0 {
			if !found {
				httpapi.WriteError(w, r, notFound)
				return
			}
			writeDoc(w, doc, true)
			return
		}
		timer := time.NewTimer(remaining)
		select {
		case _, open := <-wake:
			if !open {
				wake = nil // the subscriber closed (shutdown): read once more and answer
			}
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return
		}
		timer.Stop()
	}
}

func (s *Service) get(ctx context.Context, spec row) (json.RawMessage, int64, bool, error) {
	table, err := s.Catalog.Live(ctx, spec.projection)
	if err != nil {
		return nil, 0, false, err
	}
	row, found, err := s.Store.Get(ctx, table, spec.pk, spec.rk)
	return row.Doc, row.Version, found, err
}

func ownerOf(doc json.RawMessage) string {
	var d struct {
		UserID string `json:"userId"`
	}
	_ = json.Unmarshal(doc, &d)
	return d.UserID
}

func writeDoc(w http.ResponseWriter, doc json.RawMessage, stale bool) {
	if stale {
		w.Header().Set("X-Stale", "true")
	}
	httpapi.WriteRawJSON(w, http.StatusOK, doc)
}

// readWait parses ?minVersion= and ?wait= (seconds, 0–10).
func readWait(r *http.Request) (int64, time.Duration, error) {
	q := r.URL.Query()
	var c checks
	var minVersion int64
	if v := q.Get("minVersion"); v != "" {
		minVersion = int64(c.intParam("minVersion", v, 0, 1<<53))
	}
	var wait time.Duration
	if v := q.Get("wait"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > MaxWait.Seconds() || f != f {
			c.Add("wait", "must be a number of seconds between 0 and 10")
		} else {
			wait = time.Duration(f * float64(time.Second))
		}
	}
	return minVersion, wait, c.err()
}

// checks collects every bad query parameter.
type checks struct{ apperr.FieldErrors }

func (c *checks) intParam(field, v string, lo, hi int) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		c.Add(field, "must be an integer between %d and %d", lo, hi)
		return lo
	}
	return n
}

func (c *checks) err() error { return c.Err("invalid query parameters") }
