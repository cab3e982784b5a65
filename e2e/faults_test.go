package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/e2e/stack"
	"github.com/prism-es/prism/shared/storage"
)

// These tests put a real Toxiproxy between every service process and
// Azurite and Redis (stack.Options.Faults) and inject the faults the cloud
// brings: a response lost after the request was done, a long Redis outage,
// slow storage with connection resets. Each ends with nothing lost and
// nothing applied twice, checked in the event store itself.

// TestAnAmbiguousEnqueueRetriedWithTheSameKeyAppliesOnce: the queue stores
// the command but its answer never reaches prism-api (the connection is
// held, then dropped), so the client gets a 503 and its idempotency claim is
// released; the client retries with the same key. The command must be
// applied once, however many copies of it the queue holds.
func TestAnAmbiguousEnqueueRetriedWithTheSameKeyAppliesOnce(t *testing.T) {
	s := startStack(t, stack.Options{Replicas: 1, Faults: true})
	ctx := ctxFor(t, 3*time.Minute)
	c := s.Client()
	admin, _ := c.Token(ctx, "boss", true)
	alice, _ := c.Token(ctx, "alice", false)
	product := sku("AMB")
	_, st, err := c.Run(ctx, http.MethodPost, "/api/products", admin, map[string]any{"sku": product, "name": "x", "priceCents": 5, "stock": 10})
	require.NoError(t, err)
	require.Equal(t, "succeeded", st.Status)
	cart, st, err := c.Run(ctx, http.MethodPost, "/api/carts", alice, map[string]any{})
	require.NoError(t, err)
	require.Equal(t, "succeeded", st.Status)

	// The queue's answers to prism-api are held and the connection dropped
	// after a second: every send (and the SDK's retries of it) is stored,
	// and none is acknowledged.
	q := s.Faults.Proxy("prism-api", "queue")
	_, err = q.AddToxic("lost-answers", "timeout", "downstream", 1, toxiclient.Attributes{"timeout": 1000})
	require.NoError(t, err)
	key := uuid.NewString()
	body := map[string]any{"sku": product, "quantity": 1}
	first, err := c.Do(ctx, http.MethodPost, "/api/carts/"+cart.AggregateID+"/items", alice, body, "Idempotency-Key", key)
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, first.Status, "the client learns nothing went through: %s", first.Body)
	require.NoError(t, q.RemoveToxic("lost-answers"))

	// The client retries with the same key, as it must after a 503.
	retry, err := c.Do(ctx, http.MethodPost, "/api/carts/"+cart.AggregateID+"/items", alice, body, "Idempotency-Key", key)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, retry.Status, "%s", retry.Body)
	var acc stack.Accepted
	require.NoError(t, retry.JSON(&acc))
	st, err = c.Settle(ctx, alice, acc.CommandID)
	require.NoError(t, err)
	require.Equal(t, "succeeded", st.Status)

	// Every stored copy is handled before the count means anything.
	waitDrained(t, s)
	items := 0
	for _, e := range events(t, s, "cart-"+cart.AggregateID) {
		if e.Type == "ItemAdded" {
			items++
			assert.Equal(t, acc.CommandID, e.Metadata.CommandID)
		}
	}
	assert.Equal(t, 1, items, "the item is in the cart once, not once per copy or per retry")
}

// TestRedisOutageUnderLoadLosesAndDuplicatesNothing: commands are queued,
// then every service loses Redis for longer than the whole retry schedule.
// An outage is not a failed delivery: afterwards every accepted command is
// applied exactly once, none is poisoned, and every status is succeeded.
func TestRedisOutageUnderLoadLosesAndDuplicatesNothing(t *testing.T) {
	s := startStack(t, stack.Options{Replicas: 2, Faults: true})
	ctx := ctxFor(t, 5*time.Minute)
	c := s.Client()
	admin, _ := c.Token(ctx, "boss", true)
	product := sku("OUT")
	_, st, err := c.Run(ctx, http.MethodPost, "/api/products", admin, map[string]any{"sku": product, "name": "x", "priceCents": 3, "stock": 10})
	require.NoError(t, err)
	require.Equal(t, "succeeded", st.Status)
	carts, tokens := makeCarts(ctx, t, c, size(4, 8)) // at most 99 of a product per cart

	n := size(60, 400)
	sent := sendItems(ctx, t, c, carts, tokens, product, n)
	// Redis goes away for every process while most of those are queued,
	// for longer than the retry schedule (1+2+4+8 s in the stack) lasts.
	outage := time.Duration(size(20, 60)) * time.Second
	require.NoError(t, s.Faults.Each("redis", func(_ string, p *toxiclient.Proxy) error { return p.Disable() }))
	t.Logf("redis down for %s with %d commands sent", outage, n)
	time.Sleep(outage) // the fault's duration, not synchronisation: everything after polls
	require.NoError(t, s.Faults.Heal())

	checkExactlyOnce(ctx, t, s, c, carts, tokens, sent)
}

