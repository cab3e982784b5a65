package queue

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Handler handles one message. Returning nil deletes the message. An error
// of kind apperr.Unavailable (storage or Redis down) keeps the message and
// runs the handler again in process; any other error is a failed delivery,
// redelivered on the retry schedule and poisoned after its last step; an
// error wrapped with Permanent (or of kind apperr.TooLarge) poisons it at
// once. The context is cancelled when shutdown's drain time runs out or the
// message stops being ours (its visibility could not be renewed).
type Handler func(ctx context.Context, m *Message) error

// DefaultRetrySchedule is the event-driven design's redelivery schedule for
// failed deliveries: after 1 minute, 5 minutes, 30 minutes, then the poison
// queue (DESIGN.md "Queues", PRISM_RETRY_SCHEDULE).
var DefaultRetrySchedule = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute}

// ConsumerConfig tunes a Consumer. Zero fields take the defaults.
type ConsumerConfig struct {
	// BatchSize is the most messages taken per receive (default 16, max 32).
	BatchSize int
	// Concurrency is the most handlers running at once (default 16).
	Concurrency int
	// Visibility is how long a received message stays hidden; it is renewed
	// while its handler runs (default 30s).
	Visibility time.Duration
	// RetrySchedule is the delay before each redelivery of a message whose
	// handler failed: the n-th delivery's failure waits RetrySchedule[n-1];
	// a failure after the last step poisons the message (default
	// DefaultRetrySchedule: 1m, 5m, 30m, i.e. four deliveries).
	RetrySchedule []time.Duration
	// MaxDeliveries poisons, without running the handler, a message
	// delivered more than this many times without completing: its handler
	// crashed the process, timed out or lost the message each time
	// (default twice the schedule's deliveries).
	MaxDeliveries int
	// OutageHold bounds how long a delivery whose handler keeps failing with
	// apperr.Unavailable is held and retried in process (visibility renewed)
	// before the message is released for later (default 5m). An outage is
	// not a failed delivery.
	OutageHold time.Duration
	// MinPoll and MaxPoll bound the idle back-off between empty receives
	// (defaults 50ms and 2s); a Waker cuts the wait short.
	MinPoll, MaxPoll time.Duration
	// BatchWait is how long to wait, Waker-wakeable, after a receive that
	// returned less than asked before receiving again (default MinPoll). A
	// queue carrying a small share of the traffic (a command shard) waits
	// longer: the next send's nudge ends the wait anyway.
	BatchWait time.Duration
	// Linger is the longest a consumer of a busy queue waits after a
	// partial batch before it receives again, so that the next receive
	// takes a batch (Kafka's linger.ms; default 10ms). A quiet queue is not
	// lingered on: a send's nudge wakes the consumer at once. Negative:
	// never linger.
	Linger time.Duration
	// DrainTimeout is how long shutdown waits for in-flight handlers before
	// cancelling them (default 20s).
	DrainTimeout time.Duration
	// DepthEvery is how often the queue's depth is sampled into the
	// prism_queue_depth gauge (default 10s; negative: never).
	DepthEvery time.Duration
	// OnPoison, when set, is called after a message moved to the poison
	// queue (domain-service marks the command failed). It runs only when
	// the message was still ours to poison.
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
	if len(c.RetrySchedule) == 0 {
		c.RetrySchedule = DefaultRetrySchedule
	}
	setDefault(&c.MaxDeliveries, 2*(len(c.RetrySchedule)+1))
	setDefault(&c.OutageHold, 5*time.Minute)
	setDefault(&c.MinPoll, 50*time.Millisecond)
	setDefault(&c.MaxPoll, 2*time.Second)
	setDefault(&c.BatchWait, c.MinPoll)
	setDefault(&c.Linger, 10*time.Millisecond)
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
// renewed while a handler works (and the handler stopped if the message is
// lost), outages retried in process, failed deliveries redelivered on the
// retry schedule and then poisoned, idle back-off cut short by a Waker, and
// a shutdown that stops receiving, drains in-flight work and deletes nothing
// unfinished.
type Consumer struct {
	q       *Queue
	handle  Handler
	cfg     ConsumerConfig
	wakeups Waker
	// running bounds the handlers running at once: one per message, one per
	// item of a batch message.
	running chan struct{}
}

// NewConsumer returns a consumer of q. waker may be nil (then it only polls).
func NewConsumer(q *Queue, handle Handler, waker Waker, cfg ConsumerConfig) *Consumer {
	cfg.defaults()
	initConsumerSeries(q.name, cfg.Concurrency)
	return &Consumer{q: q, handle: handle, cfg: cfg, wakeups: waker, running: make(chan struct{}, cfg.Concurrency)}
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
	arrivals := newArrivalRate()

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
		arrivals.saw(len(msgs))
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
				c.process(ctx, hctx, log, m)
			}()
		}
		if len(msgs) < want {
			// The queue gave less than asked: it is (nearly) drained. When
			// messages arrive fast enough to fill half a batch within the
			// linger, linger, so the next receive takes them together;
			// otherwise wait for the next send's nudge, which ends the wait
			// at once (or a moment, if the nudge went to another consumer).
			if d, ok := arrivals.fill(want/2+1, c.cfg.Linger); ok {
				lingersTotal.WithLabelValues(c.q.name).Inc()
				sleep(ctx, d)
			} else {
				c.wait(ctx, c.cfg.BatchWait)
			}
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
