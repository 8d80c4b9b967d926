package licentricotel_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/licentricotel"
	"github.com/licentric/licentric-go/licentrictest"
)

// start is the frozen start of every test server's clock.
var start = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// rig is a licentrictest server and an observer recording into the SDK's
// manual metric reader and span recorder.
type rig struct {
	srv    *licentrictest.Server
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	obs    *licentricotel.Observer
	net    *netSwitch
}

func newRig(t *testing.T, srvOpts ...licentrictest.Option) *rig {
	t.Helper()
	srv := licentrictest.NewServer(append([]licentrictest.Option{licentrictest.WithFrozenClock(start)}, srvOpts...)...)
	t.Cleanup(srv.Close)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	obs, err := licentricotel.NewObserver(licentricotel.WithMeterProvider(mp), licentricotel.WithTracerProvider(tp))
	require.NoError(t, err)
	t.Cleanup(func() { _ = obs.Close() })
	return &rig{srv: srv, reader: reader, spans: spans, tp: tp, obs: obs, net: &netSwitch{next: srv.Client().Transport}}
}

// client returns a client of the rig's server with the test API key, the
// server's clock and the observer; opts come last.
func (r *rig) client(t *testing.T, opts ...licentric.Option) *licentric.Client {
	t.Helper()
	all := []licentric.Option{licentric.WithHTTPClient(&http.Client{Transport: r.net}),
		licentric.WithRetry(testkit.Retries(2)), licentric.WithObserver(r.obs)}
	return testkit.Client(t, r.srv, append(all, opts...)...)
}

// collect returns every metric recorded so far, by name.
func (r *rig) collect(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.reader.Collect(context.Background(), &rm))
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		require.Equal(t, licentricotel.ScopeName, sm.Scope.Name)
		require.Equal(t, licentric.Version, sm.Scope.Version)
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// has reports whether set holds every one of kvs.
func has(set attribute.Set, kvs ...attribute.KeyValue) bool {
	for _, kv := range kvs {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// counter sums the points of counter name whose attributes hold kvs.
func (r *rig) counter(t *testing.T, name string, kvs ...attribute.KeyValue) int64 {
	t.Helper()
	m, ok := r.collect(t)[name]
	if !ok {
		return 0
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is a %T", name, m.Data)
	require.True(t, sum.IsMonotonic, name)
	var n int64
	for _, p := range sum.DataPoints {
		if has(p.Attributes, kvs...) {
			n += p.Value
		}
	}
	return n
}

// gaugePoints returns the points of gauge name, keyed by the value of key.
func gaugePoints[N int64 | float64](t *testing.T, ms map[string]metricdata.Metrics, name string, key attribute.Key) map[string]N {
	t.Helper()
	out := map[string]N{}
	m, ok := ms[name]
	if !ok {
		return out
	}
	g, ok := m.Data.(metricdata.Gauge[N])
	require.True(t, ok, "%s is a %T", name, m.Data)
	for _, p := range g.DataPoints {
		v, _ := p.Attributes.Value(key)
		out[v.String()] = p.Value
	}
	return out
}

// spansNamed returns the ended spans called name.
func (r *rig) spansNamed(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range r.spans.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// attrs returns a span's attributes as a set.
func attrs(s sdktrace.ReadOnlySpan) attribute.Set { return attribute.NewSet(s.Attributes()...) }

// netSwitch is a transport that can be cut off: connection refused.
type netSwitch struct {
	next http.RoundTripper
	down atomic.Bool
}

func (n *netSwitch) RoundTrip(req *http.Request) (*http.Response, error) {
	if n.down.Load() {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	return n.next.RoundTrip(req)
}

// memFleet is a licentric.Fleet in memory that can be taken down: then
// every call fails, as when Redis is unreachable.
type memFleet struct {
	mu      sync.Mutex
	down    bool
	results map[string][]byte
}

var errFleetDown = errors.New("fleet backend unreachable")

func (f *memFleet) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

func (f *memFleet) isDown() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.down
}

func (f *memFleet) GetResult(_ context.Context, license, request string) ([]byte, string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, "", false, errFleetDown
	}
	b, ok := f.results[license+"/"+request]
	return b, "v", ok, nil
}

func (f *memFleet) SetResult(_ context.Context, license, request, _ string, value []byte, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errFleetDown
	}
	if f.results == nil {
		f.results = map[string][]byte{}
	}
	f.results[license+"/"+request] = append([]byte(nil), value...)
	return nil
}

func (f *memFleet) InvalidateLicense(context.Context, string, bool) error { return f.err() }
func (f *memFleet) InvalidateAll(context.Context) error                   { return f.err() }
func (f *memFleet) Subscribe(func(string, bool)) func()                   { return func() {} }
func (f *memFleet) LocalShare(limit int) int                              { return limit }

func (f *memFleet) TakeBudget(context.Context, string, time.Time, int) (bool, error) {
	return !f.isDown(), f.err()
}

func (f *memFleet) Acquire(context.Context, string, time.Duration) (func(), bool, error) {
	return func() {}, !f.isDown(), f.err()
}

func (f *memFleet) err() error {
	if f.isDown() {
		return errFleetDown
	}
	return nil
}

// openSeed is a license whose validation needs no fingerprint.
var openSeed = licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}}
