package licentric

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/licentric/licentric-go/cache"
	"github.com/licentric/licentric-go/clock"
	"github.com/licentric/licentric-go/fingerprint"
	"github.com/licentric/licentric-go/internal/wire"
)

// Version is the version of this package, sent in the User-Agent header.
const Version = "0.2.0"

// defaultTimeout bounds one HTTP attempt of the default HTTP client (the
// official SDKs' documented timeout).
const defaultTimeout = 30 * time.Second

// Environment is where a client's API key lives: every resource is either
// live or test, and the two never mix.
type Environment string

// Environments. EnvironmentNone is a client without an API key: it can
// validate live licenses and act with license keys, nothing more.
const (
	EnvironmentNone Environment = "none"
	EnvironmentLive Environment = "live"
	EnvironmentTest Environment = "test"
)

// String returns "live", "test" or "none" (also for the zero Environment).
func (e Environment) String() string {
	if e == "" {
		return string(EnvironmentNone)
	}
	return string(e)
}

// RetryPolicy says how often and how long the client retries a request that
// met a 429, a 5xx or a transport error. Waits grow exponentially from
// MinWait with jitter, honour Retry-After, and never exceed MaxWait. The
// default is 3 retries, MinWait 500ms and MaxWait 60s: a rate window is 60 s
// long, so the default always honours a Retry-After.
type RetryPolicy struct {
	// MaxRetries is the retries after the first attempt; 0 disables them.
	MaxRetries int
	// MinWait is the first wait.
	MinWait time.Duration
	// MaxWait caps any single wait, Retry-After included.
	MaxWait time.Duration
	// AttemptTimeout bounds one attempt, from sending the request to
	// reading the last byte of the response, whatever http.Client was
	// given (a shorter Timeout of the caller's client also applies); 0
	// keeps the default of 30 s.
	AttemptTimeout time.Duration
}

// defaultRetryPolicy is the policy of a client built without WithRetry.
func defaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 3, MinWait: 500 * time.Millisecond, MaxWait: 60 * time.Second, AttemptTimeout: defaultTimeout}
}

// Client talks to the Licentric API. Build it with NewClient; it is safe for
// concurrent use.
//
// A validation flows one way through its parts: Validate (validate.go)
// asks the results part (results.go: cache, shared in-flight requests,
// stale serving), which on a miss calls the transport (transport.go: a
// unit of the rate budget, send, cap and classify, backoff on the client's
// clock), which takes its units from the budget (budget.go). Writes go
// through the same transport and then drop, by name, the cached results
// they change (invalidate.go).
type Client struct {
	// Products manages products (/products).
	Products *ProductsService
	// Policies manages policies and their entitlements (/policies).
	Policies *PoliciesService
	// Entitlements manages entitlements (/entitlements).
	Entitlements *EntitlementsService
	// Licenses manages licenses: lifecycle, renewal and entitlements
	// (/licenses).
	Licenses *LicensesService
	// Machines lists, inspects, activates and removes machines with the
	// API key (/machines). Client applications use Activate, Deactivate
	// and Heartbeat with a license key instead.
	Machines *MachinesService
	// Webhooks manages webhook endpoints (/webhooks).
	Webhooks *WebhooksService
	// Keys fetches the account's license-file signing key (/keys/signing).
	Keys *KeysService
	// Analytics reads the account's analytics (/analytics).
	Analytics *AnalyticsService
	// Agents manages AI-agent identities, credentials and meters (/mcp).
	Agents *AgentsService

	cfg       config     // as NewClient left it; never changed after
	transport *transport // the send loop
	results   *results   // cache, shared requests, stale serving
	hub       guardHub   // the guards webhook events reach

	warnedSharedFP atomic.Bool // the shared-fingerprint warning was logged
}

