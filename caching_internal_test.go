package licentric

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licentric/licentric-go/cache"
	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/licentrictest"
)

// gate holds every request until open is closed; a request whose context
// ends first is reported on aborted.
type gate struct {
	next    http.RoundTripper
	open    chan struct{}
	arrived chan struct{} // a request reached the gate (buffered; extra arrivals are not reported)
	aborted chan struct{}
	count   *atomic.Int32 // requests that reached the gate
}

func (g gate) RoundTrip(req *http.Request) (*http.Response, error) {
	g.count.Add(1)
	select {
	case g.arrived <- struct{}{}:
	default:
	}
	select {
	case <-g.open:
	case <-req.Context().Done():
		g.aborted <- struct{}{}
		return nil, req.Context().Err()
	}
	return g.next.RoundTrip(req)
}

// waiters reports how many callers wait on the shared request for key.
func (g *flightGroup) waiters(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.m[key]; f != nil {
		return f.waiters
	}
	return 0
}

// waitForWaiters waits until n callers share the request for key; more
// than one request reaching g fails the test.
func waitForWaiters(t *testing.T, c *Client, g gate, key string, n int) {
	t.Helper()
	for c.flights.waiters(key) < n {
		if g.count.Load() > 1 {
			t.Fatalf("%d requests sent while callers gathered", g.count.Load())
		}
		runtime.Gosched()
	}
}

func gatedClient(t *testing.T, opts ...Option) (*Client, *licentrictest.Server, *License, gate) {
	t.Helper()
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits())
	t.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive, Policy: PolicyRequest{RequireFingerprint: Ptr(false)}})
	if err != nil {
		t.Fatal(err)
	}
	g := gate{next: srv.Client().Transport, open: make(chan struct{}), arrived: make(chan struct{}, 1), aborted: make(chan struct{}, 1), count: new(atomic.Int32)}
	c, err := NewClient(append([]Option{WithBaseURL(srv.URL), WithHTTPClient(&http.Client{Transport: g})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv, fx.License, g
}

func TestConcurrentValidationsShareOneRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"cached", nil},
		{"no cache", []Option{WithoutValidationCache()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, srv, l, g := gatedClient(t, tc.opts...)
			const callers = 1000
			results := make([]*Validation, callers)
			errs := make([]error, callers)
			var wg sync.WaitGroup
			for i := range callers {
				wg.Go(func() { results[i], errs[i] = c.Validate(t.Context(), l.Key) })
			}
			// Every caller has joined the one request before it may go.
			key := c.rawCacheKey(l.Key, "", nil)
			if c.cacheStore != nil {
				key = c.cacheKey(l.Key, "", nil)
			}
			waitForWaiters(t, c, g, key, callers)
			close(g.open)
			wg.Wait()
			if n := srv.CountRequests(http.MethodPost, wire.PathValidateKey); n != 1 {
				t.Fatalf("%d requests for %d concurrent calls, want 1", n, callers)
			}
			for i := range callers {
				if errs[i] != nil || !results[i].Valid {
					t.Fatalf("caller %d: %+v, %v", i, results[i], errs[i])
				}
				if i > 0 && results[i] == results[0] {
					t.Fatal("callers share one *Validation")
				}
			}
		})
	}
}

func TestSharedRequestSurvivesOneCallerLeaving(t *testing.T) {
	c, srv, l, g := gatedClient(t)
	key := c.cacheKey(l.Key, "", nil)
	ctx, cancel := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() { _, err := c.Validate(ctx, l.Key); first <- err }()
	waitForWaiters(t, c, g, key, 1)
	second := make(chan *Validation, 1)
	go func() { v, _ := c.Validate(t.Context(), l.Key); second <- v }()
	waitForWaiters(t, c, g, key, 2)
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	close(g.open)
	if v := <-second; v == nil || !v.Valid {
		t.Fatalf("remaining caller: %+v", v)
	}
	if n := srv.CountRequests(http.MethodPost, wire.PathValidateKey); n != 1 {
		t.Fatalf("%d requests", n)
	}
}

