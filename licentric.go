package licentric

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/licentric/licentric-go/fingerprint"
	"github.com/licentric/licentric-go/internal/wire"
)

// Version is the version of this package, sent in the User-Agent header.
const Version = "0.1.0"

// defaultTimeout bounds one HTTP attempt of the default HTTP client (the
// official SDKs' documented timeout).
const defaultTimeout = 30 * time.Second

// maxRedirects bounds the redirects the default HTTP client follows.
const maxRedirects = 5

// Environment is where a client's API key lives: every resource is either
// live or test, and the two never mix.
type Environment string

// Environments. EnvironmentNone is a client without an API key: it can
// validate live licenses and act with license keys, nothing more.
const (
	EnvironmentNone Environment = "none"
	EnvironmentLive Environment = wire.EnvLive
	EnvironmentTest Environment = wire.EnvTest
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
	MaxRetries int           // retries after the first attempt; 0 disables retries
	MinWait    time.Duration // first wait
	MaxWait    time.Duration // cap on any single wait, Retry-After included
}

// defaultRetryPolicy is the policy of a client built without WithRetry.
func defaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 3, MinWait: 500 * time.Millisecond, MaxWait: 60 * time.Second}
}

// Client talks to the Licentric API. Build it with NewClient; it is safe for
// concurrent use.
type Client struct {
	base          string // normalized base URL including wire.APIPrefix, no trailing slash
	apiKey        string
	env           Environment
	httpClient    *http.Client
	ownHTTPClient bool
	logger        *slog.Logger
	userAgent     string
	retry         RetryPolicy
	clock         Clock
	fingerprinter func() (string, error)
	fleet         Fleet

	rc *retryablehttp.Client

	rateMu sync.Mutex
	rates  map[string]RateLimit

	services // Products, Policies, ... (services.go)
	caching  // validation cache, rate budget (caching.go)
}

// An Option configures NewClient. Options check their input and make
// NewClient fail with a clear error; none of them touches the network.
type Option func(*Client) error

// NewClient returns a client configured by opts. Without options it talks to
// wire's default base URL (https://licentric.com) with no API key, which is
// enough to validate live licenses and to activate machines with a license key.
func NewClient(opts ...Option) (*Client, error) {
	c := &Client{
		env:       EnvironmentNone,
		logger:    slog.New(slog.DiscardHandler),
		userAgent: defaultUserAgent(),
		retry:     defaultRetryPolicy(),
		clock:     realClock{},
		rates:     make(map[string]RateLimit),
	}
	base, err := normalizeBaseURL(wire.DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	c.base = base
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	if c.httpClient == nil {
		c.httpClient = defaultHTTPClient()
		c.ownHTTPClient = true
	}
	c.rc = c.newRetryClient()
	c.initServices()
	if err := c.initCaching(); err != nil {
		return nil, err
	}
	return c, nil
}

func defaultUserAgent() string { return "licentric-go/" + Version }

// defaultHTTPClient has its own transport (a clone of the default one), a
// per-attempt timeout, and follows a few redirects but never from https to
// plain http off loopback.
func defaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	return &http.Client{
		Transport: tr,
		Timeout:   defaultTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return errTooManyRedirects
			}
			if req.URL.Scheme != "https" && !isLoopbackHost(req.URL.Hostname()) {
				return errInsecureRedirect
			}
			return nil
		},
	}
}

var (
	errTooManyRedirects = errors.New("licentric: too many redirects")
	errInsecureRedirect = errors.New("licentric: refusing redirect to a non-https URL")
)

// WithAPIKey sets the API key (lk_live_… or lk_test_…). It is sent as a
// Bearer token on management calls and on validation, where it selects the
// key's environment. A key with neither prefix is refused.
func WithAPIKey(key string) Option {
	return func(c *Client) error {
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
// with or without a trailing "/api/v1". Plain http is refused unless the host
// is loopback (127.0.0.0/8, ::1, localhost), so that keys never cross a
// network in clear text.
func WithBaseURL(u string) Option {
	return func(c *Client) error {
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
	return func(c *Client) error {
		if hc == nil {
			return fmt.Errorf("%w: nil *http.Client", ErrInvalidArgument)
		}
		c.httpClient = hc
		c.ownHTTPClient = false
		return nil
	}
}

// WithLogger sends debug logs (method, path, status, attempt, request id;
// never a key) to l. The default logger discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
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
	return func(c *Client) error {
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
	return func(c *Client) error {
		if p.MaxRetries < 0 || p.MinWait < 0 || p.MaxWait < 0 {
			return fmt.Errorf("%w: retry policy values must not be negative", ErrInvalidArgument)
		}
		if p.MinWait == 0 {
			p.MinWait = defaultRetryPolicy().MinWait
		}
		if p.MaxWait == 0 {
			p.MaxWait = defaultRetryPolicy().MaxWait
		}
		if p.MaxWait < p.MinWait {
			return fmt.Errorf("%w: retry MaxWait is less than MinWait", ErrInvalidArgument)
		}
		c.retry = p
		return nil
	}
}

// WithClock replaces the wall clock (see Clock for what it drives: the
// heartbeat monitor, Retry-After dates, cache ages and rate windows), for
// tests that control time.
func WithClock(clk Clock) Option {
	return func(c *Client) error {
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
	return func(c *Client) error {
		if f == nil {
			return fmt.Errorf("%w: nil fingerprinter", ErrInvalidArgument)
		}
		c.fingerprinter = f
		return nil
	}
}

// WithAppID computes this machine's fingerprint with package fingerprint for
// appID (see fingerprint.New for opts). The fingerprint is computed on first
// use and then kept.
func WithAppID(appID string, opts ...fingerprint.Option) Option {
	return func(c *Client) error {
		g, err := fingerprint.New(appID, opts...)
		if err != nil {
			return fmt.Errorf("licentric: fingerprint: %w", err)
		}
		c.fingerprinter = g.Fingerprint
		return nil
	}
}

// Environment reports the environment of the configured API key:
// EnvironmentLive, EnvironmentTest, or EnvironmentNone without one.
func (c *Client) Environment() Environment { return c.env }

// BaseURL returns the API root the client sends requests to, including the
// "/api/v1" prefix.
func (c *Client) BaseURL() string { return c.base }

// Fingerprint returns this machine's fingerprint from the source configured
// with WithAppID or WithFingerprinter.
func (c *Client) Fingerprint() (string, error) {
	if c.fingerprinter == nil {
		return "", ErrNoFingerprinter
	}
	fp, err := c.fingerprinter()
	if err != nil {
		return "", fmt.Errorf("licentric: fingerprint: %w", err)
	}
	if err := checkFingerprint(fp); err != nil {
		return "", err
	}
	return fp, nil
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
	return u.Scheme + "://" + u.Host + p + wire.APIPrefix, nil
}

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
