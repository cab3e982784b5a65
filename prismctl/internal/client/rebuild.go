package client

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// The phases of a read-model rebuild.
const (
	PhaseReplaying  = "replaying"
	PhaseSwitching  = "switching"
	PhaseCatchingUp = "catching-up"
	PhaseDone       = "done"
	PhaseFailed     = "failed"
)

// RebuildProgress is the state of a projection rebuild on the
// readmodel-updater (its /admin/rebuilds routes).
type RebuildProgress struct {
	Projection string    `json:"projection"`
	Table      string    `json:"table"`
	Phase      string    `json:"phase"`
	Streams    int64     `json:"streams"`
	Events     int64     `json:"events"`
	CaughtUp   int64     `json:"caughtUp"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	Error      string    `json:"error,omitempty"`
	// Raw is the answer as sent.
	Raw json.RawMessage `json:"-"`
}

// Finished reports whether the rebuild is done or failed.
func (p RebuildProgress) Finished() bool { return p.Phase == PhaseDone || p.Phase == PhaseFailed }

// StartRebuild starts rebuilding a projection (admin token; c's BaseURL is
// the readmodel-updater). A rebuild already running is a 409 Problem.
func (c *Client) StartRebuild(ctx context.Context, projection string) (RebuildProgress, error) {
	return c.rebuild(ctx, http.MethodPost, projection)
}

// RebuildProgress returns the progress of a projection's latest rebuild.
func (c *Client) RebuildProgress(ctx context.Context, projection string) (RebuildProgress, error) {
	return c.rebuild(ctx, http.MethodGet, projection)
}

func (c *Client) rebuild(ctx context.Context, method, projection string) (RebuildProgress, error) {
	resp, err := c.do(ctx, request{method: method, path: "/admin/rebuilds/" + seg(projection)})
	if err != nil {
		return RebuildProgress{}, err
	}
	p := RebuildProgress{Raw: json.RawMessage(resp.body)}
	return p, decode(resp, "rebuild progress", &p)
}
