package licentric

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licentric/licentric-go/offline"
)

// A Guard licenses an application: it decides whether this machine may run
// under a license key and keeps that decision true for as long as the
// application runs. The whole of an application's licensing:
//
//	g, err := licentric.NewGuard(client, key, licentric.WithLicenseFile(path, signingKeys...))
//	if err != nil {
//		return err // a malformed key, a missing fingerprint source: a bug, not a license state
//	}
//	st, err := g.Start(ctx) // decides within WithStartTimeout, whatever the network does
//	if err != nil {
//		return err // ctx ended, or Start was called twice
//	}
//	defer g.Close(context.Background())
//	if !st.Allowed {
//		return errors.New(message(st)) // see the table below
//	}
//	if g.Allows("pdf-export") { ... }
//
// What it does for the application:
//
//   - Start validates with this machine's fingerprint; FINGERPRINT_NOT_FOUND
//     activates the machine (never twice across restarts: the validation
//     finds the machine first), HEARTBEAT_REQUIRED revives a dead one with a
//     heartbeat. Rechecks mend the same way, so a guard never stays denied
//     for a reason it can mend itself.
//   - Heartbeats, when the policy requires them, for the guard's whole life
//     (a HeartbeatMonitor; not the Start context); a machine the service
//     culled is activated again.
//   - With WithLicenseFile, an offline license file checked out after a
//     valid online decision, refreshed at half its lifetime and whenever
//     the service's answer differs from the file's (status, expiry,
//     entitlements, policy limits), written only after it verifies
//     (RefreshLicenseFile), in a directory the guard creates (0700).
//     GuardState.FileErr says why there is no usable file.
//   - An outage (ErrUnavailable: refused, reset, hanging, DNS, TLS, 5xx,
//     429, an unusable answer) is decided from the verified file until it
//     expires, else from a stale cached result within WithStaleIfError,
//     else denied. Start decides within WithStartTimeout in every case and
//     keeps asking in the background.
//   - A definitive denial (SUSPENDED, REVOKED, BANNED, EXPIRED under
//     RESTRICT_ACCESS, NOT_FOUND, ENTITLEMENTS_MISSING) removes the file and
//     the cached results, and withdraws the file in the rollback state, so
//     an offline restart stays denied even with a copy of the file put
//     back; a later valid decision brings them back.
//   - A denial that can change asks again soon (from 15 s, backing off to
//     a minute), whatever WithCheckInterval says; an allowed guard asks every
//     WithCheckInterval; after an outage it asks again within one interval.
//   - Webhooks delivered through the client's WebhookHandler (or
//     HandleWebhookEvent), InvalidateLicense, and writes of this client that
//     change the license or free a seat (a deactivation) have the guard ask
//     the service again at once; with WithFleet, the guards of every member
//     too, within the fleet's publish latency. Heartbeats, activations,
//     first validations and activations refused for the machine limit
//     change no decision and wake no guard.
//
// Every denial's Reason matches one sentinel of this package with
// errors.Is, so a vendor's message table is a switch:
//
//	Reason matches            Code                     what the user is told
//	ErrUnavailable            ""                       can't reach the licensing service; no usable license file
//	  + offline.ErrFileExpired                         offline too long: connect to renew the license file
//	  + offline.ErrClockRollback                       the system clock was set back
//	ErrMachineLimitExceeded   MACHINE_LIMIT_EXCEEDED   all seats in use (License.Policy says how many)
//	ErrSuspended              SUSPENDED                license suspended
//	ErrRevoked                REVOKED                  license revoked
//	ErrBanned                 BANNED                   license banned
//	ErrExpired                EXPIRED                  license expired
//	ErrNotFound               NOT_FOUND                no such license key
//	ErrEntitlementsMissing    ENTITLEMENTS_MISSING     the license lacks a feature this application needs
//	ErrUsesExceeded           USES_EXCEEDED            the license's uses are spent
//	ErrHeartbeatRequired      HEARTBEAT_REQUIRED       this machine stopped sending heartbeats
//	ErrLicenseNotActive       ""                       the license is not active (activation refused)
//	ErrNoLicenseFile          ""                       WithOfflineOnly: no usable license file (FileErr says why)
//	ErrUnauthorized, ErrForbidden  ""                  the client is misconfigured (API key)
//
// ErrInvalidLicense matches every denial the service decided. The service
// states (ErrSuspended, ...) match their offline counterparts' codes when a
// WithOfflineOnly file decides.
//
// Its methods are safe for concurrent use; State and Allows are a lock-free
// read, and no lock is ever held across I/O: a webhook delivery or Close
// never waits for a decision in progress.
type Guard struct {
	c      *Client
	key    string
	fp     string
	cfg    guardConfig
	file   *licenseFile // nil without WithLicenseFile(Verifier)
	digest string       // the license's fleet digest; "" without a fleet

	state     atomic.Pointer[GuardState]
	licenseID atomic.Pointer[string] // the license's id, once known (webhook matching)
	machineID atomic.Pointer[string] // this machine's id, once known (Close's deactivation)

	mu      sync.Mutex // the lifecycle below; never held across I/O
	started bool
	closed  bool
	cancel  context.CancelFunc // ends the supervisor; nil before Start

	wake     chan struct{}        // an event concerns the license
	rechecks chan chan GuardState // Recheck's requests to the supervisor
	done     chan struct{}        // closed when the supervisor has stopped
	notes    notifier

	// fileExpires is the expiry (Unix nanoseconds; 0: none) of the license
	// file in force at the last publish, for the client's Observer.
	fileExpires atomic.Int64
	obsMu       sync.Mutex // serializes the Observer's GuardState calls
	obsClosed   bool       // the Observer heard the close
}

