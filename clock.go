package licentric

import "time"

// A Clock tells the time and waits. The client reads and waits on it for
// everything time-based it decides itself: the heartbeat monitor's
// schedule, Retry-After dates, the freshness, age and stale limits of
// cached validation results (and their cut-off at a license's expiresAt),
// and the fixed one-minute windows of the rate budget, including waits for
// the next window. Tests inject a fake one (see WithClock) so that time
// moves only when they say so. The waits between retries (backoff) and the
// HTTP client's timeouts use real time.
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
