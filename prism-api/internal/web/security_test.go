package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/prism-api/internal/limits"
	"github.com/prism-es/prism/prism-api/internal/tickets"
	"github.com/prism-es/prism/prism-api/internal/web"
	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/auth/oidctest"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/ratelimit"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/streamtickets"
	"github.com/prism-es/prism/shared/testenv"
)

// withLimits gives the API the limits env names (the defaults for what it
// leaves out), with the test's loopback client as a trusted proxy so each
// request may say which address it comes from (X-Forwarded-For).
func withLimits(t *testing.T, env map[string]string) func(*web.Deps, *redis.Client) {
	t.Helper()
	env["PRISM_TRUSTED_PROXIES"] = "127.0.0.1"
	r := config.FromMap(env)
	cfg := limits.Load(r)
	require.NoError(t, r.Err())
	return func(d *web.Deps, rdb *redis.Client) { d.Limits = limits.New(ratelimit.New(rdb), cfg) }
}

// address is a made-up client address of its own for one test.
func address() string { return fmt.Sprintf("198.51.%d.%d", rand.IntN(250)+1, rand.IntN(250)+1) }

// TestABurstFromOneUserLeavesOtherUsersAlone: 1,000 commands from one user
// as fast as they go get 429s (with Retry-After and the RateLimit headers)
// once the user's budget is spent, while another user's commands, sent at
// the same time, are all accepted. The default limits apply.
func TestABurstFromOneUserLeavesOtherUsersAlone(t *testing.T) {
	a := newAPIWith(t, env.ConnString, env.RedisURL, withLimits(t, map[string]string{}))
	mallory, alice := "mallory-"+uuid.NewString()[:8], "alice-"+uuid.NewString()[:8]
	malloryTok, aliceTok := a.token(t, mallory), a.token(t, alice)
	malloryIP, aliceIP := address(), address()
	perUser, err := ratelimit.Parse("commands-user", limits.DefaultCommandsPerUser)
	require.NoError(t, err)

	var accepted, limited, other atomic.Int64
	var badHeaders atomic.Value
	var wg sync.WaitGroup
	jobs := make(chan int)
	began := time.Now()
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				res, err := a.send("POST", "/api/carts", malloryTok, `{}`, "Idempotency-Key", uuid.NewString(), "X-Forwarded-For", malloryIP)
				switch {
				case err != nil:
					other.Add(1)
				case res.status == http.StatusAccepted:
					accepted.Add(1)
				case res.status == http.StatusTooManyRequests:
					limited.Add(1)
					if res.header.Get("Retry-After") == "" || !strings.HasPrefix(res.header.Get("RateLimit-Policy"), `"commands-user"`) ||
						!strings.HasPrefix(res.header.Get("RateLimit"), `"commands-user";r=0;t=`) || res.header.Get("Content-Type") != "application/problem+json" {
						badHeaders.Store(fmt.Sprint(res.header))
					}
				default:
					other.Add(1)
				}
			}
		}()
	}
	aliceDone := make(chan []int)
	go func() {
		var codes []int
		for range 20 {
			res, err := a.send("POST", "/api/carts", aliceTok, `{}`, "Idempotency-Key", uuid.NewString(), "X-Forwarded-For", aliceIP)
			if err != nil {
				codes = append(codes, -1)
				continue
			}
			codes = append(codes, res.status)
		}
		aliceDone <- codes
	}()
	for i := range 1000 {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(began)
	aliceCodes := <-aliceDone
	t.Logf("1,000 commands from one user in %s: %d accepted, %d × 429", elapsed.Round(time.Millisecond), accepted.Load(), limited.Load())

	assert.Zero(t, other.Load(), "every answer is 202 or 429")
	assert.Positive(t, limited.Load(), "the burst is cut")
	budget := int64(perUser.Burst) + int64(elapsed.Seconds()*float64(perUser.Rate)) + 1
	assert.LessOrEqual(t, accepted.Load(), budget, "no more than the burst plus the rate over the time taken")
	assert.Nil(t, badHeaders.Load(), "a 429 carries Retry-After, RateLimit-Policy, RateLimit and problem+json")
	for i, c := range aliceCodes {
		assert.Equal(t, http.StatusAccepted, c, "alice's command %d, during mallory's burst", i)
	}

	// Queries have their own budget: mallory may still read.
	res := a.do(t, "GET", "/api/commands/"+uuid.NewString(), malloryTok, "", "X-Forwarded-For", malloryIP)
	assert.Equal(t, http.StatusNotFound, res.status, "a query after the command budget is spent")
	assert.True(t, strings.HasPrefix(res.header.Get("RateLimit-Policy"), `"queries-user"`), res.header.Get("RateLimit-Policy"))
}

