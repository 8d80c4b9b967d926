// Package clock is the one shape of time in this module: a Clock tells the
// time and waits. The client (licentric.WithClock), the offline verifier,
// the file cache, the rate budget, the heartbeat monitor, the guard and the
// in-process server (licentrictest) all take a Clock, so one value drives
// every part of a test in the same simulated time.
//
// Wall is the real clock. Tests use the clock of a licentrictest.Server
// (srv.Clock()), or testing/synctest, whose bubble moves the wall clock.
package clock

import "time"

// A Clock tells the time and waits on it. Implementations are safe for
// concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives the time once d has passed on
	// this clock. A d of zero or less fires at once. The channel is
	// buffered, so a waiter that gives up never blocks the clock.
	After(d time.Duration) <-chan time.Time
}

// Wall is the real clock: time.Now and time.After.
type Wall struct{}

// Now returns time.Now().
func (Wall) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (Wall) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Func turns a function that reads the time into a Clock whose waits run
// on real time. It adapts the older func() time.Time options; a clock whose
// waits must follow simulated time implements After itself.
type Func func() time.Time

// Now calls f.
func (f Func) Now() time.Time { return f() }

// After returns time.After(d).
func (f Func) After(d time.Duration) <-chan time.Time { return time.After(d) }

// OrWall returns c, or Wall when c is nil.
func OrWall(c Clock) Clock {
	if c == nil {
		return Wall{}
	}
	return c
}
