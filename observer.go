package licentric

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/licentric/licentric-go/clock"
	"github.com/licentric/licentric-go/internal/wire"
)

// An Observer is told what a client does, so that operators can see it:
// its API calls and their attempts, its validations and where their
// answers came from, its waits for the rate budget, its fleet's fallbacks
// and the state of its guards. Package licentricotel implements it on
// OpenTelemetry (metrics and traces); WithObserver installs one, and guards
// built on the client report through it too.
//
// The client calls an Observer from the goroutines that do the work, often
// concurrently, and never while it holds a lock of its own (a guard only
// keeps its GuardState calls in order). A client without
// one calls nothing and allocates nothing for it.
//
// An Observer only listens: nothing it does changes an answer. The context
// StartCall returns lends the call its values (a span), never a deadline or
// a cancellation; the headers it sets through RequestHeader cannot replace
// the client's own. It should return quickly (a slow observer slows the
// calls it observes) and must not panic: a panic reaches the goroutine that
// called it, which may be one of the client's.
//
// Nothing handed to an Observer holds a license key, an API key, an agent
// token or a fingerprint: calls are named by URL templates
// ("/api/v1/licenses/by-key/{key}"), never by their paths, and errors are the
// redacted ones the caller gets.
//
// Embed NoopObserver to implement only some of the methods (and to keep
// compiling when methods are added).
type Observer interface {
	// StartCall is called when an API call begins, before it waits for the
	// rate budget. The returned context's values (a span) reach every
	// later hook of the call; header adds headers (a W3C traceparent) to
	// each of its HTTP attempts.
	StartCall(ctx context.Context, call *Call, header RequestHeader) context.Context
	// EndAttempt is called when one HTTP attempt of call has its response
	// headers, or has failed.
	EndAttempt(ctx context.Context, call *Call, a *Attempt)
	// EndCall is called once for every StartCall, when the call's answer
	// has been decoded or it has failed.
	EndCall(ctx context.Context, call *Call, end *CallEnd)
	// Validation is called for every Validate that returns a result: its
	// code and where the answer came from. (A Validate that returns an
	// error is not a validation; its call, if any, ended in EndCall.)
	Validation(ctx context.Context, code Code, source ValidationSource)
	// BudgetWait is called when an attempt had to wait for a unit of the
	// client's rate budget of tier (TierValidation, TierActivation or
	// TierManagement), after the wait: waited is its length on the
	// client's clock, whether it ended with a unit or with ctx.
	BudgetWait(ctx context.Context, tier Tier, waited time.Duration)
	// FleetFallback is called when a call to the client's Fleet failed and
	// the client went on with its local state instead (its own cache, its
	// local share of the budget, a request of its own).
	FleetFallback(ctx context.Context, op FleetOperation)
	// GuardState is called with each decision a guard built on the
	// client publishes, and once when the guard is closed (after which
	// none of that guard follows). The calls for one guard come one at a
	// time, each with what the guard published last; the guard waits for
	// each, so it must not wait for the guard in turn (Recheck, Close).
	GuardState(e *GuardEvent)
}

// WithObserver makes the client (and the guards built on it) report to o;
// see Observer and package licentricotel. By default nothing is observed.
func WithObserver(o Observer) Option {
	return func(c *config) error {
		if o == nil {
			return fmt.Errorf("%w: nil Observer", ErrInvalidArgument)
		}
		c.observer = o
		return nil
	}
}

// Call describes an API call to an Observer. It names the call by its URL
// template: it holds no identifier, key or token.
type Call struct {
	// Method is the HTTP method, e.g. "POST".
	Method string
	// URLTemplate is the path of the call's URL with its identifiers and
	// keys replaced by names (OpenTelemetry's url.template), e.g.
	// "/api/v1/licenses/{id}" or "/api/v1/licenses/by-key/{key}"; the
	// base URL's own path, if any, comes first. It is empty for a path the
	// client does not know (it builds none).
	URLTemplate string
	// ServerAddress and ServerPort are the host and port of the base URL
	// (the port is the scheme's default when the URL names none).
	ServerAddress string
	ServerPort    int
	// Tier is the call's rate-limit tier: TierValidation, TierActivation or
	// TierManagement.
	Tier Tier
}

