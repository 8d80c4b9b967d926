package licentric

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

// Code is the outcome of a validation, e.g. CodeValid or CodeExpired.
type Code string

// Validation codes (docs/wire-protocol.md §4).
const (
	CodeValid                Code = "VALID"
	CodeExpired              Code = "EXPIRED"
	CodeSuspended            Code = "SUSPENDED"
	CodeRevoked              Code = "REVOKED"
	CodeBanned               Code = "BANNED"
	CodeNotFound             Code = "NOT_FOUND"
	CodeFingerprintNotFound  Code = "FINGERPRINT_NOT_FOUND"
	CodeMachineLimitExceeded Code = "MACHINE_LIMIT_EXCEEDED"
	CodeHeartbeatRequired    Code = "HEARTBEAT_REQUIRED"
	CodeUsesExceeded         Code = "USES_EXCEEDED"
	CodeEntitlementsMissing  Code = "ENTITLEMENTS_MISSING"
)

// Validation is the result of validating a license key. A license that is
// not valid is a result, not an error: check Valid (or Err).
//
// A Validation is a value of the caller's: it shares nothing with the
// client's cache or with the results of other calls, so it may be modified
// freely. (Empty metadata objects come back nil.)
type Validation struct {
	// Valid reports whether the application should grant access. It is
	// true for CodeValid, and for CodeExpired under the ALLOW_ACCESS
	// expiration strategy (a grace period; see Expired).
	Valid bool
	// Code says why.
	Code Code
	// Detail is the server's human-readable explanation.
	Detail string
	// License is the license with its policy snapshot; nil for
	// CodeNotFound.
	License *License
	// Machine is the machine matched by the fingerprint, if one was sent
	// and matched.
	Machine *Machine
	// Entitlements is the license's effective entitlement codes (license ∪
	// policy), sorted.
	Entitlements []string

	// FromCache reports that the result was answered from the client's
	// cache rather than by a request.
	FromCache bool
	// Age is how long ago, on the client's clock, the service gave the
	// result; zero for a result just received.
	Age time.Duration
	// Stale reports a cached result served past its freshness because the
	// service could not be asked; StaleReason is why: the error of the
	// request (matching ErrServer, ErrRateLimited, a network error, ...),
	// or ErrBudgetExhausted when the client's own rate budget was spent.
	// An application may accept a stale result for a while (see
	// WithStaleIfError) or insist on a fresh one.
	Stale       bool
	StaleReason error

	// until is how long, on the client's clock, the results part may still
	// serve this result (its stale bound); zero when it was not stored.
	until time.Time
}

// Err returns nil when v is valid, else an *InvalidLicenseError matching
// ErrInvalidLicense and the sentinel of v.Code (ErrExpired, ErrSuspended,
// ErrRevoked, ErrBanned, ErrNotFound, ErrFingerprintNotFound,
// ErrMachineLimitExceeded, ErrHeartbeatRequired, ErrUsesExceeded or
// ErrEntitlementsMissing).
func (v *Validation) Err() error {
	if v == nil {
		return &InvalidLicenseError{Code: "", Detail: "no validation result"}
	}
	if v.Valid {
		return nil
	}
	return &InvalidLicenseError{Code: v.Code, Detail: v.Detail}
}

// Expired reports whether the license is past its expiry, which with
// Valid true means an ALLOW_ACCESS grace period: access continues, but the
// user should renew.
func (v *Validation) Expired() bool { return v != nil && v.Code == CodeExpired }

// HasEntitlement reports whether code is among v's effective entitlements.
func (v *Validation) HasEntitlement(code string) bool {
	return v != nil && slices.Contains(v.Entitlements, code)
}

// A ValidateOption adds a scope check to Validate or changes how it uses the
// cache. Build one with WithFingerprint, WithEntitlements or
// WithFreshValidation.
type ValidateOption struct {
	kind         validateOptionKind
	fingerprint  string
	entitlements []string
}

type validateOptionKind uint8

const (
	optNone validateOptionKind = iota
	optFingerprint
	optEntitlements
	optFresh
)

// validateMode is how one validation uses the cache and the network, set
// once at its entry point (Validate, or a guard's decision).
type validateMode struct {
	// fresh asks the service even when the cache holds a fresh result.
	fresh bool
	// once is a single attempt that never waits for the rate budget: a
	// guard's first look while a license file can decide instead.
	once bool
}

