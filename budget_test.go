package licentric_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/licentrictest"
)

type result struct {
	v   *licentric.Validation
	err error
}

// validateAsync starts Validate and returns once it waits on the clock. A
// call that ends without waiting fails the test.
func (s *sim) validateAsync(t *testing.T, ctx context.Context, c *licentric.Client, key string, opts ...licentric.ValidateOption) <-chan result {
	t.Helper()
	waiting := s.clk.Waiters()
	done := make(chan result, 1)
	go func() {
		v, err := c.Validate(ctx, key, opts...)
		done <- result{v, err}
	}()
	for s.clk.Waiters() <= waiting {
		select {
		case r := <-done:
			t.Fatalf("Validate did not wait: %+v, %v", r.v, r.err)
		default:
			runtime.Gosched()
		}
	}
	return done
}

// validate is mustValidate for a call that must not wait on the clock: a
// call that starts waiting fails the test instead of hanging it.
func (s *sim) validate(t *testing.T, c *licentric.Client, key string, opts ...licentric.ValidateOption) *licentric.Validation {
	t.Helper()
	waiting := s.clk.Waiters()
	done := make(chan result, 1)
	go func() {
		v, err := c.Validate(t.Context(), key, opts...)
		done <- result{v, err}
	}()
	for {
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatalf("Validate: %v", r.err)
			}
			return r.v
		default:
		}
		if s.clk.Waiters() > waiting {
			t.Fatal("Validate waited on the clock")
		}
		runtime.Gosched()
	}
}

func (s *sim) no429(t *testing.T) {
	t.Helper()
	for _, r := range s.srv.Requests() {
		if r.Status == http.StatusTooManyRequests {
			t.Fatalf("the server answered 429 to %s %s at %s", r.Method, r.Path, r.Time)
		}
	}
}

func TestBudgetSpentServesStaleOrWaits(t *testing.T) {
	s := newSim(t) // the server's real limits: 60 validations a minute
	c := s.client(t)
	l := s.license(t, licentric.LicenseRequest{})
	s.validate(t, c, l.Key)
	s.Advance(licentric.DefaultCacheTTL) // no longer fresh; a new window

	for i := range wire.LimitValidation {
		if v := s.validate(t, c, l.Key, licentric.WithEntitlements(fmt.Sprint("e", i))); v.FromCache {
			t.Fatalf("validation %d answered from the cache", i)
		}
	}
	sent := s.validations()

	// A cached key: the last result, marked stale, and no request.
	v := s.validate(t, c, l.Key)
	if !v.Valid || !v.Stale || !v.FromCache || !errors.Is(v.StaleReason, licentric.ErrBudgetExhausted) || !errors.Is(v.StaleReason, licentric.ErrRateLimited) {
		t.Fatalf("cached key with the budget spent: %+v", v)
	}

	// An uncached key waits for the next window...
	done := s.validateAsync(t, t.Context(), c, l.Key, licentric.WithEntitlements("late"))
	if n := s.validations(); n != sent {
		t.Fatalf("%d requests sent over the budget", n-sent)
	}
	s.Advance(time.Minute)
	r := <-done
	if r.err != nil || r.v.FromCache || r.v.Code != licentric.CodeEntitlementsMissing {
		t.Fatalf("after the window reset: %+v, %v", r.v, r.err)
	}

	// ...unless its context ends first.
	for i := range wire.LimitValidation - 1 {
		s.validate(t, c, l.Key, licentric.WithEntitlements(fmt.Sprint("f", i)))
	}
	sent = s.validations()
	ctx, cancel := context.WithCancel(t.Context())
	done = s.validateAsync(t, ctx, c, l.Key, licentric.WithEntitlements("never"))
	cancel()
	if r := <-done; !errors.Is(r.err, context.Canceled) || r.v != nil {
		t.Fatalf("cancelled wait: %+v, %v", r.v, r.err)
	}
	if n := s.validations(); n != sent {
		t.Fatalf("a cancelled wait sent %d requests", n-sent)
	}
	s.no429(t)
}