// Attempt is one HTTP attempt of a call: the first, or a retry.
type Attempt struct {
	// Number counts the call's attempts from 1.
	Number int
	// StatusCode is the response's status; 0 when none arrived.
	StatusCode int
	// ErrorType says why the attempt failed (see CallEnd.ErrorType); empty
	// for a status below 400.
	ErrorType string
	// Duration is the time, in real time, from sending the request to
	// receiving the response's headers or the error.
	Duration time.Duration
	// RateLimit is the response's X-RateLimit-* headers, when
	// HasRateLimit.
	RateLimit    RateLimit
	HasRateLimit bool
}

// CallEnd says how an API call ended.
type CallEnd struct {
	// StatusCode is the status of the call's last response; 0 when none
	// arrived.
	StatusCode int
	// Attempts is the number of HTTP attempts made (0 when the call ended
	// before any, e.g. waiting for the rate budget).
	Attempts int
	// ErrorType is OpenTelemetry's error.type of a failed call: the status
	// code of an answer of 400 or more ("404", "429", "503"; also when the
	// client turns the answer into a result, as for a validation of an
	// unknown key), else one of the ErrorType constants. It is empty for a
	// call that succeeded.
	ErrorType string
	// Err is the error the caller gets, nil on success (and for a
	// validation the client answered with a result). Its text holds no
	// secret.
	Err error
	// Code is the result's code of a validation (POST
	// /licenses/validate-key); empty for other calls and failed ones.
	Code Code
}

// Error types of a call or attempt that failed without an HTTP status of
// 400 or more (OpenTelemetry's error.type). The set is small and fixed, so
// that it can label metrics.
const (
	// ErrorTypeTimeout: the attempt timed out, or the caller's deadline
	// passed.
	ErrorTypeTimeout = "timeout"
	// ErrorTypeCanceled: the caller's context was cancelled.
	ErrorTypeCanceled = "canceled"
	// ErrorTypeConnectionRefused: nothing listened at the service's
	// address.
	ErrorTypeConnectionRefused = "connection_refused"
	// ErrorTypeDNS: the service's host name did not resolve.
	ErrorTypeDNS = "dns"
	// ErrorTypeTLS: the TLS handshake or the service's certificate failed.
	ErrorTypeTLS = "tls"
	// ErrorTypeConnection: the connection failed otherwise (reset, closed
	// before the answer ended).
	ErrorTypeConnection = "connection"
	// ErrorTypeRedirect: a redirect the client refuses (off the base
	// URL's origin, to plain http, too many).
	ErrorTypeRedirect = "redirect"
	// ErrorTypeBudgetExhausted: the client's own rate budget held the
	// call back (ErrBudgetExhausted).
	ErrorTypeBudgetExhausted = "budget_exhausted"
	// ErrorTypeMalformedResponse: a 2xx answer the client cannot use
	// (ErrMalformedResponse).
	ErrorTypeMalformedResponse = "malformed_response"
	// ErrorTypeInvalidArgument: the client refused the call before
	// sending it (ErrInvalidArgument, ErrNoAPIKey).
	ErrorTypeInvalidArgument = "invalid_argument"
	// ErrorTypeOther: any other failure.
	ErrorTypeOther = "_OTHER"
)

// ValidationSource says where a validation's answer came from.
type ValidationSource string

// Sources of a validation's answer.
const (
	// ValidationSourceService: the service answered this call (or a
	// concurrent identical one it shared the request with).
	ValidationSourceService ValidationSource = "service"
	// ValidationSourceCache: a fresh result of the client's cache.
	ValidationSourceCache ValidationSource = "cache"
	// ValidationSourceStale: a cached result past its freshness, served
	// because the service could not be asked (Validation.Stale).
	ValidationSourceStale ValidationSource = "stale"
	// ValidationSourceFleet: a fresh result another member of the fleet
	// stored (WithFleet).
	ValidationSourceFleet ValidationSource = "fleet"
)

// FleetOperation names the call to a Fleet that failed.
type FleetOperation string

// Fleet operations.
const (
	FleetOpLookup     FleetOperation = "lookup"     // GetResult: the local cache answers alone
	FleetOpStore      FleetOperation = "store"      // SetResult: the result stays in the local cache
	FleetOpLock       FleetOperation = "lock"       // Acquire: this member asks the service itself
	FleetOpBudget     FleetOperation = "budget"     // TakeBudget: the local share of the budget applies
	FleetOpInvalidate FleetOperation = "invalidate" // InvalidateLicense, InvalidateAll: only local copies go
)

