package handling

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

// advance applies fn to the entry of stream if it is at version at, under
// the cache's lock; fn returns the entry's next value, or ok=false to drop it.
func (c *stateCache) advance(stream string, at int64, fn func(cached) (cached, bool)) {
	if c.lru == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, ok := c.lru.Peek(stream)
	switch {
	case !ok || cur.version > at:
		return // not cached, or already as new
	case cur.version < at:
		c.lru.Remove(stream) // it missed something: let the next command catch it up
		return
	}
	if next, ok := fn(cur); ok {
		c.lru.Add(stream, next)
	} else {
		c.lru.Remove(stream)
	}
}

func (c *stateCache) forget(stream string) {
	if c.lru != nil {
		c.lru.Remove(stream)
	}
}
