package licentrictest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/offline"
	"github.com/licentric/licentric-go/resource"
)

// Environments. Every resource lives in exactly one of them.
const (
	EnvLive = "live"
	EnvTest = "test"
)

// The resources and request bodies of the API, as package resource defines
// them (the root package's licentric.License and friends are the same
// types), so tests can name them with this import alone.
type (
	License            = resource.License
	Policy             = resource.Policy
	Machine            = resource.Machine
	Product            = resource.Product
	Entitlement        = resource.Entitlement
	Webhook            = resource.Webhook
	Event              = resource.Event
	Agent              = resource.Agent
	ProductRequest     = resource.ProductRequest
	PolicyRequest      = resource.PolicyRequest
	LicenseRequest     = resource.LicenseRequest
	EntitlementRequest = resource.EntitlementRequest
	WebhookRequest     = resource.WebhookRequest
)

// Server is an in-process Licentric service listening on a loopback port
// (or, with WithInMemory, on no socket at all). Create it with NewServer or
// Start and stop it with Close. All its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL without /api/v1, e.g. http://127.0.0.1:41234.
	URL string

	cfg      config
	listener net.Listener   // nil in memory
	srv      *http.Server   // nil in memory
	mux      *http.ServeMux // the API
	ctl      *http.ServeMux // the control API
	client   *http.Client
	hookHTTP *http.Client

	clock *simClock

	done      chan struct{} // closed by Close: releases hung requests
	closeOnce sync.Once
	handlers  tracker // in-flight HTTP handlers
	hooks     tracker // in-flight webhook deliveries
	hookCtx   context.Context
	hookStop  context.CancelFunc

	mu     sync.Mutex // guards st and closed
	st     *state
	closed bool

	faults faultQueue
	reqs   requestLog
	limits limiter

	signMu  sync.Mutex
	signers []*offline.Signer // every signing key, oldest first; last is current

	dmu        sync.Mutex
	deliveries ring[Delivery]

	accountID string
	liveKey   string
	testKey   string
}

type config struct {
	start         time.Time
	frozen        bool
	limits        [3]int // validation, activation, management; <=0: unlimited
	noLimits      bool
	signingKey    ed25519.PrivateKey
	hookBackoff   time.Duration
	hookTimeout   time.Duration
	hookTransport http.RoundTripper
	logger        *slog.Logger
	readTimeout   time.Duration
	logSize       int
	eventLogSize  int
	addr          string
	inMemory      bool
}

// Option configures a Server.
type Option func(*config)

// WithStartTime sets the clock's reading at NewServer. The default is
// time.Now() at NewServer, truncated to milliseconds. The clock flows with
// real time from there (unless WithFrozenClock or Freeze stops it), and
// Advance and SetNow move it.
func WithStartTime(t time.Time) Option { return func(c *config) { c.start = t } }

// WithFrozenClock starts the clock at t and stops it there: time stands
// still unless Advance or SetNow moves it. A test that wants exact time
// uses it and passes srv.Clock() to licentric.WithClock, so the client
// lives in the same simulated time.
func WithFrozenClock(t time.Time) Option {
	return func(c *config) { c.start, c.frozen = t, true }
}

// WithRateLimits sets the per-minute limits of the VALIDATION, ACTIVATION and
// MANAGEMENT tiers (defaults 60, 10, 120). A value of 0 or less turns that
// tier's limit off.
func WithRateLimits(validation, activation, management int) Option {
	return func(c *config) {
		c.limits = [3]int{validation, activation, management}
		c.noLimits = false
	}
}

// WithoutRateLimits turns rate limiting off; the headers are still sent.
// SetRateLimits turns it back on.
func WithoutRateLimits() Option { return func(c *config) { c.noLimits = true } }

// WithSigningKey sets the Ed25519 key that signs license files. The default
// is a freshly generated key.
func WithSigningKey(priv ed25519.PrivateKey) Option {
	return func(c *config) { c.signingKey = priv }
}