// Source says what a GuardState's decision rests on.
type Source string

// Sources of a decision.
const (
	// SourceNone: no decision could be made (Allowed is false).
	SourceNone Source = "none"
	// SourceService: the service answered.
	SourceService Source = "service"
	// SourceCache: a stale cached result, served because the service could
	// not be asked.
	SourceCache Source = "cache"
	// SourceLicenseFile: the verified offline license file, used because
	// the service could not be asked (or, with WithOfflineOnly, is never
	// asked).
	SourceLicenseFile Source = "license-file"
)

// GuardState is a guard's decision at one moment. Treat its License,
// Machine and Entitlements as read-only: State hands every caller the same
// values.
type GuardState struct {
	// Allowed reports whether the application may run.
	Allowed bool
	// Code is the service's code (or the file's: CodeValid, CodeExpired
	// for an ALLOW_ACCESS grace period); empty when no decision could be
	// made.
	Code Code
	// Source says what the decision rests on.
	Source Source
	// Reason is why the application is not allowed, or why the service was
	// not used (it matches ErrUnavailable when the service was
	// unreachable); nil for a plain valid answer of the service. See the
	// table in Guard's documentation.
	Reason error
	// License is the license as last seen (from the service or the file),
	// also on a denial the service answered (a MACHINE_LIMIT_EXCEEDED
	// denial carries the license and its policy: "this license allows 2
	// computers").
	License *License
	// Machine is this machine as last seen.
	Machine *Machine
	// Entitlements is the license's effective entitlement codes, sorted.
	Entitlements []string
	// Until is when this decision lapses without a new one: the file's
	// expiry, or the bound of stale results; zero for a denial.
	Until time.Time
	// CheckedAt is when the decision was made, on the client's clock.
	CheckedAt time.Time
	// FileErr is why no usable license file is kept: its directory could
	// not be made or written, the checkout was refused (the policy does not
	// allow offline use), the new file did not verify (a signing key not
	// pinned: offline.ErrUnknownKey), the stored file expired, the clock
	// was set back, or the license was denied. Nil when a verified file is
	// kept, and without WithLicenseFile. The guard logs each cause once at
	// WARN.
	FileErr error
}

