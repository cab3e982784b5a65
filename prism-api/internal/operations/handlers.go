package operations

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/readmodel"
	"github.com/prism-es/prism/shared/storage"
)

// heartbeatEvery bounds the silence on a console stream.
const heartbeatEvery = 15 * time.Second

// maxProxied bounds an answer relayed from another service.
const maxProxied = 8 << 20

func (s *Service) getFlow(w http.ResponseWriter, r *http.Request) {
	httpapi.WriteJSON(w, http.StatusOK, s.snapshot(r.Context(), &s.flow.rater))
}

// stream sends a `flow` event with each sample while the client listens.
// It is read with fetch (the bearer token in the Authorization header, not
// in the URL), in the SSE format.
func (s *Service) stream(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	frames, stop := s.flow.watch()
	defer stop()
	beat := time.NewTicker(heartbeatEvery)
	defer beat.Stop()
	write := func(b []byte) bool {
		// The server's WriteTimeout would cut a stream: extend it per write.
		_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write([]byte(": console flow\n\n")) {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.flow.ctx.Done():
			return
		case <-beat.C:
			if !write([]byte(": hb\n\n")) {
				return
			}
		case b := <-frames:
			if !write(append(append([]byte("event: flow\ndata: "), b...), "\n\n"...)) {
				return
			}
		}
	}
}

// queueNameRE is a Storage Queue name.
var queueNameRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// PoisonQueue is a queue's parked messages (the first 32, a Storage Queues
// limit on peeking).
type PoisonQueue struct {
	Queue    string         `json:"queue"`
	Depth    int            `json:"depth"`
	Poison   int            `json:"poison"`
	Messages []queue.Parked `json:"messages"`
}

func (s *Service) getPoison(w http.ResponseWriter, r *http.Request) {
	stats, err := s.listQueues(r.Context())
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	out := []PoisonQueue{}
	for _, st := range stats {
		pq := PoisonQueue{Queue: st.Queue, Depth: st.Depth, Poison: st.Poison, Messages: []queue.Parked{}}
		if st.Poison > 0 {
			parked, err := queue.Peek(st.account, st.Queue).PeekParked(r.Context(), queue.MaxBatch)
			if err != nil {
				httpapi.WriteError(w, r, err)
				return
			}
			pq.Messages = parked
		}
		out = append(out, pq)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"queues": out})
}

// redrive moves one parked message ({"id"}) or all of them ({}) back.
func (s *Service) redrive(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["queue"]
	if len(name) < 3 || len(name) > 63 || !queueNameRE.MatchString(name) || strings.HasSuffix(name, "-poison") {
		httpapi.WriteError(w, r, apperr.Fields("invalid queue", apperr.FieldError{Field: "queue", Message: "must name a main queue (lowercase letters, digits and single hyphens, 3-63 characters)"}))
		return
	}
	body, err := httpapi.ReadBody(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	var req struct {
		ID string `json:"id"`
	}
	if len(body) > 0 {
		if err := httpapi.Decode(body, &req); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
	}
	q, err := s.queueNamed(r.Context(), name)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if q == nil {
		httpapi.WriteError(w, r, apperr.New(apperr.NotFound, "there is no queue %s-poison", name))
		return
	}
	moved := 0
	if req.ID != "" {
		ok, err := q.RedriveOne(r.Context(), req.ID)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		if !ok {
			httpapi.WriteError(w, r, apperr.New(apperr.NotFound, "%s-poison holds no message %s (redriven already?)", name, req.ID))
			return
		}
		moved = 1
	} else if moved, err = q.Redrive(r.Context(), 0); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"queue": name, "from": storage.PoisonQueue(name), "moved": moved})
}

// rebuild starts a projection's rebuild on readmodel-updater; its progress
// then travels in the flow (the fleet report of the updater running it).
func (s *Service) rebuild(w http.ResponseWriter, r *http.Request) {
	s.proxy(w, r, s.Config.UpdaterURL, http.MethodPost, "/admin/rebuilds/"+url.PathEscape(mux.Vars(r)["projection"]), nil)
}

// inspect is API.md's event-store inspector, answered by domain-service.
func (s *Service) inspect(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	q := url.Values{}
	for _, k := range []string{"asOf", "version", "fromDate"} {
		if x := r.URL.Query().Get(k); x != "" {
			q.Set(k, x)
		}
	}
	s.proxy(w, r, s.Config.DomainURL, http.MethodGet, "/api/eventstore/"+url.PathEscape(v["aggregateType"])+"/"+url.PathEscape(v["aggregateId"]), q)
}

