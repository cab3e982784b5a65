// Package idempotency records Idempotency-Keys in Redis (DESIGN.md "Redis"):
// the first request with a key claims it atomically (SET NX), what its
// response needs to be answered again is kept for 24 h and replayed for the
// same request; the same key with a different request is a mismatch; a key
// whose first request is still being handled is in flight.
//
// A record is small (issue 19): 64 bits of the request's fingerprint and
// the correlation id the first 202 carried, 11 bytes when that is the
// command's own id (27 for another UUID). Everything else in
// a 202 follows from the request itself (the same fingerprint is the same
// method, path and body) and from the ids named by (user, key), so the
// caller rebuilds the first answer byte for byte.
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

	"github.com/google/uuid"
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
	// Replay: the same request was handled; answer it again from the Record.
	Replay
	// Mismatch: the key was used for a different request (422).
	Mismatch
	// InFlight: the same request is being handled right now (409).
	InFlight
)

// Record is what is kept of the first answer under a key.
type Record struct {
	// CorrelationID is the correlation id the first answer carried; ""
	// when that was the command's own id (Complete was given ""), which
	// costs the record one byte instead of seventeen.
	CorrelationID string
	// Legacy is the whole first response, as records written before issue 19
	// kept it (JSON); when set, replay it as it is.
	Legacy *Response
}

// Response is a whole first answer, as legacy records hold it.
type Response struct {
	Status   int             `json:"status"`
	Location string          `json:"location,omitempty"`
	Body     json.RawMessage `json:"body"`
}

// legacyRecord is the JSON record of earlier versions.
type legacyRecord struct {
	Fingerprint string    `json:"fingerprint"`
	Done        bool      `json:"done"`
	Response    *Response `json:"response,omitempty"`
}

// A record's value: one kind byte ('c' claimed, 'd' done), one byte with the
// fingerprint's length, the fingerprint, and for 'd' the correlation id: 'k'
// for "the command's own id" (""), 'u' and 16 bytes for a UUID in its
// canonical form, else 's' and the id. The usual record is 11 bytes, which
// Redis keeps in its 32-byte allocation.
const (
	kindClaim = 'c'
	kindDone  = 'd'
)

func encode(kind byte, fingerprint, correlationID string) []byte {
	b := make([]byte, 0, 2+len(fingerprint)+1+len(correlationID))
	b = append(b, kind, byte(len(fingerprint)))
	b = append(b, fingerprint...)
	if kind != kindDone {
		return b
	}
	if correlationID == "" {
		return append(b, 'k')
	}
	if u, err := uuid.Parse(correlationID); err == nil && u.String() == correlationID {
		return append(append(b, 'u'), u[:]...)
	}
	return append(append(b, 's'), correlationID...)
}

// decoded is a record read back.
type decoded struct {
	fingerprint string
	done        bool
	legacy      bool
	record      Record
}

var errCorrupt = errors.New("idempotency: unreadable record")

func decode(raw []byte) (decoded, error) {
	if len(raw) > 0 && raw[0] == '{' {
		var rec legacyRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			return decoded{}, err
		}
		d := decoded{fingerprint: rec.Fingerprint, legacy: true}
		if rec.Done && rec.Response != nil {
			d.done, d.record.Legacy = true, rec.Response
		}
		return d, nil
	}
	if len(raw) < 2 || (raw[0] != kindClaim && raw[0] != kindDone) || len(raw) < 2+int(raw[1]) {
		return decoded{}, errCorrupt
	}
	n := 2 + int(raw[1])
	d := decoded{fingerprint: string(raw[2:n]), done: raw[0] == kindDone}
	if !d.done {
		return d, nil
	}
	rest := raw[n:]
	switch {
	case len(rest) == 1 && rest[0] == 'k':
	case len(rest) == 17 && rest[0] == 'u':
		d.record.CorrelationID = uuid.UUID(rest[1:]).String()
	case len(rest) >= 1 && rest[0] == 's':
		d.record.CorrelationID = string(rest[1:])
	default:
		return decoded{}, errCorrupt
	}
	return d, nil
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