func TestDailyQuotaPerUser(t *testing.T) {
	t.Parallel()
	a := newAPIWith(t, env.ConnString, env.RedisURL, withLimits(t, map[string]string{"PRISM_QUOTA_COMMANDS_PER_USER": "3/24h"}))
	tok := a.token(t, "quota-"+uuid.NewString()[:8])
	ip := address()
	for i := range 3 {
		res := a.do(t, "POST", "/api/carts", tok, `{}`, "Idempotency-Key", uuid.NewString(), "X-Forwarded-For", ip)
		require.Equal(t, http.StatusAccepted, res.status, "command %d", i)
	}
	res := a.do(t, "POST", "/api/carts", tok, `{}`, "Idempotency-Key", uuid.NewString(), "X-Forwarded-For", ip)
	assert.Equal(t, http.StatusTooManyRequests, res.status)
	assert.Equal(t, `"commands-user-daily";q=3;w=86400`, res.header.Get("RateLimit-Policy"))
	retry := 0
	_, err := fmt.Sscan(res.header.Get("Retry-After"), &retry)
	require.NoError(t, err)
	assert.Greater(t, retry, 3600, "the next command of the day is hours away")
}

// TestPerAddressLimitComesBeforeTheToken: a flood of requests with bad
// tokens from one address is cut by the address's limit without the
// tokens being looked at; another address is not affected.
func TestPerAddressLimitComesBeforeTheToken(t *testing.T) {
	t.Parallel()
	a := newAPIWith(t, env.ConnString, env.RedisURL, withLimits(t, map[string]string{"PRISM_LIMIT_QUERIES_PER_IP": "1/m:5"}))
	flooder, bystander := address(), address()
	codes := map[int]int{}
	for range 12 {
		codes[a.do(t, "GET", "/api/orders", "forged.token.here", "", "X-Forwarded-For", flooder).status]++
	}
	assert.Equal(t, map[int]int{401: 5, 429: 7}, codes)
	assert.Equal(t, http.StatusUnauthorized, a.do(t, "GET", "/api/orders", "forged.token.here", "", "X-Forwarded-For", bystander).status)
	// Without a trusted proxy, X-Forwarded-For is the client's own claim:
	// it cannot move the flooder to a fresh budget.
	plain := newAPIWith(t, env.ConnString, env.RedisURL, func(d *web.Deps, rdb *redis.Client) {
		r := config.FromMap(map[string]string{"PRISM_LIMIT_QUERIES_PER_IP": "1/m:3"})
		d.Limits = limits.New(ratelimit.New(rdb), limits.Load(r))
	})
	codes = map[int]int{}
	for range 6 {
		codes[plain.do(t, "GET", "/api/products", "", "", "X-Forwarded-For", address()).status]++
	}
	assert.Equal(t, 3, codes[http.StatusTooManyRequests], "%v", codes)
}