// WithFingerprint checks that a live machine with fingerprint fp is
// activated on the license (else CodeFingerprintNotFound).
func WithFingerprint(fp string) ValidateOption {
	return ValidateOption{kind: optFingerprint, fingerprint: fp}
}

// WithEntitlements checks that the license has every one of codes (else
// CodeEntitlementsMissing). Repeated options add up; order and repeats do
// not matter. It is also a GuardOption: a guard then requires them in
// every decision.
func WithEntitlements(codes ...string) ValidateOption {
	return ValidateOption{kind: optEntitlements, entitlements: codes}
}

// WithFreshValidation asks the service even when the cache holds a fresh
// result, and stores the answer. When the service cannot be asked, the
// stale-result rules of WithStaleIfError still apply: check Stale.
func WithFreshValidation() ValidateOption {
	return ValidateOption{kind: optFresh}
}

// Validate checks license key online. It needs no API key; with one, the
// license is looked up in the key's environment (so a lk_test_ key validates
// test licenses), otherwise in live. Every request counts as a use of the
// license.
//
// Results are cached (see WithValidationCache; DefaultCacheTTL by default)
// under the environment, key, fingerprint and entitlement set, never past
// the license's expiresAt; a cached answer has FromCache set. Errors are
// never cached. Concurrent identical calls share one request. Requests stay
// within the client's rate budget (WithRateBudget): when it is spent, a
// cached result is served marked Stale, else the call waits for the next
// window, within ctx. When the service is unreachable or failing, the last
// result is served marked Stale, up to the age set by WithStaleIfError.
// InvalidateLicense and WebhookHandler drop cached results at once.
//
// The error is nil whenever a result is returned, whatever the result; it
// reports only a request that could not be made or answered (bad
// arguments, network, 401, 429 after retries, a malformed response) and
// had no usable stale result.
func (c *Client) Validate(ctx context.Context, key string, opts ...ValidateOption) (*Validation, error) {
	return c.validate(ctx, key, validateMode{}, opts)
}

// validate is Validate in mode.
func (c *Client) validate(ctx context.Context, key string, mode validateMode, opts []ValidateOption) (*Validation, error) {
	if ctx == nil {
		return nil, fmt.Errorf("%w: nil context", ErrInvalidArgument)
	}
	q, err := c.validateQuery(key, opts)
	if err != nil {
		return nil, err
	}
	q.fresh = q.fresh || mode.fresh
	q.noRetry = mode.once
	if v, ok := c.results.cached(&q); ok {
		if o := c.cfg.observer; o != nil {
			o.Validation(ctx, v.Code, ValidationSourceCache)
		}
		return v, nil
	}
	return c.validateMiss(ctx, q)
}

// validateMiss answers a validation the fresh cache could not. q comes by
// value: its copy here escapes, the caller's (on a cache hit's path) not.
func (c *Client) validateMiss(ctx context.Context, q query) (*Validation, error) {
	qp := &q
	v, src, err := c.results.get(ctx, qp, func(ctx context.Context, noWait bool) (*Validation, error) {
		return c.validateRemote(ctx, qp, noWait)
	})
	if err == nil && c.cfg.observer != nil {
		c.cfg.observer.Validation(ctx, v.Code, src)
	}
	return v, err
}

// validateQuery checks Validate's arguments and builds its query. The
// arguments of a validation made recently come from the results' memo,
// checked and keyed. The query holds the memo's copies of the fingerprint
// and codes, never the options' own: what the options point to then stays
// where the caller made it (on its stack, for a cache hit's variadic
// WithEntitlements).
func (c *Client) validateQuery(key string, opts []ValidateOption) (query, error) {
	var (
		fp    string
		ents  []string
		nEnt  int
		fresh bool
	)
	for i := range opts {
		switch o := &opts[i]; o.kind {
		case optFingerprint:
			fp = o.fingerprint
		case optEntitlements:
			if nEnt == 0 {
				ents = o.entitlements
			} else {
				ents = append(slices.Clip(ents), o.entitlements...)
			}
			nEnt++
		case optFresh:
			fresh = true
		}
	}
	m := c.results.memoized(key, fp, ents)
	if m == nil {
		if err := checkLicenseKey(key); err != nil {
			return query{}, err
		}
		if fp != "" {
			if err := checkFingerprint(fp); err != nil {
				return query{}, err
			}
		}
		for _, code := range ents {
			if code == "" {
				return query{}, fmt.Errorf("%w: empty entitlement code", ErrInvalidArgument)
			}
		}
		sorted := normalizeEntitlements(ents)
		m = c.results.memoize(key, fp, ents, sorted, c.results.cacheKey(key, fp, sorted))
	}
	// The memo's fields are never modified.
	return query{key: key, fp: m.fp, ents: m.ents, ck: m.ck, fresh: fresh}, nil
}

