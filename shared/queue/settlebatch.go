package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prism-es/prism/shared/apperr"
)

// processBatch runs the handler on every item of a batch message, at once,
// and settles each item as process settles a message: done items are
// done, and the rest is split off so that one bad item neither blocks nor
// re-applies the others. A failed item goes back alone to the queue, as a
// new batch message delayed by the retry schedule and carrying its attempt;
// a permanent failure, or a failure after the schedule's last step, poisons
// that item alone. An item whose dependency stayed unavailable goes back at
// once with its attempt unchanged. All of that happens only while the
// message is ours, and the message is deleted last.
func (c *Consumer) processBatch(runCtx, hctx context.Context, log *slog.Logger, m *Message, items [][]byte, attempt int) {
	receivedTotal.WithLabelValues(c.q.name).Inc()
	inFlightGauge.WithLabelValues(c.q.name).Inc()
	defer inFlightGauge.WithLabelValues(c.q.name).Dec()
	// tries counts the deliveries the items had, this one included: those
	// of the batches they were in before, and this message's own.
	tries := attempt + int(m.DequeueCount) - 1
	dequeueCount.WithLabelValues(c.q.name).Observe(float64(tries))
	log = log.With("messageId", m.ID, "dequeueCount", m.DequeueCount, "items", len(items), "attempt", tries)
	settle, cancel := context.WithTimeout(context.WithoutCancel(hctx), 15*time.Second)
	defer cancel()

	reasons := make([]string, len(items))
	if m.DequeueCount > int64(c.cfg.MaxDeliveries) {
		for i := range items {
			reasons[i] = fmt.Sprintf("delivered %d times without completing (the handler crashed, timed out or lost the message each time)", m.DequeueCount)
		}
		c.split(settle, log, m, items, reasons, nil, nil, tries)
		return
	}

	start := time.Now()
	mctx, held := c.hold(hctx, log, m)
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i, body := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			item := &Message{ID: m.ID, Body: body, DequeueCount: int64(tries), InsertedAt: m.InsertedAt}
			errs[i] = c.runItem(runCtx, mctx, log, item, start)
		}()
	}
	wg.Wait()
	interrupted := mctx.Err() != nil
	held.stop()
	took := time.Since(start).Seconds()

	if held.lost() {
		handlerSeconds.WithLabelValues(c.q.name, "lost").Observe(took)
		lostTotal.WithLabelValues(c.q.name).Inc()
		log.Warn("the batch was lost while its handlers ran; its next delivery settles it", "err", errors.Join(errs...))
		return
	}
	var retry, again [][]byte
	failed := 0
	for i, err := range errs {
		switch {
		case err == nil:
			continue
		case interrupted, runCtx.Err() != nil && apperr.Is(err, apperr.Unavailable):
			// Shutdown: release the whole message; the done items are
			// done again on its next delivery (handlers are idempotent).
			handlerSeconds.WithLabelValues(c.q.name, "abandoned").Observe(took)
			abandonedTotal.WithLabelValues(c.q.name).Inc()
			c.release(settle, log, m, "release at shutdown")
			return
		case apperr.Is(err, apperr.Unavailable):
			again = append(again, items[i])
		case IsPermanent(err) || apperr.Is(err, apperr.TooLarge) || tries > len(c.cfg.RetrySchedule):
			reasons[i] = err.Error()
		default:
			retry = append(retry, items[i])
			log.Warn("a batch item failed; it will be retried alone", "err", err, "retryIn", c.cfg.RetrySchedule[max(tries-1, 0)])
		}
		failed++
	}
	if failed == 0 {
		handlerSeconds.WithLabelValues(c.q.name, "ok").Observe(took)
		switch derr := c.q.Delete(settle, m); {
		case errors.Is(derr, ErrLost):
			lostTotal.WithLabelValues(c.q.name).Inc()
			log.Warn("handled, but the batch had already been redelivered; that delivery will find the work done", "err", derr)
		case derr != nil:
			log.Warn("delete after success failed; the batch will be redelivered", "err", derr)
		default:
			completedTotal.WithLabelValues(c.q.name).Inc()
		}
		return
	}
	handlerSeconds.WithLabelValues(c.q.name, "retry").Observe(took)
	c.split(settle, log, m, items, reasons, retry, again, tries)
}

// runItem runs one item's handler in one of the consumer's handler slots.
func (c *Consumer) runItem(runCtx, mctx context.Context, log *slog.Logger, item *Message, start time.Time) error {
	select {
	case c.running <- struct{}{}:
	case <-mctx.Done():
		return mctx.Err()
	}
	defer func() { <-c.running }()
	return c.run(runCtx, mctx, log, item, start)
}

// split settles a batch whose items did not all succeed: poisons the items
// with a reason, sends retry back on the schedule and again at once, then
// deletes the message and runs OnPoison for each poisoned item. It renews
// the message first: a message that is no longer ours is left to its holder.
func (c *Consumer) split(ctx context.Context, log *slog.Logger, m *Message, items [][]byte, reasons []string, retry, again [][]byte, tries int) {
	if err := c.q.SetVisibility(ctx, m, poisonHold); err != nil {
		if errors.Is(err, ErrLost) {
			lostTotal.WithLabelValues(c.q.name).Inc()
		}
		log.Warn("could not split the batch; it will be redelivered whole", "err", err)
		return
	}
	var poisoned []int
	for i, reason := range reasons {
		if reason == "" {
			continue
		}
		if err := c.q.poisonCopy(ctx, m, items[i], tries, reason); err != nil {
			log.Error("move of a batch item to the poison queue failed; the batch will be redelivered", "err", err, "reason", reason)
			return
		}
		poisoned = append(poisoned, i)
	}
	if len(retry) > 0 {
		delay := c.cfg.RetrySchedule[max(tries-1, 0)]
		retriedTotal.WithLabelValues(c.q.name).Add(float64(len(retry)))
		if err := c.q.Send(ctx, encodeBatch(retry, tries+1), WithDelay(delay)); err != nil {
			log.Warn("could not send the failed items back; the batch will be redelivered whole", "err", err)
			return
		}
	}
	if len(again) > 0 {
		if err := c.q.Send(ctx, encodeBatch(again, tries), WithDelay(time.Second)); err != nil {
			log.Warn("could not send the items whose dependency was down back; the batch will be redelivered whole", "err", err)
			return
		}
	}
	if err := c.q.Delete(ctx, m); err != nil {
		// The split copies exist: the items may run twice, never lost.
		log.Warn("delete after a split failed; the batch will be redelivered", "err", err)
		return
	}
	for _, i := range poisoned {
		log.Error("batch item moved to poison queue", "reason", reasons[i], "poisonQueue", c.q.name+"-poison")
		if c.cfg.OnPoison != nil {
			c.cfg.OnPoison(ctx, &Message{ID: m.ID, Body: items[i], DequeueCount: int64(tries), InsertedAt: m.InsertedAt}, reasons[i])
		}
	}
}
