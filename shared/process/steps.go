package process

import (
	"time"

	"github.com/prism-es/prism/shared/aggregate"
	"github.com/prism-es/prism/shared/envelope"
)

// Steps collects the commands a process manager's event calls for, in its
// aggregate's React. Every command id is derived from (the instance id,
// step...), so a step repeated after a crash or a redelivery is recognised
// as a duplicate and never runs twice. The first error stops the
// collection; Done returns it.
type Steps struct {
	e   envelope.Event
	out []aggregate.Reaction
	err error
}

// StepsOf starts the steps that follow from e, an event of the instance's
// own stream.
func StepsOf(e envelope.Event) *Steps { return &Steps{e: e} }

// Send adds command typ with payload to aggregate aggregateType id, sent at
// once; step names it among the instance's steps.
func (s *Steps) Send(aggregateType, id, typ string, payload any, step ...string) {
	s.After(0, aggregateType, id, typ, payload, step...)
}

// After adds a command sent after delay: a deadline (a delayed message on
// the deadlines queue, not a timer: it survives restarts).
func (s *Steps) After(delay time.Duration, aggregateType, id, typ string, payload any, step ...string) {
	if s.err != nil {
		return
	}
	c, err := aggregate.FollowUp(s.e, aggregateType, id, typ, payload, append([]string{s.e.AggregateID}, step...)...)
	if err != nil {
		s.err = err
		return
	}
	s.out = append(s.out, aggregate.Reaction{Command: c, Delay: delay})
}

// Done returns the commands collected, or the first error.
func (s *Steps) Done() ([]aggregate.Reaction, error) { return s.out, s.err }
