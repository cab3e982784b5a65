// Package envelope defines the command and event envelopes that travel on
// Prism's queues and live in its event store (DESIGN.md "Envelopes"), with
// their validation and size limits.
package envelope

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// MaxBytes is the largest encoded envelope Prism accepts. Storage Queues take
// 64 KiB per message; 4 KiB stay free so a poisoned message still fits beside
// the record of why it failed.
const MaxBytes = 60 * 1024

// Command is a request to change one aggregate, as prism-api enqueues it.
type Command struct {
	CommandID     string          `json:"commandId"`
	Type          string          `json:"type"`
	AggregateType string          `json:"aggregateType"`
	AggregateID   string          `json:"aggregateId"`
	Payload       json.RawMessage `json:"payload"`
	Metadata      CommandMetadata `json:"metadata"`
}

// CommandMetadata carries who sent a command and how to trace it.
type CommandMetadata struct {
	CorrelationID  string    `json:"correlationId"`
	CausationID    string    `json:"causationId,omitempty"`
	UserID         string    `json:"userId"`
	IdempotencyKey string    `json:"idempotencyKey,omitempty"`
	Traceparent    string    `json:"traceparent,omitempty"`
	IssuedAt       time.Time `json:"issuedAt"`
}

// Event is a fact recorded in an aggregate's stream.
type Event struct {
	EventID       string          `json:"eventId"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schemaVersion"`
	AggregateType string          `json:"aggregateType"`
	AggregateID   string          `json:"aggregateId"`
	Version       int64           `json:"version"`
	OccurredAt    time.Time       `json:"occurredAt"`
	Data          json.RawMessage `json:"data"`
	Metadata      EventMetadata   `json:"metadata"`
}

// EventMetadata links an event to the command that caused it.
type EventMetadata struct {
	CommandID     string `json:"commandId"`
	CorrelationID string `json:"correlationId"`
	CausationID   string `json:"causationId,omitempty"`
	UserID        string `json:"userId"`
	Traceparent   string `json:"traceparent,omitempty"`
}

// TimePrecision is the finest time Azure Table Storage keeps (Edm.DateTime
// has 7 fractional digits). Times in events are created at this precision,
// so an event read back from the store is the event first published.
const TimePrecision = 100 * time.Nanosecond

// Now is the current UTC time at TimePrecision: the time events carry.
func Now() time.Time { return time.Now().UTC().Truncate(TimePrecision) }

// StreamID is the event-store stream (and Table partition) of an aggregate:
// "<aggregateType>-<aggregateId>".
func StreamID(aggregateType, aggregateID string) string {
	return aggregateType + "-" + aggregateID
}

// StreamID returns the stream the command's aggregate lives in.
func (c Command) StreamID() string { return StreamID(c.AggregateType, c.AggregateID) }

// StreamID returns the stream the event belongs to.
func (e Event) StreamID() string { return StreamID(e.AggregateType, e.AggregateID) }

// MetadataFor returns the metadata of an event caused by cmd.
func MetadataFor(cmd Command) EventMetadata {
	return EventMetadata{
		CommandID:     cmd.CommandID,
		CorrelationID: cmd.Metadata.CorrelationID,
		CausationID:   cmd.CommandID,
		UserID:        cmd.Metadata.UserID,
		Traceparent:   cmd.Metadata.Traceparent,
	}
}

// derivedNamespace scopes DerivedID's name-based UUIDs to Prism.
var derivedNamespace = uuid.MustParse("6f1c1b3e-5a0d-4c1e-9d51-7c0c5e7c9a11")

// DerivedID returns a deterministic id (a name-based UUID) for parts, such as
// (orderId, "reserve", sku). Commands sent in reaction to an event use it, so
// a redelivered event produces the same command again and the event store
// recognises it as a duplicate.
func DerivedID(parts ...string) string {
	return uuid.NewSHA1(derivedNamespace, []byte(strings.Join(parts, "\x1f"))).String()
}

// keyedNamespace scopes KeyedID's name-based UUIDs: ids named by a client's
// (user, Idempotency-Key) never meet DerivedID's.
var keyedNamespace = uuid.MustParse("b3c2a1d0-7e6f-4a5b-8c9d-0e1f2a3b4c5d")

// KeyedID returns the id the API names for a client's request: a name-based
// UUID of (kind, userID, idempotencyKey), e.g. ("command", user, key) for
// the command id, ("cart", user, key) for a cart the API names. The same key
// names the same ids for ever, even after Redis has forgotten the key, so a
// retry after an unclear failure reaches the event store as the same command
// and its cmd- row answers it as a duplicate (API.md "Common rules"). The
// user id is length-prefixed: no (user, key) pair can spell another's name.
func KeyedID(kind, userID, idempotencyKey string) string {
	name := kind + "\x1f" + strconv.Itoa(len(userID)) + "\x1f" + userID + "\x1f" + idempotencyKey
	return uuid.NewSHA1(keyedNamespace, []byte(name)).String()
}
