package licentric

import "time"

// A Clock tells the time and waits. The client uses it for the heartbeat
// monitor's schedule and to interpret Retry-After dates; tests inject a fake
// one (see WithClock) so that time moves only when they say so.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
