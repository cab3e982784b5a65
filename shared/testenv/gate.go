package testenv

import (
	"context"
	"sync"
	"sync/atomic"
)

// Gate holds whoever waits at it while it is shut: a test stands a stalled
// dependency with it (a Redis that accepts no connection, a history read
// that does not answer) in front of the real one. A new Gate is open.
type Gate struct {
	mu      sync.Mutex
	open    chan struct{} // closed while the gate is open
	waiting atomic.Int32
}

// NewGate returns an open gate.
func NewGate() *Gate {
	g := &Gate{open: make(chan struct{})}
	close(g.open)
	return g
}

// Shut makes later callers of Wait wait.
func (g *Gate) Shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
		g.open = make(chan struct{})
	default: // already shut
	}
}

// Release opens the gate and lets every waiter through.
func (g *Gate) Release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
	default:
		close(g.open)
	}
}

// Wait returns at once while the gate is open; while it is shut it waits
// until it is released (nil) or ctx ends (ctx's error).
func (g *Gate) Wait(ctx context.Context) error {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	g.waiting.Add(1)
	defer g.waiting.Add(-1)
	select {
	case <-open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Waiting is how many callers wait at the gate now.
func (g *Gate) Waiting() int { return int(g.waiting.Load()) }
