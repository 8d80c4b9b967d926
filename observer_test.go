package licentric_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/licentrictest"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu          sync.Mutex
	starts      []*licentric.Call
	attempts    []licentric.Attempt
	ends        []recordedEnd
	validations []string // "CODE/source"
	waits       []string // tiers
	fallbacks   []licentric.FleetOperation
	guards      []licentric.GuardEvent

	// start, when set, is what StartCall does instead of returning ctx.
	start func(ctx context.Context, h licentric.RequestHeader) context.Context
	// panicIn names the hook that panics, once.
	panicIn string
}

type recordedEnd struct {
	call *licentric.Call
	end  licentric.CallEnd
}

func (r *recorder) maybePanic(hook string) {
	r.mu.Lock()
	p := r.panicIn == hook
	if p {
		r.panicIn = ""
	}
	r.mu.Unlock()
	if p {
		panic("observer bug in " + hook)
	}
}

func (r *recorder) StartCall(ctx context.Context, call *licentric.Call, h licentric.RequestHeader) context.Context {
	r.maybePanic("StartCall")
	r.mu.Lock()
	r.starts = append(r.starts, call)
	start := r.start
	r.mu.Unlock()
	if start != nil {
		return start(ctx, h)
	}
	return ctx
}

func (r *recorder) EndAttempt(_ context.Context, _ *licentric.Call, a *licentric.Attempt) {
	r.maybePanic("EndAttempt")
	r.mu.Lock()
	r.attempts = append(r.attempts, *a)
	r.mu.Unlock()
}

func (r *recorder) EndCall(_ context.Context, call *licentric.Call, e *licentric.CallEnd) {
	r.maybePanic("EndCall")
	r.mu.Lock()
	r.ends = append(r.ends, recordedEnd{call, *e})
	r.mu.Unlock()
}

func (r *recorder) Validation(_ context.Context, code licentric.Code, src licentric.ValidationSource) {
	r.maybePanic("Validation")
	r.mu.Lock()
	r.validations = append(r.validations, string(code)+"/"+string(src))
	r.mu.Unlock()
}

func (r *recorder) BudgetWait(_ context.Context, tier licentric.Tier, _ time.Duration) {
	r.maybePanic("BudgetWait")
	r.mu.Lock()
	r.waits = append(r.waits, string(tier))
	r.mu.Unlock()
}

func (r *recorder) FleetFallback(_ context.Context, op licentric.FleetOperation) {
	r.mu.Lock()
	r.fallbacks = append(r.fallbacks, op)
	r.mu.Unlock()
}

func (r *recorder) GuardState(e *licentric.GuardEvent) {
	r.mu.Lock()
	r.guards = append(r.guards, *e)
	r.mu.Unlock()
}

func (r *recorder) lastEnd(t *testing.T) licentric.CallEnd {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(t, r.ends)
	return r.ends[len(r.ends)-1].end
}

var _ licentric.Observer = (*recorder)(nil)

// observedClient is a client of srv reporting to obs.
func observedClient(t *testing.T, srv *licentrictest.Server, obs licentric.Observer, opts ...licentric.Option) *licentric.Client {
	t.Helper()
	return testkit.WallClient(t, srv, append([]licentric.Option{licentric.WithObserver(obs), licentric.WithRetry(testkit.Retries(1))}, opts...)...)
}

func TestWithObserverRefusesNil(t *testing.T) {
	_, err := licentric.NewClient(licentric.WithObserver(nil))
	assert.ErrorIs(t, err, licentric.ErrInvalidArgument)
}