// TestSlowAndResettingStorageLosesAndDuplicatesNothing: the domain services'
// Table Storage answers after 200 ms (with spikes of a second) and one
// connection in ten is reset mid-request, transactions included, while
// clients keep sending.
func TestSlowAndResettingStorageLosesAndDuplicatesNothing(t *testing.T) {
	s := startStack(t, stack.Options{Replicas: 2, Faults: true})
	ctx := ctxFor(t, 5*time.Minute)
	c := s.Client()
	admin, _ := c.Token(ctx, "boss", true)
	product := sku("SLOW")
	_, st, err := c.Run(ctx, http.MethodPost, "/api/products", admin, map[string]any{"sku": product, "name": "x", "priceCents": 3, "stock": 10})
	require.NoError(t, err)
	require.Equal(t, "succeeded", st.Status)
	carts, tokens := makeCarts(ctx, t, c, size(4, 8)) // at most 99 of a product per cart

	require.NoError(t, s.Faults.Each("table", func(process string, p *toxiclient.Proxy) error {
		if !strings.HasPrefix(process, "domain-") {
			return nil
		}
		if _, err := p.AddToxic("slow", "latency", "downstream", 1, toxiclient.Attributes{"latency": 200, "jitter": 100}); err != nil {
			return err
		}
		_, err := p.AddToxic("resets", "reset_peer", "downstream", 0.1, toxiclient.Attributes{"timeout": 150})
		return err
	}))
	n := size(60, 400)
	var sent map[int][]string
	done := make(chan struct{})
	go func() {
		defer close(done)
		sent = sendItems(ctx, t, c, carts, tokens, product, n)
	}()
	// A spike: a second per answer for two seconds, mid-load.
	time.Sleep(time.Second) // when the spike comes, not synchronisation
	_ = s.Faults.Each("table", func(process string, p *toxiclient.Proxy) error {
		if strings.HasPrefix(process, "domain-") {
			_, err := p.UpdateToxic("slow", 1, toxiclient.Attributes{"latency": 1000, "jitter": 200})
			return err
		}
		return nil
	})
	time.Sleep(2 * time.Second) // the spike's length
	_ = s.Faults.Each("table", func(process string, p *toxiclient.Proxy) error {
		if strings.HasPrefix(process, "domain-") {
			_, err := p.UpdateToxic("slow", 1, toxiclient.Attributes{"latency": 200, "jitter": 100})
			return err
		}
		return nil
	})
	<-done
	checkExactlyOnce(ctx, t, s, c, carts, tokens, sent)
	require.NoError(t, s.Faults.Heal())
}

// makeCarts creates n users with a cart each.
func makeCarts(ctx context.Context, t *testing.T, c *stack.Client, n int) (carts, tokens []string) {
	t.Helper()
	for i := range n {
		tok, err := c.Token(ctx, fmt.Sprintf("fault-%d-%s", i, uuid.NewString()[:6]), false)
		require.NoError(t, err)
		a, st, err := c.Run(ctx, http.MethodPost, "/api/carts", tok, map[string]any{})
		require.NoError(t, err)
		require.Equal(t, "succeeded", st.Status)
		carts, tokens = append(carts, a.AggregateID), append(tokens, tok)
	}
	return carts, tokens
}