// DefaultCheckInterval is how often an allowed guard asks the service
// again without a webhook telling it of a change.
const DefaultCheckInterval = 15 * time.Minute

// DefaultStartTimeout bounds Start: within it, the guard decides from the
// service, else from the license file, else denies (ErrUnavailable).
const DefaultStartTimeout = 2 * time.Second

// Retry timings of a guard that is denied for a reason that can change, or
// that runs on its file or a stale result during an outage: it asks again
// after deniedRetryMin, doubling up to deniedRetryMax while denied (and up
// to the check interval while allowed from the file).
const (
	deniedRetryMin = 15 * time.Second
	deniedRetryMax = time.Minute
)

// ErrGuardClosed reports a Start or Recheck on a closed guard.
var ErrGuardClosed = errors.New("licentric: guard is closed")

// ErrNoLicenseFile is the Reason of a WithOfflineOnly guard without a
// usable license file; GuardState.FileErr says why (fs.ErrNotExist,
// offline.ErrFileExpired, offline.ErrFingerprintMismatch, ...).
var ErrNoLicenseFile = errors.New("licentric: no usable license file")

type guardConfig struct {
	filePath     string
	publicKeys   []string          // WithLicenseFile
	verifier     *offline.Verifier // WithLicenseFileVerifier
	offlineOnly  bool
	ents         []string
	interval     time.Duration
	deactivate   bool
	onChange     func(GuardState)
	activate     ActivateParams
	startTimeout time.Duration
	fileTTL      time.Duration
}

// A GuardOption configures NewGuard: the options below, and
// WithEntitlements, the ValidateOption that names the entitlements every
// decision requires (the other ValidateOptions make NewGuard fail: the
// guard's fingerprint is WithActivateParams', and it decides when to ask
// the service itself).
type GuardOption interface {
	applyGuard(*guardConfig) error
}

// guardOptionFunc is the GuardOption of a function.
type guardOptionFunc func(*guardConfig) error

func (f guardOptionFunc) applyGuard(c *guardConfig) error { return f(c) }

// applyGuard makes WithEntitlements a GuardOption: without every one of the
// entitlements the license is denied with CodeEntitlementsMissing.
func (o ValidateOption) applyGuard(c *guardConfig) error {
	switch o.kind {
	case optEntitlements:
		for _, code := range o.entitlements {
			if code == "" {
				return fmt.Errorf("%w: empty entitlement code", ErrInvalidArgument)
			}
		}
		c.ents = append(c.ents, o.entitlements...)
		return nil
	case optFingerprint:
		return fmt.Errorf("%w: WithFingerprint is not a guard option (set the fingerprint with WithActivateParams)", ErrInvalidArgument)
	case optFresh:
		return fmt.Errorf("%w: WithFreshValidation is not a guard option", ErrInvalidArgument)
	}
	return fmt.Errorf("%w: the zero ValidateOption is not a guard option", ErrInvalidArgument)
}

// WithLicenseFile keeps an offline license file at path as the fallback
// when the service cannot be reached (see Guard). publicKeys are the
// account's signing keys, pinned in the application, in any form
// offline.ParsePublicKey reads (base64, hex, PEM): `licentric pin-key`
// writes them as a []string to pass here. A malformed or weak key makes
// NewGuard fail.
//
// The guard builds the verifier: bound to the client's fingerprint and
// environment (live for a client without an API key), on the client's
// clock, with an offline.RollbackGuard in the state file path+".state"
// that refuses a clock set back and files withdrawn by a denial. It creates
// path's directory (0700) when missing; files are written 0600.
func WithLicenseFile(path string, publicKeys ...string) GuardOption {
	return guardOptionFunc(func(c *guardConfig) error {
		if path == "" || len(publicKeys) == 0 {
			return fmt.Errorf("%w: WithLicenseFile needs a path and at least one public key", ErrInvalidArgument)
		}
		for i, k := range publicKeys {
			if _, err := offline.ParsePublicKey(k); err != nil {
				return fmt.Errorf("%w: WithLicenseFile: public key %d: %w", ErrInvalidArgument, i+1, err)
			}
		}
		c.filePath, c.publicKeys, c.verifier = path, slices.Clone(publicKeys), nil
		return nil
	})
}

