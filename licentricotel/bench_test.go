package licentricotel_test

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/cache"
	"github.com/licentric/licentric-go/licentricotel"
	"github.com/licentric/licentric-go/licentrictest"
)

// Run both in one go (BENCHMARKS.md):
//
//	go test -run xxx -bench ValidateCachedObserved -benchmem -count 5 ./licentricotel/
//
// Target: a cached Validate reporting to the OpenTelemetry observer (an SDK
// meter provider with a reader, an SDK tracer provider) costs at most 1.3x
// the same call without an observer.

// BenchmarkValidateCachedObserved is the root package's
// BenchmarkValidateCached (key and fingerprint, cache hit) without an
// observer ("none", the reference) and with the OpenTelemetry one ("otel").
func BenchmarkValidateCachedObserved(b *testing.B) {
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits())
	b.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive})
	if err != nil {
		b.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	tp := sdktrace.NewTracerProvider()
	b.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	obs, err := licentricotel.NewObserver(licentricotel.WithMeterProvider(mp), licentricotel.WithTracerProvider(tp))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = obs.Close() })

	const fp = "bench-fingerprint-0123456789"
	admin, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithHTTPClient(srv.Client()))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := admin.Activate(b.Context(), fx.License.Key, licentric.ActivateParams{Fingerprint: fp}); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		opts []licentric.Option
	}{
		{"none", nil},
		{"otel", []licentric.Option{licentric.WithObserver(obs)}},
	} {
		b.Run("observer="+bc.name, func(b *testing.B) {
			c, err := licentric.NewClient(append([]licentric.Option{licentric.WithBaseURL(srv.URL),
				licentric.WithHTTPClient(srv.Client()), licentric.WithValidationCache(cache.NewMemory()), licentric.WithCacheTTL(time.Hour)},
				bc.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := b.Context()
			if v, err := c.Validate(ctx, fx.License.Key, licentric.WithFingerprint(fp)); err != nil || !v.Valid {
				b.Fatalf("Validate: %+v, %v", v, err)
			}
			b.ReportAllocs()
			for b.Loop() {
				v, err := c.Validate(ctx, fx.License.Key, licentric.WithFingerprint(fp))
				if err != nil || !v.FromCache {
					b.Fatalf("not a cache hit: %+v, %v", v, err)
				}
				benchValidation = v
			}
		})
	}
}

var benchValidation *licentric.Validation