// WithWebhookBackoff sets the wait before the second delivery attempt; the
// third waits twice as long. The default is 1 s (real time).
func WithWebhookBackoff(base time.Duration) Option {
	return func(c *config) { c.hookBackoff = base }
}

// WithWebhookTimeout sets how long one delivery attempt may take (default 10 s).
func WithWebhookTimeout(d time.Duration) Option { return func(c *config) { c.hookTimeout = d } }

// WithWebhookTransport sends webhook deliveries through rt instead of
// dialing the webhook's URL; HandlerTransport(h) delivers to an
// http.Handler in memory, which lets deliveries run inside a
// testing/synctest bubble.
func WithWebhookTransport(rt http.RoundTripper) Option {
	return func(c *config) { c.hookTransport = rt }
}

// WithLogger sets a logger for requests and deliveries (silent by default).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithReadTimeout sets how long the server waits for a request's headers
// and body (default 5 s); a client that sends slower is cut off. It has no
// effect in memory.
func WithReadTimeout(d time.Duration) Option { return func(c *config) { c.readTimeout = d } }

// WithRequestLogSize sets how many requests Requests and CountRequests
// remember (default DefaultRequestLogSize); older ones are forgotten.
func WithRequestLogSize(n int) Option { return func(c *config) { c.logSize = n } }

// WithEventLogSize sets how many events per environment Events returns and
// how many delivery attempts Deliveries returns (default
// DefaultRequestLogSize each); older ones are forgotten.
func WithEventLogSize(n int) Option { return func(c *config) { c.eventLogSize = n } }

// WithAddr listens on addr instead of a random port of 127.0.0.1. Its host
// must be loopback: "" (as in ":8080"), "localhost" and "127.0.0.1" mean
// 127.0.0.1; "[::1]" is accepted; any other host is refused. Whatever the
// address, requests on the server's socket must name it by a loopback
// name and its port in Host (127.0.0.1:PORT, localhost:PORT or
// [::1]:PORT); any other Host, as a DNS-rebinding web page sends, is
// refused with 403 FORBIDDEN.
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithInMemory serves without any socket: Client and Transport call the
// handler in-process, and URL is the placeholder http://127.0.0.1:0, which
// a client on another transport cannot reach. This is what a test inside a
// testing/synctest bubble needs, since waiting on a socket never counts as
// durably blocked there. WithAddr and WithReadTimeout have no effect then.
func WithInMemory() Option { return func(c *config) { c.inMemory = true } }

// inMemoryURL is the URL of a server started WithInMemory.
const inMemoryURL = "http://127.0.0.1:0"

// NewServer starts a server. It panics if it can't listen or an option is
// invalid, as httptest.NewServer does; Start returns the error instead.
func NewServer(opts ...Option) *Server {
	s, err := Start(opts...)
	if err != nil {
		panic(err.Error())
	}
	return s
}

// listenAddr checks that addr is a loopback address and fills in the host.
func listenAddr(addr string) (string, error) {
	if addr == "" {
		return "127.0.0.1:0", nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("licentrictest: address %q: %w", addr, err)
	}
	switch {
	case host == "" || strings.EqualFold(host, "localhost"):
		host = "127.0.0.1"
	default:
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return "", fmt.Errorf("licentrictest: address %q is not loopback; the server listens only on 127.0.0.1 or ::1", addr)
		}
	}
	return net.JoinHostPort(host, port), nil
}

