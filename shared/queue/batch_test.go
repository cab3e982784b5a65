package queue_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/queue"
)

func TestItemsReadsPlainBodiesAndBatches(t *testing.T) {
	items, attempt := queue.Items([]byte(`{"commandId":"a"}`))
	assert.Equal(t, [][]byte{[]byte(`{"commandId":"a"}`)}, items)
	assert.Equal(t, 1, attempt)
	items, attempt = queue.Items([]byte(`{"prismBatch":[{"a":1},{"b":2}],"attempt":3}`))
	assert.Equal(t, [][]byte{[]byte(`{"a":1}`), []byte(`{"b":2}`)}, items)
	assert.Equal(t, 3, attempt)
	items, _ = queue.Items([]byte(`{"prismBatch":`))
	assert.Equal(t, [][]byte{[]byte(`{"prismBatch":`)}, items, "not a batch after all: the body as it is")
}

// drainBodies receives and deletes every message, returning their bodies.
func drainBodies(t *testing.T, q *queue.Queue) [][]byte {
	t.Helper()
	var out [][]byte
	for {
		msgs, err := q.Receive(context.Background(), 32, 30*time.Second)
		require.NoError(t, err)
		if len(msgs) == 0 {
			return out
		}
		for _, m := range msgs {
			out = append(out, m.Body)
			require.NoError(t, q.Delete(context.Background(), m))
		}
	}
}

func TestConcurrentSendsShareBatchMessages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	b := queue.NewBatcher(q)

	// Alone, a send goes at once and bare.
	require.NoError(t, b.Send(ctx, []byte(`{"n":-1}`)))
	assert.Equal(t, [][]byte{[]byte(`{"n":-1}`)}, drainBodies(t, q))

	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, b.Send(ctx, fmt.Appendf(nil, `{"n":%d}`, i)))
		}()
	}
	wg.Wait()
	bodies := drainBodies(t, q)
	var got []string
	for _, body := range bodies {
		items, attempt := queue.Items(body)
		assert.Equal(t, 1, attempt)
		for _, it := range items {
			got = append(got, string(it))
		}
	}
	sort.Strings(got)
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf(`{"n":%d}`, i))
	}
	sort.Strings(want)
	assert.Equal(t, want, got, "every send stored exactly once")
	assert.Less(t, len(bodies), n/2, "concurrent sends shared messages (%d messages for %d sends)", len(bodies), n)
	t.Logf("%d sends in %d messages", n, len(bodies))
}

func TestSendsOfDifferentDelaysNeverShareAMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	b := queue.NewBatcher(q)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var opts []queue.SendOption
			if i%2 == 1 {
				opts = append(opts, queue.WithDelay(time.Hour))
			}
			assert.NoError(t, b.Send(ctx, fmt.Appendf(nil, `{"n":%d}`, i), opts...))
		}()
	}
	wg.Wait()
	for _, body := range drainBodies(t, q) {
		items, _ := queue.Items(body)
		for _, it := range items {
			var n int
			_, err := fmt.Sscanf(string(it), `{"n":%d}`, &n)
			require.NoError(t, err)
			assert.Zero(t, n%2, "only the undelayed sends are visible now")
		}
	}
}

// batchRun counts handler runs per item body.
type batchRun struct {
	mu    sync.Mutex
	calls map[string][]int64
}

func (r *batchRun) add(m *queue.Message) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string][]int64{}
	}
	r.calls[string(m.Body)] = append(r.calls[string(m.Body)], m.DequeueCount)
	return len(r.calls[string(m.Body)])
}

func (r *batchRun) of(body string) []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.calls[body]...)
}

func TestABatchItemThatFailsIsRetriedAloneThenPoisonedAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	require.NoError(t, q.SendBatch(ctx, [][]byte{[]byte(`{"ok":1}`), []byte(`{"bad":true}`), []byte(`{"ok":2}`)}))
	var runs batchRun
	poisoned := make(chan string, 4)
	cfg := fast()
	cfg.RetrySchedule = []time.Duration{time.Second, time.Second}
	cfg.OnPoison = func(_ context.Context, m *queue.Message, _ string) { poisoned <- string(m.Body) }
	c := queue.NewConsumer(q, func(_ context.Context, m *queue.Message) error {
		runs.add(m)
		if string(m.Body) == `{"bad":true}` {
			return fmt.Errorf("this one always fails")
		}
		return nil
	}, nil, cfg)
	runConsumer(t, c)
	select {
	case body := <-poisoned:
		assert.Equal(t, `{"bad":true}`, body, "only the bad item is poisoned")
	case <-time.After(30 * time.Second):
		t.Fatal("not poisoned within 30 s")
	}
	assert.Equal(t, []int64{1}, runs.of(`{"ok":1}`), "a good item is not applied again when its neighbour fails")
	assert.Equal(t, []int64{1}, runs.of(`{"ok":2}`))
	assert.Equal(t, []int64{1, 2, 3}, runs.of(`{"bad":true}`), "the bad item follows the schedule alone: three deliveries")
	recs, err := q.PeekPoison(ctx, 32)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.JSONEq(t, `{"bad":true}`, string(recs[0].Original()))
	assert.Equal(t, int64(3), recs[0].DequeueCount)
	require.Eventually(t, func() bool { d, _ := q.Depth(ctx); return d == 0 }, 10*time.Second, 20*time.Millisecond)
	assert.Never(t, func() bool { return len(poisoned) > 0 }, time.Second, 50*time.Millisecond, "nothing else is poisoned")
}

