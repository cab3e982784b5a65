// Package ratelimit holds Prism's limits on what one caller may do: rates
// and quotas (GCRA, through github.com/go-redis/redis_rate, shared by every
// replica through Redis) and concurrency slots (how many of something, such
// as open streams, one key may hold at once across replicas). Over a limit,
// an answer is 429 problem+json with Retry-After and the RateLimit-Policy /
// RateLimit headers of the IETF httpapi draft.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/httpapi"
)

// Limit is a rate with a burst: Rate events per Period on average, at most
// Burst at once. With a long Period (24h) it is a quota. A zero Rate means
// no limit.
type Limit struct {
	// Name names the policy in headers, metrics and logs: a fixed word such
	// as "commands-user", never anything a caller chose.
	Name   string
	Rate   int
	Period time.Duration
	Burst  int
}

// Off reports whether the limit limits nothing.
func (l Limit) Off() bool { return l.Rate <= 0 }

// String is the limit in the syntax Parse reads.
func (l Limit) String() string {
	if l.Off() {
		return "off"
	}
	return fmt.Sprintf("%d/%s:%d", l.Rate, periodText(l.Period), l.Burst)
}

// Window is how long a full burst takes to come back: the "w" of
// RateLimit-Policy, in whole seconds (at least 1).
func (l Limit) Window() int64 {
	if l.Off() {
		return 0
	}
	w := float64(l.Burst) * l.Period.Seconds() / float64(l.Rate)
	return max(1, int64(math.Ceil(w)))
}

func periodText(d time.Duration) string {
	switch d {
	case time.Second:
		return "s"
	case time.Minute:
		return "m"
	case time.Hour:
		return "h"
	}
	return d.String()
}

// Parse reads a limit: "off", "<rate>/<period>" or "<rate>/<period>:<burst>",
// where period is s, m, h or a Go duration ("24h"); the burst defaults to
// the rate. Examples: "20/s:100" (20 a second, bursts of 100), "10000/24h"
// (a daily quota).
func Parse(name, spec string) (Limit, error) {
	spec = strings.TrimSpace(spec)
	if spec == "off" || spec == "0" {
		return Limit{Name: name}, nil
	}
	rateText, rest, ok := strings.Cut(spec, "/")
	if !ok {
		return Limit{}, fmt.Errorf("%q: want <rate>/<period>[:<burst>], e.g. 20/s:100, or off", spec)
	}
	periodPart, burstText, hasBurst := strings.Cut(rest, ":")
	rate, err := strconv.Atoi(rateText)
	if err != nil || rate < 1 {
		return Limit{}, fmt.Errorf("%q: the rate must be a positive integer", spec)
	}
	var period time.Duration
	switch periodPart {
	case "s":
		period = time.Second
	case "m":
		period = time.Minute
	case "h":
		period = time.Hour
	default:
		period, err = time.ParseDuration(periodPart)
		if err != nil || period <= 0 {
			return Limit{}, fmt.Errorf("%q: the period must be s, m, h or a positive duration such as 24h", spec)
		}
	}
	burst := rate
	if hasBurst {
		burst, err = strconv.Atoi(burstText)
		if err != nil || burst < 1 {
			return Limit{}, fmt.Errorf("%q: the burst must be a positive integer", spec)
		}
	}
	return Limit{Name: name, Rate: rate, Period: period, Burst: burst}, nil
}

// Setting reads the limit named name from the environment variable key,
// with def (in Parse's syntax) when it is unset; a bad value is recorded on r.
func Setting(r *config.Reader, key, name, def string) Limit {
	l, err := Parse(name, r.String(key, def))
	if err != nil {
		r.Fail("%s=%s", key, err)
		l, _ = Parse(name, def)
	}
	return l
}

// Check is one limit applied to one key (a user id, a client address).
type Check struct {
	Limit Limit
	Key   string
}

// Decision is the outcome of a set of checks: whether the request may go
// on, and the policy that constrains it most (the one that refused it, or
// the one with the fewest requests left).
type Decision struct {
	Allowed bool
	// Limit is that policy ("" Name when no limit applied).
	Limit      Limit
	Remaining  int
	RetryAfter time.Duration
	ResetAfter time.Duration
}

// Limiter applies rate limits and quotas through Redis.
type Limiter struct {
	rl *redis_rate.Limiter
}

