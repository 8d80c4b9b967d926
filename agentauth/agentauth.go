package agentauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/clock"
	"github.com/licentric/licentric-go/internal/flight"
)

// Defaults of the options.
const (
	// DefaultCacheTTL is how long a positive answer serves unmetered
	// requests without asking the service: short, so that a revoked token
	// stops working within half a minute, and long enough that a busy
	// agent costs about two verify calls a minute.
	DefaultCacheTTL = 30 * time.Second
	// DefaultCacheSize is how many tokens the cache remembers.
	DefaultCacheSize = 10000
	// DefaultStaleIfError is how long after the service accepted a token
	// an unmetered request may still be served with it while the service
	// cannot be asked.
	DefaultStaleIfError = 5 * time.Minute
	// DefaultVerifyTimeout bounds one verification, the wait for the
	// client's rate budget and retries included.
	DefaultVerifyTimeout = 10 * time.Second
	// DefaultRealm is the realm of the WWW-Authenticate challenge.
	DefaultRealm = "agents"
	// DefaultRefusalTTL is how long a token the service refused is refused
	// again without asking (tokens are never revived, so this only bounds
	// memory: a refused token is refused for good).
	DefaultRefusalTTL = time.Minute
	// DefaultUnknownTokenRate is how many verify calls a minute tokens the
	// middleware does not know may make, a quarter of the service's 120
	// a minute, so that known agents keep the rest of the client's budget.
	DefaultUnknownTokenRate = 30
	// DefaultUnknownTokenRatePerClient is how many of those one client
	// address may make a minute, so that one flooding client leaves the
	// rest of the share to new agents elsewhere.
	DefaultUnknownTokenRatePerClient = 10
)

// Codes of the JSON error bodies (Refusal.Code).
const (
	CodeUnauthorized       = "UNAUTHORIZED"         // 401
	CodeMeterLimitExceeded = "METER_LIMIT_EXCEEDED" // 402
	CodeForbidden          = "FORBIDDEN"            // 403
	CodeRateLimited        = "RATE_LIMITED"         // 429
	CodeInternal           = "INTERNAL_ERROR"       // 500
	CodeUnavailable        = "SERVICE_UNAVAILABLE"  // 503
)

// Middleware verifies agent tokens and meters requests; see the package
// documentation. Build it with New; it is safe for concurrent use.
type Middleware struct {
	client  *licentric.Client
	cfg     config
	cache   *lru      // tokens the service accepted
	refused *refusals // tokens it refused lately
	share   *share    // the verify budget of unknown tokens
	flights flight.Group[*licentric.AgentVerification]
}

type config struct {
	meter   func(*http.Request) (string, int64)
	scopes  []string
	ttl     time.Duration
	size    int
	stale   time.Duration
	clock   clock.Clock
	realm   string
	timeout time.Duration
	logger  *slog.Logger
	refuse  func(http.ResponseWriter, *http.Request, *Refusal)

	refusalTTL           time.Duration
	unknownRate, perAddr int
	clientAddr           func(*http.Request) string
}

// An Option configures New. Options check their input and make New fail
// with an error matching licentric.ErrInvalidArgument.
type Option func(*config) error

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: agentauth: %s", licentric.ErrInvalidArgument, fmt.Sprintf(format, args...))
}

// WithMeter records quantity (1 to licentric.MaxMeterQuantity; 0 means 1)
// on the meter named name for every request through Handler.
func WithMeter(name string, quantity int64) Option {
	return func(c *config) error {
		q, err := checkMeter(name, quantity)
		if err != nil {
			return err
		}
		c.meter = func(*http.Request) (string, int64) { return name, q }
		return nil
	}
}

// WithRouteMeter decides per request what Handler records: fn returns the
// meter's name and quantity, or "" for an unmetered request. fn may read
// the request (its body too, if it puts back what it read); a name or
// quantity the service would refuse answers 500 INTERNAL_ERROR.
func WithRouteMeter(fn func(r *http.Request) (name string, quantity int64)) Option {
	return func(c *config) error {
		if fn == nil {
			return invalid("nil route meter")
		}
		c.meter = fn
		return nil
	}
}

