package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/prism-es/prism/e2e/stack"
	"github.com/prism-es/prism/shared/commandstatus"
	"github.com/prism-es/prism/shared/idempotency"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/redisconn"
)

// RedisMemory is what Redis holds per command (issue 19): used_memory (less
// client buffers) after a fixed load less before it, split by what holds it (each part measured by
// deleting it and reading used_memory again), and what of it is held over
// the 24 h idempotency window, each part weighted by how long it lives.
type RedisMemory struct {
	Carts    int `json:"carts"`
	Commands int `json:"commands"`
	// AtEnd is everything the load added, per command, right after it.
	AtEnd float64 `json:"bytesPerCommandAtEnd"`
	// Parts are bytes per command by holder: idempotency, status, notices, other.
	Parts map[string]float64 `json:"bytesPerCommandBy"`
	// Lifetimes are how long each part is held, in hours (at most 24).
	Lifetimes map[string]float64 `json:"lifetimeHours"`
	// Window is bytes per command held over the 24 h window: Σ part × lifetime ÷ 24 h.
	Window float64 `json:"bytesPerCommandOverWindow"`
}

// redisParts in the order they are deleted and printed; "key tables" is
// what stays once every key of the load is gone: the growth of Redis's
// key and expiry hash tables (8 bytes a slot, a power of two of them).
var redisParts = []string{"status", "notices", "idempotency", "key tables"}

// measureRedisMemory runs the fixed load: carts of new users, each created
// and then changed nine times (adds, quantity changes, removals: ten
// commands, each waited for), at the bench's concurrency of users.
func measureRedisMemory(ctx context.Context, st *stack.Stack, s Settings) (RedisMemory, error) {
	rdb, err := redisconn.Connect(st.Env.RedisURL)
	if err != nil {
		return RedisMemory{}, err
	}
	defer rdb.Close()
	usedMemory := func() (int64, error) {
		info, err := rdb.Info(ctx, "memory").Result()
		if err != nil {
			return 0, err
		}
		return parseUsedMemory(info)
	}
	run := time.Now().UnixNano()
	skus := make([]string, 3)
	for i := range skus {
		skus[i] = fmt.Sprintf("MEM-%d-%d", run, i)
		if err := defineProduct(ctx, st, skus[i], 1000); err != nil {
			return RedisMemory{}, err
		}
	}
	carts := make([]memCart, s.RedisCarts)
	for i := range carts {
		carts[i].user = fmt.Sprintf("mem-%d-%d", run%100000, i)
	}
	settle(ctx, usedMemory)
	before, err := usedMemory()
	if err != nil {
		return RedisMemory{}, err
	}

	c := st.Client()
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.Users)
	errs := make(chan error, len(carts))
	for i := range carts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := carts[i].shop(ctx, c, skus); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return RedisMemory{}, err
	}
	// The read side publishes after the commands settled: wait for every
	// cart's ten notices and its owner's twenty (ten command outcomes).
	rd := notices.NewReader(rdb)
	for _, ct := range carts {
		if err := waitHistory(ctx, rd, notices.CartStream(ct.id), len(ct.commands)); err != nil {
			return RedisMemory{}, err
		}
		if err := waitHistory(ctx, rd, notices.UserStream(ct.user), 2*len(ct.commands)); err != nil {
			return RedisMemory{}, err
		}
	}
	settle(ctx, usedMemory)
	after, err := usedMemory()
	if err != nil {
		return RedisMemory{}, err
	}

	m := RedisMemory{Carts: len(carts), Parts: map[string]float64{}, Lifetimes: map[string]float64{}}
	var statusKeys, noticeKeys, idemKeys []string
	for _, ct := range carts {
		m.Commands += len(ct.commands)
		for _, cmd := range ct.commands {
			statusKeys = append(statusKeys, "cmdstatus:"+cmd.id)
			idemKeys = append(idemKeys, "idem:"+ct.user+":"+cmd.key)
		}
		noticeKeys = append(noticeKeys, "nhist:"+notices.CartStream(ct.id), "nhist:"+notices.UserStream(ct.user))
	}
	m.AtEnd = float64(after-before) / float64(m.Commands)
	last := after
	for _, part := range []struct {
		name string
		keys []string
	}{{"status", statusKeys}, {"notices", noticeKeys}, {"idempotency", idemKeys}} {
		for i := 0; i < len(part.keys); i += 500 {
			if err := rdb.Del(ctx, part.keys[i:min(i+500, len(part.keys))]...).Err(); err != nil {
				return RedisMemory{}, err
			}
		}
		settle(ctx, usedMemory)
		now, err := usedMemory()
		if err != nil {
			return RedisMemory{}, err
		}
		m.Parts[part.name] = float64(last-now) / float64(m.Commands)
		last = now
	}
	m.Parts["key tables"] = float64(last-before) / float64(m.Commands)

	// How long each part lives: a record 24 h; a final status
	// TerminalTTL; a notice at most twice the history's MaxAge (dropped by
	// the first publish after MaxAge, or with its history MaxAge after the
	// last one). The key tables hold a slot per key for as long as the key
	// lives: their hours are the keys' hours, on average.
	m.Lifetimes["idempotency"] = min(idempotency.TTL.Hours(), 24)
	m.Lifetimes["status"] = min(commandstatus.TerminalTTL.Hours(), 24)
	m.Lifetimes["notices"] = min(2*notices.DefaultMaxAge.Hours(), 24)
	keyHours := float64(len(idemKeys))*m.Lifetimes["idempotency"] + float64(len(statusKeys))*m.Lifetimes["status"] + float64(len(noticeKeys))*m.Lifetimes["notices"]
	m.Lifetimes["key tables"] = keyHours / float64(len(idemKeys)+len(statusKeys)+len(noticeKeys))
	for _, p := range redisParts {
		m.Window += max(m.Parts[p], 0) * m.Lifetimes[p] / 24
	}
	return m, nil
}

