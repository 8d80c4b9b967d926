package licentrictest

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go/clock"
)

// within waits (bounded) for ch; it fails the test if ch stays silent.
func within(t *testing.T, ch <-chan time.Time, what string) time.Time {
	t.Helper()
	select {
	case got := <-ch:
		return got
	case <-time.After(10 * time.Second):
		require.FailNow(t, what+" did not fire")
		return time.Time{}
	}
}

func silent(ch <-chan time.Time) bool {
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

func TestClockAfterFiresWhenAdvancedPastDeadline(t *testing.T) {
	srv := NewServer(WithFrozenClock(minuteStart))
	defer srv.Close()
	var c clock.Clock = srv.Clock()
	start := c.Now()
	require.True(t, start.Equal(minuteStart))

	ch := c.After(time.Minute)
	srv.Advance(59 * time.Second)
	assert.True(t, silent(ch), "After(1m) fired 59 s in")
	srv.Advance(time.Second)
	got := within(t, ch, "After(1m) at 1 m")
	assert.True(t, got.Equal(start.Add(time.Minute)), "fired with %v", got)

	late := c.After(time.Hour)
	srv.SetNow(start.Add(2 * time.Hour))
	within(t, late, "SetNow past the deadline")
	assert.False(t, silent(c.After(0)), "After(0) did not fire at once")
}

func TestClockFlowsWithRealTimeByDefault(t *testing.T) {
	srv := NewServer()
	defer srv.Close()
	require.False(t, srv.Frozen())
	t0 := srv.Now()
	deadline := time.Now().Add(10 * time.Second)
	for !srv.Now().After(t0) && time.Now().Before(deadline) {
		<-time.After(time.Millisecond)
	}
	require.True(t, srv.Now().After(t0), "the clock did not move with real time")

	// Advance adds to the reading; the clock keeps flowing from there.
	before := srv.Now()
	srv.Advance(24 * time.Hour)
	assert.False(t, srv.Now().Before(before.Add(24*time.Hour)))

	// SetNow sets the reading, and time flows on from it.
	at := time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
	srv.SetNow(at)
	ch := srv.Clock().After(5 * time.Millisecond)
	got := within(t, ch, "After on a flowing clock without Advance")
	assert.False(t, got.Before(at.Add(5*time.Millisecond)), "fired at %v, before its deadline", got)
	assert.True(t, srv.Now().Before(at.Add(time.Hour)), "SetNow did not set the reading: %v", srv.Now())

	// WithStartTime means "starts at t" and still flows.
	s2 := NewServer(WithStartTime(at))
	defer s2.Close()
	assert.False(t, s2.Frozen())
	assert.False(t, s2.Now().Before(at))
}

func TestClockAfterFiresByAdvanceWhileFlowing(t *testing.T) {
	srv := NewServer()
	defer srv.Close()
	ch := srv.Clock().After(time.Hour)
	assert.True(t, silent(ch))
	srv.Advance(time.Hour)
	within(t, ch, "After(1h) after Advance(1h)")
}

func TestFreezeStopsTheClock(t *testing.T) {
	srv := NewServer()
	defer srv.Close()
	srv.Freeze()
	require.True(t, srv.Frozen())
	pending := srv.Clock().After(5 * time.Millisecond)
	a := srv.Now()
	<-time.After(20 * time.Millisecond) // real time passes; the clock must not
	assert.Equal(t, a, srv.Now())
	assert.True(t, silent(pending), "a frozen clock's After fired by real time")
	srv.Advance(5 * time.Millisecond)
	within(t, pending, "After after Advance on a frozen clock")
}

func TestCloseStopsTheClockTimer(t *testing.T) {
	srv := NewServer()
	_ = srv.Clock().After(time.Hour)
	srv.clock.mu.Lock()
	require.NotNil(t, srv.clock.real, "a flowing clock with a waiter holds a real timer")
	srv.clock.mu.Unlock()
	srv.Close()
	srv.clock.mu.Lock()
	defer srv.clock.mu.Unlock()
	assert.Nil(t, srv.clock.real, "Close left the real timer running")
}

// The case: a client on the wall clock that exhausts a window must
// be able to retry after Retry-After real seconds (the window ends).
func TestRetryAfterIsHonestInRealTime(t *testing.T) {
	srv := NewServer(WithRateLimits(1, 10, 120), WithStartTime(minuteStart.Add(59*time.Second+500*time.Millisecond)))
	defer srv.Close()
	s := &tsrv{Server: srv, t: t}
	fx := s.seed(Seed{})
	body := map[string]any{"key": fx.License.Key}
	var h429 map[string]string
	for range 5 { // a slow machine may cross the minute; find a refusal
		st, h, _ := s.do("POST", "/licenses/validate-key", "", body)
		if st == 429 {
			h429 = map[string]string{"Retry-After": h.Get("Retry-After"), "Reset": h.Get("X-RateLimit-Reset")}
			break
		}
	}
	require.NotNil(t, h429, "never refused")
	retry, err := strconv.Atoi(h429["Retry-After"])
	require.NoError(t, err)
	assert.GreaterOrEqual(t, retry, 1)
	assert.LessOrEqual(t, retry, 60)
	reset, err := strconv.ParseInt(h429["Reset"], 10, 64)
	require.NoError(t, err)
	deadline := time.Now().Add(time.Duration(retry)*time.Second + 10*time.Second)
	status := 0
	for time.Now().Before(deadline) {
		if status, _, _ = s.do("POST", "/licenses/validate-key", "", body); status == 200 {
			break
		}
		<-time.After(20 * time.Millisecond)
	}
	require.Equal(t, 200, status, "retrying after Retry-After never helped")
	assert.GreaterOrEqual(t, s.Now().Unix(), reset, "served before X-RateLimit-Reset")
}