// GuardEvent is a guard's state, told to an Observer.
type GuardEvent struct {
	// Guard is the guard: the same pointer in every event of one guard,
	// so an observer may keep its records by it (and drop them when
	// Closed). Its State is a lock-free read.
	Guard *Guard
	// State is the decision the guard just made (or, when Closed, its
	// last one).
	State GuardState
	// LicenseFileExpiresAt is when the verified license file in force
	// expires; zero when there is none.
	LicenseFileExpiresAt time.Time
	// Clock is the client's clock, on which LicenseFileExpiresAt comes.
	Clock clock.Clock
	// Closed reports that the guard was closed: no event of it follows.
	Closed bool
}

// RequestHeader lets an Observer add headers to a call's HTTP requests,
// such as the W3C trace context; it implements OpenTelemetry's
// propagation.TextMapCarrier. Set ignores the headers the client sets or
// that carry credentials (Authorization, Cookie, Content-Type, Accept,
// User-Agent, Host, Content-Length and the hop-by-hop ones) and names or
// values that are not valid in a header.
type RequestHeader struct{ h http.Header }

// Get returns the value of header key set so far.
func (h RequestHeader) Get(key string) string { return h.h.Get(key) }

// Set sets header key to value, unless Set ignores it (see RequestHeader).
func (h RequestHeader) Set(key, value string) {
	if h.h == nil || !validHeaderName(key) || !validHeaderValue(value) || reservedHeader(key) {
		return
	}
	h.h.Set(key, value)
}

// Keys returns the names of the headers set so far.
func (h RequestHeader) Keys() []string {
	keys := make([]string, 0, len(h.h))
	for k := range h.h {
		keys = append(keys, k)
	}
	return keys
}

// maxObserverHeaderBytes bounds what an observer may add to a request.
const maxObserverHeaderBytes = 8 << 10

func reservedHeader(key string) bool {
	switch http.CanonicalHeaderKey(key) {
	case wire.HeaderAuthorization, wire.HeaderContentType, wire.HeaderAccept, wire.HeaderUserAgent,
		"Cookie", "Host", "Content-Length", "Transfer-Encoding", "Connection", "Upgrade",
		"Te", "Trailer", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "Expect":
		return true
	}
	return false
}

