package licentric

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/licentric/licentric-go/clock"
	"github.com/licentric/licentric-go/internal/wire"
)

// The transport is the client's send loop: for every attempt of a request
// it takes a unit of the rate budget, sends, caps and classifies the
// answer, and waits out the backoff on the client's clock. It knows nothing
// of the cache: what a write invalidates is the caller's business
// (Client.call). go-retryablehttp runs the loop; its hooks are the adapter:
// RequestLogHook counts attempts, CheckRetry settles the budget unit and
// decides, Backoff is zero because PrepareRetry waits instead, on the
// client's clock (retryablehttp's own sleep cannot be given a clock), and
// then takes the next unit.

// authKind says which credential a request carries.
type authKind int

const (
	authNone        authKind = iota // no Authorization header
	authAPIKey                      // Bearer <API key>; ErrNoAPIKey without one
	authAPIKeyIfAny                 // Bearer <API key> when configured, else none (validate-key)
	authLicense                     // License <request.licenseKey>
	authToken                       // Bearer <request.token> (an agent's AGT- token)
)

// request describes one API call. Adding an endpoint is filling one in and
// calling Client.call (or callData).
type request struct {
	method     string
	path       string     // relative to the API root, from wire (already escaped)
	query      url.Values // optional
	body       any        // JSON-encoded when non-nil
	auth       authKind
	licenseKey string // for authLicense
	token      string // for authToken
	// idempotent requests are retried on 429, 5xx and transport errors;
	// others only on 429. GET, HEAD, PUT and DELETE are always idempotent.
	idempotent bool
	// noRetry makes the request a single attempt (the guard's quick look
	// at the service while it has a license file to decide from).
	noRetry bool
	// noWait makes the request fail at once with ErrBudgetExhausted when
	// the rate budget has no unit free, instead of waiting for one (the
	// results part asks so when it holds a stale result to serve instead).
	noWait bool
	// secrets are extra strings (e.g. a license key in the path) to redact
	// from logs and errors; the API key and licenseKey always are.
	secrets []string
	// drops is what a success invalidates (see invalidate.go). The
	// transport does not read it; Client.call does.
	drops invalidation
	// observed is the call as the client's Observer sees it (set by
	// transport.begin; nil without an observer).
	observed *observedCall
}

func (r *request) retriesAll() bool {
	switch r.method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
		return true
	}
	return r.idempotent
}

// response is a 2xx (or, alongside an error, non-2xx) answer.
type response struct {
	StatusCode int
	Header     http.Header
	Body       []byte // at most wire.MaxBodyBytes
	// Attempts is the number of attempts made (1 without retries).
	Attempts int
	// Ambiguous reports that an earlier attempt ended in a transport
	// error or a 5xx, so the server may have acted on it.
	Ambiguous bool
}

// transport is the send loop of a Client.
type transport struct {
	base      string
	apiKey    string
	userAgent string
	clock     clock.Clock
	logger    *slog.Logger
	retry     RetryPolicy
	budget    *budget
	rc        *retryablehttp.Client
	obs       Observer   // nil: nothing observed
	target    callTarget // the base URL as an Observer is told it

	rateMu sync.Mutex
	rates  map[string]RateLimit
}

// newTransport builds the send loop from the options.
func newTransport(cfg *config, b *budget) *transport {
	t := &transport{
		base:      cfg.base,
		apiKey:    cfg.apiKey,
		userAgent: cfg.userAgent,
		clock:     cfg.clock,
		logger:    cfg.logger,
		retry:     cfg.retry,
		budget:    b,
		rates:     make(map[string]RateLimit),
		obs:       cfg.observer,
		target:    newCallTarget(cfg.base),
	}
	t.rc = &retryablehttp.Client{
		HTTPClient:     newHTTPClient(cfg.httpClient, cfg.base, cfg.retry.AttemptTimeout),
		Logger:         nil, // the transport logs through slog itself
		RetryWaitMin:   cfg.retry.MinWait,
		RetryWaitMax:   cfg.retry.MaxWait,
		RetryMax:       cfg.retry.MaxRetries,
		CheckRetry:     t.checkRetry,
		Backoff:        func(time.Duration, time.Duration, int, *http.Response) time.Duration { return 0 },
		ErrorHandler:   retryablehttp.PassthroughErrorHandler,
		RequestLogHook: t.beforeAttempt,
		PrepareRetry:   t.beforeRetry,
	}
	return t
}