// Fingerprint identifies a request by method, path and body: SHA-256, in
// hex. JSON bodies are canonicalised first (key order and spacing do not
// matter).
func Fingerprint(method, path string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write([]byte(path))
	h.Write([]byte{0})
	h.Write(canonical(body))
	return hex.EncodeToString(h.Sum(nil))
}

// storedFingerprintBytes is how much of Fingerprint a record keeps: 64
// bits tell a user's requests under one key apart (a different request
// passing for the first one would take a 2^-64 chance), and a record of 27
// bytes fits Redis's 48-byte allocation where 35 took 64 (issue 19).
const storedFingerprintBytes = 8

// stored is the form a fingerprint takes in a record: Fingerprint's 64 hex
// digits become their first storedFingerprintBytes bytes; any other
// fingerprint is kept as it is.
func stored(fingerprint string) string {
	if len(fingerprint) == 2*sha256.Size {
		if b, err := hex.DecodeString(fingerprint); err == nil {
			return string(b[:storedFingerprintBytes])
		}
	}
	return fingerprint
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

// errLongFingerprint: a fingerprint must fit the record's length byte.
var errLongFingerprint = errors.New("idempotency: fingerprint longer than 255 bytes")

// Begin claims key for the request with fingerprint, or reports what an
// earlier request under the key means for this one (with the Record to
// answer a Replay from). Concurrent callers with one key see exactly one
// Claimed.
func (s *Store) Begin(ctx context.Context, userID, key, fingerprint string) (Outcome, *Record, error) {
	short := stored(fingerprint)
	if len(short) > 255 {
		return 0, nil, errLongFingerprint
	}
	k := redisKey(userID, key)
	claim := encode(kindClaim, short, "")
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
		d, err := decode(raw)
		if err != nil {
			return 0, nil, err
		}
		want := short
		if d.legacy {
			want = fingerprint // legacy records hold the whole fingerprint
		}
		switch {
		case d.fingerprint != want:
			return Mismatch, nil, nil
		case d.done:
			return Replay, &d.record, nil
		default:
			return InFlight, nil, nil
		}
	}
	return InFlight, nil, nil
}

// fingerprintOf (Lua) is the fingerprint of a record in the current format,
// or nil for anything else (a legacy JSON record is never completed or
// abandoned by this version: it is a finished answer).
const fingerprintOf = `
local function fingerprintOf(v)
  local kind = string.sub(v, 1, 1)
  if kind ~= 'c' and kind ~= 'd' then return nil end
  return string.sub(v, 3, 2 + string.byte(v, 2))
end
`

// completeScript stores the record only if the key is still claimed by the
// same fingerprint (it may have expired and been claimed by someone else).
var completeScript = redis.NewScript(fingerprintOf + `
local cur = redis.call('GET', KEYS[1])
if cur and fingerprintOf(cur) ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`)

// Complete records that the request with fingerprint was answered with
// correlationID in its 202 ("" for the command's own id), and keeps the key
// for TTL.
func (s *Store) Complete(ctx context.Context, userID, key, fingerprint, correlationID string) error {
	short := stored(fingerprint)
	if len(short) > 255 {
		return errLongFingerprint
	}
	err := completeScript.Run(ctx, s.rdb, []string{redisKey(userID, key)}, encode(kindDone, short, correlationID), short, TTL.Milliseconds()).Err()
	return redisconn.Classify(err, "complete idempotency key")
}

// abandonScript deletes the key only while it is an unfinished claim of the
// same fingerprint.
var abandonScript = redis.NewScript(fingerprintOf + `
local cur = redis.call('GET', KEYS[1])
if not cur or string.sub(cur, 1, 1) ~= 'c' or fingerprintOf(cur) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`)

// Abandon releases a claim whose request failed before anything happened, so
// the client may retry with the same key.
func (s *Store) Abandon(ctx context.Context, userID, key, fingerprint string) error {
	err := abandonScript.Run(ctx, s.rdb, []string{redisKey(userID, key)}, stored(fingerprint)).Err()
	return redisconn.Classify(err, "abandon idempotency key")
}