// config is what the options fill in; NewClient turns it into the parts.
type config struct {
	base          string // normalized base URL including wire.APIPrefix
	apiKey        string
	env           Environment
	httpClient    *http.Client // nil: the client's own
	logger        *slog.Logger
	userAgent     string
	retry         RetryPolicy
	clock         clock.Clock
	fingerprinter func() (string, error)
	origin        func() fingerprint.Origin // WithAppID's; nil for WithFingerprinter
	fleet         Fleet
	observer      Observer // nil: nothing observed

	cacheStore  cache.Store
	cacheOff    bool
	cacheTTL    time.Duration
	staleMaxAge time.Duration
	staleSet    bool
	budgets     [3]budgetSetting
	budgetOff   bool // WithoutRateBudget: wins over budgets
}

// An Option configures NewClient. Options check their input and make
// NewClient fail with a clear error; none of them touches the network.
type Option func(*config) error

// NewClient returns a client configured by opts. Without options it talks to
// wire's default base URL (https://licentric.com) with no API key, which is
// enough to validate live licenses and to activate machines with a license key.
func NewClient(opts ...Option) (*Client, error) {
	cfg := config{
		env:       EnvironmentNone,
		logger:    slog.New(slog.DiscardHandler),
		userAgent: defaultUserAgent(),
		retry:     defaultRetryPolicy(),
		clock:     clock.Wall{},
	}
	base, err := normalizeBaseURL(wire.DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	cfg.base = base
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if !cfg.staleSet {
		cfg.staleMaxAge = DefaultStaleIfError
	}
	if cfg.cacheTTL == 0 {
		cfg.cacheTTL = DefaultCacheTTL
	}
	if cfg.budgetOff {
		cfg.budgets = [3]budgetSetting{{set: true}, {set: true}, {set: true}}
	}
	c := &Client{cfg: cfg}
	b := newBudget(cfg.clock, cfg.retry.MaxWait, cfg.budgets, cfg.fleet, cfg.logger)
	if b != nil {
		b.obs = cfg.observer
	}
	c.transport = newTransport(&cfg, b)
	c.results = newResults(&cfg, c.hub.recheck)
	c.Products = &ProductsService{client: c}
	c.Policies = &PoliciesService{client: c}
	c.Entitlements = &EntitlementsService{client: c}
	c.Licenses = &LicensesService{client: c}
	c.Machines = &MachinesService{client: c}
	c.Webhooks = &WebhooksService{client: c}
	c.Keys = &KeysService{client: c}
	c.Analytics = &AnalyticsService{client: c}
	c.Agents = &AgentsService{client: c}
	return c, nil
}

func defaultUserAgent() string { return "licentric-go/" + Version }

// WithAPIKey sets the API key (lk_live_… or lk_test_…). It is sent as a
// Bearer token on management calls and on validation, where it selects the
// key's environment. A key with neither prefix is refused.
func WithAPIKey(key string) Option {
	return func(c *config) error {
		var env Environment
		switch {
		case strings.HasPrefix(key, wire.LiveKeyPrefix):
			env = EnvironmentLive
		case strings.HasPrefix(key, wire.TestKeyPrefix):
			env = EnvironmentTest
		default:
			return fmt.Errorf("%w: API key must start with %q or %q", ErrInvalidArgument, wire.LiveKeyPrefix, wire.TestKeyPrefix)
		}
		if len(key) == len(wire.LiveKeyPrefix) || !validToken(key) {
			return fmt.Errorf("%w: API key is malformed", ErrInvalidArgument)
		}
		c.apiKey = key
		c.env = env
		return nil
	}
}

// WithBaseURL sets the service's address, e.g. "https://acme.licentric.com",
// with or without a trailing "/api/v1" (another version, such as "/api/v2",
// is refused: this client speaks v1). Plain http is refused unless the host
// is loopback (127.0.0.0/8, ::1, localhost), so that keys never cross a
// network in clear text.
func WithBaseURL(u string) Option {
	return func(c *config) error {
		base, err := normalizeBaseURL(u)
		if err != nil {
			return err
		}
		c.base = base
		return nil
	}
}

// WithHTTPClient makes the client send its requests through hc. The client
// never modifies hc (transport, timeout, redirect policy and jar stay the
// caller's), and it never closes hc's idle connections.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return fmt.Errorf("%w: nil *http.Client", ErrInvalidArgument)
		}
		c.httpClient = hc
		return nil
	}
}