// WithScopes requires every request's token to carry all of scopes (for
// example licentric.ScopeMCPInvoke); a token without them is answered 403.
func WithScopes(scopes ...string) Option {
	return func(c *config) error {
		for _, s := range scopes {
			if s == "" || strings.ContainsAny(s, " \"\\") || !printable(s) {
				return invalid("scope %q is not a scope token", s)
			}
		}
		c.scopes = slices.Clone(scopes)
		return nil
	}
}

// WithCacheTTL sets how long a positive answer serves unmetered requests
// (default DefaultCacheTTL); 0 turns the cache, and so stale answers, off.
func WithCacheTTL(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return invalid("negative cache TTL")
		}
		c.ttl = d
		return nil
	}
}

// WithCacheSize bounds how many tokens the cache remembers (default
// DefaultCacheSize); the least recently used are forgotten first.
func WithCacheSize(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return invalid("cache size must be at least 1")
		}
		c.size = n
		return nil
	}
}

// WithStaleIfError sets how long after the service accepted a token an
// unmetered request may be served with that answer while the service
// cannot be asked (default DefaultStaleIfError); 0 turns stale answers
// off. Metered requests are never served stale.
func WithStaleIfError(maxAge time.Duration) Option {
	return func(c *config) error {
		if maxAge < 0 {
			return invalid("negative stale age")
		}
		c.stale = maxAge
		return nil
	}
}

// WithClock sets the clock the cache reads (default the wall clock); pass
// the clock given to the client's licentric.WithClock.
func WithClock(clk clock.Clock) Option {
	return func(c *config) error {
		if clk == nil {
			return invalid("nil clock")
		}
		c.clock = clk
		return nil
	}
}

// WithRealm sets the realm of the WWW-Authenticate challenge (default
// DefaultRealm): printable ASCII without quotes or backslashes.
func WithRealm(realm string) Option {
	return func(c *config) error {
		if realm == "" || len(realm) > 128 || strings.ContainsAny(realm, "\"\\") || !printable(realm) {
			return invalid("realm must be 1 to 128 printable characters without quotes or backslashes")
		}
		c.realm = realm
		return nil
	}
}

// WithVerifyTimeout bounds one verification, including the wait for the
// client's rate budget and its retries (default DefaultVerifyTimeout).
func WithVerifyTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return invalid("verify timeout must be positive")
		}
		c.timeout = d
		return nil
	}
}

// WithLogger logs refusals and fallbacks at debug level (never a token) to
// l; the default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return invalid("nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithRefusalHandler replaces the JSON body of refusals: fn writes the
// status and body for ref (the WWW-Authenticate, Retry-After and
// Cache-Control headers are already set). Use it to answer in an MCP
// server's own error format.
func WithRefusalHandler(fn func(w http.ResponseWriter, r *http.Request, ref *Refusal)) Option {
	return func(c *config) error {
		if fn == nil {
			return invalid("nil refusal handler")
		}
		c.refuse = fn
		return nil
	}
}

// WithRefusalTTL sets how long a token the service refused is refused
// again without asking it (default DefaultRefusalTTL); 0 asks every time.
// Refusals are remembered by the token's SHA-256, never the token.
func WithRefusalTTL(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return invalid("negative refusal TTL")
		}
		c.refusalTTL = d
		return nil
	}
}

// WithUnknownTokenRate bounds the verify calls that tokens the middleware
// does not know (new ones, and junk) may make: perMinute in all, and
// perClient from one client address (see WithClientAddress); defaults
// DefaultUnknownTokenRate and DefaultUnknownTokenRatePerClient. Past
// either, such a token is answered 503 with Retry-After at once, without
// waiting for the client's rate budget; tokens the service accepted
// before are not counted, and keep the rest of the budget.
func WithUnknownTokenRate(perMinute, perClient int) Option {
	return func(c *config) error {
		if perMinute < 1 || perClient < 1 || perClient > perMinute {
			return invalid("unknown-token rates must be at least 1, and perClient at most perMinute")
		}
		c.unknownRate, c.perAddr = perMinute, perClient
		return nil
	}
}

