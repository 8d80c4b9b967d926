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
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/licentric/licentric-go/internal/wire"
)

// authKind says which credential a request carries.
type authKind int

const (
	authNone        authKind = iota // no Authorization header
	authAPIKey                      // Bearer <API key>; ErrNoAPIKey without one
	authAPIKeyIfAny                 // Bearer <API key> when configured, else none (validate-key)
	authLicense                     // License <request.licenseKey>
)

// request describes one API call. Adding an endpoint is filling one in and
// calling do (or doData).
type request struct {
	method     string
	path       string     // relative to the API root, from wire (already escaped)
	query      url.Values // optional
	body       any        // JSON-encoded when non-nil
	auth       authKind
	licenseKey string // for authLicense
	// tier is the rate-limit tier; empty derives it from method and path.
	tier string
	// idempotent requests are retried on 429, 5xx and transport errors;
	// others only on 429. GET, HEAD, PUT and DELETE are always idempotent.
	idempotent bool
	// out, when non-nil, receives the "data" member of a 2xx body.
	out any
	// secrets are extra strings (e.g. a license key in the path) to redact
	// from logs and errors; the API key and licenseKey always are.
	secrets []string
	// reserved says that budget is a unit of the rate budget already taken
	// for the first attempt; otherwise do takes one (waiting if need be).
	reserved bool
	budget   budgetToken
}

func (r *request) retriesAll() bool {
	switch r.method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
		return true
	}
	return r.idempotent
}

