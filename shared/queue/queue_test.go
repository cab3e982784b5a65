package queue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/nudge"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

func TestSendReceiveDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	require.NoError(t, q.Send(ctx, []byte(`{"n":1}`)))
	msgs, err := q.Receive(ctx, 32, 5*time.Second)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.JSONEq(t, `{"n":1}`, string(msgs[0].Body))
	assert.Equal(t, int64(1), msgs[0].DequeueCount)

	// Hidden while received; an extension keeps the receipt valid for delete.
	again, err := q.Receive(ctx, 32, 5*time.Second)
	require.NoError(t, err)
	assert.Empty(t, again)
	require.NoError(t, q.SetVisibility(ctx, msgs[0], 10*time.Second))
	require.NoError(t, q.Delete(ctx, msgs[0]))
	d, err := q.Depth(ctx)
	require.NoError(t, err)
	assert.Zero(t, d)
}

func TestSendChecksSizeBeforeSending(t *testing.T) {
	t.Parallel()
	acc, err := storage.Connect(testenv.ConnectionString(1, 1, 1)) // nothing listens there
	require.NoError(t, err)
	q := queue.Open(acc, "unreachable", nil)
	err = q.Send(context.Background(), []byte(strings.Repeat("x", queue.MaxMessageBytes+1)))
	assert.Equal(t, apperr.TooLarge, apperr.KindOf(err), "%v", err)
	err = q.Send(context.Background(), []byte{0xff, 0xfe})
	assert.Equal(t, apperr.Invalid, apperr.KindOf(err), "%v", err)
	err = q.Send(context.Background(), []byte(`{}`))
	assert.Equal(t, apperr.Unavailable, apperr.KindOf(err), "a valid message does reach the network: %v", err)

	// A message of exactly the limit is accepted by Azurite.
	ok := newQueue(t, nil)
	require.NoError(t, ok.Send(context.Background(), []byte(strings.Repeat("y", queue.MaxMessageBytes))))
}

func TestAlwaysFailingMessageFollowsTheRetryScheduleThenIsPoisoned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	require.NoError(t, q.Send(ctx, []byte(`{"poison":"me"}`)))

	var mu sync.Mutex
	var at []time.Time
	var counts []int64
	poisoned := make(chan string, 1)
	cfg := fast()
	cfg.RetrySchedule = []time.Duration{time.Second, 2 * time.Second}
	cfg.OnPoison = func(_ context.Context, m *queue.Message, reason string) { poisoned <- reason }
	c := queue.NewConsumer(q, func(_ context.Context, m *queue.Message) error {
		mu.Lock()
		defer mu.Unlock()
		at = append(at, time.Now())
		counts = append(counts, m.DequeueCount)
		return fmt.Errorf("always fails (try %d)", m.DequeueCount)
	}, nil, cfg)
	runConsumer(t, c)

	select {
	case reason := <-poisoned:
		assert.Contains(t, reason, "always fails (try 3)")
	case <-time.After(30 * time.Second):
		t.Fatal("message not poisoned within 30s")
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []int64{1, 2, 3}, counts, "one delivery per step of the schedule, then poison")
	require.Len(t, at, 3)
	assert.GreaterOrEqual(t, at[1].Sub(at[0]), time.Second, "the first redelivery waits the schedule's first step")
	assert.GreaterOrEqual(t, at[2].Sub(at[1]), 2*time.Second, "the second redelivery waits the schedule's second step")
	recs, err := q.PeekPoison(ctx, 32)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, int64(3), recs[0].DequeueCount)
	assert.Contains(t, recs[0].Reason, "always fails")
	assert.JSONEq(t, `{"poison":"me"}`, string(recs[0].Original()))
	assert.Equal(t, q.Name(), recs[0].Queue)
	d, err := q.Depth(ctx)
	require.NoError(t, err)
	assert.Zero(t, d, "the main queue no longer holds it")
}

