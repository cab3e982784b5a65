package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/prism-es/prism/shared/apperr"
)

// Outage retries start this soon and double up to outageBackoffMax, so a
// dependency that comes back is used again within about two seconds.
const (
	outageBackoffMin = 100 * time.Millisecond
	outageBackoffMax = 2 * time.Second
)

// process runs the handler on one message and settles it: delete on success,
// redeliver on the retry schedule or poison on failure, release on shutdown
// or after a long outage, and nothing at all once the message is no longer
// ours (whoever holds it now settles it).
func (c *Consumer) process(runCtx, hctx context.Context, log *slog.Logger, m *Message) {
	if items, attempt := Items(m.Body); len(items) > 1 || attempt > 1 {
		c.processBatch(runCtx, hctx, log, m, items, attempt)
		return
	}
	receivedTotal.WithLabelValues(c.q.name).Inc()
	dequeueCount.WithLabelValues(c.q.name).Observe(float64(m.DequeueCount))
	inFlightGauge.WithLabelValues(c.q.name).Inc()
	defer inFlightGauge.WithLabelValues(c.q.name).Dec()
	log = log.With("messageId", m.ID, "dequeueCount", m.DequeueCount)
	// settle uses its own short context: it must run even after ctx ends.
	settle, cancel := context.WithTimeout(context.WithoutCancel(hctx), 15*time.Second)
	defer cancel()

	if m.DequeueCount > int64(c.cfg.MaxDeliveries) {
		c.poison(settle, log, m, fmt.Sprintf("delivered %d times without completing (the handler crashed, timed out or lost the message each time)", m.DequeueCount))
		return
	}

	start := time.Now()
	mctx, held := c.hold(hctx, log, m)
	err := c.runItem(runCtx, mctx, log, m, start)
	interrupted := mctx.Err() != nil // before stop, which ends mctx
	held.stop()
	took := time.Since(start).Seconds()

	switch {
	case held.lost():
		// Someone else has the message now (or will after its visibility
		// ends): settling it here would delete or poison their delivery.
		handlerSeconds.WithLabelValues(c.q.name, "lost").Observe(took)
		lostTotal.WithLabelValues(c.q.name).Inc()
		log.Warn("the message was lost while its handler ran; its next delivery settles it", "err", err)
	case err == nil:
		handlerSeconds.WithLabelValues(c.q.name, "ok").Observe(took)
		switch derr := c.q.Delete(settle, m); {
		case errors.Is(derr, ErrLost):
			lostTotal.WithLabelValues(c.q.name).Inc()
			log.Warn("handled, but the message had already been redelivered; that delivery will find the work done", "err", derr)
		case derr != nil:
			log.Warn("delete after success failed; the message will be redelivered", "err", derr)
		default:
			completedTotal.WithLabelValues(c.q.name).Inc()
		}
	case interrupted, runCtx.Err() != nil && apperr.Is(err, apperr.Unavailable):
		// Shutdown cancelled the handler, or interrupted an outage hold:
		// release the message for another replica at once; never delete
		// unfinished work.
		handlerSeconds.WithLabelValues(c.q.name, "abandoned").Observe(took)
		abandonedTotal.WithLabelValues(c.q.name).Inc()
		c.release(settle, log, m, "release at shutdown")
	case apperr.Is(err, apperr.Unavailable):
		// The outage outlasted OutageHold: let the message go rather than
		// hold a handler slot for ever. Its next delivery tries again.
		handlerSeconds.WithLabelValues(c.q.name, "outage").Observe(took)
		abandonedTotal.WithLabelValues(c.q.name).Inc()
		log.Error("a dependency stayed unavailable; releasing the message", "err", err, "held", time.Since(start).Round(time.Second))
		c.release(settle, log, m, "release after an outage")
	case IsPermanent(err) || apperr.Is(err, apperr.TooLarge) || m.DequeueCount > int64(len(c.cfg.RetrySchedule)):
		handlerSeconds.WithLabelValues(c.q.name, "poison").Observe(took)
		c.poison(settle, log, m, err.Error())
	default:
		handlerSeconds.WithLabelValues(c.q.name, "retry").Observe(took)
		retriedTotal.WithLabelValues(c.q.name).Inc()
		delay := c.cfg.RetrySchedule[max(m.DequeueCount-1, 0)]
		log.Warn("handler failed; will retry", "err", err, "retryIn", delay)
		if verr := c.q.SetVisibility(settle, m, delay); verr != nil {
			log.Warn("could not set the retry delay; the message reappears when its visibility ends", "err", verr)
		}
	}
}

// run runs the handler, and runs it again while it fails only because a
// dependency is unavailable: an outage is not a failed delivery. It gives up
// on the outage after OutageHold, at shutdown, or when the message is lost.
func (c *Consumer) run(runCtx, mctx context.Context, log *slog.Logger, m *Message, start time.Time) error {
	// Waits between outage retries end early at shutdown or on a lost message.
	waitCtx, cancel := context.WithCancel(mctx)
	defer cancel()
	stopWatching := context.AfterFunc(runCtx, cancel)
	defer stopWatching()

	backoff := outageBackoffMin
	for {
		err := safeHandle(mctx, c.handle, m)
		if err == nil || mctx.Err() != nil || IsPermanent(err) || !apperr.Is(err, apperr.Unavailable) {
			return err
		}
		if waitCtx.Err() != nil || time.Since(start) >= c.cfg.OutageHold {
			return err
		}
		outageRetriesTotal.WithLabelValues(c.q.name).Inc()
		log.Warn("a dependency is unavailable; keeping the message and retrying", "err", err, "retryIn", backoff)
		sleep(waitCtx, backoff)
		backoff = min(backoff*2, outageBackoffMax)
	}
}

// release makes the message visible again at once, unless it is no longer ours.
func (c *Consumer) release(ctx context.Context, log *slog.Logger, m *Message, what string) {
	if err := c.q.SetVisibility(ctx, m, 0); err != nil && !errors.Is(err, ErrLost) {
		log.Warn(what+" failed; the message reappears when its visibility ends", "err", err)
	}
}

// poison moves the message to the poison queue and then runs OnPoison. Both
// happen only while the message is ours: a message another receiver holds is
// theirs to settle.
func (c *Consumer) poison(ctx context.Context, log *slog.Logger, m *Message, reason string) {
	err := c.q.MoveToPoison(ctx, m, reason)
	switch {
	case errors.Is(err, ErrLost):
		lostTotal.WithLabelValues(c.q.name).Inc()
		log.Warn("not poisoned: the message is no longer ours", "err", err, "reason", reason)
		return
	case err != nil:
		log.Error("move to poison queue failed; the message will be redelivered", "err", err, "reason", reason)
		return
	}
	log.Error("message moved to poison queue", "reason", reason, "poisonQueue", c.q.name+"-poison")
	if c.cfg.OnPoison != nil {
		c.cfg.OnPoison(ctx, m, reason)
	}
}

// safeHandle runs the handler, turning a panic into an error.
func safeHandle(ctx context.Context, h Handler, m *Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return h(ctx, m)
}
