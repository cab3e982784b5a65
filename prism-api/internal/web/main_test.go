package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/prism-api/internal/commands"
	"github.com/prism-es/prism/prism-api/internal/queries"
	"github.com/prism-es/prism/prism-api/internal/settings"
	"github.com/prism-es/prism/prism-api/internal/web"
	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/commandstatus"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/idempotency"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/preferences"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/readmodel"
	"github.com/prism-es/prism/shared/redisconn"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

const secret = "test-secret-0123456789abcdef0123456789"

// api is a prism-api over its own commands queue and read-model tables.
type api struct {
	*httptest.Server
	keys   *auth.Keys
	queue  *queue.Queue
	store  *readmodel.Store
	tables map[string]string // projection → this API's live table
	pub    *notices.Publisher
}

func newAPI(t *testing.T, connString, redisURL string) *api {
	t.Helper()
	return newAPIWith(t, connString, redisURL, nil)
}

// newAPIWith is newAPI with the dependencies changed by change (limits,
// another token verifier, stream tickets) before the handler is built.
func newAPIWith(t *testing.T, connString, redisURL string, change func(*web.Deps, *redis.Client)) *api {
	t.Helper()
	keys, err := auth.NewKeys(secret)
	require.NoError(t, err)
	acc, err := storage.Connect(connString)
	require.NoError(t, err)
	name := testenv.QueueName("commands")
	_ = acc.EnsureQueues(context.Background(), name) // fails harmlessly on a dead account
	rdb, err := redisconn.Connect(redisURL)
	require.NoError(t, err)
	t.Cleanup(func() { rdb.Close() })
	q := queue.Open(acc, name, nil)
	// Point the read models at tables of this test's own through the catalog.
	catalog := readmodel.NewCatalog(acc, time.Hour)
	tables := map[string]string{}
	_ = acc.EnsureTables(context.Background(), append([]string{readmodel.CatalogTable}, preferences.Tables...)...)
	for _, p := range []string{readmodel.Carts, readmodel.Orders, readmodel.Products, readmodel.Notifications} {
		tables[p] = testenv.TableName(p)
		_ = acc.EnsureTables(context.Background(), tables[p])
		_ = catalog.Switch(context.Background(), p, tables[p])
	}
	wakeups := notices.NewSubscriber(rdb)
	t.Cleanup(func() { wakeups.Close() })
	deps := web.Deps{
		Tokens: keys, Keys: keys, DevMode: true,
		Commands: &commands.Service{Idempotency: idempotency.New(rdb), Status: commandstatus.New(rdb), Commands: q},
		Queries:  &queries.Service{Store: readmodel.NewStore(acc), Catalog: catalog, Wakeups: wakeups},
		Settings: &settings.Service{Store: preferences.NewStore(acc), Channels: preferences.Settings{MailUserDomain: "prism.test"}},
	}
	if change != nil {
		change(&deps, rdb)
	}
	srv := httptest.NewServer(web.Handler(deps))
	t.Cleanup(srv.Close)
	return &api{Server: srv, keys: keys, queue: q, store: readmodel.NewStore(acc), tables: tables, pub: notices.NewPublisher(rdb, notices.Config{})}
}

// metricsText is what the ops port's /metrics would answer (this process's
// default registry).
func metricsText(t *testing.T) string {
	t.Helper()
	rec := httptest.NewRecorder()
	httpapi.OpsHandlers(nil)["/metrics"].ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, rec.Code)
	return rec.Body.String()
}

func (a *api) token(t *testing.T, user string, roles ...string) string {
	t.Helper()
	tok, _, err := a.keys.Issue(user, roles, time.Hour)
	require.NoError(t, err)
	return tok
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), string(r.body))
	return m
}

// do sends a request; body "" sends none; headers are name, value pairs.
func (a *api) do(t *testing.T, method, path, token, body string, headers ...string) response {
	t.Helper()
	res, err := a.send(method, path, token, body, headers...)
	require.NoError(t, err)
	return res
}

// send is do for goroutines other than the test's own, which must not stop
// the test: it returns the error for the test goroutine to assert on.
func (a *api) send(method, path, token, body string, headers ...string) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.URL+path, rd)
	if err != nil {
		return response{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}, err
}

// command sends a command with a fresh Idempotency-Key.
func (a *api) command(t *testing.T, method, path, token, body string) response {
	return a.do(t, method, path, token, body, "Idempotency-Key", uuid.NewString())
}

// queued returns every message on the commands queue (hidden for a minute).
func (a *api) queued(t *testing.T) []*queue.Message {
	t.Helper()
	var all []*queue.Message
	for {
		msgs, err := a.queue.Receive(context.Background(), 32, time.Minute)
		require.NoError(t, err)
		if len(msgs) == 0 {
			return all
		}
		all = append(all, msgs...)
	}
}
