// Package commandstatus keeps each command's status in Redis for 24 h:
// pending when accepted, then succeeded, rejected (with a reason) or failed.
package commandstatus

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/redisconn"
)

// TTL is how long a status is kept.
const TTL = 24 * time.Hour

// The statuses a command moves through.
const (
	Pending   = "pending"
	Succeeded = "succeeded"
	Rejected  = "rejected"
	Failed    = "failed"
)

// Status is what is known about one command.
type Status struct {
	CommandID   string    `json:"commandId"`
	Type        string    `json:"type,omitempty"`
	Status      string    `json:"status"`
	Reason      string    `json:"reason,omitempty"`
	AggregateID string    `json:"aggregateId"`
	Version     int64     `json:"version,omitempty"`
	UserID      string    `json:"userId"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// Terminal reports whether the status is final.
func (s Status) Terminal() bool { return s.Status != Pending }

// Store keeps statuses under cmdstatus:<commandId>.
type Store struct {
	rdb *redis.Client
}

// New returns a Store on rdb.
func New(rdb *redis.Client) *Store { return &Store{rdb: rdb} }

func key(commandID string) string { return "cmdstatus:" + commandID }

// Set records st (stamping UpdatedAt).
func (s *Store) Set(ctx context.Context, st Status) error {
	st.UpdatedAt = time.Now().UTC()
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return redisconn.Classify(s.rdb.Set(ctx, key(st.CommandID), b, TTL).Err(), "set command status")
}

// Delete forgets a status (used when an accepted command could not be queued).
func (s *Store) Delete(ctx context.Context, commandID string) error {
	return redisconn.Classify(s.rdb.Del(ctx, key(commandID)).Err(), "delete command status")
}

// Get returns the command's status, or ok=false if none is known.
func (s *Store) Get(ctx context.Context, commandID string) (st Status, ok bool, err error) {
	b, err := s.rdb.Get(ctx, key(commandID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Status{}, false, nil
	}
	if err != nil {
		return Status{}, false, redisconn.Classify(err, "get command status")
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return Status{}, false, err
	}
	return st, true, nil
}
