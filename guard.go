package licentric

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licentric/licentric-go/offline"
	"github.com/licentric/licentric-go/webhook"
)

// A Guard licenses an application: it decides whether this machine may run
// under a license key and keeps that decision true for as long as the
// application runs. In a few lines:
//
//	g, err := licentric.NewGuard(client, key, licentric.WithLicenseFile(path, verifier))
//	...
//	st, err := g.Start(ctx)      // first decision; a denial is a state, not an error
//	defer g.Close(context.Background())
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
//     (not the Start context): a failed beat is retried; a machine the
//     service culled is activated again.
//   - With WithLicenseFile, an offline file checked out after a valid online
//     decision, refreshed at half its lifetime and whenever the service's
//     answer differs from the file's (status, expiry, entitlements, policy
//     limits), written only after it verifies.
//   - An outage (ErrUnavailable) is decided from the verified file until it
//     expires, else from a stale cached result within WithStaleIfError,
//     else denied. With a file, Start waits for the service at most
//     WithStartTimeout and a refused connection decides at once.
//   - A definitive denial (SUSPENDED, REVOKED, BANNED, EXPIRED under
//     RESTRICT_ACCESS, NOT_FOUND, ENTITLEMENTS_MISSING) removes the file and
//     the cached results, so an offline restart stays denied; a later valid
//     decision brings them back.
//   - Webhooks delivered through the client's WebhookHandler reach the guard
//     at once; otherwise it rechecks every WithCheckInterval on the client's
//     clock.
//
// Its methods are safe for concurrent use; State and Allows are a lock-free
// read.
type Guard struct {
	c   *Client
	key string
	cfg guardConfig

	state atomic.Pointer[GuardState]
	// fileExpires is the expiry of the file in force (Unix nanoseconds, 0
	// without one), for the observer without g.mu.
	fileExpires atomic.Int64

	mu        sync.Mutex // held by each decision; guards what follows
	fp        string
	licenseID string
	machineID string
	file      *offline.File // the verified license file in force (set with setFile)
	beatEvery time.Duration // half the policy's heartbeat interval; 0: none
	nextBeat  time.Time
	started   bool
	closed    bool

	wake   chan struct{} // a webhook event concerns the license
	cancel context.CancelFunc
	done   chan struct{} // the supervisor has stopped

	notifyMu   sync.Mutex
	pending    []GuardState
	notifyKick chan struct{}
	notifyDone chan struct{}
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
	// the service could not be asked.
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
	// unreachable); nil for a plain valid answer of the service.
	Reason error
	// License is the license as last seen (from the service or the file).
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
}

// DefaultCheckInterval is how often a guard asks the service again without
// a webhook telling it of a change.
const DefaultCheckInterval = 15 * time.Minute

// DefaultStartTimeout is how long Start waits for the service when a
// verified license file could decide instead.
const DefaultStartTimeout = 2 * time.Second

// ErrGuardClosed reports a Start or Recheck on a closed guard.
var ErrGuardClosed = errors.New("licentric: guard is closed")

type guardConfig struct {
	filePath     string
	verifier     *offline.Verifier
	ents         []string
	interval     time.Duration
	deactivate   bool
	onChange     func(GuardState)
	activate     ActivateParams
	startTimeout time.Duration
	fileTTL      time.Duration
}

// A GuardOption configures NewGuard.
type GuardOption func(*guardConfig) error

// WithLicenseFile keeps an offline license file at path, verified with v,
// as the fallback when the service cannot be reached (see Guard). v should
// be pinned to the account's signing keys, bound to this machine's
// fingerprint (offline.WithFingerprint) and, in production, to the live
// environment; give it an offline.RollbackGuard to refuse a clock set back.
func WithLicenseFile(path string, v *offline.Verifier) GuardOption {
	return func(c *guardConfig) error {
		if path == "" || v == nil {
			return fmt.Errorf("%w: WithLicenseFile needs a path and a verifier", ErrInvalidArgument)
		}
		c.filePath, c.verifier = path, v
		return nil
	}
}

// WithGuardEntitlements makes the listed entitlements required: without
// every one of them the license is denied with CodeEntitlementsMissing.
func WithGuardEntitlements(codes ...string) GuardOption {
	return func(c *guardConfig) error {
		for _, code := range codes {
			if code == "" {
				return fmt.Errorf("%w: empty entitlement code", ErrInvalidArgument)
			}
		}
		c.ents = append(c.ents, codes...)
		return nil
	}
}

