package commandapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/commandapi"
	"github.com/prism-es/prism/shared/commandstatus"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/idempotency"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.MainRedis(m, &env) }

// sent is a queue.Sender that keeps what it was given (in production a
// queue.Commands, which routes each command to its shard).
type sent struct {
	mu       sync.Mutex
	commands []envelope.Command
}

func (s *sent) Send(_ context.Context, body []byte, _ ...queue.SendOption) error {
	var c envelope.Command
	if err := json.Unmarshal(body, &c); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commands = append(s.commands, c)
	return nil
}

func redisClient() *redis.Client {
	opts, err := redis.ParseURL(env.RedisURL)
	if err != nil {
		panic(err)
	}
	return redis.NewClient(opts)
}

// signedIn stands in for the authentication middleware (which verifies a
// bearer token and calls auth.WithPrincipal).
func signedIn(user string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), auth.Principal{UserID: user})))
	})
}

type holdBody struct {
	Minutes *int64 `json:"minutes"`
}

var seatPattern = regexp.MustCompile(`^[A-Z][0-9]{1,3}$`)

// holdSeat declares POST /api/seats/{seatId}/hold {"minutes"} → command
// HoldSeat on aggregate seat-<seatId>.
var holdSeat = commandapi.Route[holdBody]{
	Method: http.MethodPost, Path: "/api/seats/{seatId}/hold", Type: "HoldSeat", AggregateType: "seat",
	Build: func(r *commandapi.Request, b *holdBody) (commandapi.Command, error) {
		var c commandapi.Checks
		c.Match("seatId", r.Path("seatId"), seatPattern, "must be a row letter and a number (A12)")
		c.IntRange("minutes", b.Minutes, 1, 30)
		if err := c.Err(); err != nil {
			return commandapi.Command{}, err
		}
		return commandapi.Command{AggregateID: r.Path("seatId"), Payload: map[string]any{"minutes": *b.Minutes}}, nil
	},
}

func post(h http.Handler, path, key, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set(commandapi.IdempotencyHeader, key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// ExampleMount mounts a command route on an http.ServeMux: a valid request
// is queued and answered 202 (its replay too, without queuing it again),
// a bad one is a problem+json naming every bad field.
func ExampleMount() {
	rdb := redisClient()
	defer rdb.Close()
	queued := &sent{}
	svc := &commandapi.Service{Idempotency: idempotency.New(rdb), Status: commandstatus.New(rdb), Commands: queued}
	mux := http.NewServeMux()
	commandapi.Mount(mux, svc, holdSeat)
	h := signedIn("example-alice", mux)

	first := post(h, "/api/seats/A12/hold", "hold-1", `{"minutes": 10}`)
	again := post(h, "/api/seats/A12/hold", "hold-1", `{"minutes":10}`)
	var acc commandapi.Accepted
	_ = json.Unmarshal(first.Body.Bytes(), &acc)
	fmt.Println(first.Code, acc.AggregateID, acc.Status, first.Header().Get("Location") == acc.StatusURL)
	fmt.Println(again.Code, again.Header().Get("Idempotent-Replayed"), again.Body.String() == first.Body.String())
	fmt.Println(len(queued.commands), queued.commands[0].Type, queued.commands[0].AggregateType, string(queued.commands[0].Payload))

	bad := post(h, "/api/seats/a-1/hold", "hold-2", `{"minutes": 90}`)
	var problem struct {
		Type   string `json:"type"`
		Errors []struct{ Field, Message string }
	}
	_ = json.Unmarshal(bad.Body.Bytes(), &problem)
	fmt.Println(bad.Code, bad.Header().Get("Content-Type"), problem.Type)
	for _, e := range problem.Errors {
		fmt.Printf("%s %s\n", e.Field, e.Message)
	}
	// Output:
	// 202 A12 pending true
	// 202 true true
	// 1 HoldSeat seat {"minutes":10}
	// 400 application/problem+json urn:prism:problem:invalid
	// seatId must be a row letter and a number (A12)
	// minutes must be between 1 and 30
}
