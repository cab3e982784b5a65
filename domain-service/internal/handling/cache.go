package handling

import (
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
