package notices

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/redisconn"
)

// Config bounds each history: a history keeps at most MaxLen notices, about
// MaxBytes of them, and none older than MaxAge; it always keeps its newest.
type Config struct {
	// MaxLen is the most notices kept per stream (default 1000).
	MaxLen int64
	// MaxBytes bounds the bytes of a stream's notices (default 64 KiB).
	MaxBytes int64
	// MaxAge drops notices older than this, and a whole history after this
	// long without a notice (default 15 min).
	MaxAge time.Duration
}

// The default bounds (issue 19: a client away longer than the history gets
// a reset and refetches; the bounds keep Redis memory per command small).
const (
	DefaultMaxLen   = 1000
	DefaultMaxBytes = 64 << 10
	DefaultMaxAge   = 15 * time.Minute
)

// Item is one notice to publish.
type Item struct {
	Stream string
	Type   string
	Data   json.RawMessage
	// Traceparent, when set, links the notice to its trace.
	Traceparent string
	// Also names other streams the notice concerns (a cart's owner's
	// "user:<id>"): each gets the notice live and, in its history, a
	// reference to the entry in Stream's history instead of a copy.
	Also []string
}

// Publisher appends notices to stream histories and announces them live.
type Publisher struct {
	rdb *redis.Client
	cfg Config
}

// NewPublisher returns a Publisher on rdb.
func NewPublisher(rdb *redis.Client, cfg Config) *Publisher {
	if cfg.MaxLen <= 0 {
		cfg.MaxLen = DefaultMaxLen
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	return &Publisher{rdb: rdb, cfg: cfg}
}

// publishScript appends the notice to its stream's history (KEYS[1]) and a
// reference to it to each other history (KEYS[2…]), trims each, and, when
// ARGV[4] is "1", publishes the notice on every stream's channel with the
// id of the entry before it there, in one atomic step. It answers the id in
// KEYS[1]. ARGV: maxLen, maxAge ms, maxBytes, announce, type, traceparent,
// data, then the stream of each key.
var publishScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local maxLen, maxAge, maxBytes = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local announce, typ, tp, data = ARGV[4] == '1', ARGV[5], ARGV[6], ARGV[7]
` + historyLua + appendLua + `
local function live(i, id, prev)
  if not announce then return end
  redis.call('PUBLISH', 'notices:' .. ARGV[7 + i], '{"id":"' .. id .. '","prevId":"' .. prev ..
    '","stream":' .. cjson.encode(ARGV[7 + i]) .. ',"type":' .. cjson.encode(typ) ..
    ',"traceparent":' .. cjson.encode(tp) .. ',"data":' .. data .. '}')
end
local id, prev = append(KEYS[1], typ .. '|' .. tp .. '|' .. data)
live(1, id, prev)
for i = 2, #KEYS do
  local rid, rprev = append(KEYS[i], typ .. '||@' .. ARGV[8] .. ' ' .. id)
  live(i, rid, rprev)
end
return id`)

// Publish appends the items (in order, one round trip), announces each live
// and returns their ids in their own streams.
func (p *Publisher) Publish(ctx context.Context, items ...Item) ([]string, error) {
	return p.publish(ctx, true, items)
}

// Record appends the items to the histories without announcing them live:
// a backfill, or a test standing in for a pub/sub message that was lost.
func (p *Publisher) Record(ctx context.Context, items ...Item) ([]string, error) {
	return p.publish(ctx, false, items)
}

func (p *Publisher) publish(ctx context.Context, announce bool, items []Item) ([]string, error) {
	for _, it := range items {
		if err := it.valid(); err != nil {
			return nil, err
		}
	}
	if len(items) == 0 {
		return nil, nil
	}
	// EVALSHA in one pipeline. Only when Redis does not know the script yet
	// (first use, a restart, SCRIPT FLUSH) is it loaded and the pipeline rerun.
	cmds, err := p.evalAll(ctx, announce, items)
	if err != nil && allNoScript(cmds) {
		if err = publishScript.Load(ctx, p.rdb).Err(); err != nil {
			return nil, redisconn.Classify(err, "load notice script")
		}
		cmds, err = p.evalAll(ctx, announce, items)
	}
	if err != nil {
		return nil, redisconn.Classify(err, "publish notices")
	}
	ids := make([]string, len(items))
	for i, c := range cmds {
		ids[i], _ = c.Text()
	}
	return ids, nil
}

// valid checks what the history's format needs: no "|" in the type or
// traceparent, no space in a stream name, JSON data.
func (it Item) valid() error {
	bad := it.Stream == "" || it.Type == "" || !json.Valid(it.Data) ||
		strings.ContainsAny(it.Type, "|") || strings.ContainsAny(it.Traceparent, "|") || strings.ContainsAny(it.Stream, " ")
	for _, s := range it.Also {
		bad = bad || s == "" || s == it.Stream
	}
	if bad {
		return fmt.Errorf("notices: invalid item for stream %q type %q", it.Stream, it.Type)
	}
	return nil
}

// evalAll runs the publish script for every item in one pipeline.
func (p *Publisher) evalAll(ctx context.Context, announce bool, items []Item) ([]*redis.Cmd, error) {
	flag := "0"
	if announce {
		flag = "1"
	}
	pipe := p.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(items))
	for i, it := range items {
		keys := []string{historyKey(it.Stream)}
		args := []any{p.cfg.MaxLen, p.cfg.MaxAge.Milliseconds(), p.cfg.MaxBytes, flag, it.Type, it.Traceparent, string(it.Data), it.Stream}
		for _, s := range it.Also {
			keys = append(keys, historyKey(s))
			args = append(args, s)
		}
		cmds[i] = publishScript.EvalSha(ctx, pipe, keys, args...)
	}
	_, err := pipe.Exec(ctx)
	return cmds, err
}

// allNoScript reports whether every command failed only because Redis did
// not know the script, so nothing was published and all can run again.
func allNoScript(cmds []*redis.Cmd) bool {
	for _, c := range cmds {
		if !redis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			return false
		}
	}
	return true
}
