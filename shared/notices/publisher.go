package notices

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/redisconn"
)

// Config bounds the history.
type Config struct {
	// MaxLen is the approximate number of notices kept per stream (default 1000).
	MaxLen int64
	// TTL drops a stream's history after this long without a notice (default 24h).
	TTL time.Duration
}

// Item is one notice to publish.
type Item struct {
	Stream string
	Type   string
	Data   json.RawMessage
	// Traceparent, when set, links the notice to its trace.
	Traceparent string
}

// Publisher appends notices to stream histories and announces them live.
type Publisher struct {
	rdb *redis.Client
	cfg Config
}

// NewPublisher returns a Publisher on rdb.
func NewPublisher(rdb *redis.Client, cfg Config) *Publisher {
	if cfg.MaxLen <= 0 {
		cfg.MaxLen = 1000
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 24 * time.Hour
	}
	return &Publisher{rdb: rdb, cfg: cfg}
}

// publishScript appends to the history and publishes the same notice, with
// the id of the entry before it, in one atomic step.
var publishScript = redis.NewScript(`
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local prev = ''
if #last > 0 then prev = last[1][1] end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'type', ARGV[2], 'data', ARGV[3], 'tp', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', KEYS[1], '{"id":"' .. id .. '","prevId":"' .. prev .. '","stream":' .. cjson.encode(ARGV[5]) .. ',"type":' .. cjson.encode(ARGV[2]) .. ',"traceparent":' .. cjson.encode(ARGV[6]) .. ',"data":' .. ARGV[3] .. '}')
return id`)

// Publish appends the items (in order, one round trip) and returns their ids.
func (p *Publisher) Publish(ctx context.Context, items ...Item) ([]string, error) {
	for _, it := range items {
		if it.Stream == "" || it.Type == "" || !json.Valid(it.Data) {
			return nil, fmt.Errorf("notices: invalid item for stream %q type %q", it.Stream, it.Type)
		}
	}
	if len(items) == 0 {
		return nil, nil
	}
	// EVALSHA in one pipeline. Only when Redis does not know the script yet
	// (first use, a restart, SCRIPT FLUSH) is it loaded and the pipeline rerun.
	cmds, err := p.evalAll(ctx, items)
	if err != nil && allNoScript(cmds) {
		if err = publishScript.Load(ctx, p.rdb).Err(); err != nil {
			return nil, redisconn.Classify(err, "load notice script")
		}
		cmds, err = p.evalAll(ctx, items)
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

// evalAll runs the publish script for every item in one pipeline.
func (p *Publisher) evalAll(ctx context.Context, items []Item) ([]*redis.Cmd, error) {
	pipe := p.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(items))
	for i, it := range items {
		cmds[i] = publishScript.EvalSha(ctx, pipe, []string{historyKey(it.Stream)}, p.cfg.MaxLen, it.Type, string(it.Data), p.cfg.TTL.Milliseconds(), it.Stream, it.Traceparent)
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