// sendItems sends n AddItem commands over the carts, concurrently, and
// returns the accepted command ids per cart. A command the API refuses
// (503 while storage is slow) is retried with the same key, as a client
// must.
func sendItems(ctx context.Context, t *testing.T, c *stack.Client, carts, tokens []string, product string, n int) map[int][]string {
	var mu sync.Mutex
	sent := map[int][]string{}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			k, key := i%len(carts), uuid.NewString()
			for attempt := 0; ; attempt++ {
				r, err := c.Do(ctx, http.MethodPost, "/api/carts/"+carts[k]+"/items", tokens[k], map[string]any{"sku": product, "quantity": 1}, "Idempotency-Key", key)
				if err == nil && r.Status == http.StatusAccepted {
					var a stack.Accepted
					if assert.NoError(t, r.JSON(&a)) {
						mu.Lock()
						sent[k] = append(sent[k], a.CommandID)
						mu.Unlock()
					}
					return
				}
				if ctx.Err() != nil || attempt > 50 {
					t.Errorf("command %d never accepted: %v %+v", i, err, r)
					return
				}
				time.Sleep(200 * time.Millisecond) // a client's back-off before retrying
			}
		}()
	}
	wg.Wait()
	return sent
}

// checkExactlyOnce waits for every sent command to settle, then checks the
// event store: every command applied exactly once, versions contiguous,
// nothing poisoned.
func checkExactlyOnce(ctx context.Context, t *testing.T, s *stack.Stack, c *stack.Client, carts, tokens []string, sent map[int][]string) {
	t.Helper()
	total := 0
	for k, ids := range sent {
		for _, id := range ids {
			st, err := c.Settle(ctx, tokens[k], id)
			require.NoError(t, err)
			require.Equal(t, "succeeded", st.Status, "%+v", st)
		}
		total += len(ids)
	}
	waitDrained(t, s)
	for k, cart := range carts {
		applied := map[string]int{}
		for i, e := range events(t, s, "cart-"+cart) {
			require.Equal(t, int64(i+1), e.Version, "contiguous versions")
			if e.Type == "ItemAdded" {
				applied[e.Metadata.CommandID]++
			}
		}
		assert.Len(t, applied, len(sent[k]), "cart %d: one ItemAdded per accepted command", k)
		for _, id := range sent[k] {
			assert.Equal(t, 1, applied[id], "command %s applied exactly once", id)
		}
	}
	assert.Zero(t, poisoned(t, s), "nothing was poisoned")
	t.Logf("%d commands, each applied once", total)
}

// waitDrained waits until no queue but the poison queues and the deadlines
// queue (delayed messages only: a cart's expiry waits there for a day) holds
// a message, visible or being handled: everything sent so far has been
// handled.
func waitDrained(t *testing.T, s *stack.Stack) {
	t.Helper()
	acc, err := storage.Connect(s.Env.ConnString)
	require.NoError(t, err)
	ctx := context.Background()
	require.Eventually(t, func() bool {
		pager := acc.Queues.NewListQueuesPager(nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return false
			}
			for _, q := range page.Queues {
				if strings.HasSuffix(*q.Name, "-poison") || *q.Name == "deadlines" {
					continue
				}
				p, err := acc.Queues.NewQueueClient(*q.Name).GetProperties(ctx, nil)
				if err != nil || p.ApproximateMessagesCount == nil || *p.ApproximateMessagesCount > 0 {
					return false
				}
			}
		}
		return true
	}, 3*time.Minute, 200*time.Millisecond, "queues did not drain")
}

// poisoned counts the messages in every poison queue.
func poisoned(t *testing.T, s *stack.Stack) int {
	t.Helper()
	acc, err := storage.Connect(s.Env.ConnString)
	require.NoError(t, err)
	ctx := context.Background()
	n := 0
	pager := acc.Queues.NewListQueuesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		require.NoError(t, err)
		for _, q := range page.Queues {
			if !strings.HasSuffix(*q.Name, "-poison") {
				continue
			}
			p, err := acc.Queues.NewQueueClient(*q.Name).GetProperties(ctx, nil)
			require.NoError(t, err)
			if p.ApproximateMessagesCount != nil {
				n += int(*p.ApproximateMessagesCount)
			}
		}
	}
	return n
}

