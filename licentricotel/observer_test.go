package licentricotel_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/licentricotel"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/offline"
)

func code(c licentric.Code) attribute.KeyValue { return licentricotel.AttrCode.String(string(c)) }
func source(s string) attribute.KeyValue       { return licentricotel.AttrSource.String(s) }
func tier(s string) attribute.KeyValue         { return licentricotel.AttrTier.String(s) }

// Validations count by code and by where the answer came from: the
// service, the cache, a stale result, another member of the fleet.
func TestValidationsCountByCodeAndSource(t *testing.T) {
	r := newRig(t, licentrictest.WithoutRateLimits())
	fx, err := r.srv.Seed(openSeed)
	require.NoError(t, err)
	fleet := &memFleet{}
	c := r.client(t, licentric.WithFleet(fleet))
	ctx := t.Context()

	for range 3 { // the service once, then the cache
		v, err := c.Validate(ctx, fx.License.Key)
		require.NoError(t, err)
		require.True(t, v.Valid)
	}
	v, err := c.Validate(ctx, "LIC-UNKN-OWN0-0000-0000")
	require.NoError(t, err)
	require.Equal(t, licentric.CodeNotFound, v.Code)

	// The service fails every attempt: the last result, stale.
	r.srv.InjectFault(licentrictest.Fault{Path: "/licenses/validate-key", Status: 503, Times: 10})
	v, err = c.Validate(ctx, fx.License.Key, licentric.WithFreshValidation())
	require.NoError(t, err)
	require.True(t, v.Stale)
	r.srv.ClearFaults()

	// Another member of the fleet, with an empty cache of its own.
	v, err = r.client(t, licentric.WithFleet(fleet)).Validate(ctx, fx.License.Key)
	require.NoError(t, err)
	require.True(t, v.FromCache)

	valid := code(licentric.CodeValid)
	assert.EqualValues(t, 1, r.counter(t, licentricotel.MetricValidations, valid, source("service")))
	assert.EqualValues(t, 2, r.counter(t, licentricotel.MetricValidations, valid, source("cache")))
	assert.EqualValues(t, 1, r.counter(t, licentricotel.MetricValidations, valid, source("stale")))
	assert.EqualValues(t, 1, r.counter(t, licentricotel.MetricValidations, valid, source("fleet")))
	assert.EqualValues(t, 1, r.counter(t, licentricotel.MetricValidations, code(licentric.CodeNotFound), source("service")))
	assert.EqualValues(t, 6, r.counter(t, licentricotel.MetricValidations))
}

// Codes beyond the documented ones (a service newer than the client) count
// under their own name up to 32 of them, then as "_OTHER": the metric's
// attribute sets stay bounded. Counting allocates nothing.
func TestValidationsOfUnknownCodesStayBounded(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	for i := range 40 {
		r.obs.Validation(ctx, licentric.Code(fmt.Sprintf("NEW_CODE_%02d", i)), licentric.ValidationSourceService)
	}
	r.obs.Validation(ctx, "NEW_CODE_00", licentric.ValidationSourceService)
	r.obs.Validation(ctx, licentric.CodeValid, "elsewhere") // not a source: not counted

	ms := r.collect(t)
	sets := pointAttributes(ms[licentricotel.MetricValidations].Data)
	assert.Len(t, sets, 33)
	assert.EqualValues(t, 2, r.counter(t, licentricotel.MetricValidations, code("NEW_CODE_00")))
	assert.EqualValues(t, 8, r.counter(t, licentricotel.MetricValidations, code("_OTHER"), source("service")))
	assert.EqualValues(t, 41, r.counter(t, licentricotel.MetricValidations))

	allocs := testing.AllocsPerRun(100, func() {
		r.obs.Validation(ctx, licentric.CodeValid, licentric.ValidationSourceCache)
	})
	assert.Zero(t, allocs)
	assert.EqualValues(t, 101, r.counter(t, licentricotel.MetricValidations, code(licentric.CodeValid), source("cache")))
}

