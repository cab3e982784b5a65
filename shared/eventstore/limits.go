package eventstore

import (
	"fmt"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
)

// Limits of one Azure Table entity-group transaction. Azurite accepts more
// than Azure does, so the store checks these before sending anything.
const (
	// MaxBatchEntities is the most actions one transaction may hold.
	MaxBatchEntities = 100
	// MaxEventsPerAppend leaves room for the command's marker row.
	MaxEventsPerAppend = MaxBatchEntities - 1
	// MaxBatchBytes is the transaction payload limit (strictly less than 4 MiB).
	MaxBatchBytes = 4*1024*1024 - 1
	// MaxEntityBytes is the size limit of one entity.
	MaxEntityBytes = 1024 * 1024
	// MaxPropertyBytes is the size limit of one string property.
	MaxPropertyBytes = 64 * 1024
)

// validateAppend checks everything Azure would refuse, and the stream's own
// rules, before any request is sent. A batch that does not fit is an error: it
// is never split, because a split append would not be atomic.
func validateAppend(stream string, expectedVersion int64, events []envelope.Event, commandID string) error {
	if !envelope.ValidID(commandID) {
		return apperr.Fields("invalid append", apperr.FieldError{Field: "commandId", Message: "must be a valid id"})
	}
	if expectedVersion < 0 {
		return apperr.New(apperr.Invalid, "expected version %d is negative", expectedVersion)
	}
	if len(events) > MaxEventsPerAppend {
		return apperr.New(apperr.TooLarge, "append of %d events exceeds %d per transaction (with the command marker)", len(events), MaxEventsPerAppend)
	}
	for i, e := range events {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
		if e.StreamID() != stream {
			return apperr.New(apperr.Invalid, "event %d belongs to stream %s, not %s (one partition per transaction)", i, e.StreamID(), stream)
		}
		if want := expectedVersion + int64(i) + 1; e.Version != want {
			return apperr.New(apperr.Invalid, "event %d has version %d; want %d", i, e.Version, want)
		}
		if e.Metadata.CommandID != commandID {
			return apperr.New(apperr.Invalid, "event %d was caused by command %s, not %s", i, e.Metadata.CommandID, commandID)
		}
	}
	return nil
}

// checkEntitySizes enforces the per-property, per-entity and per-batch limits
// on the encoded rows.
func checkEntitySizes(rows []eventRowSize) error {
	total := 0
	for i, r := range rows {
		for name, n := range r.properties {
			if n > MaxPropertyBytes {
				return apperr.New(apperr.TooLarge, "row %d property %s is %d bytes; the limit is %d", i, name, n, MaxPropertyBytes)
			}
		}
		if r.entity > MaxEntityBytes {
			return apperr.New(apperr.TooLarge, "row %d is %d bytes; the limit is %d", i, r.entity, MaxEntityBytes)
		}
		total += r.entity
	}
	if total > MaxBatchBytes {
		return apperr.New(apperr.TooLarge, "transaction is %d bytes; the limit is %d", total, MaxBatchBytes)
	}
	return nil
}

type eventRowSize struct {
	entity     int
	properties map[string]int
}