// Every call the client makes is told to the observer once, named by the
// template of the path the server received, and ends once.
func TestObserverNamesEveryCallByItsTemplate(t *testing.T) {
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits())
	t.Cleanup(srv.Close)
	obs := &recorder{}
	c := observedClient(t, srv, obs)
	ctx := t.Context()
	must := func(_ any, err error) { t.Helper(); require.NoError(t, err) }

	p, err := c.Products.Create(ctx, &licentric.ProductRequest{Name: licentric.Value("P"), Code: licentric.Value("p-otel")})
	require.NoError(t, err)
	must(c.Products.Get(ctx, p.ID))
	must(c.Products.Update(ctx, p.ID, &licentric.ProductRequest{Name: licentric.Value("P2")}))
	must(c.Products.ListPage(ctx, nil))
	e, err := c.Entitlements.Create(ctx, &licentric.EntitlementRequest{Code: licentric.Value("pro"), Name: licentric.Value("Pro")})
	require.NoError(t, err)
	must(c.Entitlements.Get(ctx, e.ID))
	pol, err := c.Policies.Create(ctx, &licentric.PolicyRequest{ProductID: licentric.Value(p.ID), Name: licentric.Value("Pol"),
		MaxMachines: licentric.Value(3), OfflineAllowed: licentric.Value(true), DurationDays: licentric.Value(30)})
	require.NoError(t, err)
	must(c.Policies.AttachEntitlements(ctx, pol.ID, "pro"))
	must(c.Policies.DetachEntitlements(ctx, pol.ID, "pro"))
	lic, err := c.Licenses.Create(ctx, &licentric.LicenseRequest{ProductID: licentric.Value(p.ID), PolicyID: licentric.Value(pol.ID)})
	require.NoError(t, err)
	must(c.Licenses.Get(ctx, lic.ID))
	must(c.Licenses.GetByKey(ctx, lic.Key))
	must(c.Licenses.AttachEntitlements(ctx, lic.ID, "pro"))
	must(c.Validate(ctx, lic.Key, licentric.WithFingerprint("observer-fingerprint-1")))
	m, err := c.Activate(ctx, lic.Key, licentric.ActivateParams{Fingerprint: "observer-fingerprint-1"})
	require.NoError(t, err)
	must(c.Heartbeat(ctx, lic.Key, m.ID))
	must(c.GetMachine(ctx, lic.Key, m.ID))
	must(c.Machines.Get(ctx, m.ID))
	must(c.Checkout(ctx, lic.ID, licentric.CheckoutParams{Fingerprint: "observer-fingerprint-1"}))
	require.NoError(t, c.Deactivate(ctx, lic.Key, m.ID))
	must(c.Licenses.Suspend(ctx, lic.ID))
	must(c.Licenses.Reinstate(ctx, lic.ID))
	must(c.Licenses.Renew(ctx, lic.ID))
	must(c.Licenses.Revoke(ctx, lic.ID))
	require.NoError(t, c.Licenses.Delete(ctx, lic.ID))
	wh, err := c.Webhooks.Create(ctx, &licentric.WebhookRequest{URL: licentric.Value("https://example.com/hook")})
	require.NoError(t, err)
	require.NoError(t, c.Webhooks.Delete(ctx, wh.ID))
	must(c.Keys.GetSigningKey(ctx))
	must(c.Analytics.Get(ctx))
	a, err := c.Agents.Create(ctx, &licentric.AgentRequest{Name: "bot"})
	require.NoError(t, err)
	must(c.Agents.SetMeter(ctx, a.ID, "api_calls", &licentric.MeterLimits{Period: "month"}))
	tok, err := c.Agents.Authorize(ctx, a.ID, "mcp:invoke")
	require.NoError(t, err)
	must(c.Agents.Verify(ctx, tok.Token, nil))
	require.NoError(t, c.Agents.Delete(ctx, a.ID))

	reqs := srv.Requests()
	obs.mu.Lock()
	defer obs.mu.Unlock()
	require.Len(t, obs.starts, len(reqs))
	require.Len(t, obs.ends, len(reqs))
	seen := map[string]bool{}
	for i, req := range reqs {
		call := obs.starts[i]
		tmpl, ok := wire.TemplateOf(req.Method, req.Path)
		require.True(t, ok, "%s %s", req.Method, req.Path)
		assert.Equal(t, req.Method, call.Method)
		assert.Equal(t, wire.APIPrefix+tmpl, call.URLTemplate, "%s %s", req.Method, req.Path)
		assert.Equal(t, "127.0.0.1", call.ServerAddress)
		assert.Equal(t, licentric.Tier(wire.TierOf(req.Method, req.Path)), call.Tier)
		assert.Same(t, call, obs.ends[i].call)
		assert.Equal(t, req.Status, obs.ends[i].end.StatusCode)
		assert.Equal(t, 1, obs.ends[i].end.Attempts)
		assert.Empty(t, obs.ends[i].end.ErrorType)
		seen[call.URLTemplate] = true
	}
	assert.Len(t, obs.attempts, len(reqs))
	assert.Greater(t, len(seen), 20, "distinct templates")
	assert.Equal(t, []string{"FINGERPRINT_NOT_FOUND/service"}, obs.validations)
}