// Start starts a server as NewServer does, returning an error when it
// can't listen or an option is invalid.
func Start(opts ...Option) (*Server, error) {
	cfg := config{
		start:        time.Now().Truncate(time.Millisecond),
		limits:       [3]int{wire.LimitValidation, wire.LimitActivation, wire.LimitManagement},
		hookBackoff:  time.Second,
		hookTimeout:  10 * time.Second,
		readTimeout:  5 * time.Second,
		logSize:      DefaultRequestLogSize,
		eventLogSize: DefaultRequestLogSize,
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.hookBackoff < 0 {
		cfg.hookBackoff = 0
	}
	if cfg.hookTimeout <= 0 {
		cfg.hookTimeout = 10 * time.Second
	}
	if cfg.readTimeout <= 0 {
		cfg.readTimeout = 5 * time.Second
	}
	if cfg.logSize < 0 || cfg.eventLogSize < 0 {
		return nil, errors.New("licentrictest: log sizes must not be negative")
	}
	priv := cfg.signingKey
	if priv == nil {
		var err error
		if _, priv, err = ed25519.GenerateKey(rand.Reader); err != nil {
			return nil, fmt.Errorf("licentrictest: generate signing key: %w", err)
		}
	}
	signer, err := offline.NewSigner(priv)
	if err != nil {
		return nil, fmt.Errorf("licentrictest: %w", err)
	}
	var ln net.Listener
	url := inMemoryURL
	if !cfg.inMemory {
		addr, err := listenAddr(cfg.addr)
		if err != nil {
			return nil, err
		}
		if ln, err = net.Listen("tcp", addr); err != nil {
			return nil, fmt.Errorf("licentrictest: listen: %w", err)
		}
		url = "http://" + ln.Addr().String()
	}
	s := &Server{
		URL:        url,
		cfg:        cfg,
		listener:   ln,
		clock:      newSimClock(cfg.start, cfg.frozen),
		done:       make(chan struct{}),
		st:         newState(cfg.eventLogSize),
		reqs:       requestLog{ring: newRing[*Request](cfg.logSize)},
		deliveries: newRing[Delivery](cfg.eventLogSize),
		signers:    []*offline.Signer{signer},
		accountID:  newUUID(),
	}
	s.limits = limiter{
		limits: map[string]int{
			wire.TierValidation: cfg.limits[0],
			wire.TierActivation: cfg.limits[1],
			wire.TierManagement: cfg.limits[2],
		},
		off:     cfg.noLimits,
		windows: map[string]*window{},
	}
	s.mux, s.ctl = s.newMux(), s.newControlMux()
	s.hookCtx, s.hookStop = context.WithCancel(context.Background())
	s.liveKey = s.newAPIKey(EnvLive, nil)
	s.testKey = s.newAPIKey(EnvTest, nil)
	hookRT := cfg.hookTransport
	if hookRT == nil {
		hookRT = &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}
	}
	s.hookHTTP = &http.Client{
		Transport: hookRT,
		Timeout:   cfg.hookTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	if cfg.inMemory {
		s.client = &http.Client{Transport: s.Transport()}
		return s, nil
	}
	s.client = &http.Client{Transport: &http.Transport{Proxy: nil, ForceAttemptHTTP2: false, MaxIdleConnsPerHost: 16}}
	s.srv = &http.Server{
		Handler:           s.listenerHandler(ln.Addr().(*net.TCPAddr).Port),
		ReadHeaderTimeout: cfg.readTimeout,
		ReadTimeout:       cfg.readTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(cfg.logger.Handler(), slog.LevelDebug),
	}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server: it releases hung requests, closes every
// connection, cancels webhook deliveries and waits for its goroutines.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.handlers.close()
		close(s.done)
		if s.srv != nil {
			_ = s.srv.Close()
		}
		_ = s.handlers.wait(context.Background())
		s.hookStop()
		_ = s.hooks.wait(context.Background())
		s.clock.close()
		if t, ok := s.client.Transport.(*http.Transport); ok {
			t.CloseIdleConnections()
		}
		if t, ok := s.hookHTTP.Transport.(*http.Transport); ok && s.cfg.hookTransport == nil {
			t.CloseIdleConnections()
		}
	})
}

// Client returns an HTTP client for talking to the server: over loopback
// (no proxy), or in memory for a server started WithInMemory.
func (s *Server) Client() *http.Client { return s.client }