// proxy relays the request to another service with the caller's token and
// correlation id, and its answer back as it is. An unreachable service is a
// 503 naming it.
func (s *Service) proxy(w http.ResponseWriter, r *http.Request, base, method, path string, query url.Values) {
	body, status, ctype, err := s.call(r, base, method, path, query)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// call sends one request to another service on the caller's behalf.
func (s *Service) call(r *http.Request, base, method, path string, query url.Values) ([]byte, int, string, error) {
	u := strings.TrimRight(base, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, 0, "", err
	}
	for _, h := range []string{"Authorization", "X-Correlation-Id", "traceparent"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	res, err := s.HTTP.Do(req)
	if err != nil {
		return nil, 0, "", apperr.Wrap(apperr.Unavailable, err, "%s does not answer", serviceOf(base))
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxProxied))
	if err != nil {
		return nil, 0, "", apperr.Wrap(apperr.Unavailable, err, "reading %s's answer", serviceOf(base))
	}
	return b, res.StatusCode, res.Header.Get("Content-Type"), nil
}

func serviceOf(base string) string {
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		return u.Host
	}
	return base
}

// trace answers a command's causation chain: the command's status names its
// aggregate, domain-service follows the chain through the event store, and
// notification leaves are completed here from the notifications read model.
func (s *Service) trace(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["commandId"]
	agg := r.URL.Query().Get("aggregateId")
	st, found, err := s.Statuses.Get(r.Context(), id)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if agg == "" && !found {
		httpapi.WriteError(w, r, apperr.New(apperr.NotFound, "no status of command %s (an outcome is kept 30 min, pending and failed 24 h); give ?aggregateId= to trace it from the event store", id))
		return
	}
	if agg == "" {
		agg = st.AggregateID
	}
	body, status, _, err := s.call(r, s.Config.DomainURL, http.MethodGet, "/api/traces/"+url.PathEscape(id), url.Values{"aggregateId": {agg}})
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if status != http.StatusOK {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
		return
	}
	var tr struct {
		Root      node `json:"root"`
		Nodes     int  `json:"nodes"`
		Truncated bool `json:"truncated,omitempty"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		httpapi.WriteError(w, r, fmt.Errorf("domain-service's trace: %w", err))
		return
	}
	if found {
		tr.Root.Type, tr.Root.UserID, tr.Root.Outcome = st.Type, st.UserID, st.Status
	}
	s.notifications(r.Context(), &tr.Root, tr.Root.UserID)
	httpapi.WriteJSON(w, http.StatusOK, tr)
}

// node is a trace node as domain-service sends it, plus what the console
// adds: the root command's type, user and outcome, and the notification
// rows.
type node struct {
	Kind          string          `json:"kind"`
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	Stream        string          `json:"stream"`
	Version       int64           `json:"version,omitempty"`
	At            time.Time       `json:"at,omitzero"`
	Status        string          `json:"status,omitempty"`
	CausationID   string          `json:"causationId,omitempty"`
	CorrelationID string          `json:"correlationId,omitempty"`
	TraceID       string          `json:"traceId,omitempty"`
	Delay         string          `json:"delay,omitempty"`
	UserID        string          `json:"userId,omitempty"`
	Outcome       string          `json:"outcome,omitempty"`
	Message       string          `json:"message,omitempty"`
	Children      []node          `json:"children,omitempty"`
	Notification  json.RawMessage `json:"notification,omitempty"`
}

// notifications fills each notification leaf from the owner's row (its key
// is the causing event's time and id), marking it pending when not written
// yet.
func (s *Service) notifications(ctx context.Context, n *node, owner string) {
	for i := range n.Children {
		c := &n.Children[i]
		if c.Kind == "notification" && n.Kind == "event" {
			c.Status = "pending"
			if owner == "" {
				continue
			}
			table, err := s.Catalog.Live(ctx, readmodel.Notifications)
			if err != nil {
				continue
			}
			row, ok, err := s.Store.Get(ctx, table, readmodel.NotificationsPartition(owner), readmodel.NotificationKey(n.At, n.ID))
			if err == nil && ok {
				c.Status, c.Notification, c.At = "written", row.Doc, row.UpdatedAt
				var doc struct {
					Message string `json:"message"`
				}
				if json.Unmarshal(row.Doc, &doc) == nil {
					c.Message = doc.Message
				}
			}
			continue
		}
		s.notifications(ctx, c, owner)
	}
}