// What an observer does cannot change a call: the context it returns lends
// values, not cancellation; headers it sets cannot replace the client's.
func TestObserverCannotChangeACall(t *testing.T) {
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits())
	t.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive,
		Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	require.NoError(t, err)
	var mu sync.Mutex
	var got []http.Header
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Clone())
		mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	type key struct{}
	obs := &recorder{start: func(ctx context.Context, h licentric.RequestHeader) context.Context {
		h.Set("Authorization", "Bearer lk_test_injected0000000000000000")
		h.Set("Content-Type", "text/plain")
		h.Set("X-Bad", "a\r\nInjected: yes")
		h.Set("Bad Name", "x")
		h.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
		assert.Equal(t, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", h.Get("Traceparent"))
		assert.Equal(t, []string{"Traceparent"}, h.Keys())
		cctx, cancel := context.WithCancel(context.WithValue(ctx, key{}, "observer value"))
		cancel() // an observer's cancelled context does not end the call
		return cctx
	}}
	c, err := licentric.NewClient(licentric.WithBaseURL(front.URL), licentric.WithObserver(obs))
	require.NoError(t, err)
	v, err := c.Validate(t.Context(), fx.License.Key)
	require.NoError(t, err)
	assert.True(t, v.Valid)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 1)
	assert.Empty(t, got[0].Get("Authorization"), "validate-key without an API key")
	assert.Equal(t, "application/json", got[0].Get("Content-Type"))
	assert.Empty(t, got[0].Get("X-Bad"))
	assert.Empty(t, got[0].Get("Injected"))
	assert.Equal(t, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", got[0].Get("Traceparent"))
	assert.Empty(t, obs.lastEnd(t).ErrorType)
}

// An observer that panics is the application's bug; it leaves the client
// usable: no lock held, no unit of the rate budget lost.
func TestPanickingObserverLeavesTheClientUsable(t *testing.T) {
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits())
	t.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	require.NoError(t, err)
	obs := &recorder{}
	c := observedClient(t, srv, obs, licentric.WithRateBudget(licentric.TierManagement, 3))
	_, err = c.Validate(t.Context(), fx.License.Key) // cached from now on
	require.NoError(t, err)
	for _, hook := range []string{"StartCall", "EndAttempt", "EndCall", "Validation"} {
		obs.mu.Lock()
		obs.panicIn = hook
		obs.mu.Unlock()
		func() {
			defer func() { assert.NotNil(t, recover(), hook) }()
			if hook == "Validation" {
				_, _ = c.Validate(t.Context(), fx.License.Key)
				return
			}
			_, _ = c.Products.Get(t.Context(), fx.Product.ID)
		}()
	}
	// The calls that panicked took only the units of the requests they
	// sent (two of the 3 a minute): the third goes through at once.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err = c.Validate(ctx, fx.License.Key)
	require.NoError(t, err)
	_, err = c.Licenses.Get(ctx, fx.License.ID)
	require.NoError(t, err)
}

