package queue

import "time"

// arrivalRate estimates how fast messages arrive at a consumer, from what
// its receives return: a moving average of messages per second between
// non-empty receives.
type arrivalRate struct {
	last time.Time
	rate float64 // messages per second
}

func newArrivalRate() *arrivalRate { return &arrivalRate{last: time.Now()} }

// saw records a receive that returned n messages.
func (a *arrivalRate) saw(n int) {
	now := time.Now()
	gap := max(now.Sub(a.last).Seconds(), 0.001)
	a.last = now
	a.rate = 0.7*a.rate + 0.3*float64(n)/gap
}

// fill is how long it takes for n more messages to arrive at the current
// rate, and whether that is within limit (a busy queue worth lingering on).
func (a *arrivalRate) fill(n int, limit time.Duration) (time.Duration, bool) {
	if a.rate <= 0 {
		return 0, false
	}
	d := time.Duration(float64(n) / a.rate * float64(time.Second))
	return max(d, time.Millisecond), d <= limit
}
