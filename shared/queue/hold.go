package queue

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// renewMargin is how long before a message's visibility ends a renewal must
// have succeeded; after that the message counts as lost, because another
// receiver may take it the moment it becomes visible.
const renewMargin = time.Second

// held is a message being handled: its visibility is renewed every third of
// the timeout, and when a renewal is refused (the pop receipt is stale) or
// cannot succeed before the visibility ends, the message is lost: the
// handler's context is cancelled and nothing may settle the message any more.
type held struct {
	cancel   context.CancelFunc
	isLost   atomic.Bool
	done     chan struct{}
	finished chan struct{}
	once     sync.Once
}

// hold starts renewing m's visibility and returns the handler's context,
// which ends when parent does or when the message is lost.
func (c *Consumer) hold(parent context.Context, log *slog.Logger, m *Message) (context.Context, *held) {
	ctx, cancel := context.WithCancel(parent)
	h := &held{cancel: cancel, done: make(chan struct{}), finished: make(chan struct{})}
	interval := c.cfg.Visibility / 3
	go func() {
		defer close(h.finished)
		expires := time.Now().Add(c.cfg.Visibility) // received a moment ago
		t := time.NewTimer(interval)
		defer t.Stop()
		for {
			select {
			case <-h.done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			left := time.Until(expires) - renewMargin
			if left <= 0 {
				h.lose(log, errors.New("no renewal succeeded before the visibility ended"))
				return
			}
			rctx, rcancel := context.WithTimeout(ctx, left)
			err := c.q.SetVisibility(rctx, m, c.cfg.Visibility)
			rcancel()
			switch {
			case err == nil:
				expires = time.Now().Add(c.cfg.Visibility)
				t.Reset(interval)
			case errors.Is(err, ErrLost):
				h.lose(log, err)
				return
			case ctx.Err() != nil:
				return
			default:
				log.Warn("visibility renewal failed; trying again", "err", err)
				t.Reset(min(time.Second, max(time.Until(expires)/4, 10*time.Millisecond)))
			}
		}
	}()
	return ctx, h
}

func (h *held) lose(log *slog.Logger, err error) {
	h.isLost.Store(true)
	log.Warn("lost the message: its visibility could not be renewed; stopping its handler", "err", err)
	h.cancel()
}

// lost reports whether the message stopped being ours.
func (h *held) lost() bool { return h.isLost.Load() }

// stop ends the renewals and waits for them, so the pop receipt is stable
// afterwards, then releases the handler's context.
func (h *held) stop() {
	h.once.Do(func() { close(h.done) })
	<-h.finished
	h.cancel()
}
