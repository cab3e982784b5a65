package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/prism-es/prism/e2e/stack"
)

// user is a virtual user: a cart of its own, an SSE connection on it, and
// one command in flight at a time (ChangeQuantity toggling 1 ↔ 2, so every
// command changes the cart and yields exactly one cart.updated).
type user struct {
	c       *stack.Client
	token   string
	cart    string
	sku     string
	qty     int
	version int64
	updates chan int64
	cancel  context.CancelFunc
}

// newUsers creates n users with carts holding sku, and connects their streams.
func newUsers(ctx context.Context, st *stack.Stack, n int, sku string) ([]*user, error) {
	c := st.Client()
	users := make([]*user, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			u, err := newUser(ctx, st, c, fmt.Sprintf("bench-%d-%s", i, uuid.NewString()[:6]), sku)
			if err != nil {
				errs <- err
				return
			}
			users[i] = u
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return users, nil
}

func newUser(ctx context.Context, st *stack.Stack, c *stack.Client, id, sku string) (*user, error) {
	tok, err := c.Token(ctx, id, false)
	if err != nil {
		return nil, err
	}
	created, s, err := c.Run(ctx, http.MethodPost, "/api/carts", tok, map[string]any{})
	if err != nil || s.Status != "succeeded" {
		return nil, fmt.Errorf("create cart: %v %+v", err, s)
	}
	_, s, err = c.Run(ctx, http.MethodPost, "/api/carts/"+created.AggregateID+"/items", tok, map[string]any{"sku": sku, "quantity": 1})
	if err != nil || s.Status != "succeeded" {
		return nil, fmt.Errorf("add item: %v %+v", err, s)
	}
	sctx, cancel := context.WithCancel(ctx)
	events, err := st.Subscribe(sctx, "/streams/carts/"+created.AggregateID, tok, "")
	if err != nil {
		cancel()
		return nil, err
	}
	u := &user{c: c, token: tok, cart: created.AggregateID, sku: sku, qty: 1, version: s.Version, updates: make(chan int64, 64), cancel: cancel}
	go func() {
		for e := range events {
			if e.Type != "cart.updated" {
				continue
			}
			var v struct{ Version int64 }
			if json.Unmarshal([]byte(e.Data), &v) == nil {
				u.updates <- v.Version
			}
		}
		close(u.updates)
	}()
	return u, nil
}

// step sends one command and waits for its cart.updated; it returns the
// POST→SSE latency.
func (u *user) step(ctx context.Context) (time.Duration, error) {
	u.qty = 3 - u.qty
	want := u.version + 1
	start := time.Now()
	if _, err := u.c.Command(ctx, http.MethodPut, "/api/carts/"+u.cart+"/items/"+u.sku, u.token, map[string]any{"quantity": u.qty}); err != nil {
		return 0, err
	}
	timeout := time.After(20 * time.Second)
	for {
		select {
		case v, ok := <-u.updates:
			if !ok {
				return 0, fmt.Errorf("stream of cart %s closed", u.cart)
			}
			if v >= want {
				u.version = v
				return time.Since(start), nil
			}
		case <-timeout:
			return 0, fmt.Errorf("no cart.updated v%d for cart %s within 20s", want, u.cart)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func closeUsers(users []*user) {
	for _, u := range users {
		if u != nil {
			u.cancel()
		}
	}
}

// closedLoop runs every user back to back for d: it returns the latencies
// and the number of failed commands.
func closedLoop(ctx context.Context, users []*user, d time.Duration) ([]time.Duration, int, time.Duration) {
	deadline := time.Now().Add(d)
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var wg sync.WaitGroup
	start := time.Now()
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				l, err := u.step(ctx)
				mu.Lock()
				if err != nil {
					errs++
				} else {
					lat = append(lat, l)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	return lat, errs, time.Since(start)
}