// newHTTPClient returns the *http.Client the transport sends through: the
// caller's RoundTripper, cookie jar and (shorter) timeout when one was given
// (the caller's value itself is never modified), every attempt bounded by
// attemptTimeout, and redirects followed only within the base URL's origin
// (scheme, host and port), so that credentials and bodies never reach
// another origin.
func newHTTPClient(caller *http.Client, base string, attemptTimeout time.Duration) *http.Client {
	var rt http.RoundTripper
	hc := &http.Client{}
	if caller != nil {
		rt = caller.Transport
		hc.Jar = caller.Jar
		hc.Timeout = caller.Timeout
	}
	if rt == nil {
		if caller != nil {
			rt = http.DefaultTransport
		} else {
			rt = http.DefaultTransport.(*http.Transport).Clone()
		}
	}
	hc.Transport = attemptTimeoutTransport{next: rt, d: attemptTimeout}
	origin, _ := url.Parse(base)
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return errTooManyRedirects
		}
		if origin == nil || req.URL.Scheme != origin.Scheme || req.URL.Host != origin.Host {
			return errOffOriginRedirect
		}
		if req.URL.Scheme != "https" && !isLoopbackHost(req.URL.Hostname()) {
			return errInsecureRedirect
		}
		return nil
	}
	return hc
}

// maxRedirects bounds the redirects followed within the base URL's origin.
const maxRedirects = 5

var (
	errTooManyRedirects  = errors.New("licentric: too many redirects")
	errInsecureRedirect  = errors.New("licentric: refusing redirect to a non-https URL")
	errOffOriginRedirect = errors.New("licentric: refusing redirect off the base URL's origin")
)

// attemptTimeoutTransport bounds one attempt, body included, by d.
type attemptTimeoutTransport struct {
	next http.RoundTripper
	d    time.Duration
}

