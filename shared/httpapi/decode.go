package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/prism-es/prism/shared/apperr"
)

// MaxBodyBytes is the largest request body Prism reads (API.md: 413 above).
const MaxBodyBytes = 64 * 1024

// ReadBody reads a JSON request body of at most MaxBodyBytes. An empty body
// reads as "{}". It answers 415 for a non-JSON content type, 413 when too
// large, 400 for invalid UTF-8 or malformed JSON.
func ReadBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return []byte("{}"), nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, apperr.New(apperr.UnsupportedMediaType, "Content-Type must be application/json, not %q", ct)
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "could not read the request body")
	}
	if len(body) > MaxBodyBytes {
		return nil, apperr.New(apperr.TooLarge, "request body exceeds %d bytes", MaxBodyBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return []byte("{}"), nil
	}
	if !utf8.Valid(body) {
		return nil, apperr.New(apperr.Invalid, "request body is not valid UTF-8")
	}
	return body, nil
}

// Decode parses body into dst (a pointer to a struct), refusing unknown
// fields, wrong types, trailing data and anything that is not one JSON
// object. Errors name the offending field.
func Decode(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return apperr.Fields("malformed JSON", apperr.FieldError{Field: "body", Message: "must be a JSON object"})
	}
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apperr.Fields("malformed JSON", apperr.FieldError{Field: "body", Message: "must hold exactly one JSON object"})
	}
	return nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return apperr.Fields("malformed JSON", apperr.FieldError{Field: "body", Message: fmt.Sprintf("syntax error at byte %d", syn.Offset)})
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return apperr.Fields("invalid field type", apperr.FieldError{Field: field, Message: "must be " + jsonKind(typ.Type.Kind().String())})
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return apperr.Fields("malformed JSON", apperr.FieldError{Field: "body", Message: "unexpected end of JSON"})
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return apperr.Fields("unknown field", apperr.FieldError{Field: f, Message: "is not a known field"})
	}
	return apperr.Fields("malformed JSON", apperr.FieldError{Field: "body", Message: strings.TrimPrefix(msg, "json: ")})
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return "of another type"
}