// WithCheckInterval sets how often the guard asks the service again
// (default DefaultCheckInterval); at least a minute.
func WithCheckInterval(d time.Duration) GuardOption {
	return func(c *guardConfig) error {
		if d < time.Minute {
			return fmt.Errorf("%w: check interval %v is below a minute", ErrInvalidArgument, d)
		}
		c.interval = d
		return nil
	}
}

// WithDeactivateOnClose makes Close deactivate this machine, freeing its
// seat (containers that come and go give their seats back).
func WithDeactivateOnClose() GuardOption {
	return func(c *guardConfig) error {
		c.deactivate = true
		return nil
	}
}

// OnGuardChange calls f with the new state whenever Allowed, Code or Source
// changes, in order, from a goroutine of the guard's, never concurrently
// with itself. f may call the guard's methods.
func OnGuardChange(f func(GuardState)) GuardOption {
	return func(c *guardConfig) error {
		c.onChange = f
		return nil
	}
}

// WithActivateParams sets what the guard sends when it activates this
// machine (name, metadata, or a fingerprint of your own; see Activate for
// the defaults).
func WithActivateParams(p ActivateParams) GuardOption {
	return func(c *guardConfig) error {
		c.activate = p
		return nil
	}
}

// WithStartTimeout bounds how long Start waits for the service when a
// verified license file could decide instead (default
// DefaultStartTimeout). The guard keeps asking in the background.
func WithStartTimeout(d time.Duration) GuardOption {
	return func(c *guardConfig) error {
		if d <= 0 {
			return fmt.Errorf("%w: start timeout must be positive", ErrInvalidArgument)
		}
		c.startTimeout = d
		return nil
	}
}

// WithLicenseFileTTL sets the lifetime of the files the guard checks out
// (default: DefaultCheckoutTTL, or the policy's offlineMaxDays when shorter).
func WithLicenseFileTTL(d time.Duration) GuardOption {
	return func(c *guardConfig) error {
		if _, err := checkoutTTLSeconds(d); err != nil || d == 0 {
			return fmt.Errorf("%w: license file TTL %v outside %v..%v", ErrInvalidArgument, d, MinCheckoutTTL, MaxCheckoutTTL)
		}
		c.fileTTL = d
		return nil
	}
}

// NewGuard returns a guard of licenseKey on this machine; Start makes its
// first decision. The machine's fingerprint comes from
// WithActivateParams' Fingerprint, else from the client's fingerprint source
// (WithAppID or WithFingerprinter).
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
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	fp, err := c.fingerprintOrDefault(cfg.activate.Fingerprint)
	if err != nil {
		return nil, err
	}
	g := &Guard{
		c: c, key: licenseKey, cfg: cfg, fp: fp,
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		notifyKick: make(chan struct{}, 1),
		notifyDone: make(chan struct{}),
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
// rechecks and the license file run until Close. ctx bounds the first
// decision only. The error is only for misuse (a second Start, a closed
// guard) or ctx ending; a denial is a state.
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
	if g.cfg.filePath != "" {
		if f, err := g.cfg.verifier.VerifyFile(g.cfg.filePath); err == nil && f.License.Key == g.key {
			g.setFile(f)
		}
	}
	st := g.decideLocked(ctx, decision{quick: g.file != nil})
	g.mu.Unlock()
	if err := ctx.Err(); err != nil && st.Source == SourceNone {
		g.stopBeforeLoop()
		return st, err
	}
	g.publish(st)
	g.c.hub.add(g)
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g.cancel = cancel
	go g.supervise(lctx)
	go g.deliver()
	return st, nil
}

// stopBeforeLoop marks a guard whose Start failed as closed.
func (g *Guard) stopBeforeLoop() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	close(g.done)
	close(g.notifyDone)
}

// State returns the current decision. It is a lock-free read.
func (g *Guard) State() GuardState { return *g.state.Load() }

// Allows reports whether the current decision allows the application and,
// when code is not empty, grants entitlement code.
func (g *Guard) Allows(code string) bool {
	st := g.state.Load()
	return st.Allowed && (code == "" || slices.Contains(st.Entitlements, code))
}