func (r *request) rateTier() string {
	switch {
	case r.tier != "":
		return r.tier
	case r.path == wire.PathValidateKey:
		return wire.TierValidation
	case r.method == http.MethodPost && r.path == wire.PathMachines:
		return wire.TierActivation
	}
	return wire.TierManagement
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

// reqState travels in the request context to the retry hooks.
type reqState struct {
	r             *request
	tier          string
	logPath       string
	attempts      int
	lastAmbiguous bool
	ambiguous     bool
	tok           budgetToken // the rate-budget unit of the attempt in flight
}

type stateKey struct{}

// callerTransport sends through a caller's *http.Client without touching it:
// the retry client gets its own *http.Client around it, so that nothing
// (not even CloseIdleConnections) reaches the caller's value.
type callerTransport struct{ hc *http.Client }

func (t callerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.hc.Do(req)
	if err != nil {
		return nil, unwrapURLError(err)
	}
	return resp, nil
}

func (c *Client) newRetryClient() *retryablehttp.Client {
	hc := c.httpClient
	if !c.ownHTTPClient {
		hc = &http.Client{
			Transport:     callerTransport{hc: c.httpClient},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &retryablehttp.Client{
		HTTPClient:     hc,
		Logger:         nil, // the client logs through slog itself
		RetryWaitMin:   c.retry.MinWait,
		RetryWaitMax:   c.retry.MaxWait,
		RetryMax:       c.retry.MaxRetries,
		CheckRetry:     c.checkRetry,
		Backoff:        c.backoff,
		ErrorHandler:   retryablehttp.PassthroughErrorHandler,
		RequestLogHook: c.beforeAttempt,
		PrepareRetry:   c.beforeRetry,
	}
}

// do sends r, retrying as its class allows, and returns the response of a
// 2xx. A non-2xx is an *APIError (*RateLimitError for 429) together with the
// response; a 2xx whose body is unusable is ErrMalformedResponse.
func (c *Client) do(ctx context.Context, r *request) (res *response, err error) {
	if r.reserved {
		// Give the unit back if no attempt is made.
		defer func() {
			if r.reserved {
				c.budget.giveBack(r.budget)
			}
		}()
	}
	if ctx == nil {
		return nil, fmt.Errorf("%w: nil context", ErrInvalidArgument)
	}
	redact := c.redactor(r)
	op := r.method + " " + redact(r.path)

	var authz string
	switch r.auth {
	case authAPIKey:
		if c.apiKey == "" {
			return nil, ErrNoAPIKey
		}
		authz = wire.SchemeBearer + " " + c.apiKey
	case authAPIKeyIfAny:
		if c.apiKey != "" {
			authz = wire.SchemeBearer + " " + c.apiKey
		}
	case authLicense:
		if err := checkLicenseKey(r.licenseKey); err != nil {
			return nil, err
		}
		authz = wire.SchemeLicense + " " + r.licenseKey
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
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	st := &reqState{r: r, tier: r.rateTier(), logPath: redact(r.path)}
	req, err := retryablehttp.NewRequestWithContext(context.WithValue(ctx, stateKey{}, st), r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("licentric: %s: cannot build request", op)
	}
	req.Header.Set(wire.HeaderAccept, wire.ContentTypeJSON)
	req.Header.Set(wire.HeaderUserAgent, c.userAgent)
	if body != nil {
		req.Header.Set(wire.HeaderContentType, wire.ContentTypeJSON)
	}
	if authz != "" {
		req.Header.Set(wire.HeaderAuthorization, authz)
	}

	// Every attempt takes a unit of the tier's rate budget before it is
	// sent: the first here, retries in beforeRetry.
	if r.reserved {
		st.tok, r.reserved = r.budget, false
	} else if st.tok, err = c.budget.wait(ctx, st.tier); err != nil {
		return nil, fmt.Errorf("licentric: %s: %w", op, err)
	}
	resp, err := c.rc.Do(req)
	if err != nil {
		if resp != nil {
			_ = resp.Body.Close()
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("licentric: %s: %w", op, ctxErr)
		}
		return nil, fmt.Errorf("licentric: %s: %w", op, redactError(unwrapURLError(err), redact))
	}
	defer func() { _ = resp.Body.Close() }()
	data, tooLarge, readErr := readCapped(resp.Body, wire.MaxBodyBytes)
	res = &response{
		StatusCode: resp.StatusCode,
		Header:     resp.Header,
		Body:       data,
		Attempts:   max(st.attempts, 1),
		Ambiguous:  st.ambiguous,
	}
	if readErr != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("licentric: %s: %w", op, ctxErr)
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return res, c.apiError(resp, nil, false, redact)
		}
		return nil, fmt.Errorf("licentric: %s: reading response: %w", op, redactError(readErr, redact))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return res, c.apiError(resp, data, tooLarge, redact)
	}
	if tooLarge {
		return nil, fmt.Errorf("%w: %s: body exceeds %d bytes", ErrMalformedResponse, op, wire.MaxBodyBytes)
	}
	if r.out != nil {
		if err := decodeDataInto(data, r.out); err != nil {
			return nil, fmt.Errorf("%w: %s: %s", ErrMalformedResponse, op, err.Error())
		}
	}
	c.afterWrite(r)
	return res, nil
}

// doData sends r and returns the decoded "data" of its 2xx response.
func doData[T any](ctx context.Context, c *Client, r *request) (*T, *response, error) {
	out := new(T)
	r.out = out
	res, err := c.do(ctx, r)
	if err != nil {
		return nil, res, err
	}
	return out, res, nil
}

// apiError builds the error of a non-2xx response.
func (c *Client) apiError(resp *http.Response, body []byte, tooLarge bool, redact func(string) string) error {
	e := decodeAPIError(resp.StatusCode, resp.Header, body, tooLarge, redact)
	if resp.StatusCode != http.StatusTooManyRequests {
		return e
	}
	rl := &RateLimitError{APIError: e}
	if d, ok := parseRetryAfter(resp.Header.Get(wire.HeaderRetryAfter), c.clock.Now()); ok {
		rl.RetryAfter = d
	}
	if l, ok := parseRateLimit(resp.Header); ok {
		rl.Limit, rl.Remaining, rl.Reset = l.Limit, l.Remaining, l.Reset
	}
	return rl
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

// decodeList decodes a list envelope {"data": [...], "pagination": {...}}.
func decodeList[T any](body []byte) ([]T, Pagination, error) {
	var env struct {
		Data       *[]T            `json:"data"`
		Pagination json.RawMessage `json:"pagination"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, Pagination{}, fmt.Errorf("%w: list does not decode: %s", ErrMalformedResponse, sanitize(err.Error(), 200))
	}
	if env.Data == nil {
		return nil, Pagination{}, fmt.Errorf(`%w: list has no "data" array`, ErrMalformedResponse)
	}
	var p Pagination
	if len(env.Pagination) > 0 && !bytes.Equal(env.Pagination, []byte("null")) {
		if err := json.Unmarshal(env.Pagination, &p); err != nil {
			return nil, Pagination{}, fmt.Errorf("%w: pagination does not decode", ErrMalformedResponse)
		}
	}
	if p.HasMore && (p.NextCursor == nil || *p.NextCursor == "") {
		return nil, Pagination{}, fmt.Errorf("%w: pagination has more items but no cursor", ErrMalformedResponse)
	}
	return *env.Data, p, nil
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

// beforeAttempt runs before every attempt (retryablehttp's RequestLogHook).
func (c *Client) beforeAttempt(_ retryablehttp.Logger, req *http.Request, i int) {
	st, _ := req.Context().Value(stateKey{}).(*reqState)
	if st == nil {
		return
	}
	st.attempts = i + 1
	if i > 0 && st.lastAmbiguous {
		st.ambiguous = true
	}
}

// beforeRetry takes a unit of the rate budget before a retry
// (retryablehttp's PrepareRetry), waiting for one within the request's
// context; an error ends the request without sending the retry.
func (c *Client) beforeRetry(req *http.Request) error {
	st, _ := req.Context().Value(stateKey{}).(*reqState)
	if st == nil {
		return nil
	}
	tok, err := c.budget.wait(req.Context(), st.tier)
	if err != nil {
		return err
	}
	st.tok = tok
	return nil
}

// checkRetry decides whether an attempt is retried (retryablehttp's
// CheckRetry). It also records rate-limit headers and logs the attempt.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	if st == nil {
		st = &reqState{r: &request{}}
	}
	c.observe(ctx, st, resp, err)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return false, ctxErr
	}
	if err != nil {
		st.lastAmbiguous = true
		if !st.r.retriesAll() || permanentTransportError(err) {
			return false, nil
		}
		return true, nil
	}
	st.lastAmbiguous = resp.StatusCode >= 500
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return true, nil
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		return st.r.retriesAll(), nil
	}
	return false, nil
}

// observe records the rate-limit headers of an attempt and logs it.
func (c *Client) observe(ctx context.Context, st *reqState, resp *http.Response, err error) {
	c.budget.observe(st.tok, st.tier, resp)
	st.tok = noToken
	if resp != nil {
		if l, ok := parseRateLimit(resp.Header); ok && st.tier != "" {
			c.rateMu.Lock()
			c.rates[st.tier] = l
			c.rateMu.Unlock()
		}
	}
	if !c.logger.Enabled(ctx, slog.LevelDebug) {
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
			slog.String("request_id", sanitize(resp.Header.Get(wire.HeaderRequestID), maxRequestIDRunes)))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", c.redactor(st.r)(unwrapURLError(err).Error())))
	}
	c.logger.LogAttrs(ctx, slog.LevelDebug, "licentric: http attempt", attrs...)
}

// backoff is the wait before retry attemptNum+1 (retryablehttp's Backoff):
// Retry-After when the response has one, else exponential with jitter,
// never more than max.
func (c *Client) backoff(minWait, maxWait time.Duration, attemptNum int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := parseRetryAfter(resp.Header.Get(wire.HeaderRetryAfter), c.clock.Now()); ok && d > 0 {
			return min(d, maxWait)
		}
	}
	d := maxWait
	if attemptNum < 30 {
		d = min(minWait<<attemptNum, maxWait)
	}
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(d-half+1)
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

// RateLimit is the rate-limit state the server reported last for one tier.
type RateLimit struct {
	Limit     int       // requests allowed in the window
	Remaining int       // requests left in the window
	Reset     time.Time // when the window resets (zero when not reported)
}

// RateLimit returns the X-RateLimit-* headers of the latest response in tier
// (TierValidation, TierActivation or TierManagement); ok is false when no
// response of that tier carried them yet.
func (c *Client) RateLimit(tier string) (RateLimit, bool) {
	c.rateMu.Lock()
	defer c.rateMu.Unlock()
	l, ok := c.rates[tier]
	return l, ok
}

func parseRateLimit(h http.Header) (RateLimit, bool) {
	limit, err := strconv.Atoi(strings.TrimSpace(h.Get(wire.HeaderRateLimitLimit)))
	if err != nil || limit < 0 {
		return RateLimit{}, false
	}
	l := RateLimit{Limit: limit}
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get(wire.HeaderRateLimitRemaining))); err == nil && n >= 0 {
		l.Remaining = n
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(h.Get(wire.HeaderRateLimitReset)), 10, 64); err == nil && n > 0 && n < 1<<40 {
		l.Reset = time.Unix(n, 0).UTC()
	}
	return l, true
}

// permanentTransportError reports errors a retry cannot fix.
func permanentTransportError(err error) bool {
	var (
		certErr     *tls.CertificateVerificationError
		unknownAuth x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		invalidErr  x509.CertificateInvalidError
		recordErr   tls.RecordHeaderError
	)
	return errors.Is(err, errInsecureRedirect) || errors.Is(err, errTooManyRedirects) ||
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

// redactError returns err, or an error with the same chain but redacted
// text when its text contains a secret.
func redactError(err error, redact func(string) string) error {
	if err == nil {
		return nil
	}
	if s := err.Error(); redact(s) != s {
		return &redactedError{msg: redact(s), err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactor returns a function that replaces the client's API key, r's
// license key and r's extra secrets (raw and URL-escaped) by short prefixes.
func (c *Client) redactor(r *request) func(string) string {
	var pairs []string
	add := func(s string) {
		if len(s) < 4 {
			return
		}
		red := redactKey(s)
		for _, v := range []string{s, url.PathEscape(s), url.QueryEscape(s)} {
			pairs = append(pairs, v, red)
		}
	}
	add(c.apiKey)
	add(r.licenseKey)
	for _, s := range r.secrets {
		add(s)
	}
	if len(pairs) == 0 {
		return func(s string) string { return s }
	}
	rep := strings.NewReplacer(pairs...)
	return rep.Replace
}

// maxLicenseKeyLen bounds the license keys the client sends.
const maxLicenseKeyLen = 512

// checkLicenseKey refuses license keys that cannot be sent safely. The key
// never appears in the error.
func checkLicenseKey(k string) error {
	switch {
	case k == "":
		return fmt.Errorf("%w: license key is empty", ErrInvalidArgument)
	case len(k) > maxLicenseKeyLen:
		return fmt.Errorf("%w: license key is longer than %d bytes", ErrInvalidArgument, maxLicenseKeyLen)
	case !validToken(k):
		return fmt.Errorf("%w: license key contains spaces or control characters", ErrInvalidArgument)
	}
	return nil
}

// checkFingerprint enforces the contract's fingerprint length.
func checkFingerprint(fp string) error {
	if n := len(fp); n < wire.MinFingerprintLen || n > wire.MaxFingerprintLen {
		return fmt.Errorf("%w: fingerprint must be %d to %d characters, got %d",
			ErrInvalidArgument, wire.MinFingerprintLen, wire.MaxFingerprintLen, n)
	}
	return nil
}
