// Package eventstore is Prism's event store: an append-only log of events per
// stream with optimistic concurrency and per-command deduplication, kept in
// Azure Table Storage (DESIGN.md "Storage contracts"), plus snapshots and
// upcasters for old event schemas.
package eventstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/prism-es/prism/shared/envelope"
)

// Store is the event-store port the domain and read sides depend on.
type Store interface {
	// Load returns the stream's events with Version >= fromVersion, in order,
	// upcast to their current schema versions.
	Load(ctx context.Context, stream string, fromVersion int64) ([]envelope.Event, error)
	// Append atomically records events (versions expectedVersion+1, …) together
	// with the marker of commandID. It returns a *ConflictError when the stream
	// moved past expectedVersion and a *DuplicateCommandError when commandID was
	// applied before.
	Append(ctx context.Context, stream string, expectedVersion int64, events []envelope.Event, commandID string) error
	// Recorded reports whether commandID was applied to stream and returns
	// the events it recorded then.
	Recorded(ctx context.Context, stream, commandID string) ([]envelope.Event, bool, error)
	// Reject records that commandID was refused by a business rule, so that
	// a redelivery never applies it later. If the command already has a
	// marker it returns a *DuplicateCommandError with what was recorded
	// (applied with its events, or rejected with its reason).
	Reject(ctx context.Context, stream, commandID, reason string) error
}

// ConflictError says the stream already holds a version the append wanted to
// write: someone else appended first. Reload and decide again.
type ConflictError struct {
	Stream          string
	ExpectedVersion int64
}

// Error implements error.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("eventstore: stream %s moved past version %d", e.Stream, e.ExpectedVersion)
}

// DuplicateCommandError says the command was handled before: applied, with
// Events the events it recorded then (possibly none, to be re-published), or
// Rejected with Reason. Its first outcome is final.
type DuplicateCommandError struct {
	Stream    string
	CommandID string
	Events    []envelope.Event
	Rejected  bool
	Reason    string
}

// Error implements error.
func (e *DuplicateCommandError) Error() string {
	return fmt.Sprintf("eventstore: command %s was already applied to %s (%d events)", e.CommandID, e.Stream, len(e.Events))
}

// IsConflict reports whether err is a version conflict.
func IsConflict(err error) bool {
	var c *ConflictError
	return errors.As(err, &c)
}

// AsDuplicate returns the duplicate-command error in err's chain, if any.
func AsDuplicate(err error) (*DuplicateCommandError, bool) {
	var d *DuplicateCommandError
	ok := errors.As(err, &d)
	return d, ok
}