// Recheck asks the service now (bypassing the cache) and returns the new
// decision.
func (g *Guard) Recheck(ctx context.Context) (GuardState, error) {
	if ctx == nil {
		return GuardState{}, fmt.Errorf("%w: nil context", ErrInvalidArgument)
	}
	g.mu.Lock()
	if g.closed || !g.started {
		g.mu.Unlock()
		if g.closed {
			return GuardState{}, ErrGuardClosed
		}
		return GuardState{}, fmt.Errorf("%w: guard not started", ErrInvalidArgument)
	}
	st := g.decideLocked(ctx, decision{fresh: true})
	g.mu.Unlock()
	if err := ctx.Err(); err != nil && st.Source == SourceNone {
		return g.State(), err
	}
	g.publish(st)
	return st, nil
}

// Close stops heartbeats, rechecks and refreshes and, with
// WithDeactivateOnClose, deactivates this machine within ctx. The guard's
// last state stays readable. Close is safe to call more than once.
func (g *Guard) Close(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	started := g.started
	g.mu.Unlock()
	if !started {
		close(g.done)
		close(g.notifyDone)
		return nil
	}
	g.c.hub.remove(g)
	g.cancel()
	<-g.done
	close(g.notifyKick)
	<-g.notifyDone
	g.observe(g.State(), true)
	if !g.cfg.deactivate {
		return nil
	}
	g.mu.Lock()
	id := g.machineID
	g.mu.Unlock()
	if id == "" {
		return nil
	}
	if err := g.c.Deactivate(ctx, g.key, id); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("licentric: guard: deactivating this machine: %w", err)
	}
	return nil
}

// decision says how a decision asks the service.
type decision struct {
	fresh bool // bypass the cache
	quick bool // one attempt within the start timeout: a file can decide
}

// decideLocked makes a decision; g.mu is held.
func (g *Guard) decideLocked(ctx context.Context, d decision) GuardState {
	now := g.c.cfg.clock.Now()
	if d.quick {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.cfg.startTimeout)
		defer cancel()
	}
	v, err := g.validate(ctx, d)
	// Mend what the guard can mend itself: activate, revive. Two rounds at
	// most (a revived machine may still need activating after a cull).
	for round := 0; err == nil && round < 2; round++ {
		switch v.Code {
		case CodeFingerprintNotFound:
			err = g.activate(ctx)
		case CodeHeartbeatRequired:
			err = g.revive(ctx, v.Machine)
		default:
			round = 2
			continue
		}
		if err == nil {
			v, err = g.validate(ctx, decision{fresh: true, quick: d.quick})
		}
	}
	if err != nil {
		if errors.Is(err, ErrMachineLimitExceeded) {
			return GuardState{Code: CodeMachineLimitExceeded, Source: SourceService, Reason: err, CheckedAt: now}
		}
		return g.outage(ctx, err, now)
	}
	if v.Stale {
		if g.file != nil {
			if st, ok := g.fromFile(v.StaleReason, now); ok {
				return st
			}
		}
		return g.fromValidation(v, SourceCache, now)
	}
	return g.afterService(ctx, v, now)
}

// validate validates the guard's license on this machine.
func (g *Guard) validate(ctx context.Context, d decision) (*Validation, error) {
	opts := []ValidateOption{WithFingerprint(g.fp)}
	if len(g.cfg.ents) > 0 {
		opts = append(opts, WithEntitlements(g.cfg.ents...))
	}
	if d.fresh {
		opts = append(opts, WithFreshValidation())
	}
	if d.quick {
		opts = append(opts, ValidateOption{kind: optNoRetry})
	}
	return g.c.Validate(ctx, g.key, opts...)
}

// activate activates this machine.
func (g *Guard) activate(ctx context.Context) error {
	p := g.cfg.activate
	p.Fingerprint = g.fp
	m, err := g.c.Activate(ctx, g.key, p)
	if err != nil {
		return err
	}
	g.machineID = m.ID
	return nil
}

// revive sends a heartbeat for a dead machine (KEEP_DEAD), or activates
// again when it is gone.
func (g *Guard) revive(ctx context.Context, m *Machine) error {
	if m == nil || m.ID == "" {
		return g.activate(ctx)
	}
	if _, err := g.c.Heartbeat(ctx, g.key, m.ID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return g.activate(ctx)
		}
		return err
	}
	return nil
}