func TestBudgetCoversManagementCalls(t *testing.T) {
	s := newSim(t)
	c := s.client(t, licentric.WithRateBudget(licentric.TierManagement, 2))
	l := s.license(t, licentric.LicenseRequest{})
	for range 2 {
		if _, err := c.Licenses.Get(t.Context(), l.ID); err != nil {
			t.Fatal(err)
		}
	}
	waiting := s.clk.Waiters()
	done := make(chan error, 1)
	go func() {
		_, err := c.Licenses.Get(t.Context(), l.ID)
		done <- err
	}()
	for s.clk.Waiters() <= waiting {
		select {
		case err := <-done:
			t.Fatalf("third call within a budget of 2 did not wait: %v", err)
		default:
			runtime.Gosched()
		}
	}
	if n := s.srv.CountRequests(http.MethodGet, wire.ResourcePath(wire.PathLicenses, l.ID)); n != 2 {
		t.Fatalf("%d GETs with a budget of 2", n)
	}
	s.Advance(time.Minute)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Validation has its own budget, untouched.
	s.validate(t, c, l.Key)

	// Without a budget nothing waits, wherever WithoutRateBudget stands
	// among the options: a budget of 2 set after it is off too.
	for name, opts := range map[string][]licentric.Option{
		"before": {licentric.WithoutRateBudget(), licentric.WithRateBudget(licentric.TierManagement, 2)},
		"after":  {licentric.WithRateBudget(licentric.TierManagement, 2), licentric.WithoutRateBudget()},
	} {
		free := s.client(t, append(opts, licentric.WithoutValidationCache())...)
		waiting := s.clk.Waiters()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			for range 3 {
				if _, err := free.Licenses.Get(ctx, l.ID); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		for finished := false; !finished; {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("WithoutRateBudget %s WithRateBudget: %v", name, err)
				}
				finished = true
			default:
				if s.clk.Waiters() > waiting {
					cancel()
					t.Fatalf("WithoutRateBudget %s WithRateBudget: a call waited for the budget", name)
				}
				runtime.Gosched()
			}
		}
		cancel()
	}
}