func TestAbandonedRequestIsCancelled(t *testing.T) {
	c, srv, l, g := gatedClient(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, err := c.Validate(ctx, l.Key); done <- err }()
	<-g.arrived
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	// With nobody waiting, the shared request's context is cancelled: it
	// gives up at the gate instead of lingering.
	<-g.aborted
	if srv.CountRequests(http.MethodPost, wire.PathValidateKey) != 0 {
		t.Fatal("an abandoned request reached the server")
	}
	// A new call starts a new request.
	close(g.open)
	if v, err := c.Validate(t.Context(), l.Key); err != nil || !v.Valid || v.FromCache {
		t.Fatalf("after the abandoned call: %+v, %v", v, err)
	}
}

func TestPersistentKeysHoldNoLicenseKey(t *testing.T) {
	f, err := cache.NewFile(t.TempDir()+"/c", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	const key = "DSK-A1B2-C3D4-E5F6-G7H8"
	fp := "fingerprint-0123456789"
	filed, err := NewClient(WithValidationCache(f, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	mem, err := NewClient()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{filed.cacheKey(key, fp, []string{"pro"}), filed.licensePrefix(EnvironmentLive, key)} {
		if strings.Contains(k, key) || strings.Contains(k, fp) || !strings.HasPrefix(k, "v1/") {
			t.Errorf("persistent key %q", k)
		}
	}
	if ck := filed.cacheKey(key, fp, []string{"pro"}); !strings.HasPrefix(ck, filed.licensePrefix(EnvironmentNone, key)) {
		t.Errorf("persistent key %q not under its license prefix", ck)
	}
	// In memory the key may appear; prefixes still separate licenses.
	if ck := mem.cacheKey(key, fp, nil); !strings.HasPrefix(ck, mem.licensePrefix(EnvironmentNone, key)) {
		t.Errorf("memory key %q not under its license prefix", ck)
	}
	// Unambiguous: a key with '/' and a fingerprint with '/' do not collide.
	a := mem.cacheKey("A/B", "fingerprint", nil)
	b := mem.cacheKey("A", "B/fingerprint", nil)
	if a == b || strings.HasPrefix(a, mem.licensePrefix(EnvironmentNone, "A")) {
		t.Errorf("ambiguous keys %q and %q", a, b)
	}
	if mem.cacheKey("K", "", []string{"a,b"}) == mem.cacheKey("K", "", []string{"a", "b"}) {
		t.Error("entitlement lists collide")
	}
}

func TestBudgetGiveBackAndRoll(t *testing.T) {
	clk := &stepClock{now: time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)}
	b := newRateBudget(clk, time.Minute, [3]budgetSetting{{set: true, limit: 2}, {}, {}})
	t1, ok1 := b.tryTake(wire.TierValidation)
	t2, ok2 := b.tryTake(wire.TierValidation)
	if !ok1 || !ok2 {
		t.Fatal("budget of 2 refused")
	}
	if _, ok := b.tryTake(wire.TierValidation); ok {
		t.Fatal("third unit granted")
	}
	b.giveBack(t1)
	t3, ok := b.tryTake(wire.TierValidation)
	if !ok {
		t.Fatal("given-back unit not reusable")
	}
	oldWindow := func() *http.Response { // the server counted it in the first window
		resp := &http.Response{StatusCode: 200, Header: http.Header{}}
		resp.Header.Set(wire.HeaderRateLimitLimit, "2")
		resp.Header.Set(wire.HeaderRateLimitRemaining, "0")
		resp.Header.Set(wire.HeaderRateLimitReset, "1767225660") // 00:01:00, the first window's end
		return resp
	}
	b.observe(t3, wire.TierValidation, oldWindow())

	// t2 is still in flight at the next window: it may count there.
	clk.now = clk.now.Add(time.Minute)
	if _, ok := b.tryTake(wire.TierValidation); !ok {
		t.Fatal("new window refused")
	}
	if _, ok := b.tryTake(wire.TierValidation); ok {
		t.Fatal("unit in flight across the roll handed out again")
	}
	// Its response shows it counted in the old window: the unit is free.
	b.observe(t2, wire.TierValidation, oldWindow())
	if _, ok := b.tryTake(wire.TierValidation); !ok {
		t.Fatal("unit counted in the old window not freed")
	}
	if _, ok := b.tryTake(wire.TierValidation); ok {
		t.Fatal("budget of 2 exceeded")
	}
}

type stepClock struct{ now time.Time }

func (c *stepClock) Now() time.Time                         { return c.now }
func (c *stepClock) After(d time.Duration) <-chan time.Time { return make(chan time.Time) }