func TestUnavailableDependencyIsRetriedInProcessWithoutBurningADelivery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	require.NoError(t, q.Send(ctx, []byte(`{"outage":true}`)))
	var calls atomic.Int32
	var counts sync.Map
	done := make(chan struct{})
	cfg := fast()
	cfg.Visibility = 3 * time.Second // the outage outlasts the visibility: renewals keep the message
	cfg.RetrySchedule = []time.Duration{time.Second}
	outageEnds := time.Now().Add(5 * time.Second)
	c := queue.NewConsumer(q, func(_ context.Context, m *queue.Message) error {
		calls.Add(1)
		counts.Store(m.DequeueCount, true)
		if time.Now().Before(outageEnds) {
			return apperr.New(apperr.Unavailable, "redis is unavailable (test)")
		}
		close(done)
		return nil
	}, nil, cfg)
	runConsumer(t, c)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("not handled within 30s")
	}
	require.Eventually(t, func() bool { d, _ := q.Depth(ctx); return d == 0 }, 10*time.Second, 20*time.Millisecond)
	assert.Greater(t, calls.Load(), int32(2), "the handler was run again in process")
	counts.Range(func(k, _ any) bool {
		assert.Equal(t, int64(1), k, "every run was the first delivery: the outage burned none")
		return true
	})
	pd, err := q.PoisonDepth(ctx)
	require.NoError(t, err)
	assert.Zero(t, pd, "an outage never poisons, even with a one-step schedule")
}

func TestOutageLongerThanTheHoldReleasesTheMessageWithoutPoison(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	require.NoError(t, q.Send(ctx, []byte(`{"long outage":true}`)))
	done := make(chan int64, 1)
	cfg := fast()
	cfg.OutageHold = time.Second
	cfg.RetrySchedule = []time.Duration{time.Second}
	var poisoned atomic.Bool
	cfg.OnPoison = func(context.Context, *queue.Message, string) { poisoned.Store(true) }
	c := queue.NewConsumer(q, func(_ context.Context, m *queue.Message) error {
		if m.DequeueCount < 3 {
			return apperr.New(apperr.Unavailable, "storage is unavailable (test)")
		}
		done <- m.DequeueCount
		return nil
	}, nil, cfg)
	runConsumer(t, c)
	select {
	case n := <-done:
		assert.Equal(t, int64(3), n, "each hold ended in a release, then a new delivery")
	case <-time.After(30 * time.Second):
		t.Fatal("not handled within 30s")
	}
	require.Eventually(t, func() bool { d, _ := q.Depth(ctx); return d == 0 }, 10*time.Second, 20*time.Millisecond)
	assert.False(t, poisoned.Load(), "released after the outage, never poisoned")
}

func TestTooLargeIsPoisonedAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	require.NoError(t, q.Send(ctx, []byte(`{"big":true}`)))
	var calls atomic.Int32
	c := queue.NewConsumer(q, func(context.Context, *queue.Message) error {
		calls.Add(1)
		return apperr.New(apperr.TooLarge, "row is too large (test)")
	}, nil, fast())
	runConsumer(t, c)
	require.Eventually(t, func() bool { d, _ := q.PoisonDepth(ctx); return d == 1 }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, int32(1), calls.Load(), "a size limit is not retried")
}

func TestAStalePopReceiptCannotDeleteOrPoison(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	require.NoError(t, q.Send(ctx, []byte(`{"stale":true}`)))
	first, err := q.Receive(ctx, 1, time.Second)
	require.NoError(t, err)
	require.Len(t, first, 1)
	var second []*queue.Message
	require.Eventually(t, func() bool {
		second, err = q.Receive(ctx, 1, 30*time.Second)
		return err == nil && len(second) == 1
	}, 10*time.Second, 50*time.Millisecond, "the message is visible again after a second")

	assert.ErrorIs(t, q.Delete(ctx, first[0]), queue.ErrLost)
	assert.ErrorIs(t, q.SetVisibility(ctx, first[0], time.Second), queue.ErrLost)
	assert.ErrorIs(t, q.MoveToPoison(ctx, first[0], "stale"), queue.ErrLost)
	pd, err := q.PoisonDepth(ctx)
	require.NoError(t, err)
	assert.Zero(t, pd, "nothing was poisoned on a stale receipt")
	require.NoError(t, q.Delete(ctx, second[0]), "the current holder still settles it")
}

