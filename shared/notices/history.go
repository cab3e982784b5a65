package notices

import (
	"strconv"
	"strings"
)

// A history is a Redis list "nhist:<stream>", oldest entry first. Redis
// Streams would do the same job, but from Redis 7.0 on every stream
// preallocates a 4 KiB node: a cart's history of three small notices cost
// 4.4 KiB (measured on 2026-11-30), which is most of what issue 19 found
// Redis holding per command. A list costs what its entries cost.
//
// Each entry is one string, fields separated by "|":
//
//	<id>|<bytes before>|<type>|<traceparent>|<data>
//
// id is "<ms>-<seq>" as Redis Streams ids are (milliseconds of Redis's
// clock, then a sequence within the millisecond; never smaller than the
// entry before), so SSE ids, CompareIDs and clients' Last-Event-IDs keep
// their form. "bytes before" is the sum of the sizes of every entry the
// history ever held before this one, so the bytes a history holds are known
// from its first and last entries alone. data is the notice's JSON, or, for
// a notice kept in another history, a reference "@<stream> <id>" (JSON never
// starts with "@"); the reference carries no traceparent (the entry it names
// does).

// entrySlack is what an entry costs Redis beyond its string (listpack
// header and back length), counted in a history's bytes.
const entrySlack = 8

// historyLua is shared by the scripts: parsing entries and finding one by id
// (ids only grow along a list, so a binary search over LINDEX).
const historyLua = `
local function idOf(e)
  return string.sub(e, 1, string.find(e, '|', 1, true) - 1)
end
local function bytesBefore(e)
  local a = string.find(e, '|', 1, true)
  local b = string.find(e, '|', a + 1, true)
  return tonumber(string.sub(e, a + 1, b - 1))
end
local function parseID(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end
-- compare entry e's id with (ms, seq): -1, 0 or 1
local function compare(e, ms, seq)
  local ems, eseq = parseID(idOf(e))
  if ems < ms or (ems == ms and eseq < seq) then return -1 end
  if ems == ms and eseq == seq then return 0 end
  return 1
end
-- index of the entry with id (ms, seq) in key's n entries, or -1
local function find(key, n, ms, seq)
  local lo, hi = 0, n - 1
  while lo <= hi do
    local mid = math.floor((lo + hi) / 2)
    local c = compare(redis.call('LINDEX', key, mid), ms, seq)
    if c == 0 then return mid end
    if c < 0 then lo = mid + 1 else hi = mid - 1 end
  end
  return -1
end
`

// appendLua appends one entry to a history and trims it. It needs now (ms)
// and maxLen, maxAge (ms) and maxBytes in scope; it answers the new id and
// the id before it ("" for the first).
const appendLua = `
local function append(key, body)
  local last = redis.call('LINDEX', key, -1)
  local prev, before, ms, seq = '', 0, now, 0
  if last then
    prev = idOf(last)
    before = bytesBefore(last) + #last + 8
    local lms, lseq = parseID(prev)
    if lms >= now then ms, seq = lms, lseq + 1 end
  end
  local id = string.format('%.0f-%.0f', ms, seq)
  local entry = id .. '|' .. string.format('%.0f', before) .. '|' .. body
  local n = redis.call('RPUSH', key, entry)
  if n > maxLen then
    redis.call('LTRIM', key, n - maxLen, -1)
    n = maxLen
  end
  -- Bytes held once the oldest are gone: what the newest ends at, less what
  -- the oldest began at. The newest entry always stays.
  local held = before + #entry + 8
  while n > 1 do
    local head = redis.call('LINDEX', key, 0)
    local hms = parseID(idOf(head))
    if hms >= now - maxAge and held - bytesBefore(head) <= maxBytes then break end
    redis.call('LPOP', key)
    n = n - 1
  end
  redis.call('PEXPIRE', key, maxAge)
  return id, prev
end
`

// entry is one history entry as read back.
type entry struct {
	id, typ, traceparent, data string
	// refStream and refID name the entry holding the data, for a reference.
	refStream, refID string
}

// parseEntry reads an entry; ok is false for anything malformed.
func parseEntry(s string) (e entry, ok bool) {
	parts := strings.SplitN(s, "|", 5)
	if len(parts) != 5 || !ValidID(parts[0]) {
		return entry{}, false
	}
	if _, err := strconv.ParseInt(parts[1], 10, 64); err != nil {
		return entry{}, false
	}
	e = entry{id: parts[0], typ: parts[2], traceparent: parts[3], data: parts[4]}
	if ref, found := strings.CutPrefix(e.data, "@"); found {
		stream, id, found := strings.Cut(ref, " ")
		if !found || !ValidID(id) {
			return entry{}, false
		}
		e.refStream, e.refID, e.data = stream, id, ""
	}
	return e, true
}

// isRef reports whether the entry's data is kept in another history.
func (e entry) isRef() bool { return e.refStream != "" }
