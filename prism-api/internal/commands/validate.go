package commands

import (
	"regexp"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/prism-es/prism/shared/apperr"
)

var (
	skuPattern          = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	paymentTokenPattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
	idempotencyPattern  = regexp.MustCompile(`^[\x21-\x7e][\x20-\x7e]{0,127}$`)
	// trackingPattern matches the OrderShipped schema's trackingNumber.
	trackingPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,63}$`)
)

// Shape limits (business rules live in domain-service).
const (
	MaxQuantity     = 99
	MaxNameLength   = 200
	MaxPriceCents   = 100_000_000
	MaxStock        = 1_000_000
	DefaultPayToken = "pm_ok"
)

// checks collects every bad field of a request before answering.
type checks struct{ apperr.FieldErrors }

func (c *checks) uuid(field, v string) {
	if _, err := uuid.Parse(v); err != nil || len(v) != 36 {
		c.Add(field, "must be a UUID")
	}
}

func (c *checks) sku(field, v string) {
	if !skuPattern.MatchString(v) {
		c.Add(field, "must be 1-64 characters of letters, digits and . _ - (starting with a letter or digit)")
	}
}

// requiredSKU checks an optional body field that must be a SKU.
func (c *checks) requiredSKU(field string, v *string) {
	if v == nil {
		c.Add(field, "is required")
		return
	}
	c.sku(field, *v)
}

func (c *checks) intRange(field string, v *int64, lo, hi int64) {
	switch {
	case v == nil:
		c.Add(field, "is required")
	case *v < lo || *v > hi:
		c.Add(field, "must be between %d and %d", lo, hi)
	}
}

func (c *checks) name(field string, v *string) {
	if v == nil {
		c.Add(field, "is required")
		return
	}
	n := utf8.RuneCountInString(*v)
	if n == 0 || n > MaxNameLength {
		c.Add(field, "must be 1-%d characters", MaxNameLength)
		return
	}
	for _, r := range *v {
		if unicode.IsControl(r) || r == utf8.RuneError {
			c.Add(field, "must not contain control characters")
			return
		}
	}
}

func (c *checks) err() error { return c.Err("the request has invalid fields") }