// WithClientAddress sets how a request's client address is found for
// WithUnknownTokenRate (default: the host of r.RemoteAddr). Behind a
// reverse proxy, return the address the proxy vouches for (its
// X-Forwarded-For entry), never one the client could choose freely.
func WithClientAddress(fn func(r *http.Request) string) Option {
	return func(c *config) error {
		if fn == nil {
			return invalid("nil client address function")
		}
		c.clientAddr = fn
		return nil
	}
}

// remoteHost is the default client address: the host of r.RemoteAddr.
func remoteHost(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// New returns a middleware that verifies tokens through client (which
// needs no API key; see the package documentation on rate limits).
func New(client *licentric.Client, opts ...Option) (*Middleware, error) {
	if client == nil {
		return nil, invalid("nil client")
	}
	cfg := config{
		meter:   func(*http.Request) (string, int64) { return "", 0 },
		ttl:     DefaultCacheTTL,
		size:    DefaultCacheSize,
		stale:   DefaultStaleIfError,
		clock:   clock.Wall{},
		realm:   DefaultRealm,
		timeout: DefaultVerifyTimeout,
		logger:  slog.New(slog.DiscardHandler),
		refuse:  WriteRefusal,

		refusalTTL:  DefaultRefusalTTL,
		unknownRate: DefaultUnknownTokenRate,
		perAddr:     DefaultUnknownTokenRatePerClient,
		clientAddr:  remoteHost,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	return &Middleware{
		client: client, cfg: cfg, cache: newLRU(cfg.size), refused: newRefusals(cfg.size, cfg.refusalTTL),
		share: newShare(cfg.unknownRate, min(cfg.perAddr, cfg.unknownRate)),
	}, nil
}

// Handler returns next behind the middleware, metering requests as
// WithMeter or WithRouteMeter say (unmetered without either).
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return m.handler(next, m.cfg.meter)
}

// Metered returns next behind the middleware, recording quantity (0 means
// 1) on the meter named name for every request, whatever WithMeter or
// WithRouteMeter say: for one route of a mux. A name or quantity that
// cannot be recorded is an error matching licentric.ErrInvalidArgument.
func (m *Middleware) Metered(name string, quantity int64, next http.Handler) (http.Handler, error) {
	q, err := checkMeter(name, quantity)
	if err != nil {
		return nil, err
	}
	return m.handler(next, func(*http.Request) (string, int64) { return name, q }), nil
}

// ForgetAgent drops the cached answers of agentID's tokens, so that its
// next request is checked with the service (call it after deleting the
// agent); it returns how many were dropped.
func (m *Middleware) ForgetAgent(agentID string) int { return m.cache.removeAgent(agentID) }

func (m *Middleware) handler(next http.Handler, meter func(*http.Request) (string, int64)) http.Handler {
	if next == nil {
		next = http.NotFoundHandler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ref := m.authorize(r, meter)
		if ref != nil {
			if r.Context().Err() != nil {
				return // the agent hung up; nobody reads the answer
			}
			m.writeRefusal(w, r, ref)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), v)))
	})
}