// afterService records a fresh answer of the service and acts on it: the
// heartbeat schedule, the license file, and a definitive denial's clean-up.
func (g *Guard) afterService(ctx context.Context, v *Validation, now time.Time) GuardState {
	if v.License != nil {
		g.licenseID = v.License.ID
	}
	if v.Machine != nil {
		g.machineID = v.Machine.ID
	}
	if v.Valid {
		g.scheduleBeats(v, now)
		g.syncFile(ctx, v, now)
		return g.fromValidation(v, SourceService, now)
	}
	if definitiveDenial(v.Code) {
		g.dropFile()
		g.c.InvalidateLicense(g.key)
	}
	g.beatEvery = 0
	return g.fromValidation(v, SourceService, now)
}

// definitiveDenial reports a code after which the license must not run
// offline either.
func definitiveDenial(c Code) bool {
	switch c {
	case CodeSuspended, CodeRevoked, CodeBanned, CodeExpired, CodeNotFound, CodeEntitlementsMissing:
		return true // CodeExpired arrives here only when not valid: RESTRICT_ACCESS
	}
	return false
}

// fromValidation turns a result into a state.
func (g *Guard) fromValidation(v *Validation, src Source, now time.Time) GuardState {
	st := GuardState{
		Allowed: v.Valid, Code: v.Code, Source: src, License: v.License, Machine: v.Machine,
		Entitlements: slices.Clip(v.Entitlements), CheckedAt: now,
	}
	if !v.Valid {
		st.Reason = v.Err()
		return st
	}
	stored := now.Add(-v.Age)
	st.Until = stored.Add(max(g.c.cfg.staleMaxAge, g.c.cfg.cacheTTL))
	if v.License != nil && !v.License.ExpiresAt.IsZero() && v.License.ExpiresAt.Before(st.Until) && v.Code == CodeValid {
		st.Until = v.License.ExpiresAt.Time
	}
	if src == SourceCache {
		st.Reason = v.StaleReason
	}
	if g.file != nil && g.file.ExpiresAt.After(st.Until) {
		st.Until = g.file.ExpiresAt
	}
	return st
}

// outage decides while the service cannot be asked: from the verified file,
// else denied. (A stale cached result, when there is one, came back from
// Validate as a result.)
func (g *Guard) outage(ctx context.Context, err error, now time.Time) GuardState {
	if !errors.Is(err, ErrUnavailable) {
		if ctx.Err() == nil || errors.Is(err, context.DeadlineExceeded) {
			// A start timeout, or an answer the guard cannot use.
			if !errors.Is(err, ErrInvalidArgument) && !errors.Is(err, ErrUnauthorized) && !errors.Is(err, ErrForbidden) {
				err = fmt.Errorf("%w: %w", ErrUnavailable, err)
			}
		}
	}
	if errors.Is(err, ErrUnavailable) && g.file != nil {
		if st, ok := g.fromFile(err, now); ok {
			return st
		}
	}
	return GuardState{Source: SourceNone, Reason: err, CheckedAt: now}
}

// fromFile decides from the license file in force, verified again now (its
// expiry, the clock's rollback guard).
func (g *Guard) fromFile(why error, now time.Time) (GuardState, bool) {
	f, err := g.cfg.verifier.VerifyFile(g.cfg.filePath)
	if err != nil || f.License.Key != g.key {
		g.setFile(nil)
		return GuardState{}, false
	}
	g.setFile(f)
	for _, code := range g.cfg.ents {
		if !f.HasEntitlement(code) {
			return GuardState{Code: CodeEntitlementsMissing, Source: SourceLicenseFile,
				Reason: fmt.Errorf("%w: the license file lacks %q", ErrEntitlementsMissing, code), CheckedAt: now}, true
		}
	}
	code := CodeValid
	if f.LicenseExpired {
		code = CodeExpired
	}
	return GuardState{
		Allowed: true, Code: code, Source: SourceLicenseFile, Reason: why,
		License: LicenseFrom(&f.License), Machine: MachineFrom(&f.Machine),
		Entitlements: slices.Clip(f.Entitlements), Until: f.ExpiresAt, CheckedAt: now,
	}, true
}

// scheduleBeats follows the policy's heartbeat requirement.
func (g *Guard) scheduleBeats(v *Validation, now time.Time) {
	if v.License == nil || v.License.Policy == nil || !v.License.Policy.RequireHeartbeat ||
		v.License.Policy.HeartbeatIntervalMinutes <= 0 || g.machineID == "" {
		g.beatEvery = 0
		return
	}
	every := time.Duration(v.License.Policy.HeartbeatIntervalMinutes) * time.Minute / 2
	if g.beatEvery != every || g.nextBeat.IsZero() {
		next := now
		if v.Machine != nil && !v.Machine.LastHeartbeatAt.IsZero() {
			next = v.Machine.LastHeartbeatAt.Add(every)
		}
		g.nextBeat = next
	}
	g.beatEvery = every
}

