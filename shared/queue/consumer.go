package queue

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// Handler handles one message. Returning nil deletes the message; an error
// leaves it for a retry (or the poison queue after MaxDequeue tries); an error
// wrapped with Permanent poisons it at once. The context is cancelled only when
// shutdown's drain time runs out.
type Handler func(ctx context.Context, m *Message) error

// ConsumerConfig tunes a Consumer. Zero fields take the defaults.
type ConsumerConfig struct {
	// BatchSize is the most messages taken per receive (default 16, max 32).
	BatchSize int
	// Concurrency is the most handlers running at once (default 16).
	Concurrency int
	// Visibility is how long a received message stays hidden; it is renewed
	// while its handler runs (default 30s).
	Visibility time.Duration
	// MaxDequeue is the number of deliveries after which a failing message is
	// moved to the poison queue (default 5, as Azure Functions).
	MaxDequeue int
	// RetryBase is the first retry delay; it doubles with every dequeue
	// (default 1s), capped at RetryMax (default 5m).
	RetryBase, RetryMax time.Duration
	// MinPoll and MaxPoll bound the idle back-off between empty receives
	// (defaults 50ms and 2s); a Waker cuts the wait short.
	MinPoll, MaxPoll time.Duration
	// DrainTimeout is how long shutdown waits for in-flight handlers before
	// cancelling them (default 20s).
	DrainTimeout time.Duration
	// DepthEvery is how often the queue's depth is sampled into the
	// prism_queue_depth gauge (default 10s; negative: never).
	DepthEvery time.Duration
	// OnPoison, when set, is called after a message moved to the poison
	// queue (domain-service marks the command failed).
	OnPoison func(ctx context.Context, m *Message, reason string)
	// Logger receives the loop's logs (default slog.Default()).
	Logger *slog.Logger
}

func (c *ConsumerConfig) defaults() {
	setDefault(&c.BatchSize, 16)
	c.BatchSize = min(c.BatchSize, MaxBatch)
	setDefault(&c.Concurrency, 16)
	setDefault(&c.Visibility, 30*time.Second)
	c.Visibility = max(c.Visibility, 3*time.Second)
	setDefault(&c.MaxDequeue, 5)
	setDefault(&c.RetryBase, time.Second)
	setDefault(&c.RetryMax, 5*time.Minute)
	setDefault(&c.MinPoll, 50*time.Millisecond)
	setDefault(&c.MaxPoll, 2*time.Second)
	setDefault(&c.DrainTimeout, 20*time.Second)
	setDefault(&c.DepthEvery, 10*time.Second)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

func setDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// Consumer receives messages from one queue and runs a handler on each:
// batches of up to 32, a bounded number of handlers at once, visibility
// renewed while a handler works, growing retry delays, poison after
// MaxDequeue deliveries, idle back-off cut short by a Waker, and a shutdown
// that stops receiving, drains in-flight work and deletes nothing unfinished.
type Consumer struct {
	q       *Queue
	handle  Handler
	cfg     ConsumerConfig
	wakeups Waker
}

// NewConsumer returns a consumer of q. waker may be nil (then it only polls).
func NewConsumer(q *Queue, handle Handler, waker Waker, cfg ConsumerConfig) *Consumer {
	cfg.defaults()
	initConsumerSeries(q.name, cfg.Concurrency)
	return &Consumer{q: q, handle: handle, cfg: cfg, wakeups: waker}
}

// Run consumes until ctx is cancelled, then drains and returns nil. It returns
// early only if the handler context could not be set up.
func (c *Consumer) Run(ctx context.Context) error {
	log := c.cfg.Logger.With("queue", c.q.name)
	// Handlers outlive ctx: they get their own context, cancelled only when
	// the drain time runs out.
	hctx, cancelHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHandlers()

	slots := make(chan struct{}, c.cfg.Concurrency)
	freed := make(chan struct{}, 1)
	threshold := max(1, min(c.cfg.Concurrency, c.cfg.BatchSize)/2)
	var wg sync.WaitGroup
	idle := c.cfg.MinPoll
	errBackoff := c.cfg.MinPoll
	nextDepth := time.Now()

	for ctx.Err() == nil {
		if c.cfg.DepthEvery > 0 && time.Now().After(nextDepth) {
			nextDepth = time.Now().Add(c.cfg.DepthEvery)
			if d, err := c.q.Depth(ctx); err == nil {
				depthGauge.WithLabelValues(c.q.name).Set(float64(d))
			}
		}
		// Receive again only when enough handler slots are free for a real
		// batch (Azure Functions' newBatchThreshold): one message per
		// receive would double the storage requests under load.
		for c.cfg.Concurrency-len(slots) < threshold && ctx.Err() == nil {
			select {
			case <-freed:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			continue
		}
		want := min(c.cfg.Concurrency-len(slots), c.cfg.BatchSize)
		msgs, err := c.q.Receive(ctx, want, c.cfg.Visibility)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("receive failed", "err", err, "retryIn", errBackoff)
			}
			sleep(ctx, errBackoff)
			errBackoff = min(errBackoff*2, 5*time.Second)
			continue
		}
		errBackoff = c.cfg.MinPoll
		if len(msgs) == 0 {
			EmptyReceivesTotal.WithLabelValues(c.q.name).Inc()
			c.wait(ctx, idle)
			idle = min(idle*2, c.cfg.MaxPoll)
			continue
		}
		idle = c.cfg.MinPoll
		for _, m := range msgs {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					<-slots
					select {
					case freed <- struct{}{}:
					default:
					}
				}()
				c.process(hctx, log, m)
			}()
		}
		if len(msgs) < want {
			// The queue gave less than asked: it is (nearly) drained. Rather
			// than an almost certainly empty receive, wait a moment; a send
			// meanwhile leaves a wake token that ends the wait at once.
			c.wait(ctx, c.cfg.MinPoll)
		}
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(c.cfg.DrainTimeout):
		log.Warn("drain time ran out; cancelling in-flight handlers", "drainTimeout", c.cfg.DrainTimeout)
		cancelHandlers()
		<-done
	}
	return nil
}