// Now returns the server clock's current time, in UTC, to the millisecond
// (the precision of every timestamp on the wire). By default the clock
// flows with real time from its start, plus what Advance and SetNow added.
func (s *Server) Now() time.Time {
	return s.clock.now().UTC().Truncate(time.Millisecond)
}

// Advance moves the server clock forward by d (back, for a negative d) and
// fires the Clock's After channels that became due.
func (s *Server) Advance(d time.Duration) { s.clock.advance(d) }

// SetNow sets the server clock's current reading to t; a flowing clock
// keeps flowing from there. It fires the After channels that became due.
func (s *Server) SetNow(t time.Time) { s.clock.set(t) }

// Freeze stops the clock at its current reading: from then on it moves
// only with Advance and SetNow, as with WithFrozenClock.
func (s *Server) Freeze() { s.clock.freeze() }

// Frozen reports whether the clock stands still between Advance and SetNow.
func (s *Server) Frozen() bool { return s.clock.isFrozen() }

// TestAPIKey returns a full-access lk_test_ API key.
func (s *Server) TestAPIKey() string { return s.testKey }

// LiveAPIKey returns a full-access lk_live_ API key.
func (s *Server) LiveAPIKey() string { return s.liveKey }

// NewAPIKey creates an API key of env ("live" or "test") with the given
// scopes; no scopes means full access. It panics on an unknown env.
func (s *Server) NewAPIKey(env string, scopes ...string) string {
	if env != EnvLive && env != EnvTest {
		panic(fmt.Sprintf("licentrictest: unknown environment %q", env))
	}
	return s.newAPIKey(env, scopes)
}

func (s *Server) newAPIKey(env string, scopes []string) string {
	prefix := wire.TestKeyPrefix
	if env == EnvLive {
		prefix = wire.LiveKeyPrefix
	}
	key := prefix + randomHex(24)
	set := map[string]bool{}
	for _, sc := range scopes {
		set[sc] = true
	}
	s.mu.Lock()
	s.st.apiKeys[key] = &apiKey{env: env, scopes: set}
	s.mu.Unlock()
	return key
}

// RevokeAPIKey revokes key; later requests with it get 401.
func (s *Server) RevokeAPIKey(key string) {
	s.mu.Lock()
	if k := s.st.apiKeys[key]; k != nil {
		k.revoked = true
	}
	s.mu.Unlock()
}

// PublicKey returns the public half of the current signing key.
func (s *Server) PublicKey() ed25519.PublicKey { return s.signer().PublicKey() }

// PublicKeys returns every public key the server has signed with, oldest first.
func (s *Server) PublicKeys() []ed25519.PublicKey {
	s.signMu.Lock()
	defer s.signMu.Unlock()
	out := make([]ed25519.PublicKey, len(s.signers))
	for i, sg := range s.signers {
		out[i] = sg.PublicKey()
	}
	return out
}

// RotateSigningKey generates a new signing key, which signs every license
// file from now on, and returns its public key. Older keys stay in PublicKeys.
func (s *Server) RotateSigningKey() ed25519.PublicKey {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic("licentrictest: generate signing key: " + err.Error())
	}
	sg, err := offline.NewSigner(priv)
	if err != nil {
		panic("licentrictest: " + err.Error())
	}
	s.signMu.Lock()
	s.signers = append(s.signers, sg)
	s.signMu.Unlock()
	return sg.PublicKey()
}

func (s *Server) signer() *offline.Signer {
	s.signMu.Lock()
	defer s.signMu.Unlock()
	return s.signers[len(s.signers)-1]
}

// lock takes the state lock and brings time-driven state (license expiry,
// machine death) up to the clock, firing the events that became due.
func (s *Server) lock() time.Time {
	s.mu.Lock()
	now := s.Now()
	s.sweep(now)
	return now
}

func (s *Server) unlock() { s.mu.Unlock() }