// syncFile checks out a license file when there is none, when the one in
// force is past half its lifetime, or when the service's answer differs
// from it; the new file is written only after it verifies.
func (g *Guard) syncFile(ctx context.Context, v *Validation, now time.Time) {
	if g.cfg.filePath == "" || v.License == nil || v.License.Policy == nil || !v.License.Policy.OfflineAllowed {
		return
	}
	if g.file != nil && g.file.License.ID == v.License.ID && !refreshDue(g.file, now, DefaultRefreshFraction) && !fileDiffers(g.file, v) {
		return
	}
	ttl := g.cfg.fileTTL
	if ttl == 0 {
		ttl = DefaultCheckoutTTL
		if p := v.License.Policy; p.OfflineMaxDays > 0 {
			ttl = min(ttl, time.Duration(p.OfflineMaxDays)*24*time.Hour)
		}
		ttl = max(ttl, MinCheckoutTTL)
	}
	co, err := g.c.Checkout(ctx, v.License.ID, CheckoutParams{Fingerprint: g.fp, TTL: ttl, LicenseKey: g.key})
	if err != nil {
		g.c.cfg.logger.DebugContext(ctx, "licentric: guard: license file checkout failed", "error", err.Error())
		return
	}
	f, err := g.cfg.verifier.Verify(co.Certificate)
	if err != nil || f.License.ID != v.License.ID {
		g.c.cfg.logger.DebugContext(ctx, "licentric: guard: new license file does not verify; keeping the old one")
		return
	}
	if err := offline.SaveFile(g.cfg.filePath, co.Certificate); err != nil {
		g.c.cfg.logger.DebugContext(ctx, "licentric: guard: writing the license file failed", "error", err.Error())
		return
	}
	g.setFile(f)
}

// fileDiffers reports whether the service's answer v says something else
// than the file f: status, expiry, entitlements or policy limits.
func fileDiffers(f *offline.File, v *Validation) bool {
	l := v.License
	if f.License.Status != l.Status || !f.License.ExpiresAt.Equal(l.ExpiresAt.Time) {
		return true
	}
	a, b := slices.Clone(f.Entitlements), slices.Clone(v.Entitlements)
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		return true
	}
	fp, vp := f.License.Policy, l.Policy
	if fp == nil || vp == nil {
		return (fp == nil) != (vp == nil)
	}
	return !equalIntPtr(fp.MaxMachines, vp.MaxMachines) || !equalIntPtr(fp.MaxUses, vp.MaxUses) ||
		fp.ExpirationStrategy != vp.ExpirationStrategy || fp.OfflineAllowed != vp.OfflineAllowed ||
		fp.OfflineMaxDays != vp.OfflineMaxDays || fp.RequireHeartbeat != vp.RequireHeartbeat ||
		fp.HeartbeatIntervalMinutes != vp.HeartbeatIntervalMinutes ||
		!equalIntPtr(l.MaxMachinesOverride, f.License.MaxMachinesOverride) ||
		!equalIntPtr(l.MaxUsesOverride, f.License.MaxUsesOverride)
}

