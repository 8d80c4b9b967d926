package licentric

import (
	"testing"
	"time"

	gocache "github.com/patrickmn/go-cache"

	"github.com/licentric/licentric-go/cache"
	"github.com/licentric/licentric-go/licentrictest"
)

// Run both in one go:
//
//	go test -run xxx -bench 'ValidateCached|GoCacheGet' -benchmem -count 5 .
//
// Target: a cached Validate costs at most 6x a bare go-cache Get of the same
// entry in instructions (BENCHMARKS.md says how they are counted), with one
// allocation: the caller's copy of the result.

// benchEntry validates once against a loopback server and returns the
// client, the license key and the cache key and entry of the result.
func benchEntry(b *testing.B) (*Client, string, string, *cacheEntry) {
	b.Helper()
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits())
	b.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive})
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewClient(WithBaseURL(srv.URL), WithHTTPClient(srv.Client()),
		WithValidationCache(cache.NewMemory()), WithCacheTTL(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	fp := "bench-fingerprint-0123456789"
	if _, err := c.Activate(b.Context(), fx.License.Key, ActivateParams{Fingerprint: fp}); err != nil {
		b.Fatal(err)
	}
	v, err := c.Validate(b.Context(), fx.License.Key, WithFingerprint(fp))
	if err != nil || !v.Valid {
		b.Fatalf("Validate: %+v, %v", v, err)
	}
	ck := c.results.cacheKey(fx.License.Key, fp, nil)
	e := c.results.lookup(ck)
	if e == nil {
		b.Fatal("result not cached")
	}
	return c, fx.License.Key, ck, e
}

var (
	benchValidation *Validation
	benchAny        any
)

func BenchmarkValidateCached(b *testing.B) {
	c, key, _, _ := benchEntry(b)
	ctx := b.Context()
	fp := "bench-fingerprint-0123456789"
	b.ReportAllocs()
	for b.Loop() {
		v, err := c.Validate(ctx, key, WithFingerprint(fp))
		if err != nil || !v.FromCache {
			b.Fatalf("not a cache hit: %+v, %v", v, err)
		}
		benchValidation = v
	}
}

// BenchmarkGoCacheGet is the baseline: a bare go-cache Get of the entry a
// cached Validate reads.
func BenchmarkGoCacheGet(b *testing.B) {
	_, _, ck, e := benchEntry(b)
	gc := gocache.New(gocache.NoExpiration, 0)
	gc.Set(ck, e, time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		v, ok := gc.Get(ck)
		if !ok {
			b.Fatal("miss")
		}
		benchAny = v
	}
}

// BenchmarkValidateCachedEntitlements is a cached Validate with a
// fingerprint and two entitlements given out of order (sorted per call).
func BenchmarkValidateCachedEntitlements(b *testing.B) {
	c, key, _, _ := benchEntry(b)
	ctx := b.Context()
	fp := "bench-fingerprint-0123456789"
	if _, err := c.Validate(ctx, key, WithFingerprint(fp), WithEntitlements("pro", "beta")); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		v, err := c.Validate(ctx, key, WithFingerprint(fp), WithEntitlements("pro", "beta"))
		if err != nil || !v.FromCache {
			b.Fatalf("not a cache hit: %+v, %v", v, err)
		}
		benchValidation = v
	}
}
