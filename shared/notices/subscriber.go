package notices

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/apperr"
)

// Linger is how long a stream stays subscribed after its last listener
// left: a client that reconnects (or the next read-your-writes wait on the
// same cart) finds it subscribed, and a reconnect storm costs Redis no
// SUBSCRIBE/UNSUBSCRIBE churn.
const Linger = 10 * time.Second

// confirmWait bounds how long Listen waits for Redis to confirm a
// subscription; opTimeout bounds one SUBSCRIBE or UNSUBSCRIBE.
const (
	confirmWait = 3 * time.Second
	opTimeout   = 5 * time.Second
)

// Subscriber shares one Redis pub/sub connection among many listeners. The
// first listener of a stream asks for its channel and the last one leaving
// lets it go (after Linger); one goroutine of the Subscriber's own sends the
// SUBSCRIBE and UNSUBSCRIBE commands, in the order they were asked for, and
// never under the lock that delivery takes: a stalled Redis or a storm of
// listeners coming and going delays new subscriptions only, never the
// delivery to streams already subscribed nor listeners leaving (issue 12
// item 10). go-redis reconnects and resubscribes by itself; notices
// published meanwhile are not delivered live (pub/sub is at-most-once),
// which is why each Notice names its predecessor and the history can fill
// the gap.
type Subscriber struct {
	ps *redis.PubSub

	mu     sync.Mutex
	topics map[string]*topic
	closed bool

	kick   chan struct{} // wakes the worker (buffer 1)
	stop   chan struct{}
	worked chan struct{} // closed when the worker has returned
}

type topic struct {
	listeners map[*Listener]struct{}
	confirmed chan struct{} // closed once Redis confirmed the subscription
	failed    chan struct{} // closed when the latest SUBSCRIBE failed (then replaced)
	failure   error
	sent      bool      // the worker has sent SUBSCRIBE for this topic
	retry     bool      // that SUBSCRIBE failed: send it again
	idleSince time.Time // when the last listener left; zero while it has some
}

func newTopic() *topic {
	return &topic{listeners: map[*Listener]struct{}{}, confirmed: make(chan struct{}), failed: make(chan struct{})}
}

// Listener receives the live notices of one stream.
type Listener struct {
	stream   string
	ch       chan Notice
	coalesce bool
	s        *Subscriber
	dropped  bool // set under s.mu when the buffer overflowed
}

// NewSubscriber opens the shared pub/sub connection on rdb.
func NewSubscriber(rdb *redis.Client) *Subscriber {
	ps := rdb.Subscribe(context.Background())
	s := &Subscriber{
		ps: ps, topics: map[string]*topic{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), worked: make(chan struct{}),
	}
	go s.loop(ps.ChannelWithSubscriptions(redis.WithChannelSize(10000)))
	go s.work()
	return s
}

// Listen returns a listener that receives the stream's notices into a buffer
// of the given size. When the buffer is full the listener is dropped: its
// channel closes and Dropped reports true (a stalled reader never delays
// others). Listen returns once Redis has confirmed the subscription, so no
// notice published after it returns is missed live.
func (s *Subscriber) Listen(ctx context.Context, stream string, buffer int) (*Listener, error) {
	return s.listen(ctx, stream, max(buffer, 1), false)
}

// Wakeups returns a listener whose channel (buffer 1) only signals that
// something was published on stream; extra signals coalesce and it is never
// dropped. Read-your-writes waits use it.
func (s *Subscriber) Wakeups(ctx context.Context, stream string) (*Listener, error) {
	return s.listen(ctx, stream, 1, true)
}

func (s *Subscriber) listen(ctx context.Context, stream string, buffer int, coalesce bool) (*Listener, error) {
	l := &Listener{stream: stream, ch: make(chan Notice, buffer), coalesce: coalesce, s: s}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, apperr.New(apperr.Unavailable, "notice subscriber is closed")
	}
	t, ok := s.topics[stream]
	if !ok {
		t = newTopic()
		s.topics[stream] = t
	}
	t.listeners[l] = struct{}{}
	t.idleSince = time.Time{}
	confirmed, failed := t.confirmed, t.failed
	s.mu.Unlock()
	if !ok {
		s.wake()
	}

	wait, cancel := context.WithTimeout(ctx, confirmWait)
	defer cancel()
	select {
	case <-confirmed:
		return l, nil
	case <-failed:
		l.Close()
		s.mu.Lock()
		err := t.failure
		s.mu.Unlock()
		return nil, apperr.Wrap(apperr.Unavailable, err, "redis is unavailable (subscribe)")
	case <-wait.Done():
		l.Close()
		return nil, apperr.New(apperr.Unavailable, "redis did not confirm the subscription to %s", stream)
	}
}

