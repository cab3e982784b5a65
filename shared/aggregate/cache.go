package aggregate

import (
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
)

// cached is an aggregate's state at a version.
type cached struct {
	state   any
	version int64
}

// stateCache is a bounded per-replica cache of aggregate states, so a hot
// aggregate is not re-read for every command. A stale entry is safe: the
// append conflicts and the handler reloads from the store.
type stateCache struct {
	mu  sync.Mutex // makes put's compare-and-add atomic
	lru *lru.Cache[string, cached]
}

func newStateCache(size int) *stateCache {
	if size < 1 {
		return &stateCache{}
	}
	c, _ := lru.New[string, cached](size)
	return &stateCache{lru: c}
}

func (c *stateCache) get(stream string) (cached, bool) {
	if c.lru == nil {
		return cached{}, false
	}
	return c.lru.Get(stream)
}

func (c *stateCache) put(stream string, v cached) {
	if c.lru == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Never move an entry backwards (a slow reload racing a newer append).
	if old, ok := c.lru.Peek(stream); ok && old.version > v.version {
		return
	}
	c.lru.Add(stream, v)
}

func (c *stateCache) forget(stream string) {
	if c.lru != nil {
		c.lru.Remove(stream)
	}
}

// forgetWhere drops every entry whose stream drop says yes to and returns
// how many it dropped.
func (c *stateCache) forgetWhere(drop func(stream string) bool) int {
	if c.lru == nil {
		return 0
	}
	n := 0
	for _, stream := range c.lru.Keys() {
		if drop(stream) && c.lru.Remove(stream) {
			n++
		}
	}
	return n
}

// ForgetCached drops the cached states of the streams drop says yes to. A
// replica calls it when it takes a command shard over: another replica may
// have appended to those streams meanwhile, so what it cached before is
// likely stale (safe, but each would cost a failed append first).
func (h *Handler) ForgetCached(drop func(stream string) bool) int { return h.cache.forgetWhere(drop) }