func (t attemptTimeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.d <= 0 {
		return t.next.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.d)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose ends an attempt's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// attempt travels in the request context to the retry hooks.
type attempt struct {
	r             *request
	tier          string
	logPath       string
	red           redactor
	attempts      int
	lastAmbiguous bool
	ambiguous     bool
	unit          unit          // the budget unit of the attempt in flight
	wait          time.Duration // backoff before the next attempt
}

type attemptKey struct{}

// send sends r, retrying as its class allows, and returns the response of a
// 2xx. A non-2xx is an *APIError (*RateLimitError for 429) together with the
// response; a 2xx whose body is unusable is ErrMalformedResponse. A request
// the rate budget holds back past ctx fails with an error matching both
// ErrBudgetExhausted and ctx's error.
func (t *transport) send(ctx context.Context, r *request) (*response, error) {
	if ctx == nil {
		return nil, fmt.Errorf("%w: nil context", ErrInvalidArgument)
	}
	red := t.redactor(r)
	st := &attempt{r: r, tier: wire.TierOf(r.method, r.path), logPath: red.redact(r.path), red: red}
	op := r.method + " " + st.logPath

	var authz string
	switch r.auth {
	case authAPIKey:
		if t.apiKey == "" {
			return nil, ErrNoAPIKey
		}
		authz = wire.SchemeBearer + " " + t.apiKey
	case authAPIKeyIfAny:
		if t.apiKey != "" {
			authz = wire.SchemeBearer + " " + t.apiKey
		}
	case authLicense:
		if err := checkLicenseKey(r.licenseKey); err != nil {
			return nil, err
		}
		authz = wire.SchemeLicense + " " + r.licenseKey
	case authToken:
		if !validToken(r.token) {
			return nil, fmt.Errorf("%w: credential is empty or has spaces or control characters", ErrInvalidArgument)
		}
		authz = wire.SchemeBearer + " " + r.token
	}

	var body any // nil interface: no body
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("licentric: %s: encoding request: %w", op, err)
		}
		if len(b) > wire.MaxBodyBytes {
			return nil, fmt.Errorf("%w: %s: request body exceeds %d bytes", ErrInvalidArgument, op, wire.MaxBodyBytes)
		}
		body = b
	}
	u := t.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := retryablehttp.NewRequestWithContext(context.WithValue(ctx, attemptKey{}, st), r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("licentric: %s: cannot build request", op)
	}
	if oc := r.observed; oc != nil {
		for k, v := range oc.header {
			req.Header[k] = v
		}
	}
	req.Header.Set(wire.HeaderAccept, wire.ContentTypeJSON)
	req.Header.Set(wire.HeaderUserAgent, t.userAgent)
	if body != nil {
		req.Header.Set(wire.HeaderContentType, wire.ContentTypeJSON)
	}
	if authz != "" {
		req.Header.Set(wire.HeaderAuthorization, authz)
	}

	// Every attempt takes a unit of the tier's budget before it is sent:
	// the first here, retries in beforeRetry.
	if st.unit, err = t.budget.take(ctx, st.tier, r.noWait); err != nil {
		return nil, fmt.Errorf("licentric: %s: %w", op, err)
	}
	defer func() { t.budget.giveBack(st.unit) }() // a unit never sent goes back
	resp, err := t.rc.Do(req)
	if err != nil {
		if resp != nil {
			_ = resp.Body.Close()
		}
		if errors.Is(err, ErrBudgetExhausted) {
			return nil, fmt.Errorf("licentric: %s: %w", op, err)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("licentric: %s: %w", op, ctxError(ctx))
		}
		err = red.redactError(unwrapURLError(err))
		if !refusedRedirect(err) {
			err = &unavailableError{err}
		}
		return nil, fmt.Errorf("licentric: %s: %w", op, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, tooLarge, readErr := readCapped(resp.Body, wire.MaxBodyBytes)
	res := &response{
		StatusCode: resp.StatusCode,
		Header:     resp.Header,
		Body:       data,
		Attempts:   max(st.attempts, 1),
		Ambiguous:  st.ambiguous,
	}
	ok := resp.StatusCode >= 200 && resp.StatusCode <= 299
	switch {
	case readErr != nil && ctx.Err() != nil:
		return nil, fmt.Errorf("licentric: %s: %w", op, ctxError(ctx))
	case readErr != nil && !ok:
		return res, t.apiError(resp, nil, false, red)
	case readErr != nil:
		return nil, fmt.Errorf("licentric: %s: reading response: %w", op, &unavailableError{red.redactError(readErr)})
	case !ok:
		return res, t.apiError(resp, data, tooLarge, red)
	case tooLarge:
		return nil, fmt.Errorf("%w: %s: body exceeds %d bytes", ErrMalformedResponse, op, wire.MaxBodyBytes)
	}
	return res, nil
}

// apiError builds the error of a non-2xx response.
func (t *transport) apiError(resp *http.Response, body []byte, tooLarge bool, red redactor) error {
	e := decodeAPIError(resp.StatusCode, resp.Header, body, tooLarge, red)
	if resp.StatusCode != http.StatusTooManyRequests {
		return e
	}
	rl := &RateLimitError{APIError: e}
	if d, ok := parseRetryAfter(resp.Header.Get(wire.HeaderRetryAfter), t.clock.Now()); ok {
		rl.RetryAfter = d
	}
	if l, ok := parseRateLimit(resp.Header); ok {
		rl.Limit, rl.Remaining, rl.Reset = l.Limit, l.Remaining, l.Reset
	}
	return rl
}

// beforeAttempt runs before every attempt (retryablehttp's RequestLogHook).
func (t *transport) beforeAttempt(_ retryablehttp.Logger, req *http.Request, i int) {
	st, _ := req.Context().Value(attemptKey{}).(*attempt)
	if st == nil {
		return
	}
	st.attempts = i + 1
	st.unit.sentAt = t.clock.Now()
	st.r.observed.sending()
	if i > 0 && st.lastAmbiguous {
		st.ambiguous = true
	}
}

// beforeRetry waits out the backoff on the client's clock and takes a unit
// of the rate budget before a retry (retryablehttp's PrepareRetry); an
// error ends the request without sending the retry.
func (t *transport) beforeRetry(req *http.Request) error {
	st, _ := req.Context().Value(attemptKey{}).(*attempt)
	if st == nil {
		return nil
	}
	ctx := req.Context()
	if st.wait > 0 {
		// The backoff ends when the client's clock says so (a test that
		// advances its clock, or a synctest bubble, skips it) or, on a
		// clock that stands still, when as much real time has passed.
		real := time.NewTimer(st.wait)
		defer real.Stop()
		select {
		case <-ctx.Done():
			return ctxError(ctx)
		case <-t.clock.After(st.wait):
		case <-real.C:
		}
	}
	u, err := t.budget.take(ctx, st.tier, st.r.noWait)
	if err != nil {
		return err
	}
	st.unit = u
	return nil
}

// checkRetry decides whether an attempt is retried (retryablehttp's
// CheckRetry) and how long to wait first. It also settles the attempt's
// budget unit, records rate-limit headers and logs the attempt.
func (t *transport) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	st, _ := ctx.Value(attemptKey{}).(*attempt)
	if st == nil {
		st = &attempt{r: &request{}}
	}
	t.observe(ctx, st, resp, err)
	if ctx.Err() != nil {
		return false, ctxError(ctx)
	}
	retry := false
	if err != nil {
		st.lastAmbiguous = true
		retry = st.r.retriesAll() && !permanentTransportError(err)
	} else {
		st.lastAmbiguous = resp.StatusCode >= 500
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			retry = true
		case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
			retry = st.r.retriesAll()
		}
	}
	if st.r.noRetry {
		retry = false
	}
	if retry {
		st.wait = t.backoff(t.retry.MinWait, t.retry.MaxWait, max(st.attempts, 1)-1, resp)
	}
	return retry, nil
}

