package licentric_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/licentrictest"
)

// downFleet is a Fleet whose backend is unreachable: every call fails at
// once. It records the windows the budget offered units to, as a Fleet
// that charges them when its backend is back (package fleet) sees them.
type downFleet struct {
	share int
	up    bool // set before use: the counter grants every unit

	mu      sync.Mutex
	offered map[int64]int // window end (Unix seconds) → units offered
}

var errBackendDown = errors.New("backend down")

func (f *downFleet) GetResult(context.Context, string, string) ([]byte, string, bool, error) {
	return nil, "", false, errBackendDown
}

func (f *downFleet) SetResult(context.Context, string, string, string, []byte, time.Duration) error {
	return errBackendDown
}

func (f *downFleet) InvalidateLicense(context.Context, string, bool) error { return errBackendDown }
func (f *downFleet) InvalidateAll(context.Context) error                   { return errBackendDown }
func (f *downFleet) Subscribe(func(string, bool)) func()                   { return func() {} }
func (f *downFleet) LocalShare(int) int                                    { return f.share }

func (f *downFleet) TakeBudget(_ context.Context, _ string, windowEnd time.Time, _ int) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.offered == nil {
		f.offered = map[int64]int{}
	}
	f.offered[windowEnd.Unix()]++
	if f.up {
		return true, nil
	}
	return false, errBackendDown
}

func (f *downFleet) setUp(up bool) {
	f.mu.Lock()
	f.up = up
	f.mu.Unlock()
}

func (f *downFleet) Acquire(context.Context, string, time.Duration) (func(), bool, error) {
	return func() {}, false, errBackendDown
}

func (f *downFleet) offeredTo(windowEnd time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.offered[windowEnd.Unix()]
}

// With its fleet down a client keeps to its local share of each window,
// and every validation is still answered; a unit sent within two seconds
// of a window's end is offered to the fleet for the next window too, so
// that when the backend is back the other members count it in whichever
// window the service did.
func TestFleetDownKeepsToLocalShareAndOwesBothWindowsAtABoundary(t *testing.T) {
	window := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) // the end of the first window
	srv := licentrictest.NewServer(licentrictest.WithFrozenClock(window.Add(-30 * time.Second)))
	t.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	require.NoError(t, err)
	keys := []string{fx.License.Key}
	for range 4 {
		l, err := srv.AddLicense(fx.Env, fx.Policy.ID, licentrictest.LicenseRequest{})
		require.NoError(t, err)
		keys = append(keys, l.Key)
	}
	f := &downFleet{share: 3}
	c := testkit.Client(t, srv, licentric.WithFleet(f), licentric.WithRetry(testkit.NoRetry))
	validate := func(key string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // a validation held back fails the test
		defer cancel()
		v, err := c.Validate(ctx, key)
		require.NoError(t, err, "a fleet that is down must not fail a validation")
		require.True(t, v.Valid)
	}

	// Mid-window: each unit is offered to its window only.
	validate(keys[0])
	validate(keys[1])
	assert.Equal(t, 2, f.offeredTo(window))
	assert.Zero(t, f.offeredTo(window.Add(time.Minute)))

	// A second before the end: owed to both windows.
	srv.Advance(29 * time.Second)
	validate(keys[2])
	assert.Equal(t, 3, f.offeredTo(window))
	assert.Equal(t, 1, f.offeredTo(window.Add(time.Minute)), "a unit sent a second before the end is owed to the next window too")

	// The local share (3) of this window is spent: the fourth waits for
	// the next window, where it is sent at once.
	done := make(chan struct{})
	go func() {
		defer close(done)
		validate(keys[3])
	}()
	before := srv.CountRequests("POST", "/licenses/validate-key")
	require.Eventually(t, func() bool { return srv.Clock().Waiters() > 0 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, before, srv.CountRequests("POST", "/licenses/validate-key"), "sent beyond the local share")
	srv.Advance(2 * time.Second)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the validation waiting for the next window was not answered")
	}
	assert.Equal(t, before+1, srv.CountRequests("POST", "/licenses/validate-key"))
}