// After Close the observable instruments are no longer reported; the
// other counters go on.
func TestCloseUnregistersTheObservableInstruments(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	r.obs.Validation(ctx, licentric.CodeValid, licentric.ValidationSourceCache)
	require.Contains(t, r.collect(t), licentricotel.MetricValidations)
	require.NoError(t, r.obs.Close())
	require.NoError(t, r.obs.Close())
	r.obs.Validation(ctx, licentric.CodeValid, licentric.ValidationSourceCache)
	r.obs.FleetFallback(ctx, licentric.FleetOpLookup)
	ms := r.collect(t)
	assert.Empty(t, pointAttributes(ms[licentricotel.MetricValidations].Data))
	assert.EqualValues(t, 1, r.counter(t, licentricotel.MetricFleetFallbacks))
}

// Every HTTP attempt is a point of http.client.request.duration with the
// semantic conventions' attributes; a failure has error.type.
func TestRequestDurationHasHTTPAttributes(t *testing.T) {
	r := newRig(t, licentrictest.WithoutRateLimits())
	fx, err := r.srv.Seed(openSeed)
	require.NoError(t, err)
	c := r.client(t)
	ctx := t.Context()
	_, err = c.Validate(ctx, fx.License.Key)
	require.NoError(t, err)
	_, err = c.Licenses.Get(ctx, fx.License.ID)
	require.NoError(t, err)
	_, err = c.Licenses.Get(ctx, "lic_unknown")
	require.ErrorIs(t, err, licentric.ErrNotFound)
	r.net.down.Store(true)
	_, err = c.Products.Get(ctx, fx.Product.ID)
	require.ErrorIs(t, err, licentric.ErrUnavailable)

	u, err := url.Parse(r.srv.URL)
	require.NoError(t, err)
	port, err := strconv.Atoi(u.Port())
	require.NoError(t, err)
	m := r.collect(t)[licentricotel.MetricRequestDuration]
	assert.Equal(t, "s", m.Unit)
	h, ok := m.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "%T", m.Data)
	type point struct {
		method, template, status, errType string
		count                             uint64
	}
	var got []point
	for _, p := range h.DataPoints {
		assert.True(t, has(p.Attributes, attribute.String("server.address", "127.0.0.1"), attribute.Int("server.port", port)), "%v", p.Attributes)
		get := func(k string) string { v, _ := p.Attributes.Value(attribute.Key(k)); return v.String() }
		got = append(got, point{get("http.request.method"), get("url.template"), get("http.response.status_code"), get("error.type"), p.Count})
		assert.Greater(t, p.Sum, 0.0)
	}
	assert.ElementsMatch(t, []point{
		{"POST", "/api/v1/licenses/validate-key", "200", "", 1},
		{"GET", "/api/v1/licenses/{id}", "200", "", 1},
		{"GET", "/api/v1/licenses/{id}", "404", "404", 1},
		{"GET", "/api/v1/products/{id}", "", "connection_refused", 3}, // the first attempt and 2 retries
	}, got)
}

// The service's rate-limit headers set licentric.ratelimit.remaining by
// tier; its 429s count in licentric.ratelimit.rejections.
func TestRateLimitRemainingAndRejections(t *testing.T) {
	r := newRig(t, licentrictest.WithRateLimits(5, 10, 3))
	fx, err := r.srv.Seed(openSeed)
	require.NoError(t, err)
	c := r.client(t, licentric.WithoutRateBudget(), licentric.WithRetry(testkit.NoRetry))
	ctx := t.Context()
	_, err = c.Validate(ctx, fx.License.Key)
	require.NoError(t, err)
	for range 3 {
		_, err = c.Products.Get(ctx, fx.Product.ID)
		require.NoError(t, err)
	}
	_, err = c.Products.Get(ctx, fx.Product.ID)
	require.ErrorIs(t, err, licentric.ErrRateLimited)

	ms := r.collect(t)
	remaining := gaugePoints[int64](t, ms, licentricotel.MetricRateLimitRemaining, licentricotel.AttrTier)
	assert.Equal(t, map[string]int64{"validation": 4, "management": 0}, remaining)
	assert.EqualValues(t, 1, r.counter(t, licentricotel.MetricRateLimitRejections, tier("management")))
	assert.EqualValues(t, 0, r.counter(t, licentricotel.MetricRateLimitRejections, tier("validation")))
}

