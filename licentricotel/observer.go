package licentricotel

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/httpconv"
	"go.opentelemetry.io/otel/trace"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/clock"
)

// ScopeName is the instrumentation scope of the meter and tracer an
// Observer uses (its version is licentric.Version).
const ScopeName = "github.com/licentric/licentric-go/licentricotel"

// Metric names.
const (
	MetricValidations         = "licentric.validations"
	MetricRequestDuration     = "http.client.request.duration"
	MetricRateLimitRemaining  = "licentric.ratelimit.remaining"
	MetricRateLimitRejections = "licentric.ratelimit.rejections"
	MetricBudgetWaits         = "licentric.budget.waits"
	MetricGuardAllowed        = "licentric.guard.allowed"
	MetricLicenseFileLeft     = "licentric.license_file.remaining"
	MetricFleetFallbacks      = "licentric.fleet.fallbacks"
)

// Attribute keys of the package's own (the HTTP ones are OpenTelemetry's
// semantic conventions: http.request.method, http.response.status_code,
// url.template, server.address, server.port, error.type,
// http.request.resend_count).
const (
	// AttrCode is a validation's result code: "VALID", "SUSPENDED", ...
	AttrCode attribute.Key = "licentric.code"
	// AttrSource is where a validation's answer came from ("service",
	// "cache", "stale", "fleet"), or what a guard's decision rests on
	// ("service", "cache", "license-file", "none").
	AttrSource attribute.Key = "licentric.source"
	// AttrTier is a rate-limit tier: "validation", "activation" or
	// "management".
	AttrTier attribute.Key = "licentric.tier"
	// AttrFleetOperation is the fleet call that failed: "lookup",
	// "store", "lock", "budget" or "invalidate".
	AttrFleetOperation attribute.Key = "licentric.fleet.operation"
	// AttrWaitSeconds is the length of a wait for the rate budget, on the
	// event EventBudgetWait of a call's span.
	AttrWaitSeconds attribute.Key = "licentric.wait.seconds"
)

// EventBudgetWait is the span event of a call that waited for the client's
// rate budget.
const EventBudgetWait = "licentric.budget.wait"

// otherCode stands for result codes beyond the documented ones once
// maxExtraCodes of them have been seen, so that a misbehaving service cannot
// grow the metric's attribute sets without bound.
const (
	otherCode     = "_OTHER"
	maxExtraCodes = 32
)

// An Option configures NewObserver.
type Option func(*config)

type config struct {
	mp metric.MeterProvider
	tp trace.TracerProvider
}

// WithMeterProvider makes the observer record its metrics with mp instead of
// the global otel.GetMeterProvider(). A nil mp keeps the default.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) {
		if mp != nil {
			c.mp = mp
		}
	}
}

// WithTracerProvider makes the observer start its spans with tp instead of
// the global otel.GetTracerProvider(). A nil tp keeps the default.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) {
		if tp != nil {
			c.tp = tp
		}
	}
}

// Observer is a licentric.Observer that records OpenTelemetry metrics and
// spans (see the package documentation). Build it with NewObserver; it is
// safe for concurrent use, by any number of clients.
type Observer struct {
	tracer trace.Tracer

	validations   metric.Int64ObservableCounter
	duration      metric.Float64Histogram
	remaining     metric.Int64Gauge
	rejections    metric.Int64Counter
	budgetWaits   metric.Int64Counter
	fleetFallback metric.Int64Counter
	guardAllowed  metric.Int64ObservableGauge
	fileLeft      metric.Float64ObservableGauge
	reg           metric.Registration

	// The validations' counts, per documented code (fixed once
	// NewObserver returns) and per source, each with its attribute set
	// made once: a validation adds one to an atomic count and allocates
	// nothing; the counter reads them when collected.
	codes      map[licentric.Code]*codeCounts
	extraMu    sync.Mutex
	extraCodes map[licentric.Code]*codeCounts
	tiers      map[licentric.Tier]tierOptions
	fleetOps   map[licentric.FleetOperation][]metric.AddOption
	guardSrc   map[licentric.Source]metric.ObserveOption

	mu     sync.Mutex
	guards map[*licentric.Guard]guardRecord
	closed bool
}

type tierOptions struct {
	add    []metric.AddOption
	record []metric.RecordOption
	attr   attribute.KeyValue
}

// codeCounts are the validations of one code so far, by source (in the
// order of validationSources).
type codeCounts [4]struct {
	n   atomic.Int64
	set metric.ObserveOption
}

// guardRecord is what the gauges read of a guard.
type guardRecord struct {
	fileExpires time.Time
	clock       clock.Clock
}

