// Package httpapi is Prism's HTTP plumbing: RFC 9457 problem+json errors
// (the one place error kinds become status codes), JSON decoding that names
// bad fields, middleware (correlation ids, panic recovery, metrics, access
// logs), health endpoints and graceful serving.
package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/prism-es/prism/shared/apperr"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type          string              `json:"type"`
	Title         string              `json:"title"`
	Status        int                 `json:"status"`
	Detail        string              `json:"detail,omitempty"`
	Instance      string              `json:"instance,omitempty"`
	CorrelationID string              `json:"correlationId,omitempty"`
	Errors        []apperr.FieldError `json:"errors,omitempty"`
}

// RetryAfterSeconds is what a 503 tells clients to wait.
const RetryAfterSeconds = "2"

// StatusOf maps an error kind to its HTTP status. This is the only mapping.
func StatusOf(kind apperr.Kind) int {
	switch kind {
	case apperr.Invalid:
		return http.StatusBadRequest
	case apperr.Unauthenticated:
		return http.StatusUnauthorized
	case apperr.Forbidden:
		return http.StatusForbidden
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.Conflict:
		return http.StatusConflict
	case apperr.Mismatch, apperr.Rejected:
		return http.StatusUnprocessableEntity
	case apperr.TooLarge:
		return http.StatusRequestEntityTooLarge
	case apperr.UnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case apperr.RateLimited:
		return http.StatusTooManyRequests
	case apperr.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// WriteError answers err as problem+json. Internal errors are logged and
// answered without their details.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	kind := apperr.KindOf(err)
	status := StatusOf(kind)
	p := Problem{
		Type:          "urn:prism:problem:" + string(kind),
		Title:         http.StatusText(status),
		Status:        status,
		Detail:        apperr.MessageOf(err),
		Instance:      r.URL.Path,
		CorrelationID: w.Header().Get(CorrelationHeader),
		Errors:        apperr.FieldsOf(err),
	}
	switch {
	case status >= 500 && kind != apperr.Unavailable:
		slog.ErrorContext(r.Context(), "request failed", "err", err, "path", r.URL.Path)
	case kind == apperr.Unavailable:
		slog.WarnContext(r.Context(), "dependency unavailable", "err", err, "path", r.URL.Path)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", RetryAfterSeconds)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// WriteJSON answers v as JSON with the status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // a value JSON cannot hold (NaN, a channel): a bug here
		slog.Error("could not encode a response", "err", err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	WriteRawJSON(w, status, body)
}

// WriteRawJSON writes body, already JSON (a stored document, a recorded
// response), with the headers WriteJSON sets: the JSON content type,
// no-store, and nosniff (a browser never second-guesses it as HTML).
func WriteRawJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte("\n"))
}

// NotFoundHandler answers unknown routes as problem+json.
func NotFoundHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, apperr.New(apperr.NotFound, "no route %s %s", r.Method, r.URL.Path))
	})
}

// MethodNotAllowedHandler answers a known path with the wrong method.
func MethodNotAllowedHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := Problem{Type: "urn:prism:problem:method_not_allowed", Title: http.StatusText(http.StatusMethodNotAllowed),
			Status: http.StatusMethodNotAllowed, Detail: r.Method + " is not allowed on " + r.URL.Path, Instance: r.URL.Path,
			CorrelationID: w.Header().Get(CorrelationHeader)}
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_ = json.NewEncoder(w).Encode(p)
	})
}