// When the fleet fails in the middle of a window in which its shared
// counter granted units, the other members may have taken the rest of the
// limit through it: what the service counted of theirs counts against
// this member's local share. In the next window, spent on its own, only
// its own units do.
func TestFleetFailingMidWindowCountsTheOthers(t *testing.T) {
	window := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	srv := licentrictest.NewServer(licentrictest.WithFrozenClock(window.Add(-50 * time.Second)))
	t.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	require.NoError(t, err)
	keys := []string{fx.License.Key}
	for range 16 {
		l, err := srv.AddLicense(fx.Env, fx.Policy.ID, licentrictest.LicenseRequest{})
		require.NoError(t, err)
		keys = append(keys, l.Key)
	}
	newClient := func(f licentric.Fleet) *licentric.Client {
		if f == nil {
			return testkit.Client(t, srv, licentric.WithRetry(testkit.NoRetry))
		}
		return testkit.Client(t, srv, licentric.WithRetry(testkit.NoRetry), licentric.WithFleet(f))
	}
	validate := func(c *licentric.Client, key string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // a validation held back fails the test
		defer cancel()
		v, err := c.Validate(ctx, key)
		require.NoError(t, err)
		require.True(t, v.Valid)
	}
	requests := func() int { return srv.CountRequests("POST", "/licenses/validate-key") }

	// The other members (one client here, on the same address) send 8.
	others := newClient(nil)
	for _, k := range keys[:8] {
		validate(others, k)
	}
	f := &downFleet{share: 3}
	f.setUp(true)
	c := newClient(f)
	validate(c, keys[8]) // through the shared counter
	f.setUp(false)

	// Down mid-window: 9 counted already, over the share of 3.
	done := make(chan struct{})
	go func() {
		defer close(done)
		validate(c, keys[9])
	}()
	require.Eventually(t, func() bool { return srv.Clock().Waiters() > 0 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, 9, requests(), "sent beyond the local share in a window the others used")

	// The next window is this member's own: its share, whatever the
	// others send in it.
	srv.Advance(51 * time.Second)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the validation waiting for the next window was not answered")
	}
	var sentAt []time.Time
	for _, r := range srv.Requests() {
		if r.Path == "/licenses/validate-key" {
			sentAt = append(sentAt, r.Time)
		}
	}
	require.Len(t, sentAt, 10)
	assert.False(t, sentAt[9].Before(window), "sent in the window the others used")
	for _, k := range keys[13:17] {
		validate(others, k) // 5 counted in this window now, over the share of 3
	}
	validate(c, keys[10])
	validate(c, keys[11])
	assert.Equal(t, 16, requests(), "its own share of the next window")
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Validate(ctx, keys[12])
		errc <- err
	}()
	require.Eventually(t, func() bool { return srv.Clock().Waiters() > 0 }, 10*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-errc, licentric.ErrBudgetExhausted, "past its share, it waits for the next window")
	assert.Equal(t, 16, requests())
}

// memFleet is a Fleet in memory whose results part works (the budget and
// locks always grant); it counts GetResult calls.
type memFleet struct {
	mu      sync.Mutex
	results map[string][]byte
	gets    int
}

func (f *memFleet) GetResult(_ context.Context, license, request string) ([]byte, string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	b, ok := f.results[license+"/"+request]
	return b, "v", ok, nil
}

func (f *memFleet) SetResult(_ context.Context, license, request, _ string, value []byte, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.results == nil {
		f.results = map[string][]byte{}
	}
	f.results[license+"/"+request] = append([]byte(nil), value...)
	return nil
}

func (f *memFleet) InvalidateLicense(context.Context, string, bool) error { return nil }
func (f *memFleet) InvalidateAll(context.Context) error                   { return nil }
func (f *memFleet) Subscribe(func(string, bool)) func()                   { return func() {} }
func (f *memFleet) LocalShare(limit int) int                              { return limit }
func (f *memFleet) TakeBudget(context.Context, string, time.Time, int) (bool, error) {
	return true, nil
}
func (f *memFleet) Acquire(context.Context, string, time.Duration) (func(), bool, error) {
	return func() {}, true, nil
}

func (f *memFleet) getCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets
}

// A member that lacks a local copy is answered from the fleet, for all its
// concurrent callers of the key, and asks the service nothing.
func TestFleetMemberWithoutLocalCopyIsAnsweredFromTheFleet(t *testing.T) {
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits())
	t.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	require.NoError(t, err)
	f := &memFleet{}
	newMember := func() *licentric.Client {
		return testkit.Client(t, srv, licentric.WithFleet(f))
	}
	v, err := newMember().Validate(t.Context(), fx.License.Key)
	require.NoError(t, err)
	require.True(t, v.Valid)
	require.Equal(t, 1, srv.CountRequests("POST", "/licenses/validate-key"))

	other := newMember() // an empty local cache
	before := f.getCount()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			v, err := other.Validate(t.Context(), fx.License.Key)
			assert.NoError(t, err)
			assert.True(t, v.Valid)
			assert.True(t, v.FromCache)
			assert.Equal(t, fx.License.ID, v.License.ID)
		})
	}
	wg.Wait()
	assert.Equal(t, 1, srv.CountRequests("POST", "/licenses/validate-key"), "the service was asked again")
	assert.GreaterOrEqual(t, f.getCount()-before, 1, "the fleet was not asked")
}
