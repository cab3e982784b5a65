package eventstore

import (
	"fmt"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/storage"
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
	// MaxPropertyBytes is the size limit of one string property, counted in
	// UTF-16 as Azure does (32 K code units).
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
		if e.OccurredAt.Nanosecond()%int(envelope.TimePrecision) != 0 {
			// Azure would keep 7 digits, and the event read back would
			// differ from the one published (use envelope.Now).
			return apperr.New(apperr.Invalid, "event %d occurredAt %s is finer than the store keeps (100 ns)", i, e.OccurredAt.Format("15:04:05.000000000"))
		}
	}
	return nil
}

// checkEntitySizes enforces the per-property, per-entity and per-batch limits
// on the encoded rows.
func checkEntitySizes(rows []rowSize) error {
	total := 0
	for i, r := range rows {
		for name, n := range r.properties {
			if n > MaxPropertyBytes {
				return apperr.New(apperr.TooLarge, "row %d property %s is %d bytes in UTF-16; the limit is %d", i, name, n, MaxPropertyBytes)
			}
		}
		if r.entity > MaxEntityBytes {
			return apperr.New(apperr.TooLarge, "row %d is %d bytes; the limit is %d", i, r.entity, MaxEntityBytes)
		}
		total += r.payload
	}
	if total > MaxBatchBytes {
		return apperr.New(apperr.TooLarge, "transaction is %d bytes; the limit is %d", total, MaxBatchBytes)
	}
	return nil
}

// rowSize is one row's size as Azure counts it: the entity by Azure's
// formula (strings in UTF-16), each string property in UTF-16 bytes, and the
// row's share of the transaction's request body (UTF-8 JSON plus the
// multipart headers around it).
type rowSize struct {
	entity     int
	payload    int
	properties map[string]int
}

// newRowSize starts a row's size: Azure's "4 bytes + Len(PartitionKey +
// RowKey) * 2 bytes", then each property is added.
func newRowSize(partitionKey, rowKey string, encoded int) rowSize {
	return rowSize{
		entity:     4 + 2*(storage.UTF16Len(partitionKey)+storage.UTF16Len(rowKey)),
		payload:    encoded + batchOverheadBytes,
		properties: map[string]int{},
	}
}

// str adds a string property: 8 bytes + Len(name) * 2 + 4 + Len(value) * 2.
func (r *rowSize) str(name, value string) {
	n := 2 * storage.UTF16Len(value)
	r.properties[name] = n
	r.entity += 8 + 2*len(name) + 4 + n
}

// fixed adds a property of a fixed-size type (Int32 4, Int64 and DateTime 8).
func (r *rowSize) fixed(name string, size int) { r.entity += 8 + 2*len(name) + size }