// An attempt that waits for the client's own rate budget counts in
// licentric.budget.waits, and its call's span has the event.
func TestBudgetWaitsCounted(t *testing.T) {
	r := newRig(t, licentrictest.WithoutRateLimits())
	fx, err := r.srv.Seed(openSeed)
	require.NoError(t, err)
	c := r.client(t, licentric.WithRateBudget(licentric.TierManagement, 1))
	ctx := t.Context()
	_, err = c.Products.Get(ctx, fx.Product.ID) // the window's one unit
	require.NoError(t, err)
	assert.EqualValues(t, 0, r.counter(t, licentricotel.MetricBudgetWaits))

	done := make(chan error, 1)
	go func() {
		_, err := c.Policies.Get(ctx, fx.Policy.ID)
		done <- err
	}()
	for r.srv.Clock().Waiters() == 0 {
		time.Sleep(time.Millisecond) // until the call waits on the server's clock
	}
	r.srv.Advance(61 * time.Second)
	require.NoError(t, <-done)

	assert.EqualValues(t, 1, r.counter(t, licentricotel.MetricBudgetWaits, tier("management")))
	spans := r.spansNamed("GET /api/v1/policies/{id}")
	require.Len(t, spans, 1)
	require.Len(t, spans[0].Events(), 1)
	ev := spans[0].Events()[0]
	assert.Equal(t, licentricotel.EventBudgetWait, ev.Name)
	evAttrs := attribute.NewSet(ev.Attributes...)
	waited, ok := evAttrs.Value(licentricotel.AttrWaitSeconds)
	require.True(t, ok)
	assert.GreaterOrEqual(t, waited.AsFloat64(), 1.0) // on the client's clock: the rest of the window
}

// A guard's state is licentric.guard.allowed by source, and its license
// file's time left licentric.license_file.remaining, both read when
// collected; a closed guard is no longer reported.
func TestGuardGauges(t *testing.T) {
	r := newRig(t, licentrictest.WithoutRateLimits())
	fx, err := r.srv.Seed(licentrictest.Seed{Policy: licentric.PolicyRequest{
		MaxMachines: licentric.Value(2), OfflineAllowed: licentric.Value(true)}})
	require.NoError(t, err)
	const fp = "otel-guard-fingerprint-01"
	c := r.client(t, licentric.WithFingerprinter(func() (string, error) { return fp, nil }))
	vopts := []offline.Option{offline.WithFingerprint(fp), offline.WithClock(r.srv.Clock())}
	for _, k := range r.srv.PublicKeys() {
		vopts = append(vopts, offline.WithPublicKey(k))
	}
	verifier, err := offline.NewVerifier(vopts...)
	require.NoError(t, err)
	ttl := 48 * time.Hour
	g, err := licentric.NewGuard(c, fx.License.Key,
		licentric.WithLicenseFileVerifier(t.TempDir()+"/license.lic", verifier), licentric.WithLicenseFileTTL(ttl))
	require.NoError(t, err)
	gauges := func() (map[string]int64, map[string]float64) {
		ms := r.collect(t)
		return gaugePoints[int64](t, ms, licentricotel.MetricGuardAllowed, licentricotel.AttrSource),
			gaugePoints[float64](t, ms, licentricotel.MetricLicenseFileLeft, "")
	}
	allowed, left := gauges()
	assert.Empty(t, allowed, "no guard started yet")
	assert.Empty(t, left)

	st, err := g.Start(t.Context())
	require.NoError(t, err)
	require.True(t, st.Allowed)
	allowed, left = gauges()
	assert.Equal(t, map[string]int64{"service": 1}, allowed)
	assert.Equal(t, map[string]float64{"": ttl.Seconds()}, left)

	r.srv.Advance(time.Hour) // read when collected, on the client's clock
	_, left = gauges()
	assert.Equal(t, map[string]float64{"": (ttl - time.Hour).Seconds()}, left)

	r.net.down.Store(true) // the service is unreachable: the file decides
	st, err = g.Recheck(t.Context())
	require.NoError(t, err)
	require.Equal(t, licentric.SourceLicenseFile, st.Source)
	allowed, _ = gauges()
	assert.Equal(t, map[string]int64{"license-file": 1}, allowed)

	r.net.down.Store(false)
	_, err = r.srv.SetLicenseStatus(fx.Env, fx.License.ID, "suspend")
	require.NoError(t, err)
	st, err = g.Recheck(t.Context())
	require.NoError(t, err)
	require.False(t, st.Allowed)
	allowed, left = gauges()
	assert.Equal(t, map[string]int64{"service": 0}, allowed)
	assert.Empty(t, left, "a denial removes the file")

	require.NoError(t, g.Close(context.Background()))
	allowed, left = gauges()
	assert.Empty(t, allowed)
	assert.Empty(t, left)
}

