package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// newQueue creates a fresh queue (and its poison twin) on the private Azurite.
func newQueue(t *testing.T, waker queue.Waker) *queue.Queue {
	t.Helper()
	acc, err := storage.Connect(env.ConnString)
	require.NoError(t, err)
	name := testenv.QueueName("q")
	require.NoError(t, acc.EnsureQueues(context.Background(), name))
	return queue.Open(acc, name, waker)
}

// runConsumer runs c until the test ends (or stop is called) and returns stop,
// which cancels it and waits for Run to return.
func runConsumer(t *testing.T, c *queue.Consumer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("consumer did not stop within 30s")
		}
	}
	t.Cleanup(stop)
	return stop
}

// fast is a consumer config that keeps tests quick.
func fast() queue.ConsumerConfig {
	return queue.ConsumerConfig{
		Visibility: 5 * time.Second, RetrySchedule: []time.Duration{time.Second, time.Second, time.Second, time.Second},
		MinPoll: 20 * time.Millisecond, MaxPoll: 100 * time.Millisecond, DrainTimeout: 5 * time.Second, DepthEvery: -1,
	}
}
