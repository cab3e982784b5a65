package commands

import (
	"regexp"

	"github.com/prism-es/prism/shared/commandapi"
)

var (
	skuPattern          = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	paymentTokenPattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
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

const skuMessage = "must be 1-64 characters of letters, digits and . _ - (starting with a letter or digit)"

// sku checks a SKU (a path value or field).
func sku(c *commandapi.Checks, field, v string) { c.Match(field, v, skuPattern, skuMessage) }

// requiredSKU checks an optional body field that must be a SKU.
func requiredSKU(c *commandapi.Checks, field string, v *string) {
	if v == nil {
		c.Add(field, "is required")
		return
	}
	sku(c, field, *v)
}
