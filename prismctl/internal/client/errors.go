package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Problem is an error answer: an RFC 9457 problem document, or one made up
// from a response that was not one.
type Problem struct {
	Type          string       `json:"type"`
	Title         string       `json:"title"`
	Status        int          `json:"status"`
	Detail        string       `json:"detail,omitempty"`
	Instance      string       `json:"instance,omitempty"`
	CorrelationID string       `json:"correlationId,omitempty"`
	Errors        []FieldError `json:"errors,omitempty"`
	// RetryAfter is the Retry-After header (seconds form), or 0.
	RetryAfter time.Duration `json:"-"`
}

// FieldError names one bad field (or header, or path parameter).
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is "<title>: <detail>", then each field error on its own line.
func (p *Problem) Error() string {
	var b strings.Builder
	title := p.Title
	if title == "" {
		title = http.StatusText(p.Status)
	}
	if title == "" {
		title = "HTTP " + strconv.Itoa(p.Status)
	}
	b.WriteString(title)
	if p.Detail != "" && p.Detail != title {
		b.WriteString(": ")
		b.WriteString(p.Detail)
	}
	for _, f := range p.Errors {
		fmt.Fprintf(&b, "\n  %s: %s", f.Field, f.Message)
	}
	return b.String()
}

// Kind is the last part of a Prism problem type ("invalid" for
// urn:prism:problem:invalid), or "".
func (p *Problem) Kind() string {
	if k, ok := strings.CutPrefix(p.Type, "urn:prism:problem:"); ok {
		return k
	}
	return ""
}

// ParseProblem turns an error answer into a *Problem. A body that is not a
// problem document becomes the detail (shortened).
func ParseProblem(status int, header http.Header, body []byte) *Problem {
	p := &Problem{}
	mt, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	if mt == "application/problem+json" || mt == "application/json" {
		if json.Unmarshal(body, p) != nil {
			p = &Problem{}
		}
	}
	if p.Status == 0 {
		p.Status = status
	}
	if p.Title == "" && p.Detail == "" {
		p.Title = http.StatusText(status)
		detail := strings.TrimSpace(string(body))
		if len(detail) > 200 {
			detail = detail[:200] + "…"
		}
		p.Detail = detail
	}
	if s, err := strconv.Atoi(header.Get("Retry-After")); err == nil && s >= 0 {
		p.RetryAfter = time.Duration(s) * time.Second
	}
	return p
}

// AsProblem returns err's *Problem, if it has one.
func AsProblem(err error) (*Problem, bool) {
	var p *Problem
	ok := errors.As(err, &p)
	return p, ok
}

// HasStatus reports whether err is a Problem with one of the statuses.
func HasStatus(err error, statuses ...int) bool {
	p, ok := AsProblem(err)
	if !ok {
		return false
	}
	for _, s := range statuses {
		if p.Status == s {
			return true
		}
	}
	return false
}

// TransportError says a service could not be reached or its answer was cut
// off.
type TransportError struct {
	// Service names the server ("the API").
	Service string
	Method  string
	URL     string
	Err     error
	// Hint is printed on a line of its own.
	Hint string
}

// Error names the service, the URL and the cause, then the hint on its own line.
func (e *TransportError) Error() string {
	s := fmt.Sprintf("cannot reach %s at %s (%s): %v", e.Service, e.URL, e.Method, e.Err)
	if e.Hint != "" {
		s += "\n  " + e.Hint
	}
	return s
}

// Unwrap returns the cause.
func (e *TransportError) Unwrap() error { return e.Err }
