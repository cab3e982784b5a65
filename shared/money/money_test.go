package money_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/money"
)

func TestCents(t *testing.T) {
	for _, c := range []struct {
		code, locale string
		cents        int64
		want         string
	}{
		{"EUR", "en", 1234, "€12.34"},
		{"EUR", "en", 5, "€0.05"},
		{"EUR", "en", 0, "€0.00"},
		{"USD", "en", 123456789, "$1,234,567.89"},
		{"GBP", "en", 50, "£0.50"},
		{"JPY", "en", 1234, "¥1,234"},
		{"EUR", "en", -250, "-€2.50"},
		{"CHF", "en", 1234, "CHF\u00a012.34"},
		{"EUR", "de", 123456, "€1.234,56"},
	} {
		f, err := money.New(c.code, c.locale)
		require.NoError(t, err)
		assert.Equal(t, c.want, f.Cents(c.cents), "%s %s %d", c.code, c.locale, c.cents)
	}
}

func TestBadSettings(t *testing.T) {
	_, err := money.New("EURO", "en")
	assert.Error(t, err)
	_, err = money.New("EUR", "not a locale!")
	assert.Error(t, err)
	f, err := money.New("usd", "en-GB")
	require.NoError(t, err)
	assert.Equal(t, "USD", f.Code())
	assert.Equal(t, "en-GB", f.Locale())
}