// wait sleeps up to d, woken early by a nudge when there is a Waker.
func (c *Consumer) wait(ctx context.Context, d time.Duration) {
	if c.wakeups != nil {
		c.wakeups.Wait(ctx, c.q.name, d)
		return
	}
	sleep(ctx, d)
}

// sleep waits for d or ctx's end, whichever comes first.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// process runs the handler on one message and settles it: delete on success,
// retry later or poison on failure, release on abandoned shutdown.
func (c *Consumer) process(ctx context.Context, log *slog.Logger, m *Message) {
	receivedTotal.WithLabelValues(c.q.name).Inc()
	dequeueCount.WithLabelValues(c.q.name).Observe(float64(m.DequeueCount))
	inFlightGauge.WithLabelValues(c.q.name).Inc()
	defer inFlightGauge.WithLabelValues(c.q.name).Dec()
	log = log.With("messageId", m.ID, "dequeueCount", m.DequeueCount)
	// settle uses its own short context: it must run even after ctx ends.
	settle, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()

	if m.DequeueCount > int64(c.cfg.MaxDequeue) {
		c.poison(settle, log, m, fmt.Sprintf("dequeued %d times without completing (the handler crashed or timed out each time)", m.DequeueCount))
		return
	}

	start := time.Now()
	stopRenew := c.renew(ctx, log, m)
	err := safeHandle(ctx, c.handle, m)
	stopRenew()

	switch {
	case err == nil:
		handlerSeconds.WithLabelValues(c.q.name, "ok").Observe(time.Since(start).Seconds())
		if derr := c.q.Delete(settle, m); derr != nil {
			log.Warn("delete after success failed; the message will be redelivered", "err", derr)
			return
		}
		completedTotal.WithLabelValues(c.q.name).Inc()
	case ctx.Err() != nil:
		// Shutdown cancelled the handler: release the message for another
		// replica at once; never delete unfinished work.
		handlerSeconds.WithLabelValues(c.q.name, "abandoned").Observe(time.Since(start).Seconds())
		abandonedTotal.WithLabelValues(c.q.name).Inc()
		if verr := c.q.SetVisibility(settle, m, 0); verr != nil {
			log.Warn("release at shutdown failed; the message reappears after its visibility timeout", "err", verr)
		}
	case IsPermanent(err) || m.DequeueCount >= int64(c.cfg.MaxDequeue):
		handlerSeconds.WithLabelValues(c.q.name, "poison").Observe(time.Since(start).Seconds())
		c.poison(settle, log, m, err.Error())
	default:
		handlerSeconds.WithLabelValues(c.q.name, "retry").Observe(time.Since(start).Seconds())
		retriedTotal.WithLabelValues(c.q.name).Inc()
		delay := c.retryDelay(m.DequeueCount)
		log.Warn("handler failed; will retry", "err", err, "retryIn", delay)
		if verr := c.q.SetVisibility(settle, m, delay); verr != nil {
			log.Warn("could not set retry delay; the message reappears after its visibility timeout", "err", verr)
		}
	}
}

// retryDelay grows with each delivery: base, 2·base, 4·base, … up to RetryMax.
func (c *Consumer) retryDelay(dequeues int64) time.Duration {
	d := c.cfg.RetryBase
	for i := int64(1); i < dequeues && d < c.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, c.cfg.RetryMax)
}

func (c *Consumer) poison(ctx context.Context, log *slog.Logger, m *Message, reason string) {
	if err := c.q.MoveToPoison(ctx, m, reason); err != nil {
		log.Error("move to poison queue failed; the message will be redelivered", "err", err, "reason", reason)
		return
	}
	log.Error("message moved to poison queue", "reason", reason, "poisonQueue", c.q.name+"-poison")
	if c.cfg.OnPoison != nil {
		c.cfg.OnPoison(ctx, m, reason)
	}
}

// renew extends the message's visibility every third of the timeout while the
// handler runs. The returned stop waits for the renewer to finish, so the
// pop receipt is stable afterwards.
func (c *Consumer) renew(ctx context.Context, log *slog.Logger, m *Message) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(c.cfg.Visibility / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := c.q.SetVisibility(ctx, m, c.cfg.Visibility); err != nil {
					log.Warn("visibility renewal failed", "err", err)
				}
			}
		}
	}()
	return func() { close(done); <-finished }
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