// WithLogger sends debug logs (method, path, status, attempt, request id;
// never a key) to l. The default logger discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: nil *slog.Logger", ErrInvalidArgument)
		}
		c.logger = l
		return nil
	}
}

// WithUserAgent puts s (e.g. "myapp/1.2") in front of the client's own
// User-Agent, "licentric-go/<Version>".
func WithUserAgent(s string) Option {
	return func(c *config) error {
		s = strings.TrimSpace(s)
		if s == "" || !validToken(strings.ReplaceAll(s, " ", "")) {
			return fmt.Errorf("%w: user agent must be printable text", ErrInvalidArgument)
		}
		c.userAgent = s + " " + defaultUserAgent()
		return nil
	}
}

// WithRetry replaces the default retry policy. Negative values are refused; a zero
// MinWait or MaxWait keeps the default of that field.
func WithRetry(p RetryPolicy) Option {
	return func(c *config) error {
		if p.MaxRetries < 0 || p.MinWait < 0 || p.MaxWait < 0 || p.AttemptTimeout < 0 {
			return fmt.Errorf("%w: retry policy values must not be negative", ErrInvalidArgument)
		}
		if p.MinWait == 0 {
			p.MinWait = defaultRetryPolicy().MinWait
		}
		if p.MaxWait == 0 {
			p.MaxWait = defaultRetryPolicy().MaxWait
		}
		if p.AttemptTimeout == 0 {
			p.AttemptTimeout = defaultRetryPolicy().AttemptTimeout
		}
		if p.MaxWait < p.MinWait {
			return fmt.Errorf("%w: retry MaxWait is less than MinWait", ErrInvalidArgument)
		}
		c.retry = p
		return nil
	}
}

// WithClock replaces the wall clock, for tests that control time (pass a
// licentrictest server's Clock() to share its simulated time). It drives
// everything time-based the client decides itself: the heartbeat monitor,
// the waits between retries, Retry-After dates, the freshness, age and
// stale limits of cached results, and the rate budget's waits.
func WithClock(clk clock.Clock) Option {
	return func(c *config) error {
		if clk == nil {
			return fmt.Errorf("%w: nil Clock", ErrInvalidArgument)
		}
		c.clock = clk
		return nil
	}
}

// WithFingerprinter sets the function that computes this machine's
// fingerprint, used by Fingerprint and by Activate when no fingerprint is
// given. It replaces WithAppID.
func WithFingerprinter(f func() (string, error)) Option {
	return func(c *config) error {
		if f == nil {
			return fmt.Errorf("%w: nil fingerprinter", ErrInvalidArgument)
		}
		c.fingerprinter, c.origin = f, nil
		return nil
	}
}

// WithAppID computes this machine's fingerprint with package fingerprint for
// appID (see fingerprint.New for opts). The fingerprint is computed on first
// use and then kept.
func WithAppID(appID string, opts ...fingerprint.Option) Option {
	return func(c *config) error {
		g, err := fingerprint.New(appID, opts...)
		if err != nil {
			return fmt.Errorf("licentric: fingerprint: %w", err)
		}
		c.fingerprinter, c.origin = g.Fingerprint, g.Origin
		return nil
	}
}

// String describes the client without its secrets: base URL, environment
// and a redacted API key. fmt's %v, %+v and %s use it.
func (c *Client) String() string {
	if c == nil {
		return "licentric.Client(nil)"
	}
	key := "none"
	if c.cfg.apiKey != "" {
		key = redactKey(c.cfg.apiKey)
	}
	return fmt.Sprintf("licentric.Client{base: %s, env: %s, apiKey: %s}", c.cfg.base, c.cfg.env, key)
}

// GoString is String, for %#v: the API key never appears.
func (c *Client) GoString() string { return c.String() }