// A call that fails is told with a small, fixed error.type for each way
// the network breaks, and for the client's own refusals.
func TestErrorTypesOfFailedCalls(t *testing.T) {
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits())
	t.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{})
	require.NoError(t, err)
	once := licentric.RetryPolicy{MaxRetries: 0, AttemptTimeout: 100 * time.Millisecond}

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	refusedURL := "http://" + closed.Addr().String()
	require.NoError(t, closed.Close())
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(tlsSrv.Close)
	redirect := httptest.NewServer(http.RedirectHandler("http://127.0.0.2:1/elsewhere", http.StatusFound))
	t.Cleanup(redirect.Close)
	malformed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":`))
	}))
	t.Cleanup(malformed.Close)

	cases := []struct {
		name    string
		base    string
		opts    []licentric.Option
		prepare func()
		ctx     func() (context.Context, context.CancelFunc)
		want    string
	}{
		{name: "refused", base: refusedURL, want: licentric.ErrorTypeConnectionRefused},
		{name: "dns", base: "https://licentric-observer-test.invalid", want: licentric.ErrorTypeDNS},
		{name: "tls", base: tlsSrv.URL, want: licentric.ErrorTypeTLS},
		{name: "redirect", base: redirect.URL, want: licentric.ErrorTypeRedirect},
		{name: "malformed", base: malformed.URL, want: licentric.ErrorTypeMalformedResponse},
		{name: "hang", base: srv.URL, want: licentric.ErrorTypeTimeout,
			prepare: func() { srv.InjectFault(licentrictest.Fault{Hang: true}) }},
		{name: "server error", base: srv.URL, want: "500",
			prepare: func() { srv.InjectFault(licentrictest.Fault{Status: 500}) }},
		{name: "canceled", base: srv.URL, want: licentric.ErrorTypeCanceled,
			prepare: func() { srv.InjectFault(licentrictest.Fault{Hang: true}) },
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(20*time.Millisecond, cancel)
				return ctx, cancel
			}},
		{name: "no API key", base: srv.URL, opts: []licentric.Option{}, want: licentric.ErrorTypeInvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obs := &recorder{}
			opts := []licentric.Option{licentric.WithBaseURL(tc.base), licentric.WithObserver(obs), licentric.WithRetry(once)}
			if tc.opts == nil {
				opts = append(opts, licentric.WithAPIKey(srv.TestAPIKey()))
			}
			if tc.base == srv.URL {
				opts = append(opts, licentric.WithHTTPClient(srv.Client()))
			}
			c, err := licentric.NewClient(opts...)
			require.NoError(t, err)
			if tc.prepare != nil {
				tc.prepare()
				t.Cleanup(srv.ClearFaults)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if tc.ctx != nil {
				ctx, cancel = tc.ctx()
			}
			defer cancel()
			_, err = c.Licenses.Get(ctx, fx.License.ID)
			require.Error(t, err)
			end := obs.lastEnd(t)
			assert.Equal(t, tc.want, end.ErrorType, "%v", err)
			assert.Equal(t, err, end.Err)
			obs.mu.Lock()
			defer obs.mu.Unlock()
			assert.Len(t, obs.ends, 1)
			assert.Len(t, obs.attempts, end.Attempts)
			for _, a := range obs.attempts {
				if a.StatusCode >= 200 && a.StatusCode < 300 {
					assert.Empty(t, a.ErrorType, "an attempt answered %d succeeded; the call failed after it", a.StatusCode)
				} else {
					assert.NotEmpty(t, a.ErrorType)
				}
			}
		})
	}
}

// A call held back by the rate budget past its context is told: a wait,
// then budget_exhausted with no attempt.
func TestObserverSeesBudgetWaitsAndExhaustion(t *testing.T) {
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits(), licentrictest.WithFrozenClock(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)))
	t.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{})
	require.NoError(t, err)
	obs := &recorder{}
	c := observedClient(t, srv, obs, licentric.WithClock(srv.Clock()), licentric.WithRateBudget(licentric.TierManagement, 1))
	_, err = c.Licenses.Get(t.Context(), fx.License.ID)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = c.Licenses.Get(ctx, fx.License.ID)
	require.ErrorIs(t, err, licentric.ErrBudgetExhausted)
	end := obs.lastEnd(t)
	assert.Equal(t, licentric.ErrorTypeBudgetExhausted, end.ErrorType)
	assert.Zero(t, end.Attempts)
	assert.Zero(t, end.StatusCode)
	obs.mu.Lock()
	defer obs.mu.Unlock()
	assert.Equal(t, []string{string(licentric.TierManagement)}, obs.waits)
}

