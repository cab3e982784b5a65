package streams

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/ratelimit"
)

// Limits bound the streams one caller may hold and how long one lasts.
// Zero fields limit nothing (MaxDuration: DefaultMaxDuration).
type Limits struct {
	// PerUser is how many streams one user may have open at once, across
	// every replica (PRISM_LIMIT_STREAMS_PER_USER, default 20).
	PerUser int
	// PerIP is the same per client address, for public streams too
	// (PRISM_LIMIT_STREAMS_PER_IP, default 100).
	PerIP int
	// PerReplica caps this replica's open streams, whoever holds them
	// (PRISM_LIMIT_STREAMS_PER_REPLICA, default 5000); over it, 503 sends
	// the client elsewhere.
	PerReplica int
	// OpensPerIP limits how fast one address opens streams
	// (PRISM_LIMIT_STREAM_OPENS_PER_IP, default 10/s:100).
	OpensPerIP ratelimit.Limit
	// MaxDuration is the longest a stream stays open (PRISM_SSE_MAX_DURATION,
	// default 1h); a stream bought with a token closes when the token
	// expires, if sooner. Clients reconnect with Last-Event-ID.
	MaxDuration time.Duration
	// ClientIPs finds the client behind PRISM_TRUSTED_PROXIES.
	ClientIPs httpapi.ClientIPs
}

// Defaults of Limits.
const (
	DefaultStreamsPerUser    = 20
	DefaultStreamsPerIP      = 100
	DefaultStreamsPerReplica = 5000
	DefaultStreamOpensPerIP  = "10/s:100"
	DefaultMaxDuration       = time.Hour
)

// LoadLimits reads the stream limits; problems are recorded on r.
func LoadLimits(r *config.Reader) Limits {
	l := Limits{
		PerUser:     r.Int("PRISM_LIMIT_STREAMS_PER_USER", DefaultStreamsPerUser),
		PerIP:       r.Int("PRISM_LIMIT_STREAMS_PER_IP", DefaultStreamsPerIP),
		PerReplica:  r.Int("PRISM_LIMIT_STREAMS_PER_REPLICA", DefaultStreamsPerReplica),
		OpensPerIP:  ratelimit.Setting(r, "PRISM_LIMIT_STREAM_OPENS_PER_IP", "stream-opens-ip", DefaultStreamOpensPerIP),
		MaxDuration: r.Duration("PRISM_SSE_MAX_DURATION", DefaultMaxDuration),
	}
	if l.MaxDuration <= 0 {
		r.Fail("PRISM_SSE_MAX_DURATION=%s: must be positive", l.MaxDuration)
	}
	ips, err := httpapi.ParseTrustedProxies(r.List("PRISM_TRUSTED_PROXIES", nil))
	if err != nil {
		r.Fail("PRISM_TRUSTED_PROXIES: %v", err)
	}
	l.ClientIPs = ips
	return l
}

// slotTTL is how long a stream's slot lasts without renewal (a replica
// that dies frees its streams' slots after this); renewed every third.
const slotTTL = time.Minute

// Slot names, in headers, metrics and Redis keys.
const (
	slotsUser = "streams-user"
	slotsIP   = "streams-ip"
)

// gate admits streams under the limits.
type gate struct {
	limits  Limits
	limiter *ratelimit.Limiter // nil: no Redis-backed limits
	slots   *ratelimit.Slots
	open    atomic.Int64
}

func newGate(l Limits, rdb *redis.Client) *gate {
	if l.MaxDuration <= 0 {
		l.MaxDuration = DefaultMaxDuration
	}
	g := &gate{limits: l}
	if rdb != nil {
		g.limiter, g.slots = ratelimit.New(rdb), ratelimit.NewSlots(rdb, slotTTL)
	}
	return g
}

// errReplicaFull sends a client to another replica (or to wait).
var errReplicaFull = apperr.New(apperr.Unavailable, "this stream-service replica serves as many streams as it may; reconnect")

// admit takes what a new stream of user ("" for a public stream) needs, or
// answers why not (429 over a caller's limit, 503 over the replica's cap).
// The caller runs release once the stream ends.
func (g *gate) admit(w http.ResponseWriter, r *http.Request, user string) (release func(), ok bool) {
	if n := g.open.Add(1); g.limits.PerReplica > 0 && n > int64(g.limits.PerReplica) {
		g.open.Add(-1)
		httpapi.WriteError(w, r, errReplicaFull)
		return nil, false
	}
	if g.limiter == nil {
		return func() { g.open.Add(-1) }, true
	}
	ip := g.limits.ClientIPs.Of(r)
	if !g.limiter.Enforce(w, r, ratelimit.Check{Limit: g.limits.OpensPerIP, Key: ip}) {
		g.open.Add(-1)
		return nil, false
	}
	holder := rand.Text()
	type slot struct {
		name  string
		limit int
		key   string
	}
	wanted := []slot{{slotsIP, g.limits.PerIP, ip}}
	if user != "" {
		wanted = append(wanted, slot{slotsUser, g.limits.PerUser, user})
	}
	var held []slot
	releaseHeld := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		for _, s := range held {
			if err := g.slots.Release(ctx, s.name, s.limit, s.key, holder); err != nil {
				slog.WarnContext(r.Context(), "could not release a stream slot (it lapses by itself)", "slots", s.name, "err", err)
			}
		}
	}
	for _, s := range wanted {
		ok, err := g.slots.Acquire(r.Context(), s.name, s.limit, s.key, holder)
		if err != nil {
			// Redis does not answer: the stream itself needs Redis and
			// will say so; the limit cannot be counted, so it is skipped.
			slog.WarnContext(r.Context(), "stream slots unavailable; not counted", "slots", s.name, "err", err)
			continue
		}
		if !ok {
			releaseHeld()
			g.open.Add(-1)
			ratelimit.SetSlotHeaders(w.Header(), s.name, s.limit, 5*time.Second)
			httpapi.WriteError(w, r, ratelimit.Full(s.name, s.limit, 5*time.Second))
			return nil, false
		}
		held = append(held, s)
	}
	stop := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		tick := time.NewTicker(slotTTL / 3)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				for _, s := range held {
					if err := g.slots.Renew(ctx, s.name, s.limit, s.key, holder); err != nil {
						slog.Warn("could not renew a stream slot", "slots", s.name, "err", err)
					}
				}
				cancel()
			}
		}
	}()
	return func() {
		close(stop)
		<-renewed
		releaseHeld()
		g.open.Add(-1)
	}, true
}
