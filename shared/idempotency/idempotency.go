// Package idempotency records Idempotency-Keys in Redis (DESIGN.md "Redis"):
// the first request with a key claims it atomically (SET NX), its response is
// kept for 24 h and replayed for the same request; the same key with a
// different request is a mismatch; a key whose first request is still being
// handled is in flight.
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/redisconn"
)

// TTL is how long a completed key is remembered.
const TTL = 24 * time.Hour

// InFlightTTL bounds how long a claimed but unfinished key blocks retries,
// so a crash between claim and completion does not lock a key for a day.
const InFlightTTL = 30 * time.Second

// Outcome says what to do with a request after Begin.
type Outcome int

// The outcomes of Begin.
const (
	// Claimed: this request owns the key; handle it, then Complete or Abandon.
	Claimed Outcome = iota + 1
	// Replay: the same request was handled; answer Response again.
	Replay
	// Mismatch: the key was used for a different request (422).
	Mismatch
	// InFlight: the same request is being handled right now (409).
	InFlight
)

// Response is the first answer given under a key.
type Response struct {
	Status   int             `json:"status"`
	Location string          `json:"location,omitempty"`
	Body     json.RawMessage `json:"body"`
}

type record struct {
	Fingerprint string    `json:"fingerprint"`
	Done        bool      `json:"done"`
	Response    *Response `json:"response,omitempty"`
}

// Store keeps idempotency records under idem:<userId>:<key>, with any ":"
// (and "%") in the user id percent-escaped so that no two (user, key) pairs
// share a record: user "a" with key "b:c" and user "a:b" with key "c" would.
type Store struct {
	rdb *redis.Client
}

// New returns a Store on rdb.
func New(rdb *redis.Client) *Store { return &Store{rdb: rdb} }

// userIDEscaper keeps the user id free of the ":" that ends it in a Redis key.
var userIDEscaper = strings.NewReplacer("%", "%25", ":", "%3A")

func redisKey(userID, key string) string { return "idem:" + userIDEscaper.Replace(userID) + ":" + key }

// Fingerprint identifies a request by method, path and body. JSON bodies are
// canonicalised first (key order and spacing do not matter).
func Fingerprint(method, path string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write([]byte(path))
	h.Write([]byte{0})
	h.Write(canonical(body))
	return hex.EncodeToString(h.Sum(nil))
}

func canonical(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return body
	}
	b, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return b
}

// Begin claims key for the request with fingerprint, or reports what an
// earlier request under the key means for this one. Concurrent callers with
// one key see exactly one Claimed.
func (s *Store) Begin(ctx context.Context, userID, key, fingerprint string) (Outcome, *Response, error) {
	k := redisKey(userID, key)
	claim, err := json.Marshal(record{Fingerprint: fingerprint})
	if err != nil {
		return 0, nil, err
	}
	for range 3 {
		ok, err := s.rdb.SetNX(ctx, k, claim, InFlightTTL).Result()
		if err != nil {
			return 0, nil, redisconn.Classify(err, "claim idempotency key")
		}
		if ok {
			return Claimed, nil, nil
		}
		raw, err := s.rdb.Get(ctx, k).Bytes()
		if errors.Is(err, redis.Nil) {
			continue // expired between the two calls: try to claim again
		}
		if err != nil {
			return 0, nil, redisconn.Classify(err, "read idempotency key")
		}
		var rec record
		if err := json.Unmarshal(raw, &rec); err != nil {
			return 0, nil, err
		}
		switch {
		case rec.Fingerprint != fingerprint:
			return Mismatch, nil, nil
		case rec.Done && rec.Response != nil:
			return Replay, rec.Response, nil
		default:
			return InFlight, nil, nil
		}
	}
	return InFlight, nil, nil
}

// completeScript stores the response only if the key is still claimed by the
// same fingerprint (it may have expired and been claimed by someone else).
var completeScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and cjson.decode(cur)['fingerprint'] ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`)

// Complete records resp as the answer for key and keeps it for TTL.
func (s *Store) Complete(ctx context.Context, userID, key, fingerprint string, resp Response) error {
	b, err := json.Marshal(record{Fingerprint: fingerprint, Done: true, Response: &resp})
	if err != nil {
		return err
	}
	err = completeScript.Run(ctx, s.rdb, []string{redisKey(userID, key)}, b, fingerprint, TTL.Milliseconds()).Err()
	return redisconn.Classify(err, "complete idempotency key")
}

// abandonScript deletes the key only while it is an unfinished claim of the
// same fingerprint.
var abandonScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local rec = cjson.decode(cur)
if rec['fingerprint'] ~= ARGV[1] or rec['done'] then return 0 end
return redis.call('DEL', KEYS[1])`)

// Abandon releases a claim whose request failed before anything happened, so
// the client may retry with the same key.
func (s *Store) Abandon(ctx context.Context, userID, key, fingerprint string) error {
	err := abandonScript.Run(ctx, s.rdb, []string{redisKey(userID, key)}, fingerprint).Err()
	return redisconn.Classify(err, "abandon idempotency key")
}
