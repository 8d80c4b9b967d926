package licentrictest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/offline"
)

// Environments. Every resource lives in exactly one of them.
const (
	EnvLive = wire.EnvLive
	EnvTest = wire.EnvTest
)

// Wire types, re-exported so tests can name them without importing an
// internal package. They are aliases: licentric.License and
// licentrictest.License are the same type.
type (
	License            = wire.License
	Policy             = wire.Policy
	Machine            = wire.Machine
	Product            = wire.Product
	Entitlement        = wire.Entitlement
	Webhook            = wire.Webhook
	Event              = wire.Event
	Validation         = wire.Validation
	ProductRequest     = wire.ProductRequest
	PolicyRequest      = wire.PolicyRequest
	LicenseRequest     = wire.LicenseRequest
	EntitlementRequest = wire.EntitlementRequest
	WebhookRequest     = wire.WebhookRequest
)

// Server is an in-process Licentric service listening on a loopback port.
// Create it with NewServer and stop it with Close. All its methods are safe
// for concurrent use.
type Server struct {
	// URL is the base URL without /api/v1, e.g. http://127.0.0.1:41234.
	URL string

	cfg      config
	listener net.Listener
	srv      *http.Server
	client   *http.Client
	hookHTTP *http.Client

	clock  atomic.Int64 // Unix nanoseconds of the controllable clock
	timers timers       // waiters of Clock().After

	done      chan struct{} // closed by Close: releases hung requests
	closeOnce sync.Once
	handlers  tracker // in-flight HTTP handlers
	hooks     tracker // in-flight webhook deliveries
	hookCtx   context.Context
	hookStop  context.CancelFunc

	mu     sync.Mutex // guards st and the fields below
	st     *state
	closed bool
	faults []*Fault
	reqs   []*Request
	rates  map[string]*window

	signMu  sync.Mutex
	signers []*offline.Signer // every signing key, oldest first; last is current

	dmu        sync.Mutex
	deliveries []Delivery

	accountID string
	liveKey   string
	testKey   string
}

type config struct {
	start       time.Time
	limits      [3]int // validation, activation, management; <=0: unlimited
	noLimits    bool
	signingKey  ed25519.PrivateKey
	hookBackoff time.Duration
	hookTimeout time.Duration
	logger      *slog.Logger
}

// Option configures a Server.
type Option func(*config)

// WithStartTime sets the clock's start. The default is time.Now() at
// NewServer, truncated to milliseconds. The clock stands still until Advance
// or SetNow moves it.
func WithStartTime(t time.Time) Option { return func(c *config) { c.start = t } }

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

// WithLogger sets a logger for requests and deliveries (silent by default).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// NewServer starts a server on 127.0.0.1 with a random port. It panics if
// it can't listen or the options are invalid, as httptest.NewServer does.
func NewServer(opts ...Option) *Server {
	cfg := config{
		start:       time.Now().Truncate(time.Millisecond),
		limits:      [3]int{wire.LimitValidation, wire.LimitActivation, wire.LimitManagement},
		hookBackoff: time.Second,
		hookTimeout: 10 * time.Second,
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
	priv := cfg.signingKey
	if priv == nil {
		var err error
		_, priv, err = ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic("licentrictest: generate signing key: " + err.Error())
		}
	}
	signer, err := offline.NewSigner(priv)
	if err != nil {
		panic("licentrictest: " + err.Error())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("licentrictest: listen: " + err.Error())
	}
	s := &Server{
		URL:       "http://" + ln.Addr().String(),
		cfg:       cfg,
		listener:  ln,
		done:      make(chan struct{}),
		st:        newState(),
		rates:     map[string]*window{},
		signers:   []*offline.Signer{signer},
		accountID: newUUID(),
	}
	s.clock.Store(cfg.start.UnixNano())
	s.hookCtx, s.hookStop = context.WithCancel(context.Background())
	s.liveKey = s.newAPIKey(EnvLive, nil)
	s.testKey = s.newAPIKey(EnvTest, nil)
	s.client = &http.Client{Transport: &http.Transport{Proxy: nil, ForceAttemptHTTP2: false, MaxIdleConnsPerHost: 16}}
	s.hookHTTP = &http.Client{
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4},
		Timeout:   cfg.hookTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.logger.Handler(), slog.LevelDebug),
	}
	go func() { _ = s.srv.Serve(ln) }()
	return s
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
		_ = s.srv.Close()
		_ = s.handlers.wait(context.Background())
		s.hookStop()
		_ = s.hooks.wait(context.Background())
		if t, ok := s.client.Transport.(*http.Transport); ok {
			t.CloseIdleConnections()
		}
		if t, ok := s.hookHTTP.Transport.(*http.Transport); ok {
			t.CloseIdleConnections()
		}
	})
}

// Client returns an HTTP client for talking to the server (no proxy).
func (s *Server) Client() *http.Client { return s.client }

// Now returns the server clock's current time, in UTC, to the millisecond
// (the precision of every timestamp on the wire).
func (s *Server) Now() time.Time {
	return time.Unix(0, s.clock.Load()).UTC().Truncate(time.Millisecond)
}

// Advance moves the server clock forward by d.
func (s *Server) Advance(d time.Duration) {
	s.clock.Add(int64(d))
	s.timers.fire(s.Now())
}

// SetNow sets the server clock to t.
func (s *Server) SetNow(t time.Time) {
	s.clock.Store(t.UnixNano())
	s.timers.fire(s.Now())
}

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