// validateRemote sends one validate-key request for q.
func (c *Client) validateRemote(ctx context.Context, q *query, noWait bool) (*Validation, error) {
	r := c.validateRequest(q, noWait)
	ctx, oc := c.transport.begin(ctx, r)
	v, res, err := c.validateSend(ctx, r)
	var code Code
	if v != nil {
		code = v.Code
	}
	oc.end(res, err, code)
	return v, err
}

// validateRequest is the validate-key request of q.
func (c *Client) validateRequest(q *query, noWait bool) *request {
	return &request{
		method:     http.MethodPost,
		path:       wire.PathValidateKey,
		body:       &wire.ValidateRequest{Key: q.key, Fingerprint: q.fp, Entitlements: q.ents},
		auth:       authAPIKeyIfAny,
		idempotent: true,
		noWait:     noWait || q.noRetry,
		noRetry:    q.noRetry,
		secrets:    []string{q.key},
	}
}

// validateSend sends r and decodes its answer.
func (c *Client) validateSend(ctx context.Context, r *request) (*Validation, *response, error) {
	res, err := c.transport.send(ctx, r)
	if err != nil {
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound && apiErr.Code == wire.CodeNotFound {
			return &Validation{Code: CodeNotFound, Detail: apiErr.Message}, res, nil
		}
		return nil, res, err
	}
	v, err := decodeValidation(res.Body)
	if err != nil {
		return nil, res, fmt.Errorf("%w: %s %s: %s", ErrMalformedResponse, r.method, r.path, err.Error())
	}
	v.Detail = c.transport.redactor(r).clean(v.Detail, maxMessageRunes)
	return v, res, nil
}

// decodeValidation decodes a validate-key success body. It insists on the
// fields a decision rests on: data, valid and code.
func decodeValidation(body []byte) (*Validation, error) {
	var raw json.RawMessage
	if err := decodeDataInto(body, &raw); err != nil {
		return nil, err
	}
	var presence struct {
		Valid *bool   `json:"valid"`
		Code  *string `json:"code"`
	}
	if err := json.Unmarshal(raw, &presence); err != nil {
		return nil, errors.New(`"data" is not an object with "valid" and "code"`)
	}
	if presence.Valid == nil {
		return nil, errors.New(`"valid" is missing`)
	}
	if presence.Code == nil || *presence.Code == "" {
		return nil, errors.New(`"code" is missing`)
	}
	var w validationBody
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, fmt.Errorf(`"data" does not decode: %s`, sanitize(err.Error(), 200))
	}
	return w.validation()
}

// validationBody is the body of a validate-key answer (inside "data"),
// decoded into the public types (wire.Validation's shape).
type validationBody struct {
	Valid        bool     `json:"valid"`
	Code         string   `json:"code"`
	Detail       string   `json:"detail"`
	License      *License `json:"license"`
	Machine      *Machine `json:"machine"`
	Entitlements []string `json:"entitlements"`
}

// validation checks a decoded result and converts it.
func (w *validationBody) validation() (*Validation, error) {
	if !wellFormedCode(w.Code) {
		return nil, errors.New(`"code" is not an upper-case code`)
	}
	code := Code(w.Code)
	// A result can only grant access with a code that allows it; anything
	// else claiming valid is refused rather than trusted.
	if w.Valid && code != CodeValid && code != CodeExpired {
		return nil, fmt.Errorf(`"valid" is true with code %q`, code)
	}
	return &Validation{
		Valid:        w.Valid,
		Code:         code,
		Detail:       w.Detail,
		License:      w.License,
		Machine:      w.Machine,
		Entitlements: w.Entitlements,
	}, nil
}

// wellFormedCode reports whether s looks like a result code: 1 to 64
// characters of A-Z, 0-9 and _.
func wellFormedCode(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