// TestShipRacingTheConfirmationLeavesNoReservation ships each order the
// moment its read model says confirmed, racing the saga hearing the
// confirmation (events-saga has no order): every shipped order's stock is
// committed, none is left reserved, and the count is exact.
func TestShipRacingTheConfirmationLeavesNoReservation(t *testing.T) {
	s := startStack(t, stack.Options{Replicas: 2})
	ctx := ctxFor(t, 5*time.Minute)
	c := s.Client()
	admin, _ := c.Token(ctx, "boss", true)
	product := sku("RACE")
	const stock = 1000
	_, st, err := c.Run(ctx, http.MethodPost, "/api/products", admin, map[string]any{"sku": product, "name": "x", "priceCents": 3, "stock": stock})
	require.NoError(t, err)
	require.Equal(t, "succeeded", st.Status)

	n := size(8, 40)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := c.Token(ctx, fmt.Sprintf("racer-%d-%s", i, uuid.NewString()[:6]), false)
			if !assert.NoError(t, err) {
				return
			}
			cart, st, err := c.Run(ctx, http.MethodPost, "/api/carts", tok, map[string]any{})
			if !assert.NoError(t, err) || !assert.Equal(t, "succeeded", st.Status) {
				return
			}
			_, st, err = c.Run(ctx, http.MethodPost, "/api/carts/"+cart.AggregateID+"/items", tok, map[string]any{"sku": product, "quantity": 1 + i%3})
			if !assert.NoError(t, err) || !assert.Equal(t, "succeeded", st.Status) {
				return
			}
			co, err := c.Command(ctx, http.MethodPost, "/api/carts/"+cart.AggregateID+"/checkout", tok, map[string]any{})
			if !assert.NoError(t, err) {
				return
			}
			// Ship the moment the order reads confirmed.
			for ctx.Err() == nil {
				r, err := c.Do(ctx, http.MethodGet, "/api/orders/"+co.OrderID, tok, nil)
				if err == nil && r.Status == http.StatusOK && strings.Contains(string(r.Body), `"status":"confirmed"`) {
					break
				}
				time.Sleep(5 * time.Millisecond) // polling pace
			}
			_, st, err = c.Run(ctx, http.MethodPost, "/api/orders/"+co.OrderID+"/ship", admin, map[string]any{})
			if assert.NoError(t, err) {
				assert.Equal(t, "succeeded", st.Status, "%+v", st)
			}
		}()
	}
	wg.Wait()

	// The product's own stream is the truth: per order, what was reserved
	// was committed, and nothing stays held.
	type ledger struct{ reserved, committed, released int }
	var orders map[string]*ledger
	require.Eventually(t, func() bool {
		orders = map[string]*ledger{}
		for _, e := range events(t, s, "product-"+product) {
			var d struct {
				OrderID  string `json:"orderId"`
				Quantity int    `json:"quantity"`
			}
			_ = json.Unmarshal(e.Data, &d)
			if d.OrderID == "" {
				continue
			}
			if orders[d.OrderID] == nil {
				orders[d.OrderID] = &ledger{}
			}
			switch e.Type {
			case "StockReserved":
				orders[d.OrderID].reserved += d.Quantity
			case "StockCommitted":
				orders[d.OrderID].committed += d.Quantity
			case "StockReleased":
				orders[d.OrderID].released += d.Quantity
			}
		}
		if len(orders) != n {
			return false
		}
		for _, l := range orders {
			if l.committed != l.reserved || l.released != 0 {
				return false
			}
		}
		return true
	}, 2*time.Minute, 200*time.Millisecond, "every shipped order's reservation is committed, none left held")
	total := 0
	for _, l := range orders {
		total += l.committed
	}
	var p struct {
		Available int `json:"available"`
	}
	require.Eventually(t, func() bool {
		r, err := c.Do(ctx, http.MethodGet, "/api/products/"+product, "", nil)
		return err == nil && r.JSON(&p) == nil && p.Available == stock-total
	}, time.Minute, 100*time.Millisecond, "available stock is exactly what was not shipped")
}
