package licentrictest

import (
	"sync"
	"time"

	"github.com/licentric/licentric-go/clock"
)

// Clock is the server's clock in the shape a client takes
// (licentric.WithClock): a client given srv.Clock() lives in the same time
// as the server. Its After channels fire when the server clock reaches the
// deadline, whether real time carried it there (the default, flowing clock)
// or Advance and SetNow did.
type Clock struct{ s *Server }

var _ clock.Clock = (*Clock)(nil)

// Clock returns the server's clock.
func (s *Server) Clock() *Clock { return &Clock{s: s} }

// Now returns the server clock's current time (Server.Now).
func (c *Clock) Now() time.Time { return c.s.Now() }

// After returns a channel that receives the clock's time once the server
// clock has moved d or more past now: by real time passing while the clock
// flows, or by Advance and SetNow. A d <= 0 fires at once. The channel is
// buffered, so an abandoned waiter never blocks the clock.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	return c.s.clock.after(d)
}

// Waiters returns how many After channels wait for the clock to move past
// their deadline. A test waits for it to grow before calling Advance, to
// know that the code under test has reached its next wait.
func (c *Clock) Waiters() int {
	c.s.clock.mu.Lock()
	defer c.s.clock.mu.Unlock()
	return len(c.s.clock.pending)
}

// simClock is the server's clock: start plus the real time elapsed since,
// plus the offsets Advance and SetNow add; or a fixed reading when frozen.
// Pending After channels fire from Advance and SetNow and, while the clock
// flows, from one real timer set for the earliest deadline. It starts no
// goroutine of its own (time.AfterFunc runs only when due), so it works
// inside a testing/synctest bubble, where time.Now is the bubble's clock.
type simClock struct {
	mu      sync.Mutex
	base    time.Time // the reading at mark (no monotonic part)
	mark    time.Time // wall time when base was read; unused when frozen
	frozen  bool
	closed  bool
	pending []timer
	real    *time.Timer // fires at the earliest pending deadline (flowing)
}

type timer struct {
	at time.Time
	ch chan time.Time
}

func newSimClock(start time.Time, frozen bool) *simClock {
	return &simClock{base: start.Round(0), mark: time.Now(), frozen: frozen}
}

func (c *simClock) nowLocked() time.Time {
	if c.frozen {
		return c.base
	}
	return c.base.Add(time.Since(c.mark))
}

func (c *simClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

// set makes t the current reading; the clock keeps flowing from there
// unless frozen.
func (c *simClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.mark = t.Round(0), time.Now()
	c.fireLocked()
}

func (c *simClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.mark = c.nowLocked().Add(d), time.Now()
	c.fireLocked()
}

func (c *simClock) freeze() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.frozen = c.nowLocked(), true
	c.fireLocked()
}

func (c *simClock) isFrozen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frozen
}

func (c *simClock) after(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.nowLocked()
	if d <= 0 {
		ch <- now
		return ch
	}
	c.pending = append(c.pending, timer{at: now.Add(d), ch: ch})
	c.fireLocked()
	return ch
}

// fireLocked sends the reading on every due channel, then sets the real
// timer for the next deadline when the clock flows.
func (c *simClock) fireLocked() {
	now := c.nowLocked()
	kept := c.pending[:0]
	var next time.Time
	for _, tm := range c.pending {
		if tm.at.After(now) {
			kept = append(kept, tm)
			if next.IsZero() || tm.at.Before(next) {
				next = tm.at
			}
			continue
		}
		tm.ch <- now // buffered, sent once
	}
	clear(c.pending[len(kept):])
	c.pending = kept
	if c.real != nil {
		c.real.Stop()
		c.real = nil
	}
	if c.frozen || c.closed || next.IsZero() {
		return
	}
	c.real = time.AfterFunc(next.Sub(now), c.onReal)
}

func (c *simClock) onReal() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fireLocked()
}

// close stops the real timer: after it, only Advance and SetNow fire
// channels.
func (c *simClock) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.real != nil {
		c.real.Stop()
		c.real = nil
	}
}
