package licentric

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"slices"
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

// waitForWaiters waits until n callers share the request for key; more
// than one request reaching g fails the test.
func waitForWaiters(t *testing.T, c *Client, g gate, key string, n int) {
	t.Helper()
	for c.results.flights.Waiters(key) < n {
		if g.count.Load() > 1 {
			t.Fatalf("%d requests sent while callers gathered", g.count.Load())
		}
		runtime.Gosched()
	}
}

func gatedClient(t *testing.T, opts ...Option) (*Client, *licentrictest.Server, *licentrictest.License, gate) {
	t.Helper()
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits())
	t.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive, Policy: PolicyRequest{RequireFingerprint: Value(false)}})
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
			key := c.results.rawCacheKey(l.Key, "", nil)
			if c.results.store != nil {
				key = c.results.cacheKey(l.Key, "", nil)
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
	key := c.results.cacheKey(l.Key, "", nil)
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
	filed, err := NewClient(WithValidationCache(f), WithCacheTTL(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	mem, err := NewClient()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{filed.results.cacheKey(key, fp, []string{"pro"}), filed.results.licensePrefix(EnvironmentLive, key)} {
		if strings.Contains(k, key) || strings.Contains(k, fp) || !strings.HasPrefix(k, cacheKeyVersion+"/") {
			t.Errorf("persistent key %q", k)
		}
	}
	if ck := filed.results.cacheKey(key, fp, []string{"pro"}); !strings.HasPrefix(ck, filed.results.licensePrefix(EnvironmentNone, key)) {
		t.Errorf("persistent key %q not under its license prefix", ck)
	}
	// In memory the key may appear; prefixes still separate licenses.
	if ck := mem.results.cacheKey(key, fp, nil); !strings.HasPrefix(ck, mem.results.licensePrefix(EnvironmentNone, key)) {
		t.Errorf("memory key %q not under its license prefix", ck)
	}
	// Unambiguous: a key with '/' and a fingerprint with '/' do not collide.
	a := mem.results.cacheKey("A/B", "fingerprint", nil)
	b := mem.results.cacheKey("A", "B/fingerprint", nil)
	if a == b || strings.HasPrefix(a, mem.results.licensePrefix(EnvironmentNone, "A")) {
		t.Errorf("ambiguous keys %q and %q", a, b)
	}
	if mem.results.cacheKey("K", "", []string{"a,b"}) == mem.results.cacheKey("K", "", []string{"a", "b"}) {
		t.Error("entitlement lists collide")
	}
}

// The memo of recent validations keeps its own copies of the codes: a
// caller that reuses its slice is asked about what the slice holds now; and
// only arguments that passed the checks are remembered.
func TestValidateQueryMemo(t *testing.T) {
	c, err := NewClient()
	if err != nil {
		t.Fatal(err)
	}
	const key = "DSK-A1B2-C3D4-E5F6-G7H8"
	codes := []string{"pro", "beta"}
	q, err := c.validateQuery(key, []ValidateOption{WithEntitlements(codes...)})
	if err != nil || !slices.Equal(q.ents, []string{"beta", "pro"}) {
		t.Fatalf("first: %v, %v", q.ents, err)
	}
	codes[0] = "gold"
	q2, err := c.validateQuery(key, []ValidateOption{WithEntitlements(codes...)})
	if err != nil || !slices.Equal(q2.ents, []string{"beta", "gold"}) || q2.ck == q.ck {
		t.Fatalf("after the caller's slice changed: %v (key %q), %v", q2.ents, q2.ck, err)
	}
	if !slices.Equal(q.ents, []string{"beta", "pro"}) {
		t.Fatalf("the first query's codes changed: %v", q.ents)
	}
	for range 2 {
		if _, err := c.validateQuery(" "+key, nil); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("bad key: %v", err)
		}
		if _, err := c.validateQuery(key, []ValidateOption{WithFingerprint("x")}); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("bad fingerprint: %v", err)
		}
	}
}

// A cached Validate allocates one block for the caller's copy of the result
// (BENCHMARKS.md, "Cached validation"), entitlement options or not: no
// cache key, no sorted list of codes, no copy of the options.
func TestCachedValidateAllocatesOnlyTheResult(t *testing.T) {
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits())
	t.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(WithBaseURL(srv.URL), WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	const fp = "fingerprint-0123456789"
	ctx := t.Context()
	if _, err := c.Activate(ctx, fx.License.Key, ActivateParams{Fingerprint: fp}); err != nil {
		t.Fatal(err)
	}
	for _, opts := range [][]ValidateOption{
		{WithFingerprint(fp)},
		{WithFingerprint(fp), WithEntitlements("pro", "beta")},
	} {
		if _, err := c.Validate(ctx, fx.License.Key, opts...); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			v, err := c.Validate(ctx, fx.License.Key, opts...)
			if err != nil || !v.FromCache {
				panic("not a cache hit")
			}
		})
		if allocs > 1 {
			t.Errorf("%d options: %v allocations per cached Validate, want 1", len(opts), allocs)
		}
	}
}