// WithLicenseFileVerifier keeps an offline license file at path, verified
// with v, a verifier of the caller's (for a rollback key of its own, say).
// v should be pinned to the account's signing keys, bound to this machine's
// fingerprint (offline.WithFingerprint) and the environment, and hold an
// offline.RollbackGuard: without one, a clock set back and a file put back
// after a denial are not detected.
func WithLicenseFileVerifier(path string, v *offline.Verifier) GuardOption {
	return guardOptionFunc(func(c *guardConfig) error {
		if path == "" || v == nil {
			return fmt.Errorf("%w: WithLicenseFileVerifier needs a path and a verifier", ErrInvalidArgument)
		}
		c.filePath, c.verifier, c.publicKeys = path, v, nil
		return nil
	})
}

// WithOfflineOnly makes the guard decide from the verified license file
// alone: it never opens a socket (no validation, heartbeat, checkout or
// activation), and Recheck reads the file again. A missing, expired or
// foreign file is a denial whose Reason matches ErrNoLicenseFile and whose
// FileErr says why. It needs WithLicenseFile (or WithLicenseFileVerifier),
// and excludes WithDeactivateOnClose. For air-gapped sites: the file comes
// from `licentric offline fulfill`.
func WithOfflineOnly() GuardOption {
	return guardOptionFunc(func(c *guardConfig) error {
		c.offlineOnly = true
		return nil
	})
}

// WithCheckInterval sets how often an allowed guard asks the service again
// (default DefaultCheckInterval); at least a minute. A denied guard asks
// sooner (see Guard).
func WithCheckInterval(d time.Duration) GuardOption {
	return guardOptionFunc(func(c *guardConfig) error {
		if d < time.Minute {
			return fmt.Errorf("%w: check interval %v is below a minute", ErrInvalidArgument, d)
		}
		c.interval = d
		return nil
	})
}

// WithDeactivateOnClose makes Close deactivate this machine, freeing its
// seat (containers that come and go give their seats back).
func WithDeactivateOnClose() GuardOption {
	return guardOptionFunc(func(c *guardConfig) error {
		c.deactivate = true
		return nil
	})
}

// OnGuardChange calls f with the first decision, whatever it is, before
// Start returns, and then with the new state whenever Allowed, Code or
// Source changes, in order, never concurrently with itself. f may call the
// guard's methods but not Close, and should return promptly.
func OnGuardChange(f func(GuardState)) GuardOption {
	return guardOptionFunc(func(c *guardConfig) error {
		c.onChange = f
		return nil
	})
}

// WithActivateParams sets what the guard sends when it activates this
// machine (name, metadata, or a fingerprint of your own; see Activate for
// the defaults).
func WithActivateParams(p ActivateParams) GuardOption {
	return guardOptionFunc(func(c *guardConfig) error {
		c.activate = p
		return nil
	})
}

// WithStartTimeout bounds Start (default DefaultStartTimeout): by then it
// has decided from the service, the license file or a denial matching
// ErrUnavailable. The guard keeps asking in the background.
func WithStartTimeout(d time.Duration) GuardOption {
	return guardOptionFunc(func(c *guardConfig) error {
		if d <= 0 {
			return fmt.Errorf("%w: start timeout must be positive", ErrInvalidArgument)
		}
		c.startTimeout = d
		return nil
	})
}

// WithLicenseFileTTL sets the lifetime of the files the guard checks out
// (default: DefaultCheckoutTTL, or the policy's offlineMaxDays when shorter).
func WithLicenseFileTTL(d time.Duration) GuardOption {
	return guardOptionFunc(func(c *guardConfig) error {
		if _, err := checkoutTTLSeconds(d); err != nil || d == 0 {
			return fmt.Errorf("%w: license file TTL %v outside %v..%v", ErrInvalidArgument, d, MinCheckoutTTL, MaxCheckoutTTL)
		}
		c.fileTTL = d
		return nil
	})
}