// Format makes every verb of package fmt print String, so that no verb
// reaches the client's fields (and its API key).
func (c *Client) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue describes the client to log/slog without its secrets.
func (c *Client) LogValue() slog.Value {
	if c == nil {
		return slog.StringValue("licentric.Client(nil)")
	}
	key := "none"
	if c.cfg.apiKey != "" {
		key = redactKey(c.cfg.apiKey)
	}
	return slog.GroupValue(slog.String("base", c.cfg.base), slog.String("env", c.cfg.env.String()), slog.String("apiKey", key))
}

// Environment reports the environment of the configured API key:
// EnvironmentLive, EnvironmentTest, or EnvironmentNone without one.
func (c *Client) Environment() Environment { return c.cfg.env }

// BaseURL returns the API root the client sends requests to, including the
// "/api/v1" prefix.
func (c *Client) BaseURL() string { return c.cfg.base }

// Fingerprint returns this machine's fingerprint from the source configured
// with WithAppID or WithFingerprinter.
func (c *Client) Fingerprint() (string, error) {
	if c.cfg.fingerprinter == nil {
		return "", ErrNoFingerprinter
	}
	fp, err := c.cfg.fingerprinter()
	if err != nil {
		return "", fmt.Errorf("licentric: fingerprint: %w", err)
	}
	if err := checkFingerprint(fp); err != nil {
		return "", err
	}
	return fp, nil
}

// FingerprintOrigin reports which identity this machine's fingerprint
// comes from and why (see fingerprint.Origin): with WithAppID, the
// generator's origin (computing the fingerprint first if need be); with
// WithFingerprinter, fingerprint.OriginCustom; without a source, the zero
// Origin. Origin.Shared warns that other machines (clones of an image,
// containers on one host) may hold the same fingerprint and so share one
// seat: give each a state directory (fingerprint.WithStateDir).
func (c *Client) FingerprintOrigin() fingerprint.Origin {
	switch {
	case c.cfg.fingerprinter == nil:
		return fingerprint.Origin{}
	case c.cfg.origin == nil:
		return fingerprint.Origin{Kind: fingerprint.OriginCustom}
	}
	_, _ = c.cfg.fingerprinter()
	return c.cfg.origin()
}

// warnSharedFingerprint logs, once per client, that this machine's
// fingerprint may be shared with other machines.
func (c *Client) warnSharedFingerprint() {
	if o := c.FingerprintOrigin(); o.Shared && !c.warnedSharedFP.Swap(true) {
		c.cfg.logger.Warn("licentric: this machine's fingerprint may be shared with other machines, which then hold one seat between them; give each a state directory (fingerprint.WithStateDir)",
			"origin", o.Kind, "reason", o.Reason)
	}
}

// normalizeBaseURL checks u and returns it with the API prefix appended.
func normalizeBaseURL(raw string) (string, error) {
	bad := func(why string) error { return fmt.Errorf("%w: base URL %s", ErrInvalidArgument, why) }
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", bad("does not parse")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", bad("must use https")
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", bad("has no host")
	}
	if u.User != nil {
		return "", bad("must not contain credentials")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", bad("must not contain a query or fragment")
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		return "", bad("must use https unless the host is loopback")
	}
	p := strings.TrimRight(u.EscapedPath(), "/")
	p = strings.TrimSuffix(p, wire.APIPrefix)
	p = strings.TrimRight(p, "/")
	if m := apiVersionSuffix.FindString(p); m != "" {
		return "", bad("names API version " + strings.TrimPrefix(m, "/api/") + "; this client speaks " + wire.APIPrefix + " (give the service's root URL)")
	}
	return u.Scheme + "://" + u.Host + p + wire.APIPrefix, nil
}

// apiVersionSuffix matches a base URL path that names an API version of its
// own (".../api/v2"), which would otherwise become ".../api/v2/api/v1".
var apiVersionSuffix = regexp.MustCompile(`/api/v[0-9]+$`)

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// validToken reports whether s is non-empty printable ASCII without spaces,
// so that it can go into a header without changing its meaning.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
