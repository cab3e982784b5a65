// Package apperr defines Prism's error kinds once. Every layer wraps failures
// in an *Error carrying a Kind; the HTTP layer maps kinds to status codes in
// exactly one place (httpapi).
package apperr

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error by what the caller can do about it.
type Kind string

// The kinds of error Prism distinguishes.
const (
	// Invalid means the input is malformed or breaks a shape rule; fix the input.
	Invalid Kind = "invalid"
	// Unauthenticated means no valid credentials were presented.
	Unauthenticated Kind = "unauthenticated"
	// Forbidden means the caller is known but lacks the required role.
	Forbidden Kind = "forbidden"
	// NotFound means the thing does not exist or is not the caller's to see.
	NotFound Kind = "not_found"
	// Conflict means the request clashes with current state (in-flight key, version).
	Conflict Kind = "conflict"
	// Mismatch means a reused idempotency key arrived with a different request.
	Mismatch Kind = "mismatch"
	// TooLarge means the input exceeds a size limit.
	TooLarge Kind = "too_large"
	// UnsupportedMediaType means the body is not in a content type we accept.
	UnsupportedMediaType Kind = "unsupported_media_type"
	// Rejected means a business rule refused the command; retrying will not help.
	Rejected Kind = "rejected"
	// RateLimited means the caller went over a rate limit or quota; retry
	// after the time the answer names.
	RateLimited Kind = "rate_limited"
	// Unavailable means a dependency (storage, Redis) is down; retry later.
	Unavailable Kind = "unavailable"
	// Internal means a bug or an unexpected failure.
	Internal Kind = "internal"
)

// FieldError names one bad input field and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an error with a Kind, a client-safe message and optional field errors.
type Error struct {
	Kind    Kind
	Message string
	Fields  []FieldError
	Err     error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Kind))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the wrapped cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error of the given kind with a client-safe message.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error of the given kind wrapping cause. The message is what a
// client may see; the cause is for logs.
func Wrap(kind Kind, cause error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), Err: cause}
}

// Fields returns an Invalid error listing each bad field.
func Fields(message string, fields ...FieldError) *Error {
	return &Error{Kind: Invalid, Message: message, Fields: fields}
}

// KindOf returns the kind of the first *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Is reports whether err's chain holds an *Error of the given kind.
func Is(err error, kind Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == kind
}

// MessageOf returns the client-safe message of err: the first *Error's message,
// or a generic text for errors without one.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "internal error"
}

// FieldsOf returns the field errors carried by err, if any.
func FieldsOf(err error) []FieldError {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}