// authorize verifies r's token and records its usage: the verification
// to pass on, or the refusal to answer.
func (m *Middleware) authorize(r *http.Request, meter func(*http.Request) (string, int64)) (*licentric.AgentVerification, *Refusal) {
	token, err := parseAuthorization(r.Header.Values("Authorization"))
	switch {
	case errors.Is(err, errNoCredential):
		return nil, &Refusal{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "agent credential required (Authorization: Bearer AGT-…)", Err: err}
	case err != nil:
		return nil, invalidToken(err)
	}
	key := keyOf(token)
	known := m.cache.has(key)
	if !known && m.refused.has(key, m.cfg.clock.Now()) {
		return nil, invalidToken(errRefusedLately)
	}
	addr := m.cfg.clientAddr(r)
	name, qty := meter(r)
	if name == "" {
		v, err := m.identify(r.Context(), key, token, addr)
		if err != nil {
			return nil, m.refusal(err)
		}
		if ref := m.checkScopes(v); ref != nil {
			return nil, ref
		}
		return v, nil
	}
	if qty, err = checkMeter(name, qty); err != nil {
		return nil, &Refusal{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "the server's meter is misconfigured", Err: err}
	}
	if !known || len(m.cfg.scopes) > 0 {
		// An unknown token is identified first, once for all its
		// concurrent requests, within the unknown tokens' share: a flood
		// of junk tokens never spends the budget of known agents. And the
		// scopes are checked before anything is recorded: a token's scopes
		// are fixed, so a cached answer settles it.
		id, err := m.identify(r.Context(), key, token, addr)
		if err != nil {
			return nil, m.refusal(err)
		}
		if ref := m.checkScopes(id); ref != nil {
			return nil, ref
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), m.cfg.timeout)
	defer cancel()
	v, err := m.client.Agents.Verify(ctx, token, &licentric.Usage{Meter: name, Quantity: qty})
	if err != nil {
		m.remember(key, err)
		return nil, m.refusal(err)
	}
	m.cache.put(key, v, m.cfg.clock.Now())
	if ref := m.checkScopes(v); ref != nil {
		return nil, ref
	}
	if v.Meter.Blocked {
		return nil, &Refusal{Status: http.StatusPaymentRequired, Code: CodeMeterLimitExceeded,
			Message: "usage limit reached for meter " + strconv.Quote(v.Meter.Name), Meter: v.Meter, Err: v.Err()}
	}
	return v, nil
}

// identify answers for an unmetered request: from the cache while fresh,
// else from the service (one call shared by concurrent requests of the
// token), else, when the service cannot be asked, from a stale answer
// within the stale window.
//
// A token it does not know (no answer cached) takes a unit of the unknown
// tokens' share for its client address addr, and does not wait for the
// client's rate budget.
func (m *Middleware) identify(ctx context.Context, key tokenKey, token, addr string) (*licentric.AgentVerification, error) {
	now := m.cfg.clock.Now()
	e, ok := m.cache.get(key)
	unknown := !ok
	if ok && m.cfg.ttl > 0 {
		age := now.Sub(e.storedAt)
		if age >= 0 && age < m.cfg.ttl {
			v := e.v.Clone()
			v.FromCache, v.Age = true, age
			return v, nil
		}
		ok = age >= 0 && age < m.cfg.stale
	} else {
		ok = false
	}
	fk := string(key[:])
	if ok {
		fk += "\x00fallback"
	}
	v, err := m.flights.Do(ctx, fk, func(fctx context.Context) (*licentric.AgentVerification, error) {
		if unknown {
			if wait, ok := m.share.take(addr, m.cfg.clock.Now()); !ok {
				return nil, &shareSpentError{wait: wait}
			}
		}
		fctx, cancel := context.WithTimeout(fctx, m.cfg.timeout)
		defer cancel()
		// With an answer to fall back on, it beats a wait for the rate
		// budget.
		v, err := m.client.Agents.Verify(fctx, token, nil, m.verifyOptions(unknown || ok)...)
		if err == nil {
			m.cache.put(key, v, m.cfg.clock.Now())
		}
		m.remember(key, err)
		return v, err
	})
	if err == nil {
		return v, nil
	}
	if ok && ctx.Err() == nil && staleable(err) {
		now := m.cfg.clock.Now()
		if age := now.Sub(e.storedAt); age >= 0 && age < m.cfg.stale {
			m.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "agentauth: serving a stale verification",
				slog.String("agent", e.v.AgentID), slog.String("reason", err.Error()))
			v := e.v.Clone()
			v.FromCache, v.Age, v.Stale, v.StaleReason = true, age, true, err
			return v, nil
		}
	}
	return nil, err
}