// NewGuard returns a guard of licenseKey on this machine; Start makes its
// first decision. The machine's fingerprint comes from
// WithActivateParams' Fingerprint, else from the client's fingerprint source
// (WithAppID or WithFingerprinter). NewGuard opens no socket; with a
// license file it reads the file's rollback state.
func NewGuard(c *Client, licenseKey string, opts ...GuardOption) (*Guard, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: nil Client", ErrInvalidArgument)
	}
	if err := checkLicenseKey(licenseKey); err != nil {
		return nil, err
	}
	cfg := guardConfig{interval: DefaultCheckInterval, startTimeout: DefaultStartTimeout}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.applyGuard(&cfg); err != nil {
			return nil, err
		}
	}
	switch {
	case cfg.offlineOnly && cfg.filePath == "":
		return nil, fmt.Errorf("%w: WithOfflineOnly needs WithLicenseFile", ErrInvalidArgument)
	case cfg.offlineOnly && cfg.deactivate:
		return nil, fmt.Errorf("%w: WithOfflineOnly cannot deactivate on Close (it opens no socket)", ErrInvalidArgument)
	}
	fp, err := c.fingerprintOrDefault(cfg.activate.Fingerprint)
	if err != nil {
		return nil, err
	}
	g := &Guard{
		c: c, key: licenseKey, cfg: cfg, fp: fp,
		wake:     make(chan struct{}, 1),
		rechecks: make(chan chan GuardState),
		done:     make(chan struct{}),
		notes:    notifier{fn: cfg.onChange, kick: make(chan struct{}, 1), ended: make(chan struct{})},
	}
	if cfg.filePath != "" {
		g.file = newLicenseFile(c, licenseKey, fp, cfg)
	}
	if c.cfg.fleet != nil {
		// Known by its digest, the license's invalidations from the other
		// members of the fleet find this guard.
		g.digest = c.results.licenseDigest(licenseKey)
	}
	g.state.Store(&GuardState{Source: SourceNone, Reason: errors.New("licentric: guard not started")})
	return g, nil
}

// String describes the guard without its license key.
func (g *Guard) String() string {
	st := g.State()
	return fmt.Sprintf("licentric.Guard{license: %s, allowed: %t, code: %s, source: %s}", redactKey(g.key), st.Allowed, st.Code, st.Source)
}

// Start makes the guard's first decision and starts keeping it: heartbeats,
// rechecks and the license file run until Close. It returns within
// WithStartTimeout (default two seconds) whatever the network does: with
// the service's answer when it comes in time; else decided from a verified
// license file; else denied with a Reason matching ErrUnavailable. The guard
// goes on asking in the background and OnGuardChange hears the outcome.
//
// The error is only for misuse (a second Start, a closed guard) or ctx
// ending first, after which the guard is closed; a denial is a state.
func (g *Guard) Start(ctx context.Context) (GuardState, error) {
	if ctx == nil {
		return GuardState{}, fmt.Errorf("%w: nil context", ErrInvalidArgument)
	}
	g.mu.Lock()
	switch {
	case g.closed:
		g.mu.Unlock()
		return GuardState{}, ErrGuardClosed
	case g.started:
		g.mu.Unlock()
		return GuardState{}, fmt.Errorf("%w: guard already started", ErrInvalidArgument)
	}
	g.started = true
	// The guard's own life, not ctx's: Close ends it.
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g.cancel = cancel
	g.c.hub.add(g)
	g.mu.Unlock()

	g.c.warnSharedFingerprint()
	r := g.newRun()
	// What Start decides if the service gives no answer in time: the file
	// read now, before the supervisor owns it.
	fallback := fallbackState(r.file, r.fileErr, g.cfg.ents, g.cfg.startTimeout, g.c.cfg.clock.Now())
	if g.cfg.offlineOnly {
		fallback = stateOfFileOnly(r.file, r.fileErr, g.cfg.ents, g.c.cfg.clock.Now())
	}
	fallbackFile := r.file
	first := make(chan struct{})
	go g.supervise(lctx, r, first)

	clk := g.c.cfg.clock
	real := time.NewTimer(g.cfg.startTimeout)
	defer real.Stop()
	var err error
	select {
	case <-first:
	case <-clk.After(g.cfg.startTimeout):
	case <-real.C:
	case <-g.done: // closed meanwhile
		err = ErrGuardClosed
	case <-ctx.Done():
		err = ctx.Err()
	}
	// Whatever ended the wait, the application gets a decision now: the
	// supervisor's, or one from the file Start read (never the network).
	g.publishFirst(fallback, fallbackFile)
	g.notes.start()
	if err != nil {
		_ = g.shutdown(context.Background())
	}
	return g.State(), err
}