// New returns a limiter on rdb.
func New(rdb *redis.Client) *Limiter { return &Limiter{rl: redis_rate.NewLimiter(rdb)} }

// keyPrefix keeps the limiter's keys apart from everything else in Redis
// (redis_rate adds its own "rate:" in front).
const keyPrefix = "prism:"

var decisions = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "prism_ratelimit_decisions_total",
	Help: "Rate-limit and quota decisions, by policy and outcome (allowed, limited, error: Redis did not answer and the request went on).",
}, []string{"policy", "outcome"})

// Allow applies each check in turn, stopping at the first that refuses (so
// a refused request does not use up the later limits). An error means Redis
// did not answer: the caller decides whether to go on without limits.
func (l *Limiter) Allow(ctx context.Context, checks ...Check) (Decision, error) {
	d := Decision{Allowed: true, Remaining: math.MaxInt}
	for _, c := range checks {
		if c.Limit.Off() {
			continue
		}
		res, err := l.rl.Allow(ctx, keyPrefix+c.Limit.Name+":"+c.Key, redis_rate.Limit{Rate: c.Limit.Rate, Period: c.Limit.Period, Burst: c.Limit.Burst})
		if err != nil {
			decisions.WithLabelValues(c.Limit.Name, "error").Inc()
			return Decision{Allowed: true}, fmt.Errorf("rate limit %s: %w", c.Limit.Name, err)
		}
		if res.Allowed == 0 {
			decisions.WithLabelValues(c.Limit.Name, "limited").Inc()
			return Decision{Limit: c.Limit, Remaining: 0, RetryAfter: res.RetryAfter, ResetAfter: res.ResetAfter}, nil
		}
		decisions.WithLabelValues(c.Limit.Name, "allowed").Inc()
		if res.Remaining < d.Remaining {
			d.Limit, d.Remaining, d.ResetAfter = c.Limit, res.Remaining, res.ResetAfter
		}
	}
	if d.Limit.Name == "" {
		d.Remaining = 0
	}
	return d, nil
}

// seconds rounds up to whole seconds, at least 1.
func seconds(d time.Duration) int64 { return max(1, int64(math.Ceil(d.Seconds()))) }

// SetHeaders writes the RateLimit-Policy and RateLimit headers (IETF httpapi
// draft: quota q per window w seconds; r requests remaining, t seconds
// until the quota is back) and, when refused, Retry-After.
func (d Decision) SetHeaders(h http.Header) {
	if d.Limit.Name == "" || d.Limit.Off() {
		return
	}
	h.Set("RateLimit-Policy", fmt.Sprintf("%q;q=%d;w=%d", d.Limit.Name, d.Limit.Burst, d.Limit.Window()))
	reset := d.ResetAfter
	if !d.Allowed {
		reset = d.RetryAfter
	}
	t := int64(0)
	if reset > 0 {
		t = seconds(reset)
	}
	h.Set("RateLimit", fmt.Sprintf("%q;r=%d;t=%d", d.Limit.Name, d.Remaining, t))
	if !d.Allowed {
		h.Set("Retry-After", strconv.FormatInt(seconds(d.RetryAfter), 10))
	}
}

// Err is the error a refused request is answered with (429), or nil.
func (d Decision) Err() error {
	if d.Allowed {
		return nil
	}
	return apperr.New(apperr.RateLimited, "over the %s limit (%s); retry after %d s", d.Limit.Name, d.Limit, seconds(d.RetryAfter))
}

// Enforce applies checks to a request: it sets the headers and, when a
// limit refuses, answers 429 and returns false. When Redis does not answer
// the request goes on unlimited (logged and counted): every path that
// changes state needs Redis anyway and answers 503 by itself, and reads
// should not fail because the limiter cannot count them.
func (l *Limiter) Enforce(w http.ResponseWriter, r *http.Request, checks ...Check) bool {
	if l == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(r.Context(), limiterTimeout)
	defer cancel()
	d, err := l.Allow(ctx, checks...)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			slog.WarnContext(r.Context(), "rate limiter unavailable; request not limited", "err", err)
		}
		return true
	}
	d.SetHeaders(w.Header())
	if !d.Allowed {
		httpapi.WriteError(w, r, d.Err())
		return false
	}
	return true
}

// limiterTimeout bounds the limiter's Redis call, so a slow Redis delays a
// request by at most this much before it goes on unlimited.
const limiterTimeout = 500 * time.Millisecond