// Each fleet call that fails while the client goes on with its local state
// counts in licentric.fleet.fallbacks, by operation.
func TestFleetFallbacksCounted(t *testing.T) {
	r := newRig(t, licentrictest.WithoutRateLimits())
	fx, err := r.srv.Seed(openSeed)
	require.NoError(t, err)
	fleet := &memFleet{}
	fleet.setDown(true)
	c := r.client(t, licentric.WithFleet(fleet))
	v, err := c.Validate(t.Context(), fx.License.Key)
	require.NoError(t, err)
	require.True(t, v.Valid)
	c.InvalidateLicense(fx.License.Key)

	op := func(s string) attribute.KeyValue { return licentricotel.AttrFleetOperation.String(s) }
	for _, o := range []string{"lookup", "lock", "budget", "store", "invalidate"} {
		assert.GreaterOrEqual(t, r.counter(t, licentricotel.MetricFleetFallbacks, op(o)), int64(1), o)
	}
	before := r.counter(t, licentricotel.MetricFleetFallbacks)
	fleet.setDown(false)
	_, err = c.Validate(t.Context(), fx.License.Key)
	require.NoError(t, err)
	assert.Equal(t, before, r.counter(t, licentricotel.MetricFleetFallbacks), "a fleet that works is no fallback")
}

// One client span per API call, named by method and URL template, with the
// HTTP attributes; validations carry their code; failures an error status.
func TestSpansPerCall(t *testing.T) {
	r := newRig(t, licentrictest.WithoutRateLimits())
	fx, err := r.srv.Seed(openSeed)
	require.NoError(t, err)
	c := r.client(t)
	ctx, parent := r.tp.Tracer("test").Start(t.Context(), "parent")

	_, err = c.Validate(ctx, fx.License.Key)
	require.NoError(t, err)
	_, err = c.Validate(ctx, fx.License.Key) // the cache: no call, no span
	require.NoError(t, err)
	_, err = c.Validate(ctx, "LIC-UNKN-OWN0-0000-0000")
	require.NoError(t, err)
	r.srv.InjectFault(licentrictest.Fault{Method: "GET", Path: "/licenses/" + fx.License.ID, Status: 503})
	_, err = c.Licenses.Get(ctx, fx.License.ID) // a 503, then the answer
	require.NoError(t, err)
	r.srv.InjectFault(licentrictest.Fault{Method: "GET", Path: "/licenses/" + fx.License.ID, Status: 503, Times: 3})
	_, err = c.Licenses.Get(ctx, fx.License.ID)
	require.ErrorIs(t, err, licentric.ErrServer)
	parent.End()

	validations := r.spansNamed("POST /api/v1/licenses/validate-key")
	require.Len(t, validations, 2)
	for _, s := range validations {
		assert.Equal(t, trace.SpanKindClient, s.SpanKind())
		assert.Equal(t, parent.SpanContext().SpanID(), s.Parent().SpanID())
		assert.True(t, has(attrs(s), attribute.String("http.request.method", "POST"),
			attribute.String("url.template", "/api/v1/licenses/validate-key"), attribute.String("server.address", "127.0.0.1")))
	}
	assert.True(t, has(attrs(validations[0]), code(licentric.CodeValid), attribute.Int("http.response.status_code", 200)))
	assert.Equal(t, codes.Unset, validations[0].Status().Code)
	// An unknown key is a result, NOT_FOUND, not a failure.
	assert.True(t, has(attrs(validations[1]), code(licentric.CodeNotFound), attribute.Int("http.response.status_code", 200)))
	assert.Equal(t, codes.Unset, validations[1].Status().Code)

	gets := r.spansNamed("GET /api/v1/licenses/{id}")
	require.Len(t, gets, 2)
	assert.True(t, has(attrs(gets[0]), attribute.Int("http.response.status_code", 200), attribute.Int("http.request.resend_count", 1)))
	ok0 := attrs(gets[0])
	_, hasErr := ok0.Value("error.type")
	assert.False(t, hasErr)
	assert.Equal(t, codes.Unset, gets[0].Status().Code)
	assert.True(t, has(attrs(gets[1]), attribute.Int("http.response.status_code", 503), attribute.Int("http.request.resend_count", 2),
		attribute.String("error.type", "503")))
	assert.Equal(t, codes.Error, gets[1].Status().Code)
	assert.Equal(t, "503", gets[1].Status().Description)
	assert.Len(t, r.spans.Ended(), 5) // four calls and the parent
}

