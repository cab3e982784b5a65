// Package limits is prism-api's abuse control: rate limits and a daily
// quota per user, and rate limits per client address, for commands and
// queries separately (shared/ratelimit, GCRA in Redis, so every replica
// counts together). One user's burst spends only that user's budget (and
// its address's), never another user's.
package limits

import (
	"net/http"
	"strings"

	"github.com/prism-es/prism/prism-api/internal/auth"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/ratelimit"
)

// Config are the limits (docs/operations.md lists them).
type Config struct {
	// CommandsPerUser: PRISM_LIMIT_COMMANDS_PER_USER (default 10/s:200).
	CommandsPerUser ratelimit.Limit
	// CommandsQuotaPerUser: PRISM_QUOTA_COMMANDS_PER_USER (default
	// 10000/24h). It also bounds what one user can make Redis hold:
	// idempotency records and command statuses live 24 h each.
	CommandsQuotaPerUser ratelimit.Limit
	// QueriesPerUser: PRISM_LIMIT_QUERIES_PER_USER (default 50/s:2000).
	QueriesPerUser ratelimit.Limit
	// CommandsPerIP: PRISM_LIMIT_COMMANDS_PER_IP (default 100/s:1000).
	CommandsPerIP ratelimit.Limit
	// QueriesPerIP: PRISM_LIMIT_QUERIES_PER_IP (default 300/s:5000), also
	// for unauthenticated reads and for requests whose token is refused.
	QueriesPerIP ratelimit.Limit
	// ClientIPs finds a request's client behind PRISM_TRUSTED_PROXIES.
	ClientIPs httpapi.ClientIPs
}

// Defaults, in ratelimit.Parse's syntax.
const (
	DefaultCommandsPerUser      = "10/s:200"
	DefaultCommandsQuotaPerUser = "10000/24h"
	DefaultQueriesPerUser       = "50/s:2000"
	DefaultCommandsPerIP        = "100/s:1000"
	DefaultQueriesPerIP         = "300/s:5000"
)

// Load reads the limits; problems are recorded on r.
func Load(r *config.Reader) Config {
	c := Config{
		CommandsPerUser:      ratelimit.Setting(r, "PRISM_LIMIT_COMMANDS_PER_USER", "commands-user", DefaultCommandsPerUser),
		CommandsQuotaPerUser: ratelimit.Setting(r, "PRISM_QUOTA_COMMANDS_PER_USER", "commands-user-daily", DefaultCommandsQuotaPerUser),
		QueriesPerUser:       ratelimit.Setting(r, "PRISM_LIMIT_QUERIES_PER_USER", "queries-user", DefaultQueriesPerUser),
		CommandsPerIP:        ratelimit.Setting(r, "PRISM_LIMIT_COMMANDS_PER_IP", "commands-ip", DefaultCommandsPerIP),
		QueriesPerIP:         ratelimit.Setting(r, "PRISM_LIMIT_QUERIES_PER_IP", "queries-ip", DefaultQueriesPerIP),
	}
	ips, err := httpapi.ParseTrustedProxies(r.List("PRISM_TRUSTED_PROXIES", nil))
	if err != nil {
		r.Fail("PRISM_TRUSTED_PROXIES: %v", err)
	}
	c.ClientIPs = ips
	return c
}

// Limits enforces a Config.
type Limits struct {
	cfg     Config
	limiter *ratelimit.Limiter
}

// New returns the limits of cfg, counted by limiter.
func New(limiter *ratelimit.Limiter, cfg Config) *Limits { return &Limits{cfg: cfg, limiter: limiter} }

// isCommand tells commands (anything that is not a read) from queries.
func isCommand(r *http.Request) bool {
	return r.Method != http.MethodGet && r.Method != http.MethodHead
}

// PerIP limits requests under /api/ by client address, before the token is
// looked at (a flood of bad tokens costs the flooder, not the verifier).
// A nil Limits limits nothing.
func (l *Limits) PerIP(next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			lim := l.cfg.QueriesPerIP
			if isCommand(r) {
				lim = l.cfg.CommandsPerIP
			}
			if !l.limiter.Enforce(w, r, ratelimit.Check{Limit: lim, Key: l.cfg.ClientIPs.Of(r)}) {
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// PerUser limits an authenticated caller's requests (it runs after
// auth.RequireUser): commands by rate and by daily quota, queries by rate.
func (l *Limits) PerUser(next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := auth.Principal(r).UserID
		checks := []ratelimit.Check{{Limit: l.cfg.QueriesPerUser, Key: user}}
		if isCommand(r) {
			checks = []ratelimit.Check{{Limit: l.cfg.CommandsPerUser, Key: user}, {Limit: l.cfg.CommandsQuotaPerUser, Key: user}}
		}
		if !l.limiter.Enforce(w, r, checks...) {
			return
		}
		next.ServeHTTP(w, r)
	})
}
