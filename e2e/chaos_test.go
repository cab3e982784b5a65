package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/e2e/stack"
)

// TestHotCartAcrossThreeReplicas: N concurrent AddItem on ONE cart through
// three domain-service processes: versions contiguous, each command once.
// With shard ownership one cart's commands meet one replica; here every
// replica consumes every shard (PRISM_SHARD_OWNERSHIP=all), so the three
// really race on the cart: correctness never depends on ownership.
func TestHotCartAcrossThreeReplicas(t *testing.T) {
	s := startStack(t, stack.Options{Replicas: 3, Env: map[string]string{"PRISM_SHARD_OWNERSHIP": "all"}})
	ctx := ctxFor(t, 5*time.Minute)
	c := s.Client()
	admin, _ := c.Token(ctx, "boss", true)
	alice, _ := c.Token(ctx, "alice", false)
	n := size(300, 1000)
	skus := make([]string, 20)
	for i := range skus {
		skus[i] = sku(fmt.Sprintf("HOT%d", i))
		_, st, err := c.Run(ctx, http.MethodPost, "/api/products", admin, map[string]any{"sku": skus[i], "name": "x", "priceCents": 1, "stock": 1})
		require.NoError(t, err)
		require.Equal(t, "succeeded", st.Status)
	}
	created, _, err := c.Run(ctx, http.MethodPost, "/api/carts", alice, map[string]any{})
	require.NoError(t, err)
	cart := created.AggregateID

	ids := make([]string, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			a, err := c.Command(ctx, http.MethodPost, "/api/carts/"+cart+"/items", alice, map[string]any{"sku": skus[i%len(skus)], "quantity": 1})
			if assert.NoError(t, err) {
				ids[i] = a.CommandID
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		st, err := c.Settle(ctx, alice, id)
		require.NoError(t, err)
		require.Equal(t, "succeeded", st.Status, "%+v", st)
	}
	evs := events(t, s, "cart-"+cart)
	require.Len(t, evs, n+1)
	applied := map[string]int{}
	for i, e := range evs {
		require.Equal(t, int64(i+1), e.Version, "contiguous versions")
		applied[e.Metadata.CommandID]++
	}
	for _, id := range ids {
		assert.Equal(t, 1, applied[id], "command %s applied exactly once", id)
	}
}

// TestReplicaKilledRepeatedlyUnderLoad kill -9s a domain-service replica over
// and over while clients keep adding items: no command is lost or applied
// twice, and the read models converge to a fold of the event store.
func TestReplicaKilledRepeatedlyUnderLoad(t *testing.T) {
	s := startStack(t, stack.Options{Replicas: 3})
	ctx := ctxFor(t, 5*time.Minute)
	c := s.Client()
	admin, _ := c.Token(ctx, "boss", true)
	product := sku("KILL")
	_, _, err := c.Run(ctx, http.MethodPost, "/api/products", admin, map[string]any{"sku": product, "name": "x", "priceCents": 7, "stock": 1})
	require.NoError(t, err)

	const users = 8
	carts := make([]string, users)
	tokens := make([]string, users)
	for i := range users {
		tokens[i], _ = c.Token(ctx, fmt.Sprintf("killer-%d-%s", i, uuid.NewString()[:6]), false)
		a, st, err := c.Run(ctx, http.MethodPost, "/api/carts", tokens[i], map[string]any{})
		require.NoError(t, err)
		require.Equal(t, "succeeded", st.Status)
		carts[i] = a.AggregateID
	}

	stop := make(chan struct{})
	var mu sync.Mutex
	sent := map[int][]string{} // commands per cart
	var wg sync.WaitGroup
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for q := 0; q < 98; q++ { // at most 98 units of one SKU per cart
				select {
				case <-stop:
					return
				default:
				}
				a, err := c.Command(ctx, http.MethodPost, "/api/carts/"+carts[i]+"/items", tokens[i], map[string]any{"sku": product, "quantity": 1})
				if err != nil {
					continue // the API may briefly refuse; the client would retry
				}
				mu.Lock()
				sent[i] = append(sent[i], a.CommandID)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond) // pacing of a client, not synchronisation
			}
		}()
	}
	kills := size(3, 10)
	for k := range kills {
		time.Sleep(400 * time.Millisecond) // let load build between kills
		victim := s.Replicas()[k%len(s.Replicas())]
		require.NoError(t, victim.Restart()) // SIGKILL, then start again
	}
	close(stop)
	wg.Wait()

	for i := range users {
		for _, id := range sent[i] {
			st, err := c.Settle(ctx, tokens[i], id)
			require.NoError(t, err)
			require.Equal(t, "succeeded", st.Status, "cart %d command %s: %+v", i, id, st)
		}
		evs := events(t, s, "cart-"+carts[i])
		require.Len(t, evs, len(sent[i])+1, "cart %d: every accepted command exactly once", i)
		seen := map[string]int{}
		for v, e := range evs {
			require.Equal(t, int64(v+1), e.Version)
			seen[e.Metadata.CommandID]++
		}
		for _, id := range sent[i] {
			require.Equal(t, 1, seen[id], "command %s", id)
		}
		// The read model converges to the fold: quantity = number of adds.
		var view struct {
			Items   []struct{ Quantity int }
			Version int64
		}
		require.Eventually(t, func() bool {
			r, err := c.Do(ctx, http.MethodGet, "/api/carts/"+carts[i], tokens[i], nil)
			if err != nil || r.Status != http.StatusOK || json.Unmarshal(r.Body, &view) != nil {
				return false
			}
			return view.Version == int64(len(evs)) && len(view.Items) == 1 && view.Items[0].Quantity == len(sent[i])
		}, 60*time.Second, 100*time.Millisecond, "cart %d read model did not converge (%+v, want %d)", i, view, len(sent[i]))
	}
}

