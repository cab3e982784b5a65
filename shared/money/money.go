// Package money formats amounts in cents with a currency, as the storefront
// does with Intl.NumberFormat: "€12.34", "£0.50", "¥1,234". The currency is
// PRISM_CURRENCY (ISO 4217, default EUR) and the locale PRISM_LOCALE
// (BCP 47, default en), the same settings the storefront gets.
package money

import (
	"fmt"
	"strings"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// Defaults of the settings.
const (
	DefaultCurrency = "EUR"
	DefaultLocale   = "en"
)

// Format is a currency in a locale.
type Format struct {
	unit    currency.Unit
	tag     language.Tag
	printer *message.Printer
}

// New checks the currency code and locale.
func New(code, locale string) (Format, error) {
	unit, err := currency.ParseISO(code)
	if err != nil {
		return Format{}, fmt.Errorf("currency %q: not an ISO 4217 code", code)
	}
	tag, err := language.Parse(locale)
	if err != nil {
		return Format{}, fmt.Errorf("locale %q: not a BCP 47 language tag", locale)
	}
	return Format{unit: unit, tag: tag, printer: message.NewPrinter(tag)}, nil
}

// Code is the ISO 4217 code ("EUR").
func (f Format) Code() string { return f.unit.String() }

// Locale is the BCP 47 tag ("en").
func (f Format) Locale() string { return f.tag.String() }

// Cents formats an amount of minor units (cents): 1234 → "€12.34". The
// currency's own number of decimals applies (JPY has none: the "cents" of
// a zero-decimal currency are whole units).
func (f Format) Cents(cents int64) string {
	scale, _ := currency.Standard.Rounding(f.unit)
	amount := float64(cents)
	for range scale {
		amount /= 10
	}
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	symbol := f.printer.Sprint(currency.NarrowSymbol(f.unit))
	digits := f.printer.Sprint(number.Decimal(amount, number.Scale(scale)))
	if strings.ContainsAny(symbol, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		return sign + symbol + "\u00a0" + digits // a code, not a sign: "CHF 12.34"
	}
	return sign + symbol + digits
}
