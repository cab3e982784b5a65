package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/e2e/stack"
	"github.com/prism-es/prism/shared/eventcatalog"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/shard"
)

// shardsView is `prismctl shards --json`.
type shardsView struct {
	Shards []struct {
		Queue, Owner, Lease string
		Backlog             int
	}
	Replicas []struct {
		Owner  string
		Shards int
	}
}

func readShards(t *testing.T, s *stack.Stack) shardsView {
	t.Helper()
	v, err := tryShards(s)
	require.NoError(t, err)
	return v
}

func tryShards(s *stack.Stack) (shardsView, error) {
	out, err := s.Prismctl("shards", "--json")
	if err != nil {
		return shardsView{}, fmt.Errorf("%w: %s", err, out)
	}
	var v shardsView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return shardsView{}, fmt.Errorf("%w: %s", err, out)
	}
	return v, nil
}

// replicaOf finds the stack process an owner name (host-pid) belongs to.
func replicaOf(s *stack.Stack, owner string) *stack.Process {
	for _, p := range s.Replicas() {
		if p.Pid() != 0 && strings.HasSuffix(owner, "-"+strconv.Itoa(p.Pid())) {
			return p
		}
	}
	return nil
}

// TestReplicaKilledItsShardsAreTakenOver: three replicas share eight command
// shards (and the delayed queue) over two storage accounts while clients
// keep adding items to carts on every shard. kill -9 of a replica that owns
// shards: within one lease period (≤ 30 s) the others own its shards, the
// commands waiting on them are served, and nothing is lost or applied twice.
// Every stream's events are in the account of its hash, and both accounts
// hold some. The full run (make chaos) kills a second owner after a fresh
// replica joined.
func TestReplicaKilledItsShardsAreTakenOver(t *testing.T) {
	const shards = 8
	s := startStack(t, stack.Options{Replicas: 3, Accounts: 2, Env: map[string]string{"PRISM_COMMAND_SHARDS": strconv.Itoa(shards)}})
	ctx := ctxFor(t, 6*time.Minute)
	c := s.Client()
	admin, _ := c.Token(ctx, "boss", true)
	product := sku("SHARD")
	_, st, err := c.Run(ctx, http.MethodPost, "/api/products", admin, map[string]any{"sku": product, "name": "x", "priceCents": 3, "stock": 1})
	require.NoError(t, err)
	require.Equal(t, "succeeded", st.Status)

	view := readShards(t, s)
	require.Len(t, view.Shards, shards+1)
	require.Len(t, view.Replicas, 3, "%+v", view)
	for _, sh := range view.Shards {
		require.Equal(t, "leased", sh.Lease, "%+v", sh)
		require.NotNil(t, replicaOf(s, sh.Owner), "%s's owner %s is a replica of the stack", sh.Queue, sh.Owner)
	}

	// Carts until every shard has two.
	type cart struct{ id, token, queue string }
	var carts []cart
	perShard := map[string]int{}
	for len(perShard) < shards || minCount(perShard) < 2 {
		tok, _ := c.Token(ctx, "shard-user-"+uuid.NewString()[:8], false)
		a, st, err := c.Run(ctx, http.MethodPost, "/api/carts", tok, map[string]any{})
		require.NoError(t, err)
		require.Equal(t, "succeeded", st.Status)
		q := s.CommandQueue("cart-" + a.AggregateID)
		carts = append(carts, cart{a.AggregateID, tok, q})
		perShard[q]++
	}

	var mu sync.Mutex
	sent := map[int][]string{}
	after := map[int][]string{} // accepted after a kill, per cart
	var killed time.Time
	orphaned := map[string]bool{} // queues whose owner was killed
	load := func(stop <-chan struct{}) *sync.WaitGroup {
		var wg sync.WaitGroup
		for i, ct := range carts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for q := 0; q < 98; q++ { // at most 98 units of one SKU per cart
					select {
					case <-stop:
						return
					default:
					}
					a, err := c.Command(ctx, http.MethodPost, "/api/carts/"+ct.id+"/items", ct.token, map[string]any{"sku": product, "quantity": 1})
					if err != nil {
						continue
					}
					mu.Lock()
					sent[i] = append(sent[i], a.CommandID)
					if !killed.IsZero() {
						after[i] = append(after[i], a.CommandID)
					}
					mu.Unlock()
					time.Sleep(150 * time.Millisecond) // pacing of a client, not synchronisation
				}
			}()
		}
		return &wg
	}
	stop := make(chan struct{})
	wg := load(stop)

	kill := func(round int) {
		time.Sleep(2 * time.Second) // load builds up first (pacing, not synchronisation)
		view := readShards(t, s)
		victimOwner := view.Replicas[0].Owner
		victim := replicaOf(s, victimOwner)
		require.NotNil(t, victim)
		var orphans []string
		for _, sh := range view.Shards {
			if sh.Owner == victimOwner {
				orphans = append(orphans, sh.Queue)
			}
		}
		require.NotEmpty(t, orphans)
		mu.Lock()
		killed = time.Now()
		for _, q := range orphans {
			orphaned[q] = true
		}
		mu.Unlock()
		victim.Kill()
		var took time.Duration
		require.Eventually(t, func() bool {
			v, err := tryShards(s)
			if err != nil {
				return false
			}
			for _, sh := range v.Shards {
				if sh.Lease != "leased" || sh.Owner == victimOwner {
					return false
				}
			}
			took = time.Since(killed)
			return true
		}, 30*time.Second, 200*time.Millisecond, "round %d: the shards %v of the killed %s are owned by the others within 30 s", round, orphans, victim.Name)
		t.Logf("round %d: kill -9 of %s (owner of %v): its shards owned again %s later", round, victim.Name, orphans, took.Round(100*time.Millisecond))
		require.NoError(t, s.WaitShardsBalanced(30*time.Second), "the survivors share the shards evenly")
	}
	kill(1)
	if full() {
		_, err := s.AddReplica("domain-joined")
		require.NoError(t, err)
		require.NoError(t, s.WaitShardsBalanced(30*time.Second), "a joining replica takes its share")
		mu.Lock()
		killed = time.Time{}
		mu.Unlock()
		kill(2)
	}
	time.Sleep(3 * time.Second) // commands keep arriving on the taken-over shards (pacing)
	close(stop)
	wg.Wait()

	accs, err := s.Storage()
	require.NoError(t, err)
	perAccount := map[int]int{}
	servedAfter := 0
	for i, ct := range carts {
		for _, id := range sent[i] {
			st, err := c.Settle(ctx, ct.token, id)
			require.NoError(t, err)
			require.Equal(t, "succeeded", st.Status, "cart %d (%s) command %s: %+v", i, ct.queue, id, st)
		}
		if orphaned[ct.queue] {
			servedAfter += len(after[i])
		}
		stream := "cart-" + ct.id
		evs := events(t, s, stream)
		require.Len(t, evs, len(sent[i])+1, "cart %d: every accepted command exactly once", i)
		seen := map[string]int{}
		for v, e := range evs {
			require.Equal(t, int64(v+1), e.Version)
			seen[e.Metadata.CommandID]++
		}
		for _, id := range sent[i] {
			require.Equal(t, 1, seen[id], "command %s", id)
		}
		home := accs.IndexOf(stream)
		perAccount[home]++
		here, err := eventstore.NewTableStore(accs[home], eventstore.DefaultTable, eventcatalog.Upcasters()).Load(ctx, stream, 1)
		require.NoError(t, err)
		assert.Len(t, here, len(evs), "%s is in account %d, the account of its hash", stream, home)
		assert.Equal(t, ct.queue, shard.Name("commands", shard.Of(stream, shards), shards))
	}
	assert.Len(t, perAccount, 2, "the carts' streams use both accounts: %v", perAccount)
	assert.Positive(t, servedAfter, "commands sent to the killed replica's shards after the kill were served")
	t.Logf("%d carts on %d shards over 2 accounts; %d commands sent to the orphaned shards after a kill, all served once", len(carts), shards, servedAfter)
}

func minCount(m map[string]int) int {
	out := -1
	for _, v := range m {
		if out < 0 || v < out {
			out = v
		}
	}
	return out
}