func TestAPermanentBatchItemIsPoisonedAloneAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	require.NoError(t, q.SendBatch(ctx, [][]byte{[]byte(`{"ok":1}`), []byte(`{"undecodable":true}`), []byte(`{"big":true}`)}))
	var runs batchRun
	c := queue.NewConsumer(q, func(_ context.Context, m *queue.Message) error {
		runs.add(m)
		switch string(m.Body) {
		case `{"undecodable":true}`:
			return queue.Permanent(fmt.Errorf("cannot decode"))
		case `{"big":true}`:
			return apperr.New(apperr.TooLarge, "too large")
		}
		return nil
	}, nil, fast())
	runConsumer(t, c)
	require.Eventually(t, func() bool { d, _ := q.PoisonDepth(ctx); return d == 2 }, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { d, _ := q.Depth(ctx); return d == 0 }, 10*time.Second, 20*time.Millisecond)
	for _, body := range []string{`{"ok":1}`, `{"undecodable":true}`, `{"big":true}`} {
		assert.Equal(t, []int64{1}, runs.of(body), "%s ran once", body)
	}
}

func TestABatchItemWhoseDependencyIsDownIsHeldNotCounted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	require.NoError(t, q.SendBatch(ctx, [][]byte{[]byte(`{"ok":1}`), []byte(`{"needs":"redis"}`)}))
	var runs batchRun
	var done atomic.Bool
	cfg := fast()
	cfg.RetrySchedule = []time.Duration{time.Second}
	outageEnds := time.Now().Add(3 * time.Second)
	c := queue.NewConsumer(q, func(_ context.Context, m *queue.Message) error {
		runs.add(m)
		if string(m.Body) == `{"needs":"redis"}` {
			if time.Now().Before(outageEnds) {
				return apperr.New(apperr.Unavailable, "redis is unavailable (test)")
			}
			done.Store(true)
		}
		return nil
	}, nil, cfg)
	runConsumer(t, c)
	require.Eventually(t, done.Load, 30*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { d, _ := q.Depth(ctx); return d == 0 }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, []int64{1}, runs.of(`{"ok":1}`))
	for _, n := range runs.of(`{"needs":"redis"}`) {
		assert.Equal(t, int64(1), n, "the outage burned no delivery")
	}
	pd, err := q.PoisonDepth(ctx)
	require.NoError(t, err)
	assert.Zero(t, pd)
}

// TestABatcherSendsABodyNearTheSizeLimitAlone: a body that fits a message
// but not a batch's wrapping goes alone and bare, and does not stall the
// sends queued behind it.
func TestABatcherSendsABodyNearTheSizeLimitAlone(t *testing.T) {
	t.Parallel()
	q := newQueue(t, nil)
	b := queue.NewBatcher(q)
	big := []byte(`{"pad":"` + strings.Repeat("x", queue.MaxMessageBytes-20) + `"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, b.Send(ctx, big), "a body within the limit is sent")
	require.NoError(t, b.Send(ctx, []byte(`{"n":1}`)), "a send behind it is not stalled")
	assert.Equal(t, [][]byte{big, []byte(`{"n":1}`)}, drainBodies(t, q))
}

// TestABatcherForgetsTheGroupsOfDelaysItIsDoneWith: deadlines are delayed
// by durations that differ from send to send (the time left until a hold
// or a cart's idle time ends); a Batcher keeps no group per delay once its
// sends are done, so a long-running sender does not grow without bound.
func TestABatcherForgetsTheGroupsOfDelaysItIsDoneWith(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	b := queue.NewBatcher(q)
	for i := range 20 {
		require.NoError(t, b.Send(ctx, fmt.Appendf(nil, `{"n":%d}`, i), queue.WithDelay(time.Hour+time.Duration(i)*time.Millisecond)))
	}
	require.Eventually(t, func() bool { return b.Groups() == 0 }, 10*time.Second, 10*time.Millisecond,
		"groups left: %d", b.Groups())
}
