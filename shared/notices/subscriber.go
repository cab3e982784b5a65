package notices

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/apperr"
)

// Subscriber shares one Redis pub/sub connection among many listeners,
// subscribing a stream's channel when its first listener arrives and
// unsubscribing when its last one leaves. go-redis reconnects and
// resubscribes by itself; notices published meanwhile are not delivered
// live (pub/sub is at-most-once), which is why each Notice names its
// predecessor and the history can fill the gap.
type Subscriber struct {
	ps *redis.PubSub

	mu     sync.Mutex
	topics map[string]*topic
	closed bool
}

type topic struct {
	listeners map[*Listener]struct{}
	confirmed chan struct{} // closed once Redis confirmed the subscription
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
	s := &Subscriber{ps: ps, topics: map[string]*topic{}}
	go s.loop(ps.ChannelWithSubscriptions(redis.WithChannelSize(10000)))
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
		t = &topic{listeners: map[*Listener]struct{}{}, confirmed: make(chan struct{})}
		s.topics[stream] = t
		if err := s.ps.Subscribe(ctx, channel(stream)); err != nil {
			delete(s.topics, stream)
			s.mu.Unlock()
			return nil, apperr.Wrap(apperr.Unavailable, err, "redis is unavailable (subscribe)")
		}
	}
	t.listeners[l] = struct{}{}
	confirmed := t.confirmed
	s.mu.Unlock()

	wait, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	select {
	case <-confirmed:
		return l, nil
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

// Close stops delivery and closes C. Closing twice is harmless.
func (l *Listener) Close() {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	l.s.removeLocked(l)
}

// removeLocked unregisters l (closing its channel) and unsubscribes the
// stream when no listener is left. Caller holds s.mu.
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
		delete(s.topics, l.stream)
		if !s.closed {
			_ = s.ps.Unsubscribe(context.Background(), channel(l.stream))
		}
	}
}

// Streams returns how many streams have listeners (for metrics and tests).
func (s *Subscriber) Streams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.topics)
}

// Close closes every listener and the pub/sub connection.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	s.closed = true
	for _, t := range s.topics {
		for l := range t.listeners {
			s.removeLocked(l)
		}
	}
	s.mu.Unlock()
	return s.ps.Close()
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

func (s *Subscriber) confirm(stream string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.topics[stream]; ok {
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
