package client

import (
	"context"
	"net/http"
	"time"
)

// The statuses of a command.
const (
	StatusPending   = "pending"
	StatusSucceeded = "succeeded"
	StatusRejected  = "rejected"
	StatusFailed    = "failed"
)

// Status is a command's status (GET /api/commands/{commandId}).
type Status struct {
	CommandID   string `json:"commandId"`
	Type        string `json:"type,omitempty"`
	Status      string `json:"status"`
	Reason      string `json:"reason,omitempty"`
	AggregateID string `json:"aggregateId"`
	Version     int64  `json:"version,omitempty"`
	UpdatedAt   string `json:"updatedAt,omitempty"`
}

// Final reports whether the status will not change any more.
func (s Status) Final() bool {
	return s.Status == StatusSucceeded || s.Status == StatusRejected || s.Status == StatusFailed
}

// Status returns a command's current status.
func (c *Client) Status(ctx context.Context, commandID string) (Status, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/api/commands/" + seg(commandID)})
	if err != nil {
		return Status{}, err
	}
	var s Status
	return s, decode(resp, "command status", &s)
}

// Wait polls a command's status until it is final, and returns it. Polls
// start PollInterval apart and slow down to MaxPollInterval; a 503 answer
// is polled through. When ctx ends first, Wait returns the last status seen
// with ctx's error (give ctx a deadline to bound the wait).
func (c *Client) Wait(ctx context.Context, commandID string) (Status, error) {
	every, most := c.PollInterval, c.MaxPollInterval
	if every <= 0 {
		every = 100 * time.Millisecond
	}
	if most < every {
		most = max(time.Second, every)
	}
	last := Status{CommandID: commandID, Status: StatusPending}
	for {
		s, err := c.Status(ctx, commandID)
		switch {
		case err == nil:
			last = s
			if s.Final() {
				return s, nil
			}
		case ctx.Err() != nil:
			return last, ctx.Err()
		case !HasStatus(err, http.StatusServiceUnavailable):
			return last, err
		}
		if err := sleep(ctx, every); err != nil {
			return last, err
		}
		every = min(every*2, most)
	}
}
