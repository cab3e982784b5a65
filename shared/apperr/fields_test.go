package apperr_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/prism-es/prism/shared/apperr"
)

func TestFieldErrorsNameEveryBadField(t *testing.T) {
	var f apperr.FieldErrors
	assert.NoError(t, f.Err("bad input"), "nothing added, nothing wrong")
	f.Check(true, "fine", "never recorded")
	f.Add("quantity", "must be between %d and %d", 1, 99)
	f.Check(false, "sku", "is required")
	err := f.Err("bad input")
	assert.Equal(t, apperr.Invalid, apperr.KindOf(err))
	assert.Equal(t, "bad input", apperr.MessageOf(err))
	assert.Equal(t, []apperr.FieldError{{Field: "quantity", Message: "must be between 1 and 99"}, {Field: "sku", Message: "is required"}}, apperr.FieldsOf(err))
}
