package licentric_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/licentrictest"
)

// anStart is the frozen server time of the analytics tests: a Monday noon.
var anStart = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func anServer(t *testing.T, opts ...licentrictest.Option) *licentrictest.Server {
	t.Helper()
	srv := licentrictest.NewServer(append([]licentrictest.Option{licentrictest.WithFrozenClock(anStart)}, opts...)...)
	t.Cleanup(srv.Close)
	return srv
}

// anClient is a client of srv on srv's clock with API key key ("" for none).
func anClient(t *testing.T, srv *licentrictest.Server, key string, opts ...licentric.Option) *licentric.Client {
	t.Helper()
	if key == "" {
		return testkit.AppClient(t, srv, "", append([]licentric.Option{licentric.WithRetry(testkit.Retries(2))}, opts...)...)
	}
	return testkit.Client(t, srv, append([]licentric.Option{licentric.WithRetry(testkit.Retries(2)), licentric.WithAPIKey(key)}, opts...)...)
}

// TestAnalyticsCountsSeededStatuses seeds licenses of every status (and a
// deleted one), machines activated and deactivated, and validations that
// pass and fail, and checks every number Get reports, with the plan-limit
// rule: suspended, revoked and banned licenses count, expired and deleted
// ones don't.
func TestAnalyticsCountsSeededStatuses(t *testing.T) {
	srv := anServer(t)
	ctx := t.Context()
	env := licentrictest.EnvTest
	fx, err := srv.Seed(licentrictest.Seed{})
	require.NoError(t, err)
	c := anClient(t, srv, srv.TestAPIKey(), licentric.WithoutValidationCache())

	add := func(req licentric.LicenseRequest) *licentrictest.License {
		t.Helper()
		l, err := srv.AddLicense(env, fx.Policy.ID, req)
		require.NoError(t, err)
		return l
	}
	// fx.License plus two more active ones.
	active := []*licentrictest.License{fx.License, add(licentric.LicenseRequest{}), add(licentric.LicenseRequest{})}
	suspended := add(licentric.LicenseRequest{})
	_, err = srv.SetLicenseStatus(env, suspended.ID, "suspend")
	require.NoError(t, err)
	revoked := add(licentric.LicenseRequest{})
	_, err = srv.SetLicenseStatus(env, revoked.ID, "revoke")
	require.NoError(t, err)
	banned := add(licentric.LicenseRequest{})
	require.NoError(t, srv.BanLicense(env, banned.ID))
	// Two licenses that expire in 30 minutes, and one deleted.
	soon := licentric.Date(anStart.Add(30 * time.Minute))
	add(licentric.LicenseRequest{ExpiresAt: soon})
	add(licentric.LicenseRequest{ExpiresAt: soon})
	deleted := add(licentric.LicenseRequest{})
	require.NoError(t, c.Licenses.Delete(ctx, deleted.ID))
	// A license of the other environment counts in neither.
	_, err = srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive})
	require.NoError(t, err)

	// Three machines activated today, one of them deactivated again.
	for i, l := range active {
		m, err := c.Activate(ctx, l.Key, licentric.ActivateParams{Fingerprint: "fp-analytics-00" + string(rune('a'+i)), Name: "m", Platform: licentric.PlatformLinux})
		require.NoError(t, err)
		if i == 2 {
			require.NoError(t, c.Deactivate(ctx, l.Key, m.ID))
		}
	}

	srv.Advance(time.Hour) // the two licenses expire
	// Validations: two that pass (from the activated machines), three
	// that fail.
	for i, l := range []*licentrictest.License{active[0], active[1], suspended, revoked, banned} {
		v, err := c.Validate(ctx, l.Key, licentric.WithFingerprint("fp-analytics-00"+string(rune('a'+i))))
		require.NoError(t, err)
		require.Equal(t, i < 2, v.Valid, v.Code)
	}

	a, err := c.Analytics.Get(ctx)
	require.NoError(t, err)
	assert.False(t, a.FromCache)
	assert.Equal(t, licentric.LicenseCounts{Total: 8, Active: 3, Expired: 2, Suspended: 1, Revoked: 1, Banned: 1}, a.Licenses)
	assert.Equal(t, 6, a.BillableLicenses(), "8 licenses minus 2 expired; suspended, revoked and banned count")
	assert.Equal(t, licentric.ValidationCounts{Total: 5, Successful: 2, Failed: 3}, a.Validations)
	assert.Equal(t, licentric.MachineCounts{Total: 2, Active: 2, Dead: 0}, a.Machines, "the deactivated machine is gone")
	require.Len(t, a.Activations.Trend, 7)
	assert.Equal(t, "2026-02-24", a.Activations.Trend[0].Date)
	assert.Equal(t, licentric.DailyCount{Date: "2026-03-02", Count: 3}, a.Activations.Trend[6], "every activation of the day, the deactivated one too")
	for _, d := range a.Activations.Trend[:6] {
		assert.Zero(t, d.Count, d.Date)
	}
}