// TestInventedMethodsLeaveMetricsTheSameSize: 10,000 requests with made-up
// methods (Go accepts any token) add no series to /metrics.
func TestInventedMethodsLeaveMetricsTheSameSize(t *testing.T) {
	a := newAPI(t, env.ConnString, env.RedisURL)
	tok := a.token(t, "alice")
	method := func() string { return fmt.Sprintf("X%08X", rand.Uint32()) }
	paths := []string{"/api/carts", "/api/carts/" + uuid.NewString(), "/nowhere/" + uuid.NewString(), "/"}
	for _, p := range paths { // every (route, OTHER, code) series exists from here on
		a.do(t, method(), p, tok, "")
	}
	series := func() int {
		n := 0
		for _, line := range strings.Split(metricsText(t), "\n") {
			if strings.HasPrefix(line, "prism_http_") {
				n++
			}
		}
		return n
	}
	before := series()
	for i := range 10_000 {
		res := a.do(t, method(), paths[i%len(paths)]+"?n="+fmt.Sprint(i), tok, "")
		require.Less(t, res.status, 500)
	}
	assert.Equal(t, before, series(), "10,000 invented methods leave /metrics the same size")
}

func TestThePublicPortShowsNoDetails(t *testing.T) {
	t.Parallel()
	a := newAPIWith(t, env.ConnString, env.RedisURL, func(d *web.Deps, _ *redis.Client) {
		d.Checks = map[string]httpapi.Check{}
	})
	res := a.do(t, "GET", "/metrics", "", "")
	assert.Equal(t, http.StatusNotFound, res.status, "metrics are on the ops port only")
	res = a.do(t, "GET", "/readyz", "", "")
	assert.Equal(t, http.StatusOK, res.status)
	assert.JSONEq(t, `{"status":"ready"}`, string(res.body))
	assert.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"))
	for _, path := range []string{"/api/products", "/api/nothing", "/openapi.json"} {
		assert.Equal(t, "nosniff", a.do(t, "GET", path, "", "").header.Get("X-Content-Type-Options"), path)
	}
	created := a.command(t, "POST", "/api/carts", a.token(t, "alice"), `{}`)
	assert.Equal(t, "nosniff", created.header.Get("X-Content-Type-Options"), "a 202")
}

// TestOIDCTokensOnTheAPI: a token from the (local) OpenID Connect provider
// works; after a key rotation one signed with the rotated-out key does not.
func TestOIDCTokensOnTheAPI(t *testing.T) {
	t.Parallel()
	idp := oidctest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	verifier, err := auth.NewOIDC(ctx, auth.OIDCConfig{Issuer: idp.Issuer, Audience: []string{oidctest.Audience}, UnknownKeyRefresh: time.Hour})
	require.NoError(t, err)
	a := newAPIWith(t, env.ConnString, env.RedisURL, func(d *web.Deps, _ *redis.Client) {
		d.Tokens, d.Keys, d.DevMode = verifier, nil, false
	})
	old := idp.Token(t, "alice")
	assert.Equal(t, http.StatusAccepted, a.command(t, "POST", "/api/carts", old, `{}`).status, "a provider token")
	admin := idp.Token(t, "boss", "admin")
	assert.Equal(t, http.StatusAccepted, a.command(t, "POST", "/api/products", admin, `{"sku":"OIDC-1","name":"x","priceCents":1,"stock":1}`).status, "roles come from the token")

	idp.Rotate(t, "ES256")
	assert.Equal(t, http.StatusAccepted, a.command(t, "POST", "/api/carts", idp.Token(t, "alice"), `{}`).status, "a token signed with the new key")
	res := a.command(t, "POST", "/api/carts", old, `{}`)
	assert.Equal(t, http.StatusUnauthorized, res.status, "a token signed with the rotated-out key")
	assert.Equal(t, http.StatusNotFound, a.do(t, "POST", "/api/dev/token", "", `{"userId":"x"}`).status, "no dev tokens outside dev mode")
	dev, _, err := a.keys.Issue("alice", nil, time.Hour)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, a.command(t, "POST", "/api/carts", dev, `{}`).status, "an HS256 token outside dev mode")
}

