package httpapi_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/logging"
)

// TestWithCorrelationIDReplacesOnlyAMadeUpID: a handler may name a request
// that brought no correlation id (by its command id); one the client sent
// is kept.
func TestWithCorrelationIDReplacesOnlyAMadeUpID(t *testing.T) {
	var seen string
	var attrs []slog.Attr
	h := httpapi.Correlate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = httpapi.WithCorrelationID(w, r, "cmd-1")
		seen, attrs = httpapi.CorrelationID(r), logging.Attrs(r.Context())
	}))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	assert.Equal(t, "cmd-1", seen)
	assert.Equal(t, "cmd-1", rec.Header().Get("X-Correlation-Id"))
	assert.Equal(t, []slog.Attr{slog.String("correlationId", "cmd-1")}, attrs, "one correlationId in the logs")

	rec = httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("X-Correlation-Id", "client-1")
	h.ServeHTTP(rec, r)
	assert.Equal(t, "client-1", seen)
	assert.Equal(t, "client-1", rec.Header().Get("X-Correlation-Id"))
}
