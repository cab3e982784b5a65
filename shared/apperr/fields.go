package apperr

import "fmt"

// FieldErrors collects every bad field of an input, so that one answer can
// name them all. The zero value is ready to use.
type FieldErrors struct{ fields []FieldError }

// Add records that field is bad: what is wrong with it, formatted.
func (f *FieldErrors) Add(field, format string, args ...any) {
	f.fields = append(f.fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Check records the failure when ok is false.
func (f *FieldErrors) Check(ok bool, field, format string, args ...any) {
	if !ok {
		f.Add(field, format, args...)
	}
}

// Err returns nil when no field was bad, else an Invalid error with message
// listing them.
func (f *FieldErrors) Err(message string) error {
	if len(f.fields) == 0 {
		return nil
	}
	return Fields(message, f.fields...)
}