// observe settles the budget unit of an attempt, records its rate-limit
// headers and logs it.
func (t *transport) observe(ctx context.Context, st *attempt, resp *http.Response, err error) {
	t.budget.observe(st.unit, st.tier, resp)
	st.unit = unit{}
	var (
		rl    RateLimit
		hasRL bool
	)
	if resp != nil && st.tier != "" {
		if rl, hasRL = parseRateLimit(resp.Header); hasRL {
			t.rateMu.Lock()
			t.rates[st.tier] = rl
			t.rateMu.Unlock()
		}
	}
	st.r.observed.attemptEnded(ctx, resp, err, rl, hasRL)
	if !t.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", st.r.method),
		slog.String("path", st.logPath),
		slog.Int("attempt", max(st.attempts, 1)),
	}
	if resp != nil {
		attrs = append(attrs,
			slog.Int("status", resp.StatusCode),
			slog.String("request_id", st.red.clean(resp.Header.Get(wire.HeaderRequestID), maxRequestIDRunes)))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", scrubKeyShapes(st.red.redact(unwrapURLError(err).Error()))))
	}
	t.logger.LogAttrs(ctx, slog.LevelDebug, "licentric: http attempt", attrs...)
}

// backoff is the wait before retry n+1: Retry-After when the response has
// one, else exponential from MinWait with jitter, never more than MaxWait.
func (t *transport) backoff(minWait, maxWait time.Duration, n int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := parseRetryAfter(resp.Header.Get(wire.HeaderRetryAfter), t.clock.Now()); ok && d > 0 {
			return min(d, maxWait)
		}
	}
	d := maxWait
	if n < 30 {
		d = min(minWait<<n, maxWait)
	}
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// redactor returns the redactor of r: the API key, r's license key and r's
// extra secrets.
func (t *transport) redactor(r *request) redactor {
	return newRedactor(append([]string{t.apiKey, r.licenseKey, r.token}, r.secrets...)...)
}

// opName names r in an error: its method and path, with the secrets the
// path may hold (a license key) redacted.
func (t *transport) opName(r *request) string {
	return r.method + " " + t.redactor(r).redact(r.path)
}

// decodeDataInto decodes the "data" member of a success envelope into out.
func decodeDataInto(body []byte, out any) error {
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return errors.New("body is not a JSON object")
	}
	if d := bytes.TrimSpace(env.Data); len(d) == 0 || bytes.Equal(d, []byte("null")) {
		return errors.New(`"data" is missing`)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf(`"data" does not decode: %s`, sanitize(err.Error(), 200))
	}
	return nil
}

// readCapped reads at most limit bytes; tooLarge reports more were there.
func readCapped(r io.Reader, limit int) (data []byte, tooLarge bool, err error) {
	data, err = io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, false, err
	}
	if len(data) > limit {
		return nil, true, nil
	}
	return data, false, nil
}

// maxRetryAfter caps a Retry-After value, in either form.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After value: whole seconds or an HTTP date
// (a date in the past is no wait), capped at maxRetryAfter.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(min(n, int64(maxRetryAfter/time.Second))) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), maxRetryAfter), true
}

// refusedRedirect reports a redirect the client refused: a misconfigured
// base URL or service, not an outage.
func refusedRedirect(err error) bool {
	return errors.Is(err, errInsecureRedirect) || errors.Is(err, errTooManyRedirects) || errors.Is(err, errOffOriginRedirect)
}

// permanentTransportError reports errors a retry cannot fix: refused
// redirects and TLS verification failures.
func permanentTransportError(err error) bool {
	var (
		certErr     *tls.CertificateVerificationError
		unknownAuth x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		invalidErr  x509.CertificateInvalidError
		recordErr   tls.RecordHeaderError
	)
	return errors.Is(err, errInsecureRedirect) || errors.Is(err, errTooManyRedirects) || errors.Is(err, errOffOriginRedirect) ||
		errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) ||
		errors.As(err, &invalidErr) || errors.As(err, &recordErr)
}

// unwrapURLError drops *url.Error wrappers, whose text repeats the URL (and
// so any key in a path).
func unwrapURLError(err error) error {
	for {
		var ue *url.Error
		if !errors.As(err, &ue) || ue.Err == nil {
			return err
		}
		err = ue.Err
	}
}

// ctxError is why ctx ended: its cause when that is itself a context error
// (a request shared by several callers runs on a context of its own, which
// is cancelled with the last caller's deadline as its cause, so that caller
// sees context.DeadlineExceeded, not context.Canceled), else ctx.Err().
func ctxError(ctx context.Context) error {
	if c := context.Cause(ctx); errors.Is(c, context.DeadlineExceeded) || errors.Is(c, context.Canceled) {
		return c
	}
	return ctx.Err()
}
