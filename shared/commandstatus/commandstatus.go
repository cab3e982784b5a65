// Package commandstatus keeps each command's status in Redis: pending when
// accepted, then one outcome, succeeded or rejected (with a reason), never
// changed afterwards (issue 12 item 8). Failed sits between the two: the
// command was set aside for an operator (the poison queue), and if a
// redrive applies it, its outcome replaces failed; nothing replaces an
// outcome, and nothing goes back to pending. A pending or failed status is
// kept for 24 h; an outcome only for TerminalTTL: the lasting record of what
// a command did is its cmd- row in the event store, and clients learn
// outcomes at once from /streams/me (command.completed).
package commandstatus

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/redisconn"
)

// TTL is how long a pending status is kept.
const TTL = 24 * time.Hour

// TerminalTTL is how long an outcome is kept (issue 19: the status of a
// finished command costs Redis memory for half an hour, not a day).
const TerminalTTL = 30 * time.Minute

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

// Terminal reports whether the command has finished: an outcome, or failed.
func (s Status) Terminal() bool { return s.Status != Pending }

// rank orders the statuses a command may move through: a status is
// recorded only over a lower one.
func rank(status string) int {
	switch status {
	case Pending:
		return 0
	case Failed:
		return 1
	}
	return 2 // succeeded, rejected: an outcome
}

// Store keeps statuses under cmdstatus:<commandId>.
type Store struct {
	rdb *redis.Client
}

// New returns a Store on rdb.
func New(rdb *redis.Client) *Store { return &Store{rdb: rdb} }

func key(commandID string) string { return "cmdstatus:" + commandID }

// advanceScript records ARGV[1] (whose rank is ARGV[2]) for ARGV[3] ms
// only over a status of a lower rank (or none): pending (0) < failed (1) <
// succeeded, rejected (2). It answers {1} when it recorded the status, {0,
// current} when it kept the current one.
var advanceScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, rec = pcall(cjson.decode, cur)
  if not ok or type(rec) ~= 'table' then return {0, cur} end
  local r = 2
  if rec['status'] == 'pending' then r = 0 elseif rec['status'] == 'failed' then r = 1 end
  if r >= tonumber(ARGV[2]) then return {0, cur} end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return {1}`)

// Set records st (stamping UpdatedAt) if it moves the command forward:
// pending only when nothing is known yet, failed only over pending, an
// outcome over either. A late pending (a retry after Redis forgot the
// idempotency key), a failed after an outcome, or a second outcome (a
// redelivery) leaves the recorded one alone.
func (s *Store) Set(ctx context.Context, st Status) error {
	_, _, err := s.Advance(ctx, st)
	return err
}

// Advance is Set that also answers the status now stored and whether it is
// st; when it is not, the earlier one stands (report that, not st).
func (s *Store) Advance(ctx context.Context, st Status) (Status, bool, error) {
	st.UpdatedAt = time.Now().UTC()
	b, err := json.Marshal(st)
	if err != nil {
		return Status{}, false, err
	}
	ttl := TerminalTTL
	if rank(st.Status) < 2 {
		ttl = TTL // pending, or failed and waiting for an operator
	}
	res, err := advanceScript.Run(ctx, s.rdb, []string{key(st.CommandID)}, b, rank(st.Status), ttl.Milliseconds()).Slice()
	if err != nil {
		return Status{}, false, redisconn.Classify(err, "set command status")
	}
	if n, _ := res[0].(int64); n == 1 {
		return st, true, nil
	}
	cur, _ := res[1].(string)
	var kept Status
	if err := json.Unmarshal([]byte(cur), &kept); err != nil {
		return Status{}, false, err
	}
	return kept, false, nil
}

// withdrawScript deletes the status only while it is pending.
var withdrawScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, rec = pcall(cjson.decode, cur)
if not ok or type(rec) ~= 'table' or rec['status'] ~= 'pending' then return 0 end
return redis.call('DEL', KEYS[1])`)

// Withdraw forgets a pending status (its command could not be queued). A
// final status stays: with command ids named by (user, Idempotency-Key), it
// may be the outcome of an earlier attempt of the same command.
func (s *Store) Withdraw(ctx context.Context, commandID string) error {
	return redisconn.Classify(withdrawScript.Run(ctx, s.rdb, []string{key(commandID)}).Err(), "withdraw command status")
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
