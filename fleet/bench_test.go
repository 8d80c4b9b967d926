package fleet_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/patrickmn/go-cache"
	"github.com/redis/go-redis/v9"

	"github.com/licentric/licentric-go"
	licache "github.com/licentric/licentric-go/cache"
	"github.com/licentric/licentric-go/fleet"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/licentrictest"
)

// Benchmarks, against the shared redis-server over loopback:
//
//	BenchmarkGetResult vs BenchmarkRedisGet: a result answered from Redis
//	(HGET, open, check) vs a bare go-redis GET of the same sealed bytes
//	(target ≤ 1.5×).
//	BenchmarkValidateFromRedis vs BenchmarkRedisGet: the same through
//	Validate, whose local cache never holds anything.
//	BenchmarkValidateLocalHit vs BenchmarkValidateLocalHitNoFleet: a
//	Validate answered from the local copy with and without a Fleet
//	(target ≤ 1.2×).

// benchValue is about the size of a validation result.
var benchValue = bytes.Repeat([]byte(`{"valid":true,"code":"VALID"}`), 40)

var benchSink []byte

func benchFleet(b *testing.B, opts ...fleet.Option) (*fleet.Fleet, *redis.Client) {
	r := needRedis(b)
	rdb := newRDB(b, r.Addr())
	return newFleet(b, rdb, append([]fleet.Option{fleet.WithNamespace(namespace(b))}, opts...)...), rdb
}

func BenchmarkGetResult(b *testing.B) {
	f, _ := benchFleet(b)
	ctx := context.Background()
	if err := put(ctx, f, "license-digest", "request-digest", benchValue, time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		v, _, ok, err := f.GetResult(ctx, "license-digest", "request-digest")
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
		benchSink = v
	}
}

// BenchmarkGetResultContextDeadlines is BenchmarkGetResult on a client
// with ContextTimeoutEnabled, which the Fleet uses as it is.
func BenchmarkGetResultContextDeadlines(b *testing.B) {
	r := needRedis(b)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr(), ContextTimeoutEnabled: true})
	b.Cleanup(func() { _ = rdb.Close() })
	f := newFleet(b, rdb, fleet.WithNamespace(namespace(b)))
	ctx := context.Background()
	if err := put(ctx, f, "license-digest", "request-digest", benchValue, time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		v, _, ok, err := f.GetResult(ctx, "license-digest", "request-digest")
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
		benchSink = v
	}
}

// BenchmarkGetResultGoroutine is BenchmarkGetResult on a client of a type
// the Fleet cannot bound by itself, whose calls run on a goroutine each.
func BenchmarkGetResultGoroutine(b *testing.B) {
	r := needRedis(b)
	f := newFleet(b, otherClient{newRDB(b, r.Addr())}, fleet.WithNamespace(namespace(b)))
	ctx := context.Background()
	if err := put(ctx, f, "license-digest", "request-digest", benchValue, time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		v, _, ok, err := f.GetResult(ctx, "license-digest", "request-digest")
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
		benchSink = v
	}
}

// BenchmarkRedisGet is the baseline: a bare GET of the bytes GetResult
// reads (the sealed value).
func BenchmarkRedisGet(b *testing.B) {
	f, rdb := benchFleet(b)
	ctx := context.Background()
	if err := put(ctx, f, "license-digest", "request-digest", benchValue, time.Hour); err != nil {
		b.Fatal(err)
	}
	var sealed []byte
	for _, k := range rdb.Keys(ctx, resultsPattern(f.Namespace())).Val() {
		for _, v := range rdb.HGetAll(ctx, k).Val() {
			sealed = []byte(v)
		}
	}
	if len(sealed) <= len(benchValue) {
		b.Fatal("no sealed value")
	}
	key := "bench:" + f.Namespace()
	if err := rdb.Set(ctx, key, sealed, time.Hour).Err(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		v, err := rdb.Get(ctx, key).Bytes()
		if err != nil {
			b.Fatal(err)
		}
		benchSink = v
	}
}

// missStore is a local cache that holds nothing, so that every Validate
// goes past it to the Fleet.
type missStore struct{}

func (missStore) Get(string) ([]byte, bool)               { return nil, false }
func (missStore) Set(string, []byte, time.Duration) error { return nil }
func (missStore) Delete(string)                           {}
func (missStore) DeletePrefix(string)                     {}

var _ licache.Store = missStore{}

// missValueStore is the same for a store of values, the kind the default
// in-memory cache is: a result from Redis is kept as the decoded value,
// not encoded again.
type missValueStore struct{ missStore }

func (missValueStore) GetValue(string) (any, bool)               { return nil, false }
func (missValueStore) SetValue(string, any, time.Duration) error { return nil }

var _ licache.ValueStore = missValueStore{}

func benchClient(b *testing.B, withFleet bool, opts ...licentric.Option) (*licentric.Client, string, *licentrictest.Server) {
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits())
	b.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	if err != nil {
		b.Fatal(err)
	}
	if withFleet {
		f, _ := benchFleet(b, fleet.WithClock(srv.Clock()))
		opts = append([]licentric.Option{licentric.WithFleet(f)}, opts...)
	}
	return testkit.Client(b, srv, opts...), fx.License.Key, srv
}

var benchValidation *licentric.Validation

func benchValidate(b *testing.B, c *licentric.Client, key string) {
	ctx := context.Background()
	if _, err := c.Validate(ctx, key); err != nil { // fills the caches
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		v, err := c.Validate(ctx, key)
		if err != nil || !v.Valid {
			b.Fatal(v, err)
		}
		benchValidation = v
	}
}

// BenchmarkValidateFromRedis is a Validate that misses the local cache
// (of the default kind, a store of values) and is answered from Redis.
func BenchmarkValidateFromRedis(b *testing.B) {
	c, key, srv := benchClient(b, true, licentric.WithValidationCache(missValueStore{}), licentric.WithCacheTTL(time.Hour))
	benchValidate(b, c, key)
	if n := srv.CountRequests("POST", validatePath); n != 1 {
		b.Fatalf("%d validate-key requests: the results were not answered from Redis", n)
	}
}

// BenchmarkValidateFromRedisByteStore is the same with a local store of
// bytes (such as cache.File), which encodes the result again to keep it.
func BenchmarkValidateFromRedisByteStore(b *testing.B) {
	c, key, srv := benchClient(b, true, licentric.WithValidationCache(missStore{}), licentric.WithCacheTTL(time.Hour))
	benchValidate(b, c, key)
	if n := srv.CountRequests("POST", validatePath); n != 1 {
		b.Fatalf("%d validate-key requests: the results were not answered from Redis", n)
	}
}

func BenchmarkValidateLocalHit(b *testing.B) {
	c, key, _ := benchClient(b, true)
	benchValidate(b, c, key)
}

func BenchmarkValidateLocalHitNoFleet(b *testing.B) {
	c, key, _ := benchClient(b, false)
	benchValidate(b, c, key)
}

// BenchmarkGoCacheGet is the plain in-memory cache's own lookup, for scale.
func BenchmarkGoCacheGet(b *testing.B) {
	gc := cache.New(cache.NoExpiration, 0)
	gc.Set("k", benchValue, time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		v, _ := gc.Get("k")
		benchSink = v.([]byte)
	}
}