// State returns the current decision. It is a lock-free read.
func (g *Guard) State() GuardState { return *g.state.Load() }

// Allows reports whether the current decision allows the application and,
// when code is not empty, grants entitlement code.
func (g *Guard) Allows(code string) bool {
	st := g.state.Load()
	return st.Allowed && (code == "" || slices.Contains(st.Entitlements, code))
}

// Recheck asks the service now (bypassing the cache; with WithOfflineOnly,
// reads the license file again) and returns the new decision. When ctx
// ends first it returns the current state with ctx's error; the decision
// goes on and is published when it is made.
func (g *Guard) Recheck(ctx context.Context) (GuardState, error) {
	if ctx == nil {
		return GuardState{}, fmt.Errorf("%w: nil context", ErrInvalidArgument)
	}
	g.mu.Lock()
	closed, started := g.closed, g.started
	g.mu.Unlock()
	switch {
	case closed:
		return GuardState{}, ErrGuardClosed
	case !started:
		return GuardState{}, fmt.Errorf("%w: guard not started", ErrInvalidArgument)
	}
	reply := make(chan GuardState, 1)
	select {
	case g.rechecks <- reply:
	case <-g.done:
		return GuardState{}, ErrGuardClosed
	case <-ctx.Done():
		return g.State(), ctx.Err()
	}
	select {
	case st := <-reply:
		return st, nil
	case <-g.done:
		return GuardState{}, ErrGuardClosed
	case <-ctx.Done():
		return g.State(), ctx.Err()
	}
}

// Close stops heartbeats, rechecks and refreshes at once (a request in
// flight is cancelled) and, with WithDeactivateOnClose, deactivates this
// machine. It returns within ctx: a deactivation or an OnGuardChange
// callback still running when ctx ends is abandoned with ctx's error. The
// guard's last state stays readable. Close is safe to call more than once,
// and concurrently with Start.
func (g *Guard) Close(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	return g.shutdown(ctx)
}

func (g *Guard) shutdown(ctx context.Context) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	started, cancel := g.started, g.cancel
	if started {
		g.c.hub.remove(g)
	}
	g.mu.Unlock()
	if !started {
		close(g.done)
		return nil
	}
	cancel()
	g.observe(true)
	select {
	case <-g.done:
	case <-ctx.Done():
		return fmt.Errorf("licentric: guard: closing: %w", ctx.Err())
	}
	if err := g.notes.stop(ctx); err != nil {
		return fmt.Errorf("licentric: guard: closing: %w", err)
	}
	if !g.cfg.deactivate {
		return nil
	}
	id := ""
	if p := g.machineID.Load(); p != nil {
		id = *p
	}
	if id == "" {
		return nil
	}
	if err := g.c.Deactivate(ctx, g.key, id); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("licentric: guard: deactivating this machine: %w", err)
	}
	return nil
}