func TestALostMessageStopsItsHandlerAndIsLeftToItsHolder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	require.NoError(t, q.Send(ctx, []byte(`{"stolen":true}`)))
	cfg := fast()
	cfg.Visibility = 3 * time.Second // renewed every second
	var poisoned atomic.Bool
	cfg.OnPoison = func(context.Context, *queue.Message, string) { poisoned.Store(true) }
	stolen := make(chan *queue.Message, 1)
	stopped := make(chan error, 1)
	var calls atomic.Int32
	c := queue.NewConsumer(q, func(hctx context.Context, m *queue.Message) error {
		if calls.Add(1) > 1 {
			return nil
		}
		// Another receiver takes the message: make it visible (as an
		// expired visibility would) and receive it elsewhere.
		assert.NoError(t, q.SetVisibility(ctx, m, 0))
		var other []*queue.Message
		assert.Eventually(t, func() bool {
			other, _ = q.Receive(ctx, 1, 60*time.Second)
			return len(other) == 1
		}, 10*time.Second, 20*time.Millisecond)
		if len(other) != 1 {
			return nil
		}
		stolen <- other[0]
		<-hctx.Done() // the consumer must notice the loss and stop us
		stopped <- hctx.Err()
		return queue.Permanent(fmt.Errorf("would poison if it could"))
	}, nil, cfg)
	runConsumer(t, c)
	var other *queue.Message
	select {
	case other = <-stolen:
	case <-time.After(20 * time.Second):
		t.Fatal("handler did not run")
	}
	select {
	case err := <-stopped:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("the handler was not stopped after its message was lost")
	}
	assert.Never(t, func() bool { d, _ := q.PoisonDepth(ctx); return d > 0 || poisoned.Load() }, 2*time.Second, 100*time.Millisecond,
		"a lost message is neither poisoned nor marked failed")
	require.NoError(t, q.Delete(ctx, other), "the message was left to the receiver that holds it")
	assert.Equal(t, int32(1), calls.Load())
}

func TestRetriedMessageSucceedsWithoutPoison(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	require.NoError(t, q.Send(ctx, []byte(`{"flaky":true}`)))
	var calls atomic.Int32
	done := make(chan int64, 1)
	c := queue.NewConsumer(q, func(_ context.Context, m *queue.Message) error {
		if calls.Add(1) < 3 {
			return fmt.Errorf("transient")
		}
		done <- m.DequeueCount
		return nil
	}, nil, fast())
	runConsumer(t, c)
	select {
	case n := <-done:
		assert.Equal(t, int64(3), n)
	case <-time.After(15 * time.Second):
		t.Fatal("not handled within 15s")
	}
	require.Eventually(t, func() bool { d, _ := q.Depth(ctx); return d == 0 }, 5*time.Second, 20*time.Millisecond)
	pd, err := q.PoisonDepth(ctx)
	require.NoError(t, err)
	assert.Zero(t, pd)
}

func TestPermanentFailureIsPoisonedAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	require.NoError(t, q.Send(ctx, []byte(`not json`)))
	var calls atomic.Int32
	c := queue.NewConsumer(q, func(context.Context, *queue.Message) error {
		calls.Add(1)
		return queue.Permanent(fmt.Errorf("cannot decode"))
	}, nil, fast())
	runConsumer(t, c)
	require.Eventually(t, func() bool { d, _ := q.PoisonDepth(ctx); return d == 1 }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, int32(1), calls.Load())
	recs, err := q.PeekPoison(ctx, 1)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, "not json", string(recs[0].Original()))
}

func TestOverDequeuedMessageIsPoisonedWithoutRunningTheHandler(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	require.NoError(t, q.Send(ctx, []byte(`{"crashy":true}`)))
	// Five deliveries whose handlers "crashed" (released without settling).
	cfg := fast()
	cfg.MaxDeliveries = 5
	for range 5 {
		msgs, err := q.Receive(ctx, 1, 30*time.Second)
		require.NoError(t, err)
		require.Len(t, msgs, 1)
		require.NoError(t, q.SetVisibility(ctx, msgs[0], 0))
	}
	var calls atomic.Int32
	c := queue.NewConsumer(q, func(context.Context, *queue.Message) error { calls.Add(1); return nil }, nil, cfg)
	runConsumer(t, c)
	require.Eventually(t, func() bool { d, _ := q.PoisonDepth(ctx); return d == 1 }, 10*time.Second, 20*time.Millisecond)
	assert.Zero(t, calls.Load())
	recs, err := q.PeekPoison(ctx, 1)
	require.NoError(t, err)
	assert.Contains(t, recs[0].Reason, "delivered 6 times")
}

