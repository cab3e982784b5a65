// Package nudge wakes idle queue consumers through Redis pub/sub, so an idle
// system reacts to a new message in milliseconds while its consumers poll
// Storage only every few seconds. A lost nudge costs latency, never a
// message: consumers keep polling.
package nudge

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/queue"
)

// Redis is a queue.Waker on Redis pub/sub.
type Redis struct {
	client *redis.Client
}

var _ queue.Waker = (*Redis)(nil)

// New returns a Waker on client.
func New(client *redis.Client) *Redis { return &Redis{client: client} }

func channel(q string) string { return "prism:nudge:" + q }

// Wake publishes a nudge for the queue.
func (r *Redis) Wake(ctx context.Context, q string) error {
	return r.client.Publish(ctx, channel(q), "1").Err()
}

// Wakeups delivers (coalesced) nudges for the queue until ctx ends. While
// Redis is unreachable it delivers nothing and go-redis keeps reconnecting.
func (r *Redis) Wakeups(ctx context.Context, q string) <-chan struct{} {
	out := make(chan struct{}, 1)
	sub := r.client.Subscribe(ctx, channel(q))
	// Wait for the subscription to be confirmed, so every Wake from now on is
	// seen; if Redis is down, go on: go-redis resubscribes when it is back.
	confirm, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, _ = sub.Receive(confirm)
	cancel()
	go func() {
		defer sub.Close()
		in := sub.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- struct{}{}:
				default: // one pending wake-up is enough
				}
			}
		}
	}()
	return out
}