var errRefusedLately = fmt.Errorf("%w: agentauth: the service refused this credential lately", licentric.ErrUnauthorized)

// shareSpentError is the refusal of an unknown token whose share of verify
// calls is spent: it matches licentric.ErrBudgetExhausted.
type shareSpentError struct{ wait time.Duration }

func (e *shareSpentError) Error() string {
	return "agentauth: the verify calls for unknown credentials are spent"
}

func (e *shareSpentError) Is(target error) bool { return target == licentric.ErrBudgetExhausted }

// verifyOptions are Verify's options: a call that must not wait for the
// rate budget (an unknown token, or one with an answer to fall back on)
// fails at once when it is spent.
func (m *Middleware) verifyOptions(noWait bool) []licentric.AgentVerifyOption {
	if noWait {
		return []licentric.AgentVerifyOption{licentric.WithoutAgentBudgetWait()}
	}
	return nil
}

// remember records a refused token: forgotten as accepted, remembered as
// refused.
func (m *Middleware) remember(key tokenKey, err error) {
	if errors.Is(err, licentric.ErrUnauthorized) {
		m.cache.remove(key)
		m.refused.put(key, m.cfg.clock.Now())
	}
}

// staleable reports a failure to ask the service, which a stale answer may
// cover: an outage, as the client classifies it (licentric.ErrUnavailable),
// and nothing else (a 404 or a refused credential is an answer).
func staleable(err error) bool { return errors.Is(err, licentric.ErrUnavailable) }

func (m *Middleware) checkScopes(v *licentric.AgentVerification) *Refusal {
	for _, s := range m.cfg.scopes {
		if !v.HasScope(s) {
			return &Refusal{Status: http.StatusForbidden, Code: CodeForbidden,
				Message: "the agent credential lacks the scope " + strconv.Quote(s), scope: strings.Join(m.cfg.scopes, " ")}
		}
	}
	return nil
}

func invalidToken(err error) *Refusal {
	return &Refusal{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "invalid or expired agent credential", Err: err, invalidToken: true}
}