// C delivers the notices. It is closed when the listener is closed or dropped.
func (l *Listener) C() <-chan Notice { return l.ch }

// Dropped reports whether the listener was dropped for not keeping up.
func (l *Listener) Dropped() bool {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	return l.dropped
}

// Close stops delivery and closes C. Closing twice is harmless. It never
// waits for Redis.
func (l *Listener) Close() {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	l.s.removeLocked(l)
}

// removeLocked unregisters l (closing its channel); a stream left without
// listeners is unsubscribed by the worker once it has lingered. Caller
// holds s.mu.
func (s *Subscriber) removeLocked(l *Listener) {
	t, ok := s.topics[l.stream]
	if !ok {
		return
	}
	if _, ok := t.listeners[l]; !ok {
		return
	}
	delete(t.listeners, l)
	close(l.ch)
	if len(t.listeners) == 0 {
		t.idleSince = time.Now()
	}
}

// Streams returns how many streams have listeners (for metrics and tests).
func (s *Subscriber) Streams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.topics {
		if len(t.listeners) > 0 {
			n++
		}
	}
	return n
}

// Close closes every listener and the pub/sub connection.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, t := range s.topics {
		for l := range t.listeners {
			s.removeLocked(l)
		}
	}
	s.mu.Unlock()
	close(s.stop)
	<-s.worked
	return s.ps.Close()
}

func (s *Subscriber) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// work sends what plan asks for: UNSUBSCRIBE first, then SUBSCRIBE, each
// as one command for every stream of its kind, outside the lock.
func (s *Subscriber) work() {
	defer close(s.worked)
	tick := time.NewTicker(Linger / 4)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.kick:
		case <-tick.C:
		}
		subscribe, unsubscribe := s.plan(time.Now())
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		if len(unsubscribe) > 0 {
			// On failure go-redis has forgotten the channels all the same:
			// a reconnection does not subscribe them again.
			_ = s.ps.Unsubscribe(ctx, unsubscribe...)
		}
		if len(subscribe) > 0 {
			chans := make([]string, 0, len(subscribe))
			for stream := range subscribe {
				chans = append(chans, channel(stream))
			}
			if err := s.ps.Subscribe(ctx, chans...); err != nil {
				s.fail(subscribe, err)
			}
		}
		cancel()
	}
}

// plan decides, under the lock, which streams to subscribe (new ones with
// listeners) and which to unsubscribe (without listeners for Linger; they
// are forgotten at once, so a listener arriving now starts a new topic
// whose SUBSCRIBE follows this UNSUBSCRIBE).
func (s *Subscriber) plan(now time.Time) (subscribe map[string]*topic, unsubscribe []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	subscribe = map[string]*topic{}
	for stream, t := range s.topics {
		switch {
		case len(t.listeners) > 0 && (!t.sent || t.retry):
			t.sent, t.retry = true, false
			subscribe[stream] = t
		case len(t.listeners) == 0 && !t.sent:
			delete(s.topics, stream) // left before it was ever subscribed
		case len(t.listeners) == 0 && now.Sub(t.idleSince) >= Linger:
			delete(s.topics, stream)
			unsubscribe = append(unsubscribe, channel(stream))
		}
	}
	return subscribe, unsubscribe
}

// fail tells the listeners waiting on topics whose SUBSCRIBE failed, and
// has the worker send it again while they have listeners (go-redis counts
// the channels as subscribed, but a connection it made again while the
// SUBSCRIBE failed may not have them). A topic left without listeners is
// unsubscribed after Linger like any other.
func (s *Subscriber) fail(topics map[string]*topic, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for stream, t := range topics {
		if s.topics[stream] != t {
			continue
		}
		t.failure, t.retry = err, true
		close(t.failed)
		t.failed = make(chan struct{})
	}
}

func (s *Subscriber) loop(in <-chan any) {
	for msg := range in {
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				s.confirm(streamFromChannel(m.Channel))
			}
		case *redis.Message:
			var n Notice
			if err := json.Unmarshal([]byte(m.Payload), &n); err != nil {
				continue
			}
			s.deliver(n)
		}
	}
}

// confirm marks the stream's topic subscribed. Only a topic the worker has
// sent SUBSCRIBE for is confirmed: a late answer to an earlier topic's
// SUBSCRIBE does not count for a newer one still waiting for its own.
func (s *Subscriber) confirm(stream string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.topics[stream]; ok && t.sent {
		select {
		case <-t.confirmed:
		default:
			close(t.confirmed)
		}
	}
}

func (s *Subscriber) deliver(n Notice) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.topics[n.Stream]
	if !ok {
		return
	}
	for l := range t.listeners {
		select {
		case l.ch <- n:
		default:
			if !l.coalesce {
				l.dropped = true
				s.removeLocked(l)
			}
		}
	}
}
