// Package nudge wakes idle queue consumers through Redis, so an idle system
// reacts to a new message in milliseconds while its consumers poll Storage
// only every few seconds. A send pushes one wake token on a short list; only
// a consumer that is asleep pops it, so one message wakes one consumer, not
// all of them (three replicas woken for one message would make two empty
// receives). A lost token costs latency, never a message: consumers poll.
package nudge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/queue"
)

// Redis is a queue.Waker on Redis lists.
type Redis struct {
	client *redis.Client
}

var _ queue.Waker = (*Redis)(nil)

// New returns a Waker on client.
func New(client *redis.Client) *Redis { return &Redis{client: client} }

func key(q string) string { return "prism:nudge:" + q }

// maxTokens bounds the tokens waiting while every consumer is busy, so a
// consumer that falls asleep later finds at most this many stale ones.
const maxTokens = 2

// Wake leaves one wake token for the queue's sleeping consumers.
func (r *Redis) Wake(ctx context.Context, q string) error {
	pipe := r.client.Pipeline()
	pipe.LPush(ctx, key(q), "1")
	pipe.LTrim(ctx, key(q), 0, maxTokens-1)
	_, err := pipe.Exec(ctx)
	return err
}

// slice bounds one blocking pop, below the client's read timeout.
const slice = time.Second

// retryEvery is how often a waiter tries Redis again while it is
// unreachable, so a consumer is back on its nudges soon after Redis returns
// (an idle command shard's consumer may be in a 2 s wait).
const retryEvery = 250 * time.Millisecond

// Wait sleeps up to d, returning early when it takes a wake token or ctx
// ends. While Redis is unreachable it sleeps, trying Redis again every
// retryEvery.
func (r *Redis) Wait(ctx context.Context, q string, d time.Duration) {
	deadline := time.Now().Add(d)
	for {
		remaining := time.Until(deadline)
		// Under a millisecond BLPOP's timeout would print as 0, which
		// means "block for ever".
		if remaining < time.Millisecond || ctx.Err() != nil {
			return
		}
		t := min(remaining, slice)
		err := r.client.Do(ctx, "BLPOP", key(q), fmt.Sprintf("%.3f", t.Seconds())).Err()
		switch {
		case err == nil:
			return // took a token
		case errors.Is(err, redis.Nil):
			continue // timed out: keep waiting until d
		default:
			sleep(ctx, min(time.Until(deadline), retryEvery))
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