// refusal maps a Verify error to the answer.
func (m *Middleware) refusal(err error) *Refusal {
	var rl *licentric.RateLimitError
	var spent *shareSpentError
	switch {
	case errors.Is(err, licentric.ErrUnauthorized):
		return invalidToken(err)
	case errors.Is(err, licentric.ErrForbidden):
		return &Refusal{Status: http.StatusForbidden, Code: CodeForbidden, Message: "the agent credential may not do this", Err: err}
	case errors.As(err, &spent):
		return &Refusal{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
			Message: "too many unrecognised agent credentials; try again shortly", RetryAfter: spent.wait, Err: err}
	case errors.Is(err, licentric.ErrBudgetExhausted):
		ref := &Refusal{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "too many requests to the licensing service; try again shortly", Err: err}
		if l, ok := m.client.RateLimit(licentric.TierManagement); ok && !l.Reset.IsZero() {
			ref.RetryAfter = l.Reset.Sub(m.cfg.clock.Now())
		}
		return ref
	case errors.As(err, &rl):
		return &Refusal{Status: http.StatusTooManyRequests, Code: CodeRateLimited, Message: "rate limited; try again shortly", RetryAfter: rl.RetryAfter, Err: err}
	case errors.Is(err, licentric.ErrInvalidArgument), errors.Is(err, licentric.ErrInvalidRequest):
		return &Refusal{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "the server's meter is misconfigured", Err: err}
	}
	return &Refusal{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the licensing service is unavailable; try again shortly", Err: err}
}

// Refusal is a request the middleware answers itself.
type Refusal struct {
	// Status is the HTTP status: 401, 402, 403, 429, 500 or 503.
	Status int
	// Code is the machine-readable code (CodeUnauthorized, ...).
	Code string
	// Message is a sentence an agent's user can be shown.
	Message string
	// Meter is the meter's state for a 402; nil otherwise.
	Meter *licentric.MeterState
	// RetryAfter is when to try again for a 429 or 503; zero: unknown.
	RetryAfter time.Duration
	// Err is the cause, for logs; it is not written to the agent.
	Err error

	invalidToken bool   // a token was given and refused
	scope        string // the required scopes, for insufficient_scope
}

// refusalBody is the JSON of a refusal.
type refusalBody struct {
	Error string                `json:"error"`
	Code  string                `json:"code"`
	Meter *licentric.MeterState `json:"meter,omitempty"`
}

// WriteRefusal writes ref as the middleware does by default: ref.Status
// and the JSON body {"error": Message, "code": Code, "meter": Meter?}.
func WriteRefusal(w http.ResponseWriter, _ *http.Request, ref *Refusal) {
	body, err := json.Marshal(refusalBody{Error: ref.Message, Code: ref.Code, Meter: ref.Meter})
	if err != nil {
		body = []byte(`{"error":"request refused","code":"` + CodeInternal + `"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(ref.Status)
	_, _ = w.Write(append(body, '\n'))
}

func (m *Middleware) writeRefusal(w http.ResponseWriter, r *http.Request, ref *Refusal) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	switch ref.Status {
	case http.StatusUnauthorized:
		c := `Bearer realm="` + m.cfg.realm + `"`
		if ref.invalidToken {
			c += `, error="invalid_token"`
		}
		h.Set("WWW-Authenticate", c)
	case http.StatusForbidden:
		if ref.scope != "" {
			h.Set("WWW-Authenticate", `Bearer realm="`+m.cfg.realm+`", error="insufficient_scope", scope="`+ref.scope+`"`)
		}
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if ref.RetryAfter > 0 {
			secs := int64((ref.RetryAfter + time.Second - 1) / time.Second)
			h.Set("Retry-After", strconv.FormatInt(min(secs, 3600), 10))
		}
	}
	attrs := []slog.Attr{slog.Int("status", ref.Status), slog.String("code", ref.Code), slog.String("path", r.URL.Path)}
	if ref.Err != nil {
		attrs = append(attrs, slog.String("error", ref.Err.Error()))
	}
	m.cfg.logger.LogAttrs(r.Context(), slog.LevelDebug, "agentauth: refused", attrs...)
	m.cfg.refuse(w, r, ref)
}

// checkMeter checks a meter name and quantity (0 means 1).
func checkMeter(name string, quantity int64) (int64, error) {
	if name == "" || len(name) > 64 {
		return 0, invalid("meter name must be 1 to 64 characters")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("_.:-", c) >= 0) {
			return 0, invalid("meter name %q has characters other than A-Z, a-z, 0-9, _ . : -", name)
		}
	}
	if quantity == 0 {
		quantity = 1
	}
	if quantity < 1 || quantity > licentric.MaxMeterQuantity {
		return 0, invalid("meter quantity must be from 1 to %d, got %d", licentric.MaxMeterQuantity, quantity)
	}
	return quantity, nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

type ctxKey struct{}

// NewContext returns ctx carrying v, as the middleware passes it to the
// next handler; for tests of handlers that read FromContext.
func NewContext(ctx context.Context, v *licentric.AgentVerification) context.Context {
	return context.WithValue(ctx, ctxKey{}, v)
}

// FromContext returns the verification of the request's agent: its
// account, agent id and scopes, the meter's state on a metered route
// (Meter.Warning: past the soft limit), and FromCache/Stale when the
// middleware answered from its cache.
func FromContext(ctx context.Context) (*licentric.AgentVerification, bool) {
	v, ok := ctx.Value(ctxKey{}).(*licentric.AgentVerification)
	return v, ok && v != nil
}