// The W3C trace context of the call's span reaches the service, through
// the global propagator.
func TestTraceContextReachesTheService(t *testing.T) {
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTextMapPropagator(prev) })

	r := newRig(t, licentrictest.WithoutRateLimits())
	fx, err := r.srv.Seed(openSeed)
	require.NoError(t, err)
	var mu sync.Mutex
	var seen []string
	target, err := url.Parse(r.srv.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		seen = append(seen, req.Header.Get("traceparent"))
		mu.Unlock()
		req.Host = target.Host // the test server refuses other Host names (DNS rebinding)
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(front.Close)

	c := r.client(t, licentric.WithBaseURL(front.URL), licentric.WithHTTPClient(front.Client()))
	_, err = c.Validate(t.Context(), fx.License.Key)
	require.NoError(t, err)

	spans := r.spansNamed("POST /api/v1/licenses/validate-key")
	require.Len(t, spans, 1)
	sc := spans[0].SpanContext()
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 1)
	assert.Equal(t, "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-01", seen[0])
}

// Nothing recorded holds a license key, an API key, an agent token or a
// fingerprint: a run that validates, activates, gets a license by key,
// validates an unknown key, runs a guard and verifies an agent, with
// failures on the way.
func TestNoSecretInTelemetry(t *testing.T) {
	r := newRig(t, licentrictest.WithoutRateLimits())
	fx, err := r.srv.Seed(licentrictest.Seed{Policy: licentric.PolicyRequest{
		MaxMachines: licentric.Value(1), OfflineAllowed: licentric.Value(true)}})
	require.NoError(t, err)
	const fp, otherFP = "secret-fingerprint-0123456789", "other-fingerprint-9876543210"
	unknown := "LIC-SECR-ETUN-KNOW-N000"
	odd := "key with spaces/and?query#frag" // a custom key that needs escaping
	_, err = r.srv.AddLicense(fx.Env, fx.Policy.ID, licentric.LicenseRequest{Key: licentric.Value(odd)})
	require.NoError(t, err)
	c := r.client(t, licentric.WithFingerprinter(func() (string, error) { return fp, nil }))
	ctx := t.Context()

	v, err := c.Validate(ctx, fx.License.Key, licentric.WithFingerprint(fp))
	require.NoError(t, err)
	require.Equal(t, licentric.CodeFingerprintNotFound, v.Code)
	_, err = c.Activate(ctx, fx.License.Key, licentric.ActivateParams{Fingerprint: fp})
	require.NoError(t, err)
	_, err = c.Activate(ctx, fx.License.Key, licentric.ActivateParams{Fingerprint: otherFP})
	require.ErrorIs(t, err, licentric.ErrMachineLimitExceeded)
	v, err = c.Validate(ctx, fx.License.Key, licentric.WithFingerprint(fp))
	require.NoError(t, err)
	require.True(t, v.Valid)
	_, err = c.Licenses.GetByKey(ctx, fx.License.Key)
	require.NoError(t, err)
	_, err = c.Licenses.GetByKey(ctx, odd)
	require.NoError(t, err)
	_, err = c.Licenses.GetByKey(ctx, unknown)
	require.ErrorIs(t, err, licentric.ErrNotFound)
	v, err = c.Validate(ctx, unknown, licentric.WithFingerprint(fp))
	require.NoError(t, err)
	require.Equal(t, licentric.CodeNotFound, v.Code)
	_, err = c.Checkout(ctx, fx.License.ID, licentric.CheckoutParams{Fingerprint: fp, LicenseKey: fx.License.Key})
	require.NoError(t, err)

	vopts := []offline.Option{offline.WithFingerprint(fp), offline.WithClock(r.srv.Clock())}
	for _, k := range r.srv.PublicKeys() {
		vopts = append(vopts, offline.WithPublicKey(k))
	}
	verifier, err := offline.NewVerifier(vopts...)
	require.NoError(t, err)
	g, err := licentric.NewGuard(c, fx.License.Key, licentric.WithLicenseFileVerifier(t.TempDir()+"/license.lic", verifier))
	require.NoError(t, err)
	_, err = g.Start(ctx)
	require.NoError(t, err)
	r.net.down.Store(true)
	_, err = g.Recheck(ctx)
	require.NoError(t, err)
	r.net.down.Store(false)

	agent, err := c.Agents.Create(ctx, &licentric.AgentRequest{Name: "otel-agent"})
	require.NoError(t, err)
	cred, err := c.Agents.Authorize(ctx, agent.ID, "mcp:invoke")
	require.NoError(t, err)
	_, err = c.Agents.Verify(ctx, cred.Token, nil)
	require.NoError(t, err)
	_, err = c.Agents.Verify(ctx, cred.Token+"x", nil)
	require.Error(t, err)

	// Everything recorded, as text.
	var b strings.Builder
	for _, s := range r.spans.Ended() {
		b.WriteString(s.Name() + "\n" + s.Status().Description + "\n")
		for _, kv := range s.Attributes() {
			b.WriteString(string(kv.Key) + "=" + kv.Value.String() + "\n")
		}
		for _, e := range s.Events() {
			b.WriteString(e.Name + "\n")
			for _, kv := range e.Attributes {
				b.WriteString(string(kv.Key) + "=" + kv.Value.String() + "\n")
			}
		}
		for _, l := range s.Links() {
			for _, kv := range l.Attributes {
				b.WriteString(string(kv.Key) + "=" + kv.Value.String() + "\n")
			}
		}
	}
	for name, m := range r.collect(t) {
		b.WriteString(name + " " + m.Description + "\n")
		for _, set := range pointAttributes(m.Data) {
			b.WriteString(set.Encoded(attribute.DefaultEncoder()) + "\n")
		}
	}
	text := b.String()
	for _, secret := range []string{fx.License.Key, unknown, odd, url.PathEscape(odd), r.srv.TestAPIKey(), fp, otherFP, cred.Token} {
		assert.NotContains(t, text, secret)
	}
	for _, part := range []string{"DSK-", "LIC-SECR", "lk_test_", "AGT-", "secret-fingerprint", "other-fingerprint", "spaces"} {
		assert.NotContains(t, text, part)
	}
	// What the run did is there, by template.
	for _, want := range []string{
		"GET /api/v1/licenses/by-key/{key}", "POST /api/v1/licenses/validate-key", "POST /api/v1/machines",
		"POST /api/v1/licenses/{id}/checkout", "POST /api/v1/mcp/verify", "licentric.code=FINGERPRINT_NOT_FOUND",
		"licentric.code=NOT_FOUND", "error.type=422", "error.type=401", "licentric.source=license-file",
	} {
		assert.Contains(t, text, want)
	}
}

// pointAttributes returns the attribute sets of every point of a metric.
func pointAttributes(data metricdata.Aggregation) []attribute.Set {
	var out []attribute.Set
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.Gauge[float64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
			for _, e := range p.Exemplars {
				out = append(out, attribute.NewSet(e.FilteredAttributes...))
			}
		}
	}
	return out
}