var _ licentric.Observer = (*Observer)(nil)

// validationSources are the sources in the order of the codes' arrays.
var validationSources = [4]licentric.ValidationSource{
	licentric.ValidationSourceService, licentric.ValidationSourceCache,
	licentric.ValidationSourceStale, licentric.ValidationSourceFleet,
}

func sourceIndex(s licentric.ValidationSource) int {
	switch s {
	case licentric.ValidationSourceService:
		return 0
	case licentric.ValidationSourceCache:
		return 1
	case licentric.ValidationSourceStale:
		return 2
	case licentric.ValidationSourceFleet:
		return 3
	}
	return -1
}

// documentedCodes are the validation codes of the service's contract.
var documentedCodes = []licentric.Code{
	licentric.CodeValid, licentric.CodeExpired, licentric.CodeSuspended, licentric.CodeRevoked,
	licentric.CodeBanned, licentric.CodeNotFound, licentric.CodeFingerprintNotFound,
	licentric.CodeMachineLimitExceeded, licentric.CodeHeartbeatRequired, licentric.CodeUsesExceeded,
	licentric.CodeEntitlementsMissing,
}

// NewObserver returns an Observer that records metrics with the meter
// provider and spans with the tracer provider of opts (by default the
// global ones). Install it with licentric.WithObserver. Call Close when
// done with it, to unregister its gauges' callback.
func NewObserver(opts ...Option) (*Observer, error) {
	cfg := config{}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.mp == nil {
		cfg.mp = otel.GetMeterProvider()
	}
	if cfg.tp == nil {
		cfg.tp = otel.GetTracerProvider()
	}
	meter := cfg.mp.Meter(ScopeName, metric.WithInstrumentationVersion(licentric.Version), metric.WithSchemaURL(semconv.SchemaURL))
	o := &Observer{
		tracer:     cfg.tp.Tracer(ScopeName, trace.WithInstrumentationVersion(licentric.Version), trace.WithSchemaURL(semconv.SchemaURL)),
		codes:      make(map[licentric.Code]*codeCounts, len(documentedCodes)),
		extraCodes: make(map[licentric.Code]*codeCounts),
		tiers:      make(map[licentric.Tier]tierOptions, 3),
		fleetOps:   make(map[licentric.FleetOperation][]metric.AddOption, 5),
		guardSrc:   make(map[licentric.Source]metric.ObserveOption, 4),
		guards:     make(map[*licentric.Guard]guardRecord),
	}
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	o.validations, err = meter.Int64ObservableCounter(MetricValidations, metric.WithUnit("{validation}"),
		metric.WithDescription("Validations answered, by result code and by where the answer came from."))
	check(err)
	d, err := httpconv.NewClientRequestDuration(meter)
	check(err)
	o.duration = d.Inst()
	o.remaining, err = meter.Int64Gauge(MetricRateLimitRemaining, metric.WithUnit("{request}"),
		metric.WithDescription("Requests left in the service's current rate-limit window, as its last X-RateLimit-Remaining header said."))
	check(err)
	o.rejections, err = meter.Int64Counter(MetricRateLimitRejections, metric.WithUnit("{response}"),
		metric.WithDescription("Responses 429 Too Many Requests from the service."))
	check(err)
	o.budgetWaits, err = meter.Int64Counter(MetricBudgetWaits, metric.WithUnit("{wait}"),
		metric.WithDescription("Requests that waited for a unit of the client's own rate budget before they were sent."))
	check(err)
	o.fleetFallback, err = meter.Int64Counter(MetricFleetFallbacks, metric.WithUnit("{fallback}"),
		metric.WithDescription("Calls to the fleet's shared store (Redis) that failed, after which the client went on with its local state."))
	check(err)
	o.guardAllowed, err = meter.Int64ObservableGauge(MetricGuardAllowed, metric.WithUnit("1"),
		metric.WithDescription("1 when the guard allows the application, 0 when it does not, by what its decision rests on."))
	check(err)
	o.fileLeft, err = meter.Float64ObservableGauge(MetricLicenseFileLeft, metric.WithUnit("s"),
		metric.WithDescription("Seconds until the guard's offline license file in force expires."))
	check(err)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, c := range documentedCodes {
		o.codes[c] = newCodeCounts(c)
	}
	for tier, name := range map[licentric.Tier]string{
		licentric.TierValidation: "validation", licentric.TierActivation: "activation", licentric.TierManagement: "management",
	} {
		kv := AttrTier.String(name)
		opt := metric.WithAttributeSet(attribute.NewSet(kv))
		o.tiers[tier] = tierOptions{add: []metric.AddOption{opt}, record: []metric.RecordOption{opt}, attr: kv}
	}
	for _, op := range []licentric.FleetOperation{licentric.FleetOpLookup, licentric.FleetOpStore, licentric.FleetOpLock,
		licentric.FleetOpBudget, licentric.FleetOpInvalidate} {
		o.fleetOps[op] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(AttrFleetOperation.String(string(op))))}
	}
	for _, s := range []licentric.Source{licentric.SourceService, licentric.SourceCache, licentric.SourceLicenseFile, licentric.SourceNone} {
		o.guardSrc[s] = metric.WithAttributeSet(attribute.NewSet(AttrSource.String(string(s))))
	}
	o.reg, err = meter.RegisterCallback(o.observe, o.validations, o.guardAllowed, o.fileLeft)
	if err != nil {
		return nil, err
	}
	return o, nil
}