// A guard built on the client tells its decisions, with the license file
// in force, and its close.
func TestGuardReportsToTheClientsObserver(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	obs := &recorder{}
	c := e.client(t, licentric.WithObserver(obs))
	g, err := licentric.NewGuard(c, e.fx.License.Key, e.file())
	require.NoError(t, err)
	st, err := g.Start(t.Context())
	require.NoError(t, err)
	require.True(t, st.Allowed)
	file, err := e.verifier(t).VerifyFile(e.path)
	require.NoError(t, err)

	e.net.down.Store(true)
	st, err = g.Recheck(t.Context())
	require.NoError(t, err)
	require.Equal(t, licentric.SourceLicenseFile, st.Source)
	require.NoError(t, g.Close(context.Background()))

	obs.mu.Lock()
	defer obs.mu.Unlock()
	require.Len(t, obs.guards, 3)
	for i, ev := range obs.guards {
		assert.Same(t, g, ev.Guard)
		assert.NotNil(t, ev.Clock)
		assert.True(t, ev.LicenseFileExpiresAt.Equal(file.ExpiresAt), "event %d", i)
		assert.Equal(t, i == 2, ev.Closed)
	}
	assert.Equal(t, licentric.SourceService, obs.guards[0].State.Source)
	assert.Equal(t, licentric.SourceLicenseFile, obs.guards[1].State.Source)
	assert.True(t, obs.guards[1].State.Allowed)
	assert.Equal(t, licentric.SourceLicenseFile, obs.guards[2].State.Source)
}

// Without an observer, a cached Validate allocates what it did before
// observers existed: the cache key and the result (BENCHMARKS.md).
func TestCachedValidateWithoutObserverAllocatesAsBefore(t *testing.T) {
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits())
	t.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	require.NoError(t, err)
	c := testkit.WallClient(t, srv)
	ctx := t.Context()
	_, err = c.Validate(ctx, fx.License.Key)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		v, err := c.Validate(ctx, fx.License.Key)
		if err != nil || !v.FromCache {
			panic("not a cache hit")
		}
	})
	assert.LessOrEqual(t, allocs, 1.0, "a cached Validate allocates the caller's copy of the result and nothing else")
}

// A guard closed while it starts tells the observer its close last: no
// event follows it (an observer drops its records of the guard then, and
// one that came after would be kept forever).
func TestGuardObserverHearsTheCloseLast(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	obs := &recorder{}
	c := e.client(t, licentric.WithObserver(obs))
	guards := make([]*licentric.Guard, 200)
	for i := range guards {
		g, err := licentric.NewGuard(c, e.fx.License.Key)
		require.NoError(t, err)
		guards[i] = g
		var wg sync.WaitGroup
		switch i % 3 {
		case 0:
			wg.Go(func() { _, _ = g.Start(context.Background()) })
			_ = g.Close(context.Background())
		case 1:
			wg.Go(func() { _ = g.Close(context.Background()) })
			_, _ = g.Start(context.Background())
		default: // closed once started
			_, _ = g.Start(context.Background())
			wg.Go(func() { _ = g.Close(context.Background()) })
		}
		wg.Wait()
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	events := map[*licentric.Guard][]bool{} // Closed, in order
	for _, ev := range obs.guards {
		events[ev.Guard] = append(events[ev.Guard], ev.Closed)
	}
	heard := 0
	for i, g := range guards {
		evs := events[g]
		if len(evs) == 0 {
			continue // closed before it started
		}
		heard++
		assert.True(t, evs[len(evs)-1], "guard %d: the close is not the last event: %v", i, evs)
		assert.Equal(t, 1, countTrue(evs), "guard %d: %v", i, evs)
	}
	assert.GreaterOrEqual(t, heard, len(guards)/3)
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
