// Package broadcast sends small best-effort messages to every live process
// of a service through Redis pub/sub. Delivery is at most once: use it only
// to save work (keeping caches warm), never for correctness.
package broadcast

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/redisconn"
)

// Redis broadcasts on Redis pub/sub channels.
type Redis struct {
	client *redis.Client
}

// New returns a broadcaster on client.
func New(client *redis.Client) *Redis { return &Redis{client: client} }

func channel(name string) string { return "prism:broadcast:" + name }

// Send publishes payload on the named channel.
func (r *Redis) Send(ctx context.Context, name string, payload []byte) error {
	return redisconn.Classify(r.client.Publish(ctx, channel(name), payload).Err(), "broadcast")
}

// Receive delivers the named channel's payloads until ctx ends. go-redis
// resubscribes after a reconnect; what was sent meanwhile is lost.
func (r *Redis) Receive(ctx context.Context, name string) <-chan []byte {
	out := make(chan []byte, 1024)
	sub := r.client.Subscribe(ctx, channel(name))
	go func() {
		defer close(out)
		defer sub.Close()
		in := sub.Channel(redis.WithChannelSize(4096))
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- []byte(m.Payload):
				default: // a slow reader drops warm-ups, never blocks Redis
				}
			}
		}
	}()
	return out
}
