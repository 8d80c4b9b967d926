package licentrictest

import (
	"sync"
	"time"
)

// Clock is the server's controllable clock in the shape a client takes
// (licentric.WithClock): a client given srv.Clock() lives in the same
// simulated time as the server, and its waits (heartbeat intervals, rate
// budget windows) end when Advance or SetNow moves the clock past them.
type Clock struct{ s *Server }

// Clock returns the server's clock.
func (s *Server) Clock() *Clock { return &Clock{s: s} }

// Now returns the server clock's current time.
func (c *Clock) Now() time.Time { return c.s.Now() }

// After returns a channel that receives the clock's time once Advance or
// SetNow has moved it d or more past now. A d <= 0 fires at once.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	now := c.s.Now()
	if d <= 0 {
		ch <- now
		return ch
	}
	c.s.timers.add(now.Add(d), ch)
	// The clock may have moved between reading now and registering.
	c.s.timers.fire(c.s.Now())
	return ch
}

// timers holds the pending After channels of a Server's clock.
type timers struct {
	mu      sync.Mutex
	pending []timer
}

type timer struct {
	at time.Time
	ch chan time.Time
}

func (t *timers) add(at time.Time, ch chan time.Time) {
	t.mu.Lock()
	t.pending = append(t.pending, timer{at: at, ch: ch})
	t.mu.Unlock()
}

// fire sends now on every channel whose deadline is not after now.
func (t *timers) fire(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	kept := t.pending[:0]
	for _, tm := range t.pending {
		if tm.at.After(now) {
			kept = append(kept, tm)
			continue
		}
		tm.ch <- now // buffered, sent once
	}
	clear(t.pending[len(kept):])
	t.pending = kept
}
