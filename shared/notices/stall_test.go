package notices_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/testenv"
)

// gatedDial dials through gate: while it is shut no new connection is
// made (a Redis that stopped accepting: a failover in progress, a network
// partition), and the connections already made are left alone.
func gatedDial(gate *testenv.Gate) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if err := gate.Wait(ctx); err != nil {
			return nil, err
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

// TestAStalledRedisHoldsUpNoListener is issue 12 item 10: while the shared
// pub/sub connection cannot be re-established, listeners of streams already
// subscribed still come and go at once, the last listener of a stream
// leaves at once, and nothing waits on Redis but new subscriptions; once
// Redis is back, delivery resumes.
func TestAStalledRedisHoldsUpNoListener(t *testing.T) {
	ctx := context.Background()
	opts, err := redis.ParseURL(env.RedisURL)
	require.NoError(t, err)
	gate := testenv.NewGate()
	opts.Dialer = gatedDial(gate)
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	sub := notices.NewSubscriber(rdb)
	defer sub.Close()
	defer gate.Release()
	a, c := notices.CartStream(uuid.NewString()), notices.CartStream(uuid.NewString())
	la, err := sub.Listen(ctx, a, 16)
	require.NoError(t, err)
	lc, err := sub.Listen(ctx, c, 16)
	require.NoError(t, err)

	// The pub/sub connection breaks and cannot be made again.
	gate.Shut()
	admin := env.Redis(t)
	require.NoError(t, admin.ClientKillByFilter(ctx, "TYPE", "pubsub").Err())
	require.Eventually(t, func() bool { return gate.Waiting() > 0 }, 5*time.Second, 5*time.Millisecond, "go-redis reconnects")

	// A new stream's subscription has to wait for Redis…
	newStream := make(chan error, 1)
	go func() {
		_, err := sub.Listen(ctx, notices.CartStream(uuid.NewString()), 16)
		newStream <- err
	}()
	// …nothing else does.
	done := make(chan struct{})
	var la2 *notices.Listener
	var listenErr error
	go func() {
		defer close(done)
		lc.Close() // the last listener of c: no UNSUBSCRIBE on the way out
		la2, listenErr = sub.Listen(ctx, a, 16)
		sub.Streams()
		la2.Dropped()
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		require.FailNow(t, "listeners waited for the stalled Redis")
	}
	require.NoError(t, listenErr, "a stream already subscribed is joined without Redis")
	_, open := <-lc.C()
	assert.False(t, open, "the closed listener's channel is closed")

	// Redis is reachable again: delivery resumes on a for both of its
	// listeners (go-redis resubscribed; keep publishing until one arrives).
	gate.Release()
	pub := notices.NewPublisher(admin, notices.Config{})
	deadline := time.Now().Add(15 * time.Second)
	for v := 1; ; v++ {
		require.True(t, time.Now().Before(deadline), "no live notice after the stall")
		_, err := pub.Publish(ctx, item(a, v))
		require.NoError(t, err)
		select {
		case n, ok := <-la.C():
			require.True(t, ok)
			assert.Equal(t, a, n.Stream)
			assert.Equal(t, n.ID, receive(t, la2).ID, "both listeners of a")
			<-newStream // answered one way or the other, never hung
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// TestASubscriptionThatFailedIsSentAgain: while Redis is down a new
// stream's Listen fails at once (503 for its caller); once Redis is back a
// Listen of that stream is subscribed again and receives.
func TestASubscriptionThatFailedIsSentAgain(t *testing.T) {
	ctx := context.Background()
	rdb := env.Redis(t)
	sub := notices.NewSubscriber(rdb)
	defer sub.Close()
	stream := notices.CartStream(uuid.NewString())

	env.StopRedis()
	_, err := sub.Listen(ctx, stream, 16)
	require.Error(t, err)
	require.NoError(t, env.StartRedis())

	pub := notices.NewPublisher(rdb, notices.Config{})
	deadline := time.Now().Add(15 * time.Second)
	var l *notices.Listener
	for l == nil {
		require.True(t, time.Now().Before(deadline), "never subscribed again: %v", err)
		l, err = sub.Listen(ctx, stream, 16)
	}
	for v := 1; ; v++ {
		require.True(t, time.Now().Before(deadline), "no live notice after Redis came back")
		_, err := pub.Publish(ctx, item(stream, v))
		require.NoError(t, err)
		select {
		case n, ok := <-l.C():
			require.True(t, ok)
			assert.Equal(t, stream, n.Stream)
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}