// memCart is one user's cart in the memory load.
type memCart struct {
	user, id string
	commands []memCommand
}

type memCommand struct{ id, key string }

// shop creates the cart and changes it nine times, each command waited for.
func (ct *memCart) shop(ctx context.Context, c *stack.Client, skus []string) error {
	tok, err := c.Token(ctx, ct.user, false)
	if err != nil {
		return err
	}
	if err := ct.run(ctx, c, tok, http.MethodPost, "/api/carts", map[string]any{}); err != nil {
		return err
	}
	items := "/api/carts/" + ct.id + "/items"
	steps := []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, items, map[string]any{"sku": skus[0], "quantity": 1}},
		{http.MethodPost, items, map[string]any{"sku": skus[1], "quantity": 1}},
		{http.MethodPut, items + "/" + skus[0], map[string]any{"quantity": 2}},
		{http.MethodPost, items, map[string]any{"sku": skus[2], "quantity": 1}},
		{http.MethodDelete, items + "/" + skus[1], nil},
		{http.MethodPut, items + "/" + skus[2], map[string]any{"quantity": 3}},
		{http.MethodPost, items, map[string]any{"sku": skus[1], "quantity": 2}},
		{http.MethodPut, items + "/" + skus[0], map[string]any{"quantity": 1}},
		{http.MethodDelete, items + "/" + skus[2], nil},
	}
	for _, step := range steps {
		if err := ct.run(ctx, c, tok, step.method, step.path, step.body); err != nil {
			return err
		}
	}
	return nil
}

// run sends one command under a key of its own and waits for it to succeed.
func (ct *memCart) run(ctx context.Context, c *stack.Client, tok, method, path string, body any) error {
	key := uuid.NewString()
	res, err := c.Do(ctx, method, path, tok, body, "Idempotency-Key", key)
	if err != nil {
		return err
	}
	if res.Status != http.StatusAccepted {
		return fmt.Errorf("%s %s: HTTP %d %s", method, path, res.Status, res.Body)
	}
	var a stack.Accepted
	if err := res.JSON(&a); err != nil {
		return err
	}
	if ct.id == "" {
		ct.id = a.AggregateID
	}
	st, err := c.Settle(ctx, tok, a.CommandID)
	if err != nil {
		return err
	}
	if st.Status != "succeeded" {
		return fmt.Errorf("%s %s: %+v", method, path, st)
	}
	ct.commands = append(ct.commands, memCommand{id: a.CommandID, key: key})
	return nil
}

// waitHistory waits until stream's history holds n notices.
func waitHistory(ctx context.Context, rd *notices.Reader, stream string, n int) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := rd.Tail(ctx, stream, int64(n))
		if err == nil && len(got) >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("history of %s: %d of %d notices (%v)", stream, len(got), n, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// settle waits until used (INFO memory's used_memory) stops moving (client
// buffers drained, lazy frees done): two equal readings 100 ms apart, for
// at most 3 s.
func settle(ctx context.Context, used func() (int64, error)) {
	prev := int64(-1)
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		now, err := used()
		if err == nil && now == prev {
			return
		}
		prev = now
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// parseUsedMemory reads INFO memory's used_memory less the clients'
// buffers (mem_clients_normal and mem_clients_slaves): those grow and
// shrink with the connections' traffic, not with what Redis keeps.
func parseUsedMemory(info string) (int64, error) {
	fields := map[string]int64{}
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			fields[k] = n
		}
	}
	used, ok := fields["used_memory"]
	if !ok {
		return 0, fmt.Errorf("no used_memory in INFO memory")
	}
	return used - fields["mem_clients_normal"] - fields["mem_clients_slaves"], nil
}

// print adds the phase's rows to the summary table.
func (m RedisMemory) print(row func(cols ...string)) {
	if m.Commands == 0 {
		return
	}
	row("Redis memory per command, end of load", fmt.Sprintf("%.0f bytes (%d commands on %d carts)", m.AtEnd, m.Commands, m.Carts))
	for _, p := range redisParts {
		row("  "+p, fmt.Sprintf("%.0f bytes, held %.2g h", m.Parts[p], m.Lifetimes[p]))
	}
	row("Redis memory per command, 24 h window", fmt.Sprintf("%.0f bytes (Σ part × hours held ÷ 24)", m.Window))
}
