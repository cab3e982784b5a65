package commandapi

import (
	"regexp"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/prism-es/prism/shared/apperr"
)

// Checks collects every bad field of a request before answering, so the
// 400 names them all (problem+json "errors": [{field, message}]).
type Checks struct{ apperr.FieldErrors }

// UUID checks that v (a path value or field) is a UUID in its 36-character form.
func (c *Checks) UUID(field, v string) {
	if _, err := uuid.Parse(v); err != nil || len(v) != 36 {
		c.Add(field, "must be a UUID")
	}
}

// Match checks v against re; message says what it must be.
func (c *Checks) Match(field, v string, re *regexp.Regexp, message string) {
	if !re.MatchString(v) {
		c.Add(field, "%s", message)
	}
}

// Required checks that an optional body field is present; it reports
// whether it is.
func (c *Checks) Required(field string, v any) bool {
	present := true
	switch p := v.(type) {
	case *string:
		present = p != nil
	case *int64:
		present = p != nil
	case *bool:
		present = p != nil
	case nil:
		present = false
	}
	if !present {
		c.Add(field, "is required")
	}
	return present
}

// IntRange checks a required integer field against [lo, hi].
func (c *Checks) IntRange(field string, v *int64, lo, hi int64) {
	switch {
	case v == nil:
		c.Add(field, "is required")
	case *v < lo || *v > hi:
		c.Add(field, "must be between %d and %d", lo, hi)
	}
}

// Text checks a required text field: 1 to maxRunes characters, no control
// characters, valid UTF-8.
func (c *Checks) Text(field string, v *string, maxRunes int) {
	if v == nil {
		c.Add(field, "is required")
		return
	}
	n := utf8.RuneCountInString(*v)
	if n == 0 || n > maxRunes {
		c.Add(field, "must be 1-%d characters", maxRunes)
		return
	}
	for _, r := range *v {
		if unicode.IsControl(r) || r == utf8.RuneError {
			c.Add(field, "must not contain control characters")
			return
		}
	}
}

// Err is nil when every field passed, else an invalid-input error listing them.
func (c *Checks) Err() error { return c.FieldErrors.Err("the request has invalid fields") }