// TestOneKeySentConcurrentlyAppliesOnce: one Idempotency-Key, 100 concurrent
// sends: exactly one command is applied.
func TestOneKeySentConcurrentlyAppliesOnce(t *testing.T) {
	s := startStack(t, stack.Options{Replicas: 2})
	ctx := ctxFor(t, 2*time.Minute)
	c := s.Client()
	alice, _ := c.Token(ctx, "alice", false)
	admin, _ := c.Token(ctx, "boss", true)
	product := sku("IDEM")
	_, _, err := c.Run(ctx, http.MethodPost, "/api/products", admin, map[string]any{"sku": product, "name": "x", "priceCents": 1, "stock": 1})
	require.NoError(t, err)
	created, _, err := c.Run(ctx, http.MethodPost, "/api/carts", alice, map[string]any{})
	require.NoError(t, err)
	key := uuid.NewString()
	var accepted, inFlight, other atomic.Int32
	ids := sync.Map{}
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.Do(ctx, http.MethodPost, "/api/carts/"+created.AggregateID+"/items", alice, map[string]any{"sku": product, "quantity": 1}, "Idempotency-Key", key)
			switch {
			case err != nil:
				other.Add(1)
			case r.Status == http.StatusAccepted:
				accepted.Add(1)
				var a stack.Accepted
				_ = r.JSON(&a)
				ids.Store(a.CommandID, true)
			case r.Status == http.StatusConflict:
				inFlight.Add(1)
			default:
				other.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, other.Load())
	assert.Equal(t, int32(100), accepted.Load()+inFlight.Load())
	n := 0
	var commandID string
	ids.Range(func(k, _ any) bool { n++; commandID = k.(string); return true })
	require.Equal(t, 1, n, "every 202 names the same command")
	st, err := c.Settle(ctx, alice, commandID)
	require.NoError(t, err)
	require.Equal(t, "succeeded", st.Status)
	assert.Len(t, events(t, s, "cart-"+created.AggregateID), 2, "created + exactly one ItemAdded")
}

// TestRedisAndAzuriteRestarts: while Redis is down the API answers 503 with
// Retry-After (never 500); after Redis and, separately, Azurite come back
// the services recover on their own within 10 s.
func TestRedisAndAzuriteRestarts(t *testing.T) {
	s := startStack(t, stack.Options{Replicas: 1})
	ctx := ctxFor(t, 3*time.Minute)
	c := s.Client()
	alice, err := c.Token(ctx, "alice", false)
	require.NoError(t, err)
	works := func() bool {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, st, err := c.Run(cctx, http.MethodPost, "/api/carts", alice, map[string]any{})
		return err == nil && st.Status == "succeeded"
	}
	require.True(t, works())

	for _, dep := range []struct {
		name        string
		stop, start func() error
	}{
		{"redis", func() error { s.Env.StopRedis(); return nil }, s.Env.StartRedis},
		{"azurite", func() error { s.Env.StopAzurite(); return nil }, s.Env.StartAzurite},
	} {
		t.Run(dep.name, func(t *testing.T) {
			require.NoError(t, dep.stop())
			for range 5 {
				r, err := c.Do(ctx, http.MethodPost, "/api/carts", alice, map[string]any{}, "Idempotency-Key", uuid.NewString())
				require.NoError(t, err)
				assert.Equal(t, http.StatusServiceUnavailable, r.Status, "%s down: %s", dep.name, r.Body)
				assert.NotEmpty(t, r.Header.Get("Retry-After"))
				assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
			}
			ready, err := c.Do(ctx, http.MethodGet, "/readyz", "", nil)
			require.NoError(t, err)
			assert.Equal(t, http.StatusServiceUnavailable, ready.Status)
			require.NoError(t, dep.start())
			back := time.Now()
			require.Eventually(t, works, 10*time.Second, 100*time.Millisecond, "no recovery within 10 s after %s restarted", dep.name)
			t.Logf("%s: commands flow again %s after the restart", dep.name, time.Since(back).Round(10*time.Millisecond))
		})
	}
}
