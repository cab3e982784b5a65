// Package streamtickets issues and redeems stream tickets: single-use,
// short-lived stand-ins for a bearer token in an EventSource URL (browsers
// cannot set headers on EventSource, and proxies and ingress logs keep
// URLs). prism-api issues a ticket to an authenticated caller for one
// stream it may see; stream-service redeems it once, for that stream only.
// Tickets live in Redis under the SHA-256 of their value, so what Redis
// holds cannot be replayed.
package streamtickets

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/redisconn"
)

// TTL is how long a ticket may wait to be used.
const TTL = 60 * time.Second

// Grant is what a ticket stands for.
type Grant struct {
	// UserID is the caller the ticket was issued to.
	UserID string `json:"userId"`
	// Stream is the path it opens, e.g. "/streams/me".
	Stream string `json:"stream"`
	// TokenExpiresAt is when the token that bought the ticket expires: the
	// stream closes then.
	TokenExpiresAt time.Time `json:"tokenExpiresAt"`
}

// Ticket is an issued ticket.
type Ticket struct {
	Value     string
	ExpiresAt time.Time
}

// Tickets issues and redeems tickets in Redis.
type Tickets struct {
	rdb *redis.Client
}

// New returns tickets kept in rdb.
func New(rdb *redis.Client) *Tickets { return &Tickets{rdb: rdb} }

func key(ticket string) string {
	sum := sha256.Sum256([]byte(ticket))
	return "prism:ticket:" + hex.EncodeToString(sum[:])
}

// Issue records a ticket for g, valid for TTL (or until the token expires,
// if sooner).
func (t *Tickets) Issue(ctx context.Context, g Grant) (Ticket, error) {
	ttl := TTL
	if !g.TokenExpiresAt.IsZero() {
		ttl = min(ttl, time.Until(g.TokenExpiresAt))
	}
	if ttl <= 0 {
		return Ticket{}, apperr.New(apperr.Unauthenticated, "the token has expired")
	}
	value := rand.Text() + rand.Text() // 2 × 128 bits, base32
	b, err := json.Marshal(g)
	if err != nil {
		return Ticket{}, err
	}
	if err := t.rdb.Set(ctx, key(value), b, ttl).Err(); err != nil {
		return Ticket{}, redisconn.Classify(err, "issue a stream ticket")
	}
	return Ticket{Value: value, ExpiresAt: time.Now().Add(ttl)}, nil
}

// ErrInvalid is the answer to a ticket that is unknown, used, expired or
// for another stream.
var ErrInvalid = apperr.New(apperr.Unauthenticated, "invalid, used or expired stream ticket; ask POST /api/stream-tickets for a new one")

// Redeem uses up a ticket for stream and returns its grant. Reading and
// deleting are one transaction (GETDEL needs Redis 6.2; Azure Cache for
// Redis offers 6.0), so two concurrent redemptions cannot both succeed. A
// ticket presented for another stream is used up all the same.
func (t *Tickets) Redeem(ctx context.Context, ticket, stream string) (Grant, error) {
	if ticket == "" || len(ticket) > 128 {
		return Grant{}, ErrInvalid
	}
	k := key(ticket)
	var get *redis.StringCmd
	_, err := t.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, k)
		p.Del(ctx, k)
		return nil
	})
	if errors.Is(err, redis.Nil) {
		return Grant{}, ErrInvalid
	}
	if err != nil {
		return Grant{}, redisconn.Classify(err, "redeem a stream ticket")
	}
	var g Grant
	if err := json.Unmarshal([]byte(get.Val()), &g); err != nil {
		return Grant{}, ErrInvalid
	}
	if g.Stream != stream {
		return Grant{}, ErrInvalid
	}
	if !g.TokenExpiresAt.IsZero() && time.Now().After(g.TokenExpiresAt) {
		return Grant{}, ErrInvalid
	}
	return g, nil
}