// kick wakes the supervisor for a change the service may know of.
func (g *Guard) kick() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// publish makes st the current state, with the license file f in force
// (nil: none), queues it for OnGuardChange when it is the first decision or
// Allowed, Code or Source changed, and tells the client's Observer.
func (g *Guard) publish(st GuardState, f *offline.File) {
	g.notes.mu.Lock()
	g.publishLocked(st, f)
	g.notes.mu.Unlock()
	g.observe(false)
}

// publishFirst publishes st unless a decision was published already.
func (g *Guard) publishFirst(st GuardState, f *offline.File) {
	g.notes.mu.Lock()
	first := !g.notes.published
	if first {
		g.publishLocked(st, f)
	}
	g.notes.mu.Unlock()
	if first {
		g.observe(false)
	}
}

func (g *Guard) publishLocked(st GuardState, f *offline.File) {
	var exp int64
	if f != nil {
		exp = f.ExpiresAt.UnixNano()
	}
	g.fileExpires.Store(exp)
	prev := g.state.Swap(&st)
	if g.notes.published && prev.Allowed == st.Allowed && prev.Code == st.Code && prev.Source == st.Source {
		return
	}
	g.notes.published = true
	g.notes.enqueueLocked(st)
}

// observe tells the client's Observer the current state and the license
// file in force; closed: the guard is closing, and nothing follows. The
// calls come one at a time, each with what was published last, so the
// last one the Observer hears is the latest.
func (g *Guard) observe(closed bool) {
	o := g.c.cfg.observer
	if o == nil {
		return
	}
	g.obsMu.Lock()
	defer g.obsMu.Unlock()
	if g.obsClosed {
		return
	}
	g.obsClosed = closed
	e := &GuardEvent{Guard: g, State: g.State(), Clock: g.c.cfg.clock, Closed: closed}
	if exp := g.fileExpires.Load(); exp != 0 {
		e.LicenseFileExpiresAt = time.Unix(0, exp)
	}
	o.GuardState(e)
}

// notifier delivers OnGuardChange calls in order, one at a time: the
// first from Start itself (so that it is heard before Start returns), the
// rest from a goroutine of its own until Close.
type notifier struct {
	mu        sync.Mutex
	fn        func(GuardState) // nil: nothing to deliver
	published bool             // a decision has been published
	queue     []GuardState
	running   bool // the delivering goroutine was started
	stopping  bool
	kick      chan struct{} // capacity 1
	ended     chan struct{} // closed when the goroutine ends
}

// enqueueLocked queues st for delivery; n.mu is held.
func (n *notifier) enqueueLocked(st GuardState) {
	if n.fn == nil || n.stopping {
		return
	}
	n.queue = append(n.queue, st)
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// start delivers what is queued, in the caller's goroutine, then starts
// the goroutine that delivers the rest.
func (n *notifier) start() {
	n.mu.Lock()
	if n.fn == nil || n.stopping || n.running {
		n.mu.Unlock()
		return
	}
	n.running = true
	n.mu.Unlock()
	n.deliver()
	go n.loop()
}

func (n *notifier) loop() {
	defer close(n.ended)
	for range n.kick {
		n.deliver()
		n.mu.Lock()
		done := n.stopping && len(n.queue) == 0
		n.mu.Unlock()
		if done {
			return
		}
	}
}

// deliver calls fn for each queued state, in order.
func (n *notifier) deliver() {
	for {
		n.mu.Lock()
		if len(n.queue) == 0 {
			n.mu.Unlock()
			return
		}
		st := n.queue[0]
		n.queue = n.queue[1:]
		n.mu.Unlock()
		n.fn(st)
	}
}

// stop delivers what is queued and ends the goroutine, within ctx.
func (n *notifier) stop(ctx context.Context) error {
	n.mu.Lock()
	n.stopping = true
	running := n.running
	n.mu.Unlock()
	if !running {
		return nil
	}
	select {
	case n.kick <- struct{}{}:
	default:
	}
	select {
	case <-n.ended:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