// newCodeCounts makes the counts of code, with their attribute sets.
func newCodeCounts(code licentric.Code) *codeCounts {
	var c codeCounts
	for i, src := range validationSources {
		c[i].set = metric.WithAttributeSet(attribute.NewSet(AttrCode.String(string(code)), AttrSource.String(string(src))))
	}
	return &c
}

// Close unregisters the callback of the observer's observable instruments
// (the counter licentric.validations and the gauges
// licentric.guard.allowed and licentric.license_file.remaining), which are
// no longer reported, and forgets its guards. The other counters, the
// histogram and the spans go on working. Close is safe to call more than
// once.
func (o *Observer) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	clear(o.guards)
	return o.reg.Unregister()
}

// StartCall starts the call's client span, named "{METHOD} {url.template}",
// and injects its trace context into the call's requests through the
// global propagator (otel.GetTextMapPropagator()).
func (o *Observer) StartCall(ctx context.Context, call *licentric.Call, header licentric.RequestHeader) context.Context {
	name := call.Method
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs, semconv.HTTPRequestMethodKey.String(call.Method),
		semconv.ServerAddress(call.ServerAddress), semconv.ServerPort(call.ServerPort))
	if call.URLTemplate != "" {
		name += " " + call.URLTemplate
		attrs = append(attrs, semconv.URLTemplate(call.URLTemplate))
	}
	ctx, _ = o.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	otel.GetTextMapPropagator().Inject(ctx, header)
	return ctx
}

// EndAttempt records the attempt's duration (http.client.request.duration),
// the rate-limit headers of its response and a 429.
func (o *Observer) EndAttempt(ctx context.Context, call *licentric.Call, a *licentric.Attempt) {
	o.duration.Record(ctx, a.Duration.Seconds(), metric.WithAttributeSet(httpAttributes(call, a.StatusCode, a.ErrorType)))
	t, ok := o.tiers[call.Tier]
	if !ok {
		return
	}
	if a.HasRateLimit {
		o.remaining.Record(ctx, int64(a.RateLimit.Remaining), t.record...)
	}
	if a.StatusCode == 429 {
		o.rejections.Add(ctx, 1, t.add...)
	}
}

// httpAttributes are the semantic conventions' attributes of an HTTP
// client request.
func httpAttributes(call *licentric.Call, status int, errType string) attribute.Set {
	kvs := make([]attribute.KeyValue, 0, 6)
	kvs = append(kvs, semconv.HTTPRequestMethodKey.String(call.Method),
		semconv.ServerAddress(call.ServerAddress), semconv.ServerPort(call.ServerPort))
	if call.URLTemplate != "" {
		kvs = append(kvs, semconv.URLTemplate(call.URLTemplate))
	}
	if status != 0 {
		kvs = append(kvs, semconv.HTTPResponseStatusCode(status))
	}
	if errType != "" {
		kvs = append(kvs, semconv.ErrorTypeKey.String(errType))
	}
	return attribute.NewSet(kvs...)
}

// EndCall ends the call's span: its status code, the number of resends,
// a validation's code, and error.type with an error status on failure.
func (o *Observer) EndCall(ctx context.Context, _ *licentric.Call, end *licentric.CallEnd) {
	span := trace.SpanFromContext(ctx)
	if span.IsRecording() {
		attrs := make([]attribute.KeyValue, 0, 4)
		if end.StatusCode != 0 {
			attrs = append(attrs, semconv.HTTPResponseStatusCode(end.StatusCode))
		}
		if end.Attempts > 1 {
			attrs = append(attrs, semconv.HTTPRequestResendCount(end.Attempts-1))
		}
		if end.Code != "" {
			attrs = append(attrs, AttrCode.String(string(end.Code)))
		}
		if end.ErrorType != "" {
			attrs = append(attrs, semconv.ErrorTypeKey.String(end.ErrorType))
			span.SetStatus(codes.Error, end.ErrorType)
		}
		span.SetAttributes(attrs...)
	}
	span.End()
}

