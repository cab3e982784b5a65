package commandapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/commandapi"
	"github.com/prism-es/prism/shared/commandstatus"
	"github.com/prism-es/prism/shared/idempotency"
)

func TestAcceptedKeepsItsFieldOrderAndAppendsAlso(t *testing.T) {
	b, err := json.Marshal(commandapi.Accepted{CommandID: "c", CorrelationID: "k", AggregateID: "a", Status: "pending", StatusURL: "/s/c",
		Also: []commandapi.Field{{Name: "orderId", Value: "o<1>"}}})
	require.NoError(t, err)
	assert.Equal(t, `{"commandId":"c","correlationId":"k","aggregateId":"a","status":"pending","statusUrl":"/s/c","orderId":"o\u003c1\u003e"}`, string(b))
	b, err = json.Marshal(commandapi.Accepted{CommandID: "c"})
	require.NoError(t, err)
	assert.Equal(t, `{"commandId":"c","correlationId":"","aggregateId":"","status":"","statusUrl":""}`, string(b))
}

func TestTheSharedFlowsAnswers(t *testing.T) {
	rdb := redisClient()
	t.Cleanup(func() { _ = rdb.Close() })
	queued := &sent{}
	svc := &commandapi.Service{Idempotency: idempotency.New(rdb), Status: commandstatus.New(rdb), Commands: queued, StatusPath: "/v2/commands/"}
	mux := http.NewServeMux()
	commandapi.Mount(mux, svc, holdSeat)
	mux.Handle("GET /v2/commands/{commandId}", svc.StatusHandler())

	anon := post(mux, "/api/seats/A1/hold", "k", `{"minutes":1}`)
	assert.Equal(t, http.StatusUnauthorized, anon.Code, "no principal, no command")

	h := signedIn("test-bob", mux)
	noKey := post(h, "/api/seats/A1/hold", "", `{"minutes":1}`)
	assert.Equal(t, http.StatusBadRequest, noKey.Code)
	assert.Contains(t, noKey.Body.String(), `"field":"Idempotency-Key"`)

	unknown := post(h, "/api/seats/A1/hold", "k1", `{"minutes":1,"extra":true}`)
	assert.Equal(t, http.StatusBadRequest, unknown.Code, "unknown fields are refused")

	ok := post(h, "/api/seats/A1/hold", "k2", `{"minutes":1}`)
	require.Equal(t, http.StatusAccepted, ok.Code, ok.Body.String())
	var acc commandapi.Accepted
	require.NoError(t, json.Unmarshal(ok.Body.Bytes(), &acc))
	assert.Equal(t, "/v2/commands/"+acc.CommandID, ok.Header().Get("Location"))

	other := post(h, "/api/seats/A1/hold", "k2", `{"minutes":2}`)
	assert.Equal(t, http.StatusUnprocessableEntity, other.Code, "same key, another body")
	require.Len(t, queued.commands, 1)
	assert.Equal(t, "test-bob", queued.commands[0].Metadata.UserID)
	assert.Equal(t, "k2", queued.commands[0].Metadata.IdempotencyKey)

	get := func(h http.Handler) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v2/commands/"+acc.CommandID, nil))
		return rec
	}
	mine := get(h)
	require.Equal(t, http.StatusOK, mine.Code)
	assert.Contains(t, mine.Body.String(), `"status":"pending"`)
	assert.Contains(t, mine.Body.String(), `"type":"HoldSeat"`)
	assert.Equal(t, http.StatusNotFound, get(signedIn("test-eve", mux)).Code, "someone else's command does not exist")
}
