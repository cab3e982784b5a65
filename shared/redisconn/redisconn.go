// Package redisconn opens Prism's Redis connections with timeouts short
// enough that an outage becomes a prompt 503, and classifies Redis errors.
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/apperr"
)

// DefaultURL is the local stack's Redis.
const DefaultURL = "redis://127.0.0.1:6379/0"

// Connect parses url (redis:// or rediss://) and returns a client. It does no I/O.
func Connect(url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	opt.DialTimeout = 2 * time.Second
	opt.ReadTimeout = 2 * time.Second
	opt.WriteTimeout = 2 * time.Second
	opt.PoolTimeout = 3 * time.Second
	opt.MaxRetries = 1
	opt.PoolSize = max(opt.PoolSize, 64)
	return redis.NewClient(opt), nil
}

// Classify wraps a Redis failure as apperr.Unavailable (it is down or slow)
// or apperr.Internal (a bug, e.g. a wrong type at a key), naming the operation.
func Classify(err error, op string) error {
	if err == nil {
		return nil
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne), errors.Is(err, redis.ErrClosed), errors.Is(err, redis.ErrPoolTimeout):
		return apperr.Wrap(apperr.Unavailable, err, "redis is unavailable (%s)", op)
	}
	var re redis.Error
	if errors.As(err, &re) {
		// LOADING, BUSY, MASTERDOWN and friends are transient. OOM is Redis
		// at its maxmemory under the noeviction policy (docs/operations.md):
		// it refuses writes rather than evict idempotency records, and the
		// caller answers 503 until memory frees (keys expire) or grows.
		msg := re.Error()
		for _, transient := range []string{"LOADING", "BUSY", "MASTERDOWN", "READONLY", "OOM"} {
			if strings.HasPrefix(msg, transient) {
				return apperr.Wrap(apperr.Unavailable, err, "redis is unavailable (%s)", op)
			}
		}
		return apperr.Wrap(apperr.Internal, err, "redis refused %s", op)
	}
	return apperr.Wrap(apperr.Unavailable, err, "redis is unreachable (%s)", op)
}
