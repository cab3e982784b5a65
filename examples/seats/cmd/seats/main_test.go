package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/examples/seats/seat"
	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

// The tests run the program itself (run) on a private Azurite and Redis,
// and talk to it over HTTP as a client would.
var (
	env  *testenv.Env
	base string
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	e, err := testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 2
	}
	env = e
	defer e.Stop()
	port, err := testenv.FreePort()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	base = "http://127.0.0.1:" + strconv.Itoa(port)
	for k, v := range map[string]string{
		"AZURE_STORAGE_CONNECTION_STRING": e.ConnString, "REDIS_URL": e.RedisURL,
		"PRISM_HTTP_ADDR": "127.0.0.1:" + strconv.Itoa(port), "PRISM_DEV_MODE": "true", "PRISM_LOG_LEVEL": "warn",
	} {
		os.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "seats:", err)
		}
	}()
	if err := waitReady(done); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return m.Run()
}

func waitReady(done <-chan error) error {
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			return fmt.Errorf("seats stopped: %v", err)
		default:
		}
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond) // a poll interval, not synchronisation
	}
	return fmt.Errorf("seats not ready at %s", base)
}

func token(t *testing.T, user string) string {
	k, err := auth.NewKeys(auth.DevSecret)
	require.NoError(t, err)
	tok, _, err := k.Issue(user, nil, time.Hour)
	require.NoError(t, err)
	return tok
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, path, tok, key, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewBufferString(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return response{res.StatusCode, res.Header, b}
}

// command posts a command and waits for its outcome (succeeded or
// rejected), returning the status document.
func command(t *testing.T, path, tok, body string) map[string]any {
	t.Helper()
	res := do(t, http.MethodPost, path, tok, uuid.NewString(), body)
	require.Equal(t, http.StatusAccepted, res.status, string(res.body))
	var acc struct{ StatusURL string }
	require.NoError(t, json.Unmarshal(res.body, &acc))
	return settle(t, tok, acc.StatusURL)
}

func settle(t *testing.T, tok, statusURL string) map[string]any {
	t.Helper()
	var st map[string]any
	require.Eventually(t, func() bool {
		res := do(t, http.MethodGet, statusURL, tok, "", "")
		require.Equal(t, http.StatusOK, res.status, string(res.body))
		require.NoError(t, json.Unmarshal(res.body, &st))
		return st["status"] != "pending"
	}, 30*time.Second, 50*time.Millisecond)
	return st
}

// view reads a seat once it reflects at least version minVersion.
func view(t *testing.T, tok, show, s string, minVersion int) seat.View {
	t.Helper()
	var v seat.View
	require.Eventually(t, func() bool {
		res := do(t, http.MethodGet, fmt.Sprintf("/api/shows/%s/seats/%s?minVersion=%d&wait=5", show, s, minVersion), tok, "", "")
		if res.status == http.StatusNotFound {
			return false
		}
		require.Equal(t, http.StatusOK, res.status, string(res.body))
		require.NoError(t, json.Unmarshal(res.body, &v))
		return v.Version >= int64(minVersion)
	}, 30*time.Second, 50*time.Millisecond)
	return v
}

func newShow() string { return "show-" + uuid.NewString()[:8] }

// TestHoldThenConfirm: the happy path through the API, the read model and
// the holder's own notice stream (what stream-service serves as /streams/me).
func TestHoldThenConfirm(t *testing.T) {
	show, alice := newShow(), "alice-"+uuid.NewString()[:8]
	tok := token(t, alice)
	st := command(t, "/api/shows/"+show+"/seats/A1/hold", tok, `{"holdSeconds": 600}`)
	assert.Equal(t, "succeeded", st["status"], st)
	held := view(t, tok, show, "A1", 1)
	assert.Equal(t, seat.Held, held.Status)
	assert.Equal(t, alice, held.Holder)
	assert.WithinDuration(t, time.Now().Add(10*time.Minute), held.HoldUntil, time.Minute)

	st = command(t, "/api/shows/"+show+"/seats/A1/confirm", tok, "")
	assert.Equal(t, "succeeded", st["status"], st)
	booked := view(t, tok, show, "A1", 2)
	assert.Equal(t, seat.Booked, booked.Status)
	assert.Equal(t, "SeatBooked", booked.LastEvent)

	list := do(t, http.MethodGet, "/api/shows/"+show+"/seats", tok, "", "")
	require.Equal(t, http.StatusOK, list.status)
	assert.Contains(t, string(list.body), `"status":"booked"`)

	// The holder's stream carries the seat's changes under seat.updated.
	rdb := env.Redis(t)
	require.Eventually(t, func() bool {
		mine, err := notices.NewReader(rdb).Tail(context.Background(), notices.UserStream(alice), 20)
		require.NoError(t, err)
		var statuses []string
		for _, n := range mine {
			if n.Type == "seat.updated" {
				var v seat.View
				require.NoError(t, json.Unmarshal(n.Data, &v))
				statuses = append(statuses, string(v.Status))
			}
		}
		return assert.ObjectsAreEqual([]string{"held", "booked"}, statuses)
	}, 30*time.Second, 50*time.Millisecond)
}

// TestBadInputIsAClearAnswer: 401 without a token, 400 naming the
// Idempotency-Key and each bad field, 404 for an unknown seat or route;
// problem+json every time.
func TestBadInputIsAClearAnswer(t *testing.T) {
	tok := token(t, "mallory")
	type problem struct {
		Type   string
		Errors []struct{ Field, Message string }
	}
	check := func(res response, status int, fields ...string) {
		t.Helper()
		assert.Equal(t, status, res.status, string(res.body))
		assert.Equal(t, "application/problem+json", res.header.Get("Content-Type"))
		var p problem
		require.NoError(t, json.Unmarshal(res.body, &p))
		var got []string
		for _, e := range p.Errors {
			got = append(got, e.Field)
		}
		assert.ElementsMatch(t, fields, got, string(res.body))
	}
	check(do(t, http.MethodPost, "/api/shows/gala/seats/A1/hold", "", "k1", `{}`), http.StatusUnauthorized)
	check(do(t, http.MethodPost, "/api/shows/gala/seats/A1/hold", tok, "", `{}`), http.StatusBadRequest, "Idempotency-Key")
	check(do(t, http.MethodPost, "/api/shows/gala/seats/A1/hold", tok, uuid.NewString(), `{"holdSeconds": 0}`), http.StatusBadRequest, "holdSeconds")
	check(do(t, http.MethodPost, "/api/shows/Gala!/seats/a1/hold", tok, uuid.NewString(), `{"holdSeconds": 9999}`), http.StatusBadRequest, "show", "seat", "holdSeconds")
	check(do(t, http.MethodPost, "/api/shows/gala/seats/A1/confirm", tok, uuid.NewString(), `{"please": true}`), http.StatusBadRequest, "please")
	check(do(t, http.MethodPost, "/api/shows/gala/seats/A1/hold", tok, uuid.NewString(), `{"holdSeconds": "ten"}`), http.StatusBadRequest, "holdSeconds")
	check(do(t, http.MethodGet, "/api/shows/"+newShow()+"/seats/A1", tok, "", ""), http.StatusNotFound)
	check(do(t, http.MethodGet, "/api/shows/NOT_A_SHOW/seats", tok, "", ""), http.StatusBadRequest, "show")
	check(do(t, http.MethodGet, "/api/shows/gala/seats/A1?minVersion=x", tok, "", ""), http.StatusBadRequest, "minVersion")
	check(do(t, http.MethodGet, "/api/nothing", tok, "", ""), http.StatusNotFound)
}

// TestASecondHoldIsRejected: a business rule's refusal is the command's
// outcome, with a reason; the seat stays the first holder's.
func TestASecondHoldIsRejected(t *testing.T) {
	show := newShow()
	alice, bob := token(t, "alice-"+uuid.NewString()[:8]), token(t, "bob-"+uuid.NewString()[:8])
	require.Equal(t, "succeeded", command(t, "/api/shows/"+show+"/seats/C3/hold", alice, "")["status"])
	st := command(t, "/api/shows/"+show+"/seats/C3/hold", bob, "")
	assert.Equal(t, "rejected", st["status"])
	assert.Equal(t, "the seat is held by someone else", st["reason"])
	st = command(t, "/api/shows/"+show+"/seats/C3/confirm", bob, "")
	assert.Equal(t, "rejected", st["status"])
	assert.Equal(t, "you do not hold this seat", st["reason"])
	v := view(t, alice, show, "C3", 1)
	assert.Equal(t, seat.Held, v.Status)
	assert.Equal(t, int64(1), v.Version, "no event from the refused commands")
}

// TestARepeatedCommandIsAppliedOnce: the same request again (same
// Idempotency-Key) is the first 202 replayed; the same command delivered
// twice more by the queue (a redelivery) appends nothing: the seat's
// stream holds one SeatHeld.
func TestARepeatedCommandIsAppliedOnce(t *testing.T) {
	show, user := newShow(), "carol-"+uuid.NewString()[:8]
	tok := token(t, user)
	key := uuid.NewString()
	path := "/api/shows/" + show + "/seats/D4/hold"
	first := do(t, http.MethodPost, path, tok, key, `{"holdSeconds": 600}`)
	require.Equal(t, http.StatusAccepted, first.status, string(first.body))
	again := do(t, http.MethodPost, path, tok, key, `{"holdSeconds": 600}`)
	require.Equal(t, http.StatusAccepted, again.status)
	assert.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	assert.Equal(t, first.body, again.body)
	var acc struct{ CommandID, StatusURL string }
	require.NoError(t, json.Unmarshal(first.body, &acc))
	assert.Equal(t, "succeeded", settle(t, tok, acc.StatusURL)["status"])

	// Redeliver the very command twice, as a queue does after a crash.
	acct, err := storage.Connect(env.ConnString)
	require.NoError(t, err)
	body, err := json.Marshal(envelope.Command{
		CommandID: acc.CommandID, Type: "HoldSeat", AggregateType: seat.Type, AggregateID: seat.ID(show, "D4"),
		Payload:  json.RawMessage(`{"holdSeconds":600}`),
		Metadata: envelope.CommandMetadata{CorrelationID: acc.CommandID, UserID: user, IdempotencyKey: key, IssuedAt: time.Now().UTC()},
	})
	require.NoError(t, err)
	commands := queue.Open(acct, commandsQueue, nil)
	require.NoError(t, commands.Send(context.Background(), body))
	require.NoError(t, commands.Send(context.Background(), body))
	require.Eventually(t, func() bool {
		n, err := commands.Depth(context.Background())
		require.NoError(t, err)
		return n == 0
	}, 30*time.Second, 50*time.Millisecond, "the redeliveries were handled")

	events, err := eventstore.NewTableStore(acct, "events", nil).Load(context.Background(), "seat-"+seat.ID(show, "D4"), 1)
	require.NoError(t, err)
	require.Len(t, events, 1)
	assert.Equal(t, "SeatHeld", events[0].Type)
	assert.Equal(t, "succeeded", settle(t, tok, acc.StatusURL)["status"], "the first outcome stands")
	assert.Equal(t, seat.Held, view(t, tok, show, "D4", 1).Status)
}

// TestAHoldNotConfirmedExpires: the deadline the hold set arrives when the
// hold ends and frees the seat; someone else can hold it then, and a late
// confirmation is refused.
func TestAHoldNotConfirmedExpires(t *testing.T) {
	show := newShow()
	alice, bob := token(t, "alice-"+uuid.NewString()[:8]), token(t, "bob-"+uuid.NewString()[:8])
	require.Equal(t, "succeeded", command(t, "/api/shows/"+show+"/seats/E5/hold", alice, `{"holdSeconds": 1}`)["status"])
	expired := view(t, alice, show, "E5", 2)
	assert.Equal(t, seat.Free, expired.Status)
	assert.Equal(t, "HoldExpired", expired.LastEvent)
	assert.Empty(t, expired.Holder)

	st := command(t, "/api/shows/"+show+"/seats/E5/confirm", alice, "")
	assert.Equal(t, "rejected", st["status"])
	assert.Equal(t, "succeeded", command(t, "/api/shows/"+show+"/seats/E5/hold", bob, `{"holdSeconds": 600}`)["status"])
	assert.Equal(t, seat.Held, view(t, bob, show, "E5", 3).Status)
}