func validHeaderName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func validHeaderValue(s string) bool {
	if len(s) > maxObserverHeaderBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// NoopObserver is an Observer that does nothing. Embed it in an observer
// that implements only some of the methods.
type NoopObserver struct{}

// StartCall returns ctx.
func (NoopObserver) StartCall(ctx context.Context, _ *Call, _ RequestHeader) context.Context {
	return ctx
}

// EndAttempt does nothing.
func (NoopObserver) EndAttempt(context.Context, *Call, *Attempt) {}

// EndCall does nothing.
func (NoopObserver) EndCall(context.Context, *Call, *CallEnd) {}

// Validation does nothing.
func (NoopObserver) Validation(context.Context, Code, ValidationSource) {}

// BudgetWait does nothing.
func (NoopObserver) BudgetWait(context.Context, Tier, time.Duration) {}

// FleetFallback does nothing.
func (NoopObserver) FleetFallback(context.Context, FleetOperation) {}

// GuardState does nothing.
func (NoopObserver) GuardState(*GuardEvent) {}

var _ Observer = NoopObserver{}

// observedCall is an API call its client's observer is told of. The
// transport's methods take a nil one (no observer) and do nothing.
type observedCall struct {
	o      Observer
	ctx    context.Context // the call's, with the observer's values
	call   Call
	header http.Header // what the observer adds to every attempt

	// The attempts of one call run one after another.
	attempts int
	status   int       // the last attempt's status
	sentAt   time.Time // the attempt in flight's, in real time
}

// callTarget is what every Call of a client shares: the base URL's path,
// host and port.
type callTarget struct {
	basePath string // e.g. "/api/v1"
	address  string
	port     int
}

func newCallTarget(base string) callTarget {
	u, err := url.Parse(base)
	if err != nil {
		return callTarget{basePath: wire.APIPrefix}
	}
	port, _ := strconv.Atoi(u.Port())
	if port == 0 {
		port = 443
		if u.Scheme == "http" {
			port = 80
		}
	}
	return callTarget{basePath: u.EscapedPath(), address: u.Hostname(), port: port}
}

// begin tells the transport's observer that the call r begins and returns
// the context the call goes on in. Without an observer it returns ctx and
// nil.
func (t *transport) begin(ctx context.Context, r *request) (context.Context, *observedCall) {
	if t.obs == nil || ctx == nil {
		return ctx, nil
	}
	oc := &observedCall{
		o: t.obs,
		call: Call{
			Method:        r.method,
			ServerAddress: t.target.address,
			ServerPort:    t.target.port,
			Tier:          Tier(wire.TierOf(r.method, r.path)),
		},
		header: make(http.Header),
	}
	if tmpl, ok := wire.TemplateOf(r.method, r.path); ok {
		oc.call.URLTemplate = t.target.basePath + tmpl
	}
	if octx := t.obs.StartCall(ctx, &oc.call, RequestHeader{oc.header}); octx != nil && octx != ctx {
		ctx = lentValues{Context: ctx, values: octx}
	}
	oc.ctx = ctx
	r.observed = oc
	return ctx, oc
}

// lentValues is a call's context with the values of the one its observer
// returned: the observer's span reaches the call's hooks (and the request),
// while the deadline and cancellation stay the caller's.
type lentValues struct {
	context.Context
	values context.Context
}

func (c lentValues) Value(key any) any { return c.values.Value(key) }

// sending marks the start of an attempt.
func (oc *observedCall) sending() {
	if oc == nil {
		return
	}
	oc.attempts++
	oc.sentAt = time.Now()
}

// attemptEnded tells the observer how an attempt ended.
func (oc *observedCall) attemptEnded(ctx context.Context, resp *http.Response, err error, rl RateLimit, hasRL bool) {
	if oc == nil {
		return
	}
	a := Attempt{Number: max(oc.attempts, 1), RateLimit: rl, HasRateLimit: hasRL}
	if !oc.sentAt.IsZero() {
		a.Duration = time.Since(oc.sentAt)
	}
	if resp != nil {
		a.StatusCode = resp.StatusCode
		oc.status = resp.StatusCode
	}
	a.ErrorType = errorType(a.StatusCode, err)
	oc.o.EndAttempt(ctx, &oc.call, &a)
}

// end tells the observer how the call ended: res is its response (nil
// when none came back), err the caller's error, code a validation's code.
func (oc *observedCall) end(res *response, err error, code Code) {
	if oc == nil {
		return
	}
	e := CallEnd{StatusCode: oc.status, Attempts: oc.attempts, Err: err, Code: code}
	if res != nil {
		e.StatusCode = res.StatusCode
	}
	if err != nil {
		e.Code = ""
	}
	e.ErrorType = errorType(e.StatusCode, err)
	oc.o.EndCall(oc.ctx, &oc.call, &e)
}

// errorType classifies a failure for telemetry: an HTTP status of 400 or
// more as its number, else one of the ErrorType constants; "" when status
// and err say the call succeeded.
func errorType(status int, err error) string {
	if status >= 400 {
		return strconv.Itoa(status)
	}
	if err == nil {
		return ""
	}
	var (
		apiErr  *APIError
		dnsErr  *net.DNSError
		netErr  net.Error
		tlsErr  *tls.CertificateVerificationError
		recErr  tls.RecordHeaderError
		alert   tls.AlertError
		errno   syscall.Errno
		opError *net.OpError
	)
	switch {
	case errors.As(err, &apiErr) && apiErr.StatusCode >= 400:
		return strconv.Itoa(apiErr.StatusCode)
	case errors.Is(err, ErrBudgetExhausted):
		return ErrorTypeBudgetExhausted
	case errors.Is(err, ErrMalformedResponse):
		return ErrorTypeMalformedResponse
	case errors.Is(err, ErrInvalidArgument), errors.Is(err, ErrNoAPIKey):
		return ErrorTypeInvalidArgument
	case errors.Is(err, context.DeadlineExceeded):
		return ErrorTypeTimeout
	case errors.Is(err, context.Canceled):
		return ErrorTypeCanceled
	case errors.Is(err, errInsecureRedirect), errors.Is(err, errTooManyRedirects), errors.Is(err, errOffOriginRedirect):
		return ErrorTypeRedirect
	case errors.As(err, &tlsErr), errors.As(err, &recErr), errors.As(err, &alert), permanentTransportError(err):
		return ErrorTypeTLS
	case errors.As(err, &dnsErr):
		return ErrorTypeDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return ErrorTypeConnectionRefused
	case errors.As(err, &netErr) && netErr.Timeout():
		return ErrorTypeTimeout
	case errors.As(err, &errno), errors.As(err, &opError), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ErrorTypeConnection
	}
	return ErrorTypeOther
}