// TestBudgetLearnsFromHeaders: another process on the same IP used most of
// the window; the client learns it from X-RateLimit-Remaining and waits
// instead of meeting 429s.
func TestBudgetLearnsFromHeaders(t *testing.T) {
	s := newSim(t)
	c := s.client(t)
	l := s.license(t, licentric.LicenseRequest{})
	const others = 50
	for range others {
		resp, err := s.srv.Client().Post(s.srv.URL+wire.APIPrefix+wire.PathValidateKey, wire.ContentTypeJSON,
			bytes.NewReader(fmt.Appendf(nil, `{"key":%q}`, l.Key)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for i := range wire.LimitValidation - others {
		s.validate(t, c, l.Key, licentric.WithEntitlements(fmt.Sprint("e", i)))
	}
	done := s.validateAsync(t, t.Context(), c, l.Key, licentric.WithEntitlements("next"))
	s.Advance(time.Minute)
	if r := <-done; r.err != nil || r.v.FromCache {
		t.Fatalf("next window: %+v, %v", r.v, r.err)
	}
	s.no429(t)
	if rl, ok := c.RateLimit(licentric.TierValidation); !ok || rl.Remaining != wire.LimitValidation-1 {
		t.Errorf("RateLimit = %+v, %v", rl, ok)
	}
}

// TestBudgetHonoursRetryAfter: after a 429 the tier is held back for
// Retry-After; nothing is sent meanwhile.
func TestBudgetHonoursRetryAfter(t *testing.T) {
	s := newSim(t)
	c := s.client(t, licentric.WithRetry(licentric.RetryPolicy{MaxRetries: 0, MinWait: time.Millisecond, MaxWait: time.Hour}))
	l := s.license(t, licentric.LicenseRequest{})
	s.srv.InjectFault(licentrictest.Fault{Path: wire.PathValidateKey, Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second})
	var rl *licentric.RateLimitError
	if _, err := c.Validate(t.Context(), l.Key); !errors.As(err, &rl) || rl.RetryAfter != 30*time.Second {
		t.Fatalf("429: %v", err)
	}
	sent := s.validations()
	done := s.validateAsync(t, t.Context(), c, l.Key)
	s.Advance(29 * time.Second)
	if n := s.validations(); n != sent {
		t.Fatalf("sent %d requests inside Retry-After", n-sent)
	}
	s.Advance(time.Second)
	if r := <-done; r.err != nil || !r.v.Valid {
		t.Fatalf("after Retry-After: %+v, %v", r.v, r.err)
	}
}

// TestLoadNeverSees429: 64 goroutines, 200,000 validations of 20 licenses
// over 10 simulated minutes against the server's real limits, one call in
// 97 insisting on a fresh answer (far more than the budget allows): every
// call is answered, the server never answers 429, and no minute window
// holds more than 60 validate-key requests.
func TestLoadNeverSees429(t *testing.T) {
	const (
		workers  = 64
		calls    = 200_000
		licenses = 20
		span     = 10 * time.Minute
		stepEach = 1000 // calls between clock steps
	)
	step := span / (calls / stepEach)
	s := newSim(t)
	c := s.client(t)
	keys := make([]string, licenses)
	for i := range keys {
		keys[i] = s.license(t, licentric.LicenseRequest{}).Key
	}

	var (
		next                       atomic.Int64
		fromCache, stale, answered atomic.Int64
		wg                         sync.WaitGroup
		failMu                     sync.Mutex
		failure                    error
	)
	// Time moves with the calls made; and, for liveness, whenever a call
	// waits on the clock (for a rate window) time moves for it too.
	var stop atomic.Bool
	driver := make(chan struct{})
	go func() {
		defer close(driver)
		for {
			s.clk.BlockUntil(1)
			if stop.Load() {
				return
			}
			s.Advance(step)
		}
	}()
	defer func() {
		stop.Store(true)
		s.clk.After(time.Hour) // wakes the driver
		<-driver
	}()
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > calls {
					return
				}
				var opts []licentric.ValidateOption
				if i%97 == 0 {
					opts = append(opts, licentric.WithFreshValidation())
				}
				v, err := c.Validate(t.Context(), keys[i%licenses], opts...)
				if err != nil || v == nil || !v.Valid {
					failMu.Lock()
					failure = fmt.Errorf("call %d: %+v, %w", i, v, err)
					failMu.Unlock()
					return
				}
				answered.Add(1)
				if v.FromCache {
					fromCache.Add(1)
				}
				if v.Stale {
					stale.Add(1)
				}
				if i%stepEach == 0 {
					s.Advance(step)
				}
			}
		})
	}
	wg.Wait()
	if failure != nil {
		t.Fatal(failure)
	}
	if n := answered.Load(); n != calls {
		t.Fatalf("%d of %d calls answered", n, calls)
	}
	s.no429(t)
	perWindow := map[int64]int{}
	total := 0
	for _, r := range s.srv.Requests() {
		if r.Path == wire.PathValidateKey {
			perWindow[r.Time.Unix()/60]++
			total++
		}
	}
	for w, n := range perWindow {
		if n > wire.LimitValidation {
			t.Errorf("window %s: %d validate-key requests", time.Unix(w*60, 0).UTC(), n)
		}
	}
	if len(perWindow) < 10 {
		t.Errorf("requests fell in %d windows; the test did not span 10 minutes", len(perWindow))
	}
	t.Logf("%d calls: %d requests, %d from cache (%d stale) over %d windows: %v", calls, total, fromCache.Load(), stale.Load(), len(perWindow), perWindow)
}