func TestRedriveReturnsPoisonedMessagesWithOriginalBodies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	for i := range 3 {
		require.NoError(t, q.Send(ctx, []byte(fmt.Sprintf(`{"i":%d}`, i))))
	}
	msgs, err := q.Receive(ctx, 32, 30*time.Second)
	require.NoError(t, err)
	require.Len(t, msgs, 3)
	for _, m := range msgs {
		require.NoError(t, q.MoveToPoison(ctx, m, "test"))
	}
	n, err := q.Redrive(ctx, 0)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	back, err := q.Receive(ctx, 32, 30*time.Second)
	require.NoError(t, err)
	var bodies []string
	for _, m := range back {
		bodies = append(bodies, string(m.Body))
	}
	assert.ElementsMatch(t, []string{`{"i":0}`, `{"i":1}`, `{"i":2}`}, bodies)
	pd, err := q.PoisonDepth(ctx)
	require.NoError(t, err)
	assert.Zero(t, pd)
}

// TestAMessageAtTheSizeLimitCanBePoisonedAndRedriven: wrapping a body that
// nearly fills a message in a poison record would not fit; it is poisoned
// bare and comes back intact.
func TestAMessageAtTheSizeLimitCanBePoisonedAndRedriven(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	body := []byte(`{"pad":"` + strings.Repeat("x", queue.MaxMessageBytes-20) + `"}`)
	require.NoError(t, q.Send(ctx, body))
	msgs, err := q.Receive(ctx, 1, 30*time.Second)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	require.NoError(t, q.MoveToPoison(ctx, msgs[0], strings.Repeat("r", 2000)))
	recs, err := q.PeekPoison(ctx, 1)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, string(body), string(recs[0].Original()))
	n, err := q.Redrive(ctx, 0)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	back, err := q.Receive(ctx, 1, 30*time.Second)
	require.NoError(t, err)
	require.Len(t, back, 1)
	assert.Equal(t, string(body), string(back[0].Body))
}

func TestStoppedMidHandlerLeavesTheMessageOnTheQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	require.NoError(t, q.Send(ctx, []byte(`{"slow":true}`)))
	started := make(chan struct{})
	cfg := fast()
	cfg.DrainTimeout = 300 * time.Millisecond
	c := queue.NewConsumer(q, func(hctx context.Context, _ *queue.Message) error {
		close(started)
		<-hctx.Done() // never finishes on its own
		return hctx.Err()
	}, nil, cfg)
	stop := runConsumer(t, c)
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("handler never started")
	}
	stop()
	// Released at once (not deleted): receivable again right away.
	var got []*queue.Message
	require.Eventually(t, func() bool {
		msgs, err := q.Receive(ctx, 1, 30*time.Second)
		got = msgs
		return err == nil && len(msgs) == 1
	}, 5*time.Second, 20*time.Millisecond)
	assert.JSONEq(t, `{"slow":true}`, string(got[0].Body))
}

func TestShutdownFinishesInFlightWork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	require.NoError(t, q.Send(ctx, []byte(`{"finish":"me"}`)))
	started, release := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	c := queue.NewConsumer(q, func(context.Context, *queue.Message) error {
		close(started)
		<-release
		finished.Store(true)
		return nil
	}, nil, fast())
	stop := runConsumer(t, c)
	<-started
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Run returned while a handler was still working")
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	select {
	case <-stopped: // returns only after the handler finished and the message was deleted
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the handler finished")
	}
	assert.True(t, finished.Load())
	d, err := q.Depth(ctx)
	require.NoError(t, err)
	assert.Zero(t, d)
}

func TestVisibilityIsRenewedWhileTheHandlerWorks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	require.NoError(t, q.Send(ctx, []byte(`{"long":true}`)))
	var calls atomic.Int32
	release := make(chan struct{})
	cfg := fast()
	cfg.Visibility = 3 * time.Second // renewed every second
	c := queue.NewConsumer(q, func(context.Context, *queue.Message) error {
		calls.Add(1)
		<-release
		return nil
	}, nil, cfg)
	runConsumer(t, c)
	require.Eventually(t, func() bool { return calls.Load() == 1 }, 10*time.Second, 10*time.Millisecond)
	// For twice the visibility timeout nobody else can take the message.
	deadline := time.Now().Add(6 * time.Second)
	for time.Now().Before(deadline) {
		msgs, err := q.Receive(ctx, 1, 1*time.Second)
		require.NoError(t, err)
		require.Empty(t, msgs, "message became visible while its handler was still working")
		time.Sleep(200 * time.Millisecond)
	}
	close(release)
	require.Eventually(t, func() bool { d, _ := q.Depth(ctx); return d == 0 }, 5*time.Second, 20*time.Millisecond)
	assert.Equal(t, int32(1), calls.Load())
}

func TestConcurrencyIsBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	for i := range 24 {
		require.NoError(t, q.Send(ctx, []byte(fmt.Sprintf(`{"i":%d}`, i))))
	}
	var running, peak, handled atomic.Int32
	cfg := fast()
	cfg.Concurrency = 4
	c := queue.NewConsumer(q, func(context.Context, *queue.Message) error {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond) // simulated work, not synchronisation
		running.Add(-1)
		handled.Add(1)
		return nil
	}, nil, cfg)
	runConsumer(t, c)
	require.Eventually(t, func() bool { return handled.Load() == 24 }, 20*time.Second, 10*time.Millisecond)
	assert.LessOrEqual(t, peak.Load(), int32(4))
	assert.Greater(t, peak.Load(), int32(1), "handlers should run concurrently")
}

func TestNudgeWakesAnIdleConsumerAtOnce(t *testing.T) {
	ctx := context.Background()
	waker := nudge.New(env.Redis(t))
	q := newQueue(t, waker)
	got := make(chan time.Time, 1)
	cfg := fast()
	cfg.MinPoll, cfg.MaxPoll = time.Minute, time.Minute // without a nudge: a minute
	c := queue.NewConsumer(q, func(context.Context, *queue.Message) error { got <- time.Now(); return nil }, waker, cfg)
	runConsumer(t, c)
	// Wait until the consumer has found the queue empty and gone to sleep.
	idle := queue.EmptyReceivesTotal.WithLabelValues(q.Name())
	require.Eventually(t, func() bool { return testutil.ToFloat64(idle) >= 1 }, 5*time.Second, 5*time.Millisecond)
	sent := time.Now()
	require.NoError(t, q.Send(ctx, []byte(`{"wake":"up"}`)))
	select {
	case at := <-got:
		t.Logf("handled %s after send", at.Sub(sent))
	case <-time.After(5 * time.Second):
		t.Fatal("idle consumer was not woken by the nudge")
	}
}

func TestPoisonRecordKeepsNonJSONBodies(t *testing.T) {
	rec := queue.PoisonRecord{BodyText: "plain"}
	assert.Equal(t, "plain", string(rec.Original()))
	b, err := json.Marshal(queue.PoisonRecord{Body: json.RawMessage(`{"a":1}`)})
	require.NoError(t, err)
	assert.Contains(t, string(b), `"body":{"a":1}`)
}

// TestANudgeWakesOneConsumerNotAll: three idle consumers of one queue, one
// message: one consumer wakes and takes it; the other two sleep on (with
// broadcast wake-ups they would each make an empty receive).
func TestANudgeWakesOneConsumerNotAll(t *testing.T) {
	ctx := context.Background()
	waker := nudge.New(env.Redis(t))
	q := newQueue(t, waker)
	handled := make(chan struct{}, 1)
	cfg := fast()
	cfg.MinPoll, cfg.MaxPoll = time.Minute, time.Minute
	for range 3 {
		runConsumer(t, queue.NewConsumer(q, func(context.Context, *queue.Message) error { handled <- struct{}{}; return nil }, waker, cfg))
	}
	empty := queue.EmptyReceivesTotal.WithLabelValues(q.Name())
	require.Eventually(t, func() bool { return testutil.ToFloat64(empty) >= 3 }, 5*time.Second, 5*time.Millisecond, "all three asleep")
	before := testutil.ToFloat64(empty)
	require.NoError(t, q.Send(ctx, []byte(`{"one":"message"}`)))
	select {
	case <-handled:
	case <-time.After(5 * time.Second):
		t.Fatal("no consumer woke")
	}
	// A broadcast would have woken the others within milliseconds; for half
	// a second, none may show up. The one that woke got less than it asked
	// for, so it does not look again at once either; a broadcast would add
	// two empty receives.
	assert.Never(t, func() bool { return testutil.ToFloat64(empty) != before }, 500*time.Millisecond, 5*time.Millisecond, "a consumer made an empty receive")
}
