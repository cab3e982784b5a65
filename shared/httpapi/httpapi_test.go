package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/httpapi"
)

type addItem struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

func TestDecodeNamesTheField(t *testing.T) {
	cases := []struct {
		name, body, field string
	}{
		{"unknown field", `{"sku":"A","quantity":1,"price":0}`, "price"},
		{"wrong type", `{"sku":"A","quantity":"2"}`, "quantity"},
		{"huge number", `{"sku":"A","quantity":1e400}`, "quantity"},
		{"overflow", `{"sku":"A","quantity":99999999999999999999}`, "quantity"},
		{"malformed", `{"sku":`, "body"},
		{"array", `[1,2]`, "body"},
		{"trailing", `{"sku":"A"} {"sku":"B"}`, "body"},
		{"string", `"hello"`, "body"},
		{"deep", strings.Repeat("[", 20000) + strings.Repeat("]", 20000), "body"},
		{"deep in object", `{"sku":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, "body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var v addItem
			err := httpapi.Decode([]byte(c.body), &v)
			require.Error(t, err)
			assert.Equal(t, apperr.Invalid, apperr.KindOf(err))
			fields := apperr.FieldsOf(err)
			require.NotEmpty(t, fields)
			assert.Equal(t, c.field, fields[0].Field, "%v", err)
		})
	}
	var ok addItem
	require.NoError(t, httpapi.Decode([]byte(`{"sku":"A","quantity":2}`), &ok))
	assert.Equal(t, addItem{"A", 2}, ok)
}

func TestReadBody(t *testing.T) {
	req := func(ct, body string) *http.Request {
		r := httptest.NewRequest("POST", "/x", strings.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		return r
	}
	b, err := httpapi.ReadBody(req("application/json; charset=utf-8", `{"a":1}`))
	require.NoError(t, err)
	assert.Equal(t, `{"a":1}`, string(b))

	b, err = httpapi.ReadBody(httptest.NewRequest("POST", "/x", nil))
	require.NoError(t, err)
	assert.Equal(t, "{}", string(b), "no body reads as an empty object")

	_, err = httpapi.ReadBody(req("text/plain", "sku=1"))
	assert.Equal(t, apperr.UnsupportedMediaType, apperr.KindOf(err))
	_, err = httpapi.ReadBody(req("application/json", `{"pad":"`+strings.Repeat("x", httpapi.MaxBodyBytes)+`"}`))
	assert.Equal(t, apperr.TooLarge, apperr.KindOf(err))
	_, err = httpapi.ReadBody(req("application/json", "{\"a\":\"\xff\"}"))
	assert.Equal(t, apperr.Invalid, apperr.KindOf(err))
}

func TestWriteErrorMapsKindsOnce(t *testing.T) {
	cases := map[apperr.Kind]int{
		apperr.Invalid: 400, apperr.Unauthenticated: 401, apperr.Forbidden: 403, apperr.NotFound: 404,
		apperr.Conflict: 409, apperr.TooLarge: 413, apperr.UnsupportedMediaType: 415, apperr.Mismatch: 422,
		apperr.Rejected: 422, apperr.Unavailable: 503, apperr.Internal: 500,
	}
	for kind, status := range cases {
		rec := httptest.NewRecorder()
		httpapi.WriteError(rec, httptest.NewRequest("GET", "/p", nil), apperr.New(kind, "msg %s", kind))
		assert.Equal(t, status, rec.Code, kind)
		assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
		var p httpapi.Problem
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
		assert.Equal(t, status, p.Status)
		if kind == apperr.Unavailable {
			assert.NotEmpty(t, rec.Header().Get("Retry-After"))
		}
	}
	rec := httptest.NewRecorder()
	httpapi.WriteError(rec, httptest.NewRequest("GET", "/p", nil), errors.New("secret database detail"))
	assert.Equal(t, 500, rec.Code)
	assert.NotContains(t, rec.Body.String(), "secret", "internal details never reach the client")

	rec = httptest.NewRecorder()
	httpapi.WriteError(rec, httptest.NewRequest("GET", "/p", nil), apperr.Fields("bad", apperr.FieldError{Field: "quantity", Message: "must be 1-99"}))
	var p httpapi.Problem
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	require.Len(t, p.Errors, 1)
	assert.Equal(t, "quantity", p.Errors[0].Field)
}

func TestCorrelateAndRecover(t *testing.T) {
	var seen string
	h := httpapi.Correlate(httpapi.Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = httpapi.CorrelationID(r)
		if r.URL.Path == "/panic" {
			panic("boom")
		}
	})))
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Correlation-Id", "abc-123")
	h.ServeHTTP(rec, r)
	assert.Equal(t, "abc-123", rec.Header().Get("X-Correlation-Id"))
	assert.Equal(t, "abc-123", seen)

	rec = httptest.NewRecorder()
	r = httptest.NewRequest("GET", "/panic", nil)
	r.Header.Set("X-Correlation-Id", "bad id with spaces\n")
	h.ServeHTTP(rec, r)
	assert.Equal(t, 500, rec.Code)
	assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	assert.NotEqual(t, "bad id with spaces\n", rec.Header().Get("X-Correlation-Id"))
	assert.Len(t, rec.Header().Get("X-Correlation-Id"), 36, "a fresh uuid replaces a malformed id")
}

// TestStackCountsAPanicAsThe500ItAnswers: recovery sits inside the metrics,
// so a panicking route shows up in prism_http_requests_total as a 500.
func TestStackCountsAPanicAsThe500ItAnswers(t *testing.T) {
	route := "/stack-panic-" + t.Name()
	h := httpapi.Stack(func(*http.Request) string { return route }, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, 500, rec.Code)
	assert.Equal(t, 1.0, requestsCounted(t, route, "500"))
}

// requestsCounted reads prism_http_requests_total{route, code} from the
// default registry.
func requestsCounted(t *testing.T, route, code string) float64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != "prism_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route && labels["code"] == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestReady(t *testing.T) {
	mux := http.NewServeMux()
	fail := false
	httpapi.MountOps(mux, map[string]httpapi.Check{
		"storage": func(context.Context) error { return nil },
		"redis": func(context.Context) error {
			if fail {
				return errors.New("down")
			}
			return nil
		},
	})
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	assert.Equal(t, 200, get("/healthz").Code)
	assert.Equal(t, 200, get("/readyz").Code)
	fail = true
	rec := get("/readyz")
	assert.Equal(t, 503, rec.Code)
	assert.Contains(t, rec.Body.String(), `"failed":["redis"]`)
	assert.Equal(t, 200, get("/healthz").Code, "alive even when not ready")
	m := get("/metrics")
	assert.Equal(t, 200, m.Code)
	assert.Contains(t, m.Body.String(), "# HELP")
}