// TestAnalyticsCountsDeadMachines: a machine that misses its heartbeat is
// counted dead, one that beat in time active.
func TestAnalyticsCountsDeadMachines(t *testing.T) {
	srv := anServer(t)
	ctx := t.Context()
	fx, err := srv.Seed(licentrictest.Seed{Policy: licentric.PolicyRequest{
		RequireHeartbeat:         licentric.Value(true),
		HeartbeatIntervalMinutes: licentric.Value(60),
		HeartbeatCullStrategy:    licentric.Value(licentric.CullKeepDead),
	}})
	require.NoError(t, err)
	c := anClient(t, srv, srv.TestAPIKey())
	beating, err := c.Activate(ctx, fx.License.Key, licentric.ActivateParams{Fingerprint: "fp-beat-0000001", Name: "b", Platform: licentric.PlatformLinux})
	require.NoError(t, err)
	_, err = c.Activate(ctx, fx.License.Key, licentric.ActivateParams{Fingerprint: "fp-dead-0000002", Name: "d", Platform: licentric.PlatformLinux})
	require.NoError(t, err)
	srv.Advance(59 * time.Minute)
	_, err = c.Heartbeat(ctx, fx.License.Key, beating.ID)
	require.NoError(t, err)
	srv.Advance(2 * time.Minute)

	a, err := c.Analytics.Get(ctx)
	require.NoError(t, err)
	assert.Equal(t, licentric.MachineCounts{Total: 2, Active: 1, Dead: 1}, a.Machines)
}

// TestAnalyticsCachedForTTL: a second Get within DefaultAnalyticsTTL is
// answered from the cache with its age, asks nothing, and shows the old
// numbers; at the TTL, or with WithFreshAnalytics, the service is asked
// again and the new numbers show.
func TestAnalyticsCachedForTTL(t *testing.T) {
	srv := anServer(t)
	ctx := t.Context()
	fx, err := srv.Seed(licentrictest.Seed{})
	require.NoError(t, err)
	c := anClient(t, srv, srv.TestAPIKey())
	gets := func() int { return srv.CountRequests(http.MethodGet, "/analytics") }

	first, err := c.Analytics.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, first.Licenses.Total)
	assert.Equal(t, 1, gets())

	_, err = srv.AddLicense(licentrictest.EnvTest, fx.Policy.ID, licentric.LicenseRequest{})
	require.NoError(t, err)
	srv.Advance(licentric.DefaultAnalyticsTTL - time.Second)
	cached, err := c.Analytics.Get(ctx)
	require.NoError(t, err)
	assert.True(t, cached.FromCache)
	assert.Equal(t, licentric.DefaultAnalyticsTTL-time.Second, cached.Age)
	assert.Equal(t, 1, cached.Licenses.Total, "the cached numbers")
	assert.Equal(t, 1, gets(), "no request within the TTL")

	fresh, err := c.Analytics.Get(ctx, licentric.WithFreshAnalytics())
	require.NoError(t, err)
	assert.False(t, fresh.FromCache)
	assert.Zero(t, fresh.Age)
	assert.Equal(t, 2, fresh.Licenses.Total)
	assert.Equal(t, 2, gets())

	// The fresh answer replaced the cached one.
	srv.Advance(time.Second)
	again, err := c.Analytics.Get(ctx)
	require.NoError(t, err)
	assert.True(t, again.FromCache)
	assert.Equal(t, 2, again.Licenses.Total)
	assert.Equal(t, time.Second, again.Age)

	// A tighter max age for one call.
	_, err = c.Analytics.Get(ctx, licentric.WithAnalyticsMaxAge(time.Second))
	require.NoError(t, err)
	assert.Equal(t, 3, gets(), "an answer 1 s old is not younger than 1 s")

	srv.Advance(licentric.DefaultAnalyticsTTL)
	expired, err := c.Analytics.Get(ctx)
	require.NoError(t, err)
	assert.False(t, expired.FromCache)
	assert.Equal(t, 4, gets(), "at the TTL the service is asked again")
}

// TestAnalyticsResultIsTheCallersValue: changing a returned result does
// not change what the cache serves next.
func TestAnalyticsResultIsTheCallersValue(t *testing.T) {
	srv := anServer(t)
	_, err := srv.Seed(licentrictest.Seed{})
	require.NoError(t, err)
	c := anClient(t, srv, srv.TestAPIKey())
	a, err := c.Analytics.Get(t.Context())
	require.NoError(t, err)
	a.Licenses.Total = 99
	a.Activations.Trend[0].Count = 99
	b, err := c.Analytics.Get(t.Context())
	require.NoError(t, err)
	require.True(t, b.FromCache)
	assert.Equal(t, 1, b.Licenses.Total)
	assert.Zero(t, b.Activations.Trend[0].Count)
}

