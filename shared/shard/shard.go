// Package shard places streams: which command shard carries a stream's
// commands and which storage account holds its events, both from one stable
// hash of the stream id (DESIGN.md "Command shards" and "Accounts"). It is
// pure: no I/O, no configuration.
package shard

import (
	"hash/fnv"
	"strconv"
)

// Of returns the shard of stream among n: FNV-1a (32 bits) of the stream id,
// mod n. It never changes for a stream and n, in any process or language
// (FNV-1a is specified byte by byte), so every sender routes a stream's
// commands to the same shard. n < 2 gives 0.
func Of(stream string, n int) int {
	if n < 2 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(stream))
	return int(h.Sum32() % uint32(n))
}

// Name names shard k of n of the queue family base: base itself when n is 1
// (the single queue of an unsharded deployment), else "<base>-<k>".
func Name(base string, k, n int) string {
	if n <= 1 {
		return base
	}
	return base + "-" + strconv.Itoa(k)
}

// Names names all n shards of base, in shard order.
func Names(base string, n int) []string {
	out := make([]string, max(n, 1))
	for k := range out {
		out[k] = Name(base, k, n)
	}
	return out
}