// Validation counts a validation (licentric.validations) by its code and
// source: one atomic addition, reported when the counter is collected.
func (o *Observer) Validation(_ context.Context, code licentric.Code, source licentric.ValidationSource) {
	i := sourceIndex(source)
	if i < 0 {
		return
	}
	c := o.codes[code]
	if c == nil {
		c = o.extraCode(code)
	}
	c[i].n.Add(1)
}

// extraCode returns the counts of a code beyond the documented ones: its
// own for the first maxExtraCodes, then those of otherCode.
func (o *Observer) extraCode(code licentric.Code) *codeCounts {
	o.extraMu.Lock()
	defer o.extraMu.Unlock()
	if c := o.extraCodes[code]; c != nil {
		return c
	}
	if len(o.extraCodes) >= maxExtraCodes {
		code = otherCode
		if c := o.extraCodes[code]; c != nil {
			return c
		}
	}
	c := newCodeCounts(code)
	o.extraCodes[code] = c
	return c
}

// BudgetWait counts a wait for the rate budget (licentric.budget.waits) and
// adds the event licentric.budget.wait to the call's span.
func (o *Observer) BudgetWait(ctx context.Context, tier licentric.Tier, waited time.Duration) {
	t, ok := o.tiers[tier]
	if !ok {
		return
	}
	o.budgetWaits.Add(ctx, 1, t.add...)
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent(EventBudgetWait, trace.WithAttributes(t.attr, AttrWaitSeconds.Float64(waited.Seconds())))
	}
}

// FleetFallback counts a failed fleet call (licentric.fleet.fallbacks).
func (o *Observer) FleetFallback(ctx context.Context, op licentric.FleetOperation) {
	if opts, ok := o.fleetOps[op]; ok {
		o.fleetFallback.Add(ctx, 1, opts...)
	}
}

// GuardState keeps the guard for the gauges licentric.guard.allowed and
// licentric.license_file.remaining, until it is closed.
func (o *Observer) GuardState(e *licentric.GuardEvent) {
	if e == nil || e.Guard == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if e.Closed || o.closed {
		delete(o.guards, e.Guard)
		return
	}
	o.guards[e.Guard] = guardRecord{fileExpires: e.LicenseFileExpiresAt, clock: e.Clock}
}

// observe is the callback of the observable instruments.
func (o *Observer) observe(ctx context.Context, obs metric.Observer) error {
	o.observeValidations(obs)
	return o.observeGuards(ctx, obs)
}

// observeValidations reports the validations counted so far, by code and
// source (the counts that are not zero).
func (o *Observer) observeValidations(obs metric.Observer) {
	report := func(c *codeCounts) {
		for i := range c {
			if n := c[i].n.Load(); n > 0 {
				obs.ObserveInt64(o.validations, n, c[i].set)
			}
		}
	}
	for _, c := range o.codes {
		report(c)
	}
	o.extraMu.Lock()
	defer o.extraMu.Unlock()
	for _, c := range o.extraCodes {
		report(c)
	}
}

// observeGuards is the gauges' callback. A guard's state is read when the
// gauges are collected (State is a lock-free read). With several guards,
// the gauge of a source is 1 only when every guard deciding from it allows,
// and the file's time left is the least of theirs.
func (o *Observer) observeGuards(_ context.Context, obs metric.Observer) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	allowed := make(map[licentric.Source]int64, 4)
	var left float64
	hasFile := false
	for g, rec := range o.guards {
		st := g.State()
		src := st.Source
		if _, ok := o.guardSrc[src]; !ok {
			src = licentric.SourceNone
		}
		v := int64(0)
		if st.Allowed {
			v = 1
		}
		if prev, seen := allowed[src]; seen {
			v = min(prev, v)
		}
		allowed[src] = v
		if !rec.fileExpires.IsZero() && rec.clock != nil {
			l := max(rec.fileExpires.Sub(rec.clock.Now()).Seconds(), 0)
			if !hasFile || l < left {
				left, hasFile = l, true
			}
		}
	}
	for src, v := range allowed {
		obs.ObserveInt64(o.guardAllowed, v, o.guardSrc[src])
	}
	if hasFile {
		obs.ObserveFloat64(o.fileLeft, left)
	}
	return nil
}
