package notices

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/redisconn"
)

// Reader reads stream histories.
type Reader struct {
	rdb *redis.Client
}

// NewReader returns a Reader on rdb.
func NewReader(rdb *redis.Client) *Reader { return &Reader{rdb: rdb} }

// Last returns the id of the stream's newest notice ("" if it has none).
func (r *Reader) Last(ctx context.Context, stream string) (string, error) {
	s, err := r.rdb.LIndex(ctx, historyKey(stream), -1).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", redisconn.Classify(err, "read last notice")
	}
	e, ok := parseEntry(s)
	if !ok {
		return "", errors.New("notices: malformed history entry in " + stream)
	}
	return e.id, nil
}

// afterScript answers {0, entries…} with up to ARGV[3] entries that follow
// the entry with id (ARGV[1], ARGV[2]), or {1} when the history cannot say
// what followed it: it is empty or gone, or the id is not one of its ids
// (trimmed, from another history, from before Redis lost its data).
var afterScript = redis.NewScript(historyLua + `
local n = redis.call('LLEN', KEYS[1])
if n == 0 then return {1} end
local i = find(KEYS[1], n, tonumber(ARGV[1]), tonumber(ARGV[2]))
if i < 0 then return {1} end
local out = redis.call('LRANGE', KEYS[1], i + 1, i + tonumber(ARGV[3]))
table.insert(out, 1, 0)
return out`)

// pickScript answers the entries with the ids given (ARGV: ms, seq pairs),
// false for each one the history no longer holds.
var pickScript = redis.NewScript(historyLua + `
local n = redis.call('LLEN', KEYS[1])
local out = {}
for k = 1, #ARGV, 2 do
  local i = -1
  if n > 0 then i = find(KEYS[1], n, tonumber(ARGV[k]), tonumber(ARGV[k + 1])) end
  if i < 0 then out[#out + 1] = false else out[#out + 1] = redis.call('LINDEX', KEYS[1], i) end
end
return out`)

// After returns up to limit notices that follow afterID, oldest first. reset
// is true when the history can no longer say what followed afterID (it was
// trimmed or expired, or afterID is not one of its ids, or a notice it
// refers to is gone from its own history): the client must refetch its
// state instead of resuming.
func (r *Reader) After(ctx context.Context, stream, afterID string, limit int64) (out []Notice, reset bool, err error) {
	if afterID == "" {
		return nil, false, nil
	}
	ms, seq, ok := parseID(afterID)
	if !ok || limit <= 0 {
		return nil, !ok, nil
	}
	res, err := afterScript.Run(ctx, r.rdb, []string{historyKey(stream)}, ms, seq, limit).Slice()
	if err != nil {
		return nil, false, redisconn.Classify(err, "read notice history")
	}
	if code, _ := res[0].(int64); code != 0 {
		return nil, true, nil
	}
	out, complete, err := r.notices(ctx, stream, res[1:])
	if err != nil || !complete {
		return nil, !complete, err
	}
	prev := afterID
	for i := range out {
		out[i].PrevID, prev = prev, out[i].ID
	}
	return out, false, nil
}

// Tail returns up to n of the stream's newest notices, oldest first.
func (r *Reader) Tail(ctx context.Context, stream string, n int64) ([]Notice, error) {
	if n <= 0 {
		return nil, nil
	}
	return r.span(ctx, stream, -n, -1)
}

// Head returns up to limit of the stream's oldest notices, oldest first: the
// whole retained history when a reader's cursor is "" (it has seen nothing).
func (r *Reader) Head(ctx context.Context, stream string, limit int64) ([]Notice, error) {
	if limit <= 0 {
		return nil, nil
	}
	return r.span(ctx, stream, 0, limit-1)
}

// span reads LRANGE start stop; notices whose data is gone from the history
// they refer to are left out.
func (r *Reader) span(ctx context.Context, stream string, start, stop int64) ([]Notice, error) {
	raw, err := r.rdb.LRange(ctx, historyKey(stream), start, stop).Result()
	if err != nil {
		return nil, redisconn.Classify(err, "read notice history")
	}
	vals := make([]any, len(raw))
	for i, s := range raw {
		vals[i] = s
	}
	out, _, err := r.notices(ctx, stream, vals)
	if err != nil {
		return nil, err
	}
	prev := ""
	for i := range out {
		out[i].PrevID, prev = prev, out[i].ID
	}
	return out, nil
}

// notices parses entries of stream's history and resolves references (one
// round trip per history referred to). complete is false when a reference
// could not be resolved; that notice is left out.
func (r *Reader) notices(ctx context.Context, stream string, raw []any) (out []Notice, complete bool, err error) {
	entries := make([]entry, 0, len(raw))
	refs := map[string][]int{} // referred stream → indexes into entries
	for _, v := range raw {
		s, _ := v.(string)
		e, ok := parseEntry(s)
		if !ok {
			return nil, false, errors.New("notices: malformed history entry in " + stream)
		}
		if e.isRef() {
			refs[e.refStream] = append(refs[e.refStream], len(entries))
		}
		entries = append(entries, e)
	}
	complete = true
	for ref, idx := range refs {
		args := make([]any, 0, 2*len(idx))
		for _, i := range idx {
			ms, seq, _ := parseID(entries[i].refID)
			args = append(args, ms, seq)
		}
		got, err := pickScript.Run(ctx, r.rdb, []string{historyKey(ref)}, args...).Slice()
		if err != nil {
			return nil, false, redisconn.Classify(err, "read notice history")
		}
		for k, i := range idx {
			s, _ := got[k].(string)
			target, ok := parseEntry(s)
			if !ok || target.isRef() || target.id != entries[i].refID {
				complete = false
				entries[i].refStream = "-" // unresolved: left out below
				continue
			}
			entries[i].data, entries[i].traceparent, entries[i].refStream = target.data, target.traceparent, ""
		}
	}
	out = make([]Notice, 0, len(entries))
	for _, e := range entries {
		if e.isRef() {
			continue
		}
		out = append(out, Notice{ID: e.id, Stream: stream, Type: e.typ, Data: json.RawMessage(e.data), Traceparent: e.traceparent})
	}
	return out, complete, nil
}
