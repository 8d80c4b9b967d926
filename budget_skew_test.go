package licentric_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/licentrictest"
)

// skewClock is the server's clock shifted by skew: a client machine whose
// clock runs ahead (skew > 0) or behind the service's. Its waits end when
// the server's clock moves.
type skewClock struct {
	srv  *licentrictest.Server
	skew time.Duration
}

func (c skewClock) Now() time.Time                         { return c.srv.Now().Add(c.skew) }
func (c skewClock) After(d time.Duration) <-chan time.Time { return c.srv.Clock().After(d) }

// holdAcross delivers the first n responses only once the server's clock
// has passed boundary: requests the server counted in one window whose
// answers reach the client in the next.
type holdAcross struct {
	next     http.RoundTripper
	srv      *licentrictest.Server
	boundary time.Time
	n        atomic.Int32
}

func (h *holdAcross) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := h.next.RoundTrip(req)
	if err != nil || h.n.Add(-1) < 0 {
		return resp, err
	}
	if wait := h.boundary.Sub(h.srv.Now()); wait > 0 {
		select {
		case <-h.srv.Clock().After(wait):
		case <-req.Context().Done():
		}
	}
	return resp, nil
}

// TestBudgetFollowsServiceWindowsUnderSkew validates 100 licenses from 32
// goroutines on a client whose clock is off by seconds to minutes, across
// the service's window boundaries and the client's own minute boundaries,
// with answers in flight across them: the service never answers 429 and
// never counts more than 60 validations in one of its windows.
func TestBudgetFollowsServiceWindowsUnderSkew(t *testing.T) {
	for _, skew := range []time.Duration{20 * time.Second, -20 * time.Second, 5 * time.Minute, -5 * time.Minute} {
		for _, before := range []time.Duration{2 * time.Second, 30 * time.Second, 55 * time.Second} {
			t.Run(skew.String()+"/"+before.String()+"_before_the_boundary", func(t *testing.T) {
				boundary := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
				srv := licentrictest.NewServer(licentrictest.WithFrozenClock(boundary.Add(-before)))
				t.Cleanup(srv.Close)
				keys := make([]string, 100)
				for i := range keys {
					fx, err := srv.Seed(licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
					require.NoError(t, err)
					keys[i] = fx.License.Key
				}
				hold := &holdAcross{next: srv.Client().Transport, srv: srv, boundary: boundary}
				hold.n.Store(10)
				c, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithAPIKey(srv.TestAPIKey()),
					licentric.WithHTTPClient(&http.Client{Transport: hold}), licentric.WithClock(skewClock{srv, skew}),
					licentric.WithRetry(testkit.NoRetry))
				require.NoError(t, err)

				var done atomic.Int32
				results := make([]*licentric.Validation, len(keys))
				errs := make([]error, len(keys))
				var wg sync.WaitGroup
				next := atomic.Int32{}
				for range 32 {
					wg.Go(func() {
						for {
							i := int(next.Add(1)) - 1
							if i >= len(keys) {
								return
							}
							results[i], errs[i] = c.Validate(t.Context(), keys[i])
							done.Add(1)
						}
					})
				}
				// Move time in small steps until every call is answered.
				deadline := time.Now().Add(60 * time.Second)
				for done.Load() < int32(len(keys)) {
					require.True(t, time.Now().Before(deadline), "calls stuck: %d of %d answered", done.Load(), len(keys))
					last := done.Load()
					settle := time.Now().Add(20 * time.Millisecond)
					for time.Now().Before(settle) && done.Load() < int32(len(keys)) {
						if done.Load() != last {
							last, settle = done.Load(), time.Now().Add(20*time.Millisecond)
						}
						time.Sleep(time.Millisecond) // polling for quiescence, not for an outcome
					}
					srv.Advance(5 * time.Second)
				}
				wg.Wait()

				perWindow := map[int64]int{}
				for _, r := range srv.Requests() {
					if r.Method != http.MethodPost || r.Path != wire.PathValidateKey {
						continue
					}
					assert.NotEqual(t, http.StatusTooManyRequests, r.Status, "a validation met 429 at %v", r.Time)
					perWindow[r.Time.Unix()/60]++
				}
				for w, n := range perWindow {
					assert.LessOrEqual(t, n, 60, "window %v counted %d validations", time.Unix(w*60, 0).UTC(), n)
				}
				for i := range keys {
					if assert.NoError(t, errs[i], "key %d", i) {
						assert.True(t, results[i].Valid && !results[i].Stale, "key %d: %+v", i, results[i])
					}
				}
			})
		}
	}
}

// TestBudgetWaitPastContextIsBudgetExhausted: a call the budget holds back
// beyond its context fails with ErrBudgetExhausted (and the context's
// error), not a bare deadline.
func TestBudgetWaitPastContextIsBudgetExhausted(t *testing.T) {
	srv := licentrictest.NewServer(licentrictest.WithFrozenClock(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)))
	t.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	require.NoError(t, err)
	c, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithHTTPClient(srv.Client()),
		licentric.WithAPIKey(srv.TestAPIKey()), licentric.WithClock(srv.Clock()),
		licentric.WithRateBudget(licentric.TierValidation, 1), licentric.WithoutValidationCache())
	require.NoError(t, err)
	_, err = c.Validate(t.Context(), fx.License.Key)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = c.Validate(ctx, fx.License.Key)
	assert.ErrorIs(t, err, licentric.ErrBudgetExhausted)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 1, srv.CountRequests(http.MethodPost, wire.PathValidateKey))
}
