package ownership

import (
	"context"
	"sync/atomic"
	"time"
)

// leaseContext is the context a resource's Work runs under. It is done when
// the balancer stops the work, and also, checked on every Err, as soon as the
// lease may have expired by this replica's clock: a process that wakes from a
// long pause (a stop signal, a stalled VM) sees its work's context done
// before its timers had a chance to run, so a consumer that tests ctx.Err()
// before each receive never receives on a lease it may have lost.
type leaseContext struct {
	context.Context
	cancel  context.CancelFunc
	expires atomic.Int64 // unix nanos
}

func newLeaseContext(expires time.Time) *leaseContext {
	ctx, cancel := context.WithCancel(context.Background())
	c := &leaseContext{Context: ctx, cancel: cancel}
	c.expires.Store(expires.UnixNano())
	return c
}

// Err implements context.Context; it cancels the context first when the
// lease may have expired, so Done and Err always agree.
func (c *leaseContext) Err() error {
	if time.Now().UnixNano() >= c.expires.Load() {
		c.cancel()
	}
	return c.Context.Err()
}

// extend moves the expiry after a successful renewal.
func (c *leaseContext) extend(expires time.Time) { c.expires.Store(expires.UnixNano()) }

// stop cancels the context and returns when the work stopped owning the
// resource: now, or the expiry if that came first.
func (c *leaseContext) stop() time.Time {
	at := time.Now()
	if exp := time.Unix(0, c.expires.Load()); exp.Before(at) {
		at = exp
	}
	c.cancel()
	return at
}