func equalIntPtr(a, b *int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// dropFile removes the license file after a definitive denial.
func (g *Guard) dropFile() {
	g.setFile(nil)
	if g.cfg.filePath == "" {
		return
	}
	if err := os.Remove(g.cfg.filePath); err != nil && !errors.Is(err, os.ErrNotExist) {
		g.c.cfg.logger.Warn("licentric: guard: cannot remove the license file of a denied license", "error", err.Error())
	}
}

// setFile makes f (nil: none) the license file in force; g.mu is held.
func (g *Guard) setFile(f *offline.File) {
	g.file = f
	var exp int64
	if f != nil {
		exp = f.ExpiresAt.UnixNano()
	}
	g.fileExpires.Store(exp)
}

// observe tells the client's Observer the guard's state st and the license
// file in force; closed: the guard is closed.
func (g *Guard) observe(st GuardState, closed bool) {
	o := g.c.cfg.observer
	if o == nil {
		return
	}
	e := &GuardEvent{Guard: g, State: st, Clock: g.c.cfg.clock, Closed: closed}
	if exp := g.fileExpires.Load(); exp != 0 {
		e.LicenseFileExpiresAt = time.Unix(0, exp)
	}
	o.GuardState(e)
}

// publish makes st the current state and queues it for OnGuardChange when
// Allowed, Code or Source changed.
func (g *Guard) publish(st GuardState) {
	prev := g.state.Swap(&st)
	g.observe(st, false)
	if g.cfg.onChange == nil || (prev.Allowed == st.Allowed && prev.Code == st.Code && prev.Source == st.Source) {
		return
	}
	g.notifyMu.Lock()
	g.pending = append(g.pending, st)
	g.notifyMu.Unlock()
	select {
	case g.notifyKick <- struct{}{}:
	default:
	}
}

// deliver runs OnGuardChange for each queued state, in order, one at a time.
func (g *Guard) deliver() {
	defer close(g.notifyDone)
	for range g.notifyKick {
		for {
			g.notifyMu.Lock()
			if len(g.pending) == 0 {
				g.notifyMu.Unlock()
				break
			}
			st := g.pending[0]
			g.pending = g.pending[1:]
			g.notifyMu.Unlock()
			g.cfg.onChange(st)
		}
	}
	// Close: deliver what is left.
	g.notifyMu.Lock()
	rest := g.pending
	g.pending = nil
	g.notifyMu.Unlock()
	for _, st := range rest {
		g.cfg.onChange(st)
	}
}

// onEvent wakes the guard for a webhook event about its license (the client
// has already dropped the cached results it changed).
func (g *Guard) onEvent(e *webhook.Event) {
	g.mu.Lock()
	id := g.licenseID
	g.mu.Unlock()
	switch {
	case len(e.Type) > 8 && e.Type[:8] == "license.":
		if l, err := e.License(); err == nil && l.Key != g.key && l.ID != id {
			return
		}
	case len(e.Type) > 8 && e.Type[:8] == "machine.":
		if lid := e.LicenseID(); lid != "" && id != "" && lid != id {
			return
		}
	default:
		return // validation.* events follow every validation: never a change
	}
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// supervise keeps the decision true until Close: heartbeats, periodic
// rechecks (sooner after an outage), license-file refreshes and webhook
// wake-ups, all on the client's clock.
func (g *Guard) supervise(ctx context.Context) {
	defer close(g.done)
	clk := g.c.cfg.clock
	retry := time.Duration(0) // backoff after an outage
	nextCheck := clk.Now().Add(g.cfg.interval)
	if !g.State().Allowed || g.State().Source != SourceService {
		retry = 30 * time.Second
		nextCheck = clk.Now().Add(retry)
	}
	for {
		g.mu.Lock()
		next := nextCheck
		beat := g.beatEvery > 0
		if beat && g.nextBeat.Before(next) {
			next = g.nextBeat
		}
		if g.file != nil {
			if at := g.file.IssuedAt.Add(g.file.ExpiresAt.Sub(g.file.IssuedAt) / 2); at.After(clk.Now()) && at.Before(next) {
				next = at
			}
		}
		g.mu.Unlock()

		woken := false
		select {
		case <-ctx.Done():
			return
		case <-g.wake:
			woken = true
		case <-clk.After(next.Sub(clk.Now())):
		}
		now := clk.Now()
		g.mu.Lock()
		var st GuardState
		decided := false
		switch {
		case woken || !now.Before(nextCheck):
			// A recheck asks the service: a cached answer would only
			// repeat what the guard already knows.
			st, decided = g.decideLocked(ctx, decision{fresh: true}), true
		case beat && !now.Before(g.nextBeat):
			if _, err := g.c.Heartbeat(ctx, g.key, g.machineID); err != nil {
				if errors.Is(err, ErrNotFound) {
					st, decided = g.decideLocked(ctx, decision{fresh: true}), true // culled: activate again
				} else {
					g.nextBeat = now.Add(max(g.beatEvery/4, time.Second))
				}
			} else {
				g.nextBeat = now.Add(g.beatEvery)
			}
		default: // the file's half-life
			st, decided = g.decideLocked(ctx, decision{}), true
		}
		g.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		if decided {
			g.publish(st)
			if st.Source == SourceService || (st.Source == SourceNone && !errors.Is(st.Reason, ErrUnavailable)) {
				retry = 0
				nextCheck = now.Add(g.cfg.interval)
			} else {
				retry = min(max(retry*2, 30*time.Second), g.cfg.interval)
				nextCheck = now.Add(retry)
			}
		}
	}
}
