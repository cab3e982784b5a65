// Package queryapi is the read side's HTTP machinery: it answers a query
// with a read-model row (shared/readmodel) as stored, no joins, no logic
// (docs/api.md "Queries"):
//
//   - [Service.ServeRow] answers one row: 404 for an invalid or unknown id,
//     and for an owned row that is not the caller's (ids do not leak);
//     ?minVersion=N&wait=S waits up to S seconds (at most 10) for the row to
//     reach version N, woken by the row's change notice rather than polling,
//     then answers the current row with X-Stale: true;
//   - [Service.ServeList] answers a partition, paged with ?limit=&cursor=.
//
// Errors are problem+json through shared/httpapi; the caller is the
// principal shared/auth put in the request's context.
package queryapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/auth"
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

// Service answers queries from read-model rows.
type Service struct {
	// Store reads the rows.
	Store *readmodel.Store
	// Catalog names each projection's live table.
	Catalog *readmodel.Catalog
	// Wakeups wakes a ?minVersion= wait when the row's stream has news
	// (nil: such a wait answers at once, X-Stale when behind).
	Wakeups *notices.Subscriber
}

// Row describes where one document lives and who may see it.
type Row struct {
	// Projection names the projection whose live table holds the row.
	Projection string
	// PartitionKey and RowKey place the row (the projection's Key).
	PartitionKey, RowKey string
	// Stream is the notice stream that announces the row's changes (what
	// a ?minVersion= wait listens to).
	Stream string
	// Owned rows are seen only by the user their document's "userId" names;
	// to anyone else they do not exist (404).
	Owned bool
	// What names the thing in "<what> not found".
	What string
}

// List is the answer of a list query.
type List struct {
	Items      []json.RawMessage `json:"items"`
	NextCursor string            `json:"nextCursor,omitempty"`
}

// ServeList answers the rows of one partition of projection's live table,
// in row-key order, paged (?limit=, default 20, at most 100; ?cursor=).
func (s *Service) ServeList(w http.ResponseWriter, r *http.Request, projection, partition string) {
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

// ServeRow answers the row spec describes; id is the id the client asked
// for (its validity is checked as an envelope id).
func (s *Service) ServeRow(w http.ResponseWriter, r *http.Request, id string, spec Row) {
	notFound := apperr.New(apperr.NotFound, "%s not found", spec.What)
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
	p, _ := auth.PrincipalFrom(r.Context())
	caller := p.UserID
	deadline := time.Now().Add(wait)
	var wake <-chan notices.Notice
	subscribed := false
	for {
		doc, version, found, err := s.get(ctx, spec)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		if found && spec.Owned && (caller == "" || ownerOf(doc) != caller) {
			// An owned row needs a signed-in caller who owns it (a route
			// mounted without the auth middleware shows no one's rows).
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
			l, err := s.wakeups(ctx, spec.Stream)
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

func (s *Service) wakeups(ctx context.Context, stream string) (*notices.Listener, error) {
	if s.Wakeups == nil {
		return nil, errors.New("no wakeups subscriber")
	}
	return s.Wakeups.Wakeups(ctx, stream)
}

func (s *Service) get(ctx context.Context, spec Row) (json.RawMessage, int64, bool, error) {
	table, err := s.Catalog.Live(ctx, spec.Projection)
	if err != nil {
		return nil, 0, false, err
	}
	row, found, err := s.Store.Get(ctx, table, spec.PartitionKey, spec.RowKey)
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
