package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/redisconn"
)

// Slots bounds how many of something (open streams) one key (a user, a
// client address) holds at once, across every replica: each holder is a
// member of a Redis sorted set scored by when its slot lapses. A holder
// renews its slot while it lives (Renew, well within TTL) and releases it
// when done; a replica that dies without releasing leaves slots that lapse
// after TTL, so a crash never locks a user out for longer than that.
// redis_rate limits rates, not concurrency, hence this small script.
type Slots struct {
	rdb *redis.Client
	// TTL is how long a slot lasts without a renewal.
	TTL time.Duration
}

// NewSlots returns slots on rdb lasting ttl without renewal.
func NewSlots(rdb *redis.Client, ttl time.Duration) *Slots { return &Slots{rdb: rdb, TTL: ttl} }

// acquire drops lapsed slots, then takes one for the holder if fewer than
// the maximum are held (renewing it if the holder has one). It answers 1
// when the holder has a slot, 0 when the key is full.
var acquire = redis.NewScript(`
local key, holder = KEYS[1], ARGV[1]
local now, ttl, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call("ZREMRANGEBYSCORE", key, "-inf", now)
if redis.call("ZSCORE", key, holder) == false and redis.call("ZCARD", key) >= limit then
  return 0
end
redis.call("ZADD", key, now + ttl, holder)
redis.call("PEXPIRE", key, ttl)
return 1
`)

func slotsKey(name, key string) string { return keyPrefix + "slots:" + name + ":" + key }

// Acquire takes a slot of the named policy for holder under key, if fewer
// than limit are held; false means the key is full. A limit below 1 means
// no limit (nothing is recorded).
func (s *Slots) Acquire(ctx context.Context, name string, limit int, key, holder string) (bool, error) {
	if limit < 1 {
		return true, nil
	}
	now := time.Now().UnixMilli()
	n, err := acquire.Run(ctx, s.rdb, []string{slotsKey(name, key)}, holder, now, s.TTL.Milliseconds(), limit).Int()
	if err != nil {
		decisions.WithLabelValues(name, "error").Inc()
		return false, redisconn.Classify(err, "acquire a slot")
	}
	if n == 0 {
		decisions.WithLabelValues(name, "limited").Inc()
		return false, nil
	}
	decisions.WithLabelValues(name, "allowed").Inc()
	return true, nil
}

// Renew extends the holder's slot by TTL (taking it again if it lapsed,
// even over the limit: a stream already open is not cut off).
func (s *Slots) Renew(ctx context.Context, name string, limit int, key, holder string) error {
	if limit < 1 {
		return nil
	}
	k := slotsKey(name, key)
	now := time.Now().UnixMilli()
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, k, redis.Z{Score: float64(now + s.TTL.Milliseconds()), Member: holder})
		p.PExpire(ctx, k, s.TTL)
		return nil
	})
	return redisconn.Classify(err, "renew a slot")
}

// Release gives the holder's slot back.
func (s *Slots) Release(ctx context.Context, name string, limit int, key, holder string) error {
	if limit < 1 {
		return nil
	}
	return redisconn.Classify(s.rdb.ZRem(ctx, slotsKey(name, key), holder).Err(), "release a slot")
}

// Full is the error of a request refused because a key holds all its
// slots: 429, retry after retryAfter (a slot frees when a holder leaves).
func Full(name string, limit int, retryAfter time.Duration) error {
	return apperr.New(apperr.RateLimited, "at most %d at once (%s); close one first or retry after %d s", limit, name, seconds(retryAfter))
}

// SetSlotHeaders writes RateLimit-Policy and RateLimit for a concurrency
// limit refused: q slots, none remaining, and Retry-After.
func SetSlotHeaders(h interface{ Set(string, string) }, name string, limit int, retryAfter time.Duration) {
	h.Set("RateLimit-Policy", fmt.Sprintf("%q;q=%d", name, limit))
	h.Set("RateLimit", fmt.Sprintf("%q;r=0;t=%d", name, seconds(retryAfter)))
	h.Set("Retry-After", fmt.Sprint(seconds(retryAfter)))
}