// owned records the first event of a cart or order of owner in store.
func owned(t *testing.T, store *eventstore.TableStore, aggregateType, owner string) string {
	t.Helper()
	id := uuid.NewString()
	typ := map[string]string{"cart": "CartCreated", "order": "OrderPlaced"}[aggregateType]
	cmd := uuid.NewString()
	ev := envelope.Event{
		EventID: uuid.NewString(), Type: typ, SchemaVersion: 1, AggregateType: aggregateType, AggregateID: id,
		Version: 1, OccurredAt: envelope.Now(), Data: json.RawMessage(`{"owner":"` + owner + `"}`),
		Metadata: envelope.EventMetadata{CommandID: cmd, CorrelationID: "corr", UserID: owner},
	}
	require.NoError(t, store.Append(context.Background(), envelope.StreamID(aggregateType, id), 0, []envelope.Event{ev}, cmd))
	return id
}

func TestStreamTickets(t *testing.T) {
	t.Parallel()
	acc, err := storage.Connect(env.ConnString)
	require.NoError(t, err)
	table := testenv.TableName("events")
	require.NoError(t, acc.EnsureTables(context.Background(), table))
	store := eventstore.NewTableStore(acc, table, nil)
	owners, err := tickets.NewOwners(store, 100)
	require.NoError(t, err)
	var issued *streamtickets.Tickets
	a := newAPIWith(t, env.ConnString, env.RedisURL, func(d *web.Deps, rdb *redis.Client) {
		issued = streamtickets.New(rdb)
		d.Tickets = &tickets.Service{Tickets: issued, Owners: owners}
	})
	alice, bob := "alice-"+uuid.NewString()[:8], "bob-"+uuid.NewString()[:8]
	aliceTok, bobTok := a.token(t, alice), a.token(t, bob)
	cart, order := owned(t, store, "cart", alice), owned(t, store, "order", alice)

	ticket := func(token, stream string) response {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"stream": stream})
		return a.do(t, "POST", "/api/stream-tickets", token, string(body))
	}
	for _, stream := range []string{"/streams/me", "/streams/products", "/streams/carts/" + cart, "/streams/orders/" + order} {
		res := ticket(aliceTok, stream)
		require.Equal(t, http.StatusOK, res.status, "%s: %s", stream, res.body)
		body := res.json(t)
		assert.Equal(t, stream, body["stream"])
		exp, err := time.Parse(time.RFC3339, body["expiresAt"].(string))
		require.NoError(t, err)
		assert.WithinDuration(t, time.Now().Add(streamtickets.TTL), exp, 5*time.Second)
		g, err := issued.Redeem(context.Background(), body["ticket"].(string), stream)
		require.NoError(t, err, stream)
		assert.Equal(t, alice, g.UserID)
		assert.WithinDuration(t, time.Now().Add(time.Hour), g.TokenExpiresAt, 5*time.Second, "the stream will close when the token expires")
		_, err = issued.Redeem(context.Background(), body["ticket"].(string), stream)
		assert.Error(t, err, "single use")
	}
	assert.Equal(t, http.StatusNotFound, ticket(bobTok, "/streams/carts/"+cart).status, "someone else's cart")
	assert.Equal(t, http.StatusNotFound, ticket(bobTok, "/streams/orders/"+order).status, "someone else's order")
	assert.Equal(t, http.StatusNotFound, ticket(aliceTok, "/streams/carts/"+uuid.NewString()).status, "an unknown cart")
	assert.Equal(t, http.StatusNotFound, ticket(aliceTok, "/streams/carts/..%2F..").status)
	for _, bad := range []string{"/streams/nothing", "/api/carts", "/streams/carts", "streams/me", ""} {
		res := ticket(aliceTok, bad)
		assert.Equal(t, http.StatusBadRequest, res.status, bad)
	}
	assert.Equal(t, http.StatusBadRequest, a.do(t, "POST", "/api/stream-tickets", aliceTok, `{}`).status, "no stream")
	assert.Equal(t, http.StatusUnauthorized, ticket("", "/streams/me").status)
}