// TestAnalyticsErrorsAreNotCached: a failed Get leaves nothing behind; the
// next call asks again and succeeds.
func TestAnalyticsErrorsAreNotCached(t *testing.T) {
	srv := anServer(t)
	c := anClient(t, srv, srv.TestAPIKey())
	srv.InjectFault(licentrictest.Fault{Method: http.MethodGet, Path: "/analytics", Status: http.StatusInternalServerError, Times: 3})
	_, err := c.Analytics.Get(t.Context())
	require.ErrorIs(t, err, licentric.ErrServer)
	a, err := c.Analytics.Get(t.Context())
	require.NoError(t, err)
	assert.False(t, a.FromCache)
	assert.Equal(t, 4, srv.CountRequests(http.MethodGet, "/analytics"), "three failed attempts, then one that worked")
}

// TestAnalyticsNeedsKeyAndScope: without an API key Get fails before any
// request; a key without analytics:read is refused with ErrForbidden.
func TestAnalyticsNeedsKeyAndScope(t *testing.T) {
	srv := anServer(t)
	_, err := anClient(t, srv, "").Analytics.Get(t.Context())
	require.ErrorIs(t, err, licentric.ErrNoAPIKey)
	assert.Zero(t, srv.CountRequests(http.MethodGet, "/analytics"))

	key := srv.NewAPIKey(licentrictest.EnvTest, licentric.ScopeLicensesRead)
	_, err = anClient(t, srv, key).Analytics.Get(t.Context())
	require.ErrorIs(t, err, licentric.ErrForbidden)

	key = srv.NewAPIKey(licentrictest.EnvTest, licentric.ScopeAnalyticsRead)
	_, err = anClient(t, srv, key).Analytics.Get(t.Context())
	require.NoError(t, err)

	var nilCtx context.Context
	_, err = anClient(t, srv, key).Analytics.Get(nilCtx) // a nil context is refused
	require.ErrorIs(t, err, licentric.ErrInvalidArgument)
}

// gateTransport holds every request until release is closed, and reports
// each arrival on arrived.
type gateTransport struct {
	next    http.RoundTripper
	arrived chan *http.Request
	release chan struct{}
}

func (g *gateTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	g.arrived <- r
	select {
	case <-g.release:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return g.next.RoundTrip(r)
}

// TestAnalyticsConcurrentCallsShareOneRequest: calls made while a Get is
// in flight, and after it, cost no further request.
func TestAnalyticsConcurrentCallsShareOneRequest(t *testing.T) {
	srv := anServer(t)
	gate := &gateTransport{next: srv.Client().Transport, arrived: make(chan *http.Request, 16), release: make(chan struct{})}
	c := anClient(t, srv, srv.TestAPIKey(), licentric.WithHTTPClient(&http.Client{Transport: gate}))

	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	wg.Go(func() {
		_, err := c.Analytics.Get(t.Context())
		errs <- err
	})
	<-gate.arrived // the first request is in flight
	for range n - 1 {
		wg.Go(func() {
			_, err := c.Analytics.Get(t.Context())
			errs <- err
		})
	}
	close(gate.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, 1, srv.CountRequests(http.MethodGet, "/analytics"))
	assert.Empty(t, gate.arrived)
}

// TestAnalyticsCallerGivingUpCancelsTheRequest: when the only caller's
// context ends, Get returns its error and the request is abandoned, not
// left running; the next call starts a new one.
func TestAnalyticsCallerGivingUpCancelsTheRequest(t *testing.T) {
	srv := anServer(t)
	gate := &gateTransport{next: srv.Client().Transport, arrived: make(chan *http.Request, 16), release: make(chan struct{})}
	c := anClient(t, srv, srv.TestAPIKey(), licentric.WithHTTPClient(&http.Client{Transport: gate}),
		licentric.WithRetry(licentric.RetryPolicy{}))

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.Analytics.Get(ctx)
		done <- err
	}()
	req := <-gate.arrived
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled)
	<-req.Context().Done() // the abandoned request's context ended

	close(gate.release)
	a, err := c.Analytics.Get(t.Context())
	require.NoError(t, err)
	assert.False(t, a.FromCache, "the abandoned call cached nothing")
}

func TestBillableLicensesOfNil(t *testing.T) {
	var a *licentric.Analytics
	assert.Zero(t, a.BillableLicenses())
}
