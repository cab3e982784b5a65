package e2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/e2e/stack"
)

// TestSSEResumeUnderLoad drops and resumes a cart stream with Last-Event-ID
// again and again while commands keep changing the cart: the client sees
// every version exactly once, in order.
func TestSSEResumeUnderLoad(t *testing.T) {
	s := startStack(t, stack.Options{Replicas: 2})
	ctx := ctxFor(t, 3*time.Minute)
	c := s.Client()
	admin, _ := c.Token(ctx, "boss", true)
	alice, _ := c.Token(ctx, "alice", false)
	product := sku("SSE")
	_, _, err := c.Run(ctx, http.MethodPost, "/api/products", admin, map[string]any{"sku": product, "name": "x", "priceCents": 1, "stock": 1})
	require.NoError(t, err)
	created, _, err := c.Run(ctx, http.MethodPost, "/api/carts", alice, map[string]any{})
	require.NoError(t, err)
	cart := created.AggregateID

	adds := size(60, 98) // one line holds at most 99
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the load: AddItem one after another, as fast as they settle
		defer wg.Done()
		for range adds {
			_, st, err := c.Run(ctx, http.MethodPost, "/api/carts/"+cart+"/items", alice, map[string]any{"sku": product, "quantity": 1})
			if !assert.NoError(t, err) || !assert.Equal(t, "succeeded", st.Status) {
				return
			}
		}
	}()

	final := int64(adds + 1)
	var versions []int64
	lastID := ""
	reconnects := 0
	for len(versions) == 0 || versions[len(versions)-1] < final {
		require.Less(t, reconnects, 1000, "never caught up")
		cctx, cancel := context.WithCancel(ctx)
		events, err := s.Subscribe(cctx, "/streams/carts/"+cart, alice, lastID)
		require.NoError(t, err)
		reconnects++
		// Read a few events, then hang up mid-stream.
		for got := 0; got < 3; {
			var e stack.Event
			select {
			case ev, ok := <-events:
				if !ok {
					got = 3
					continue
				}
				e = ev
			case <-time.After(20 * time.Second):
				t.Fatalf("no event after version %v", versions)
			}
			require.NotEqual(t, "reset", e.Type, "the history reaches back: no reset expected")
			if e.Type != "cart.updated" {
				continue
			}
			var v struct{ Version int64 }
			require.NoError(t, json.Unmarshal([]byte(e.Data), &v))
			versions = append(versions, v.Version)
			lastID = e.ID
			got++
			if v.Version >= final {
				break
			}
		}
		cancel()
	}
	wg.Wait()
	t.Logf("%d reconnects, %d versions", reconnects, len(versions))
	// Every notice after the first one this client saw, exactly once, in order.
	for i := 1; i < len(versions); i++ {
		require.Equal(t, versions[i-1]+1, versions[i], "gap or duplicate at %d: %v", i, versions)
	}
	assert.Equal(t, final, versions[len(versions)-1])
}
