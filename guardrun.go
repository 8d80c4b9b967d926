package licentric

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/licentric/licentric-go/offline"
)

// The guard's supervisor: one goroutine that makes every decision after
// Start's, carries out its effects (activate, revive, keep or drop the
// license file, heartbeats) and schedules the next one. It alone owns a
// guardRun; the Guard's other methods talk to it through channels and read
// the published state, so no lock is ever held across I/O.

// guardRun is the supervisor's own state.
type guardRun struct {
	g *Guard

	file    *offline.File // the verified license file in force
	fileErr error         // why there is none (GuardState.FileErr)
	warned  []string      // FileErr causes logged (each once)

	machineID string
	beats     *HeartbeatMonitor // nil: no heartbeats running
	beatEvery time.Duration     // the policy interval beats was started with

	retry     time.Duration // the last wait after a denial or an outage; 0 when allowed online
	nextCheck time.Time     // when the service is asked again
}

// checkKind says how a decision asks the service.
type checkKind int

const (
	// checkFirst is Start's: with a license file to decide from, a
	// single attempt that never waits for the rate budget.
	checkFirst checkKind = iota
	// checkFresh asks the service (a recheck, a webhook, a periodic check).
	checkFresh
	// checkCached lets the cache answer (a decision lapsing, a license
	// file's half-life): the service is asked only on a miss.
	checkCached
)

// newRun prepares the supervisor's state; it reads the license file, so
// that Start can decide from it if the service does not answer in time.
func (g *Guard) newRun() *guardRun {
	r := &guardRun{g: g}
	if g.file != nil {
		r.file, r.fileErr = g.file.load(g.key)
	}
	return r
}

// supervise makes the decisions of a started guard until ctx ends (Close).
// first is closed once the first decision is published.
func (g *Guard) supervise(ctx context.Context, r *guardRun, first chan<- struct{}) {
	defer close(g.done)
	defer r.stopBeats()
	clk := g.c.cfg.clock
	st := r.check(ctx, checkFirst)
	if ctx.Err() != nil {
		return
	}
	g.publish(st)
	close(first)
	r.plan(st)
	for {
		var beatsEnded <-chan struct{}
		if r.beats != nil {
			beatsEnded = r.beats.Done()
		}
		kind := checkFresh
		var reply chan GuardState
		select {
		case <-ctx.Done():
			return
		case <-g.wake:
		case reply = <-g.rechecks:
		case <-beatsEnded: // the machine is gone (culled): the check activates it again
			r.beats = nil
		case <-clk.After(r.nextWake(st).Sub(clk.Now())):
			if clk.Now().Before(r.nextCheck) {
				kind = checkCached
			}
		}
		st = r.check(ctx, kind)
		if ctx.Err() != nil {
			return // closed: a decision cut short is not published
		}
		g.publish(st)
		if reply != nil {
			reply <- st
		}
		r.plan(st)
	}
}

// nextWake is when the supervisor looks again without being woken: the
// next check, the moment the decision lapses, or the license file's
// half-life.
func (r *guardRun) nextWake(st GuardState) time.Time {
	next := r.nextCheck
	if st.Allowed && !st.Until.IsZero() && st.Until.Before(next) {
		next = st.Until
	}
	if r.file != nil && st.Source == SourceService && !r.g.cfg.offlineOnly {
		half := r.file.IssuedAt.Add(r.file.ExpiresAt.Sub(r.file.IssuedAt) / 2)
		if half.After(r.g.c.cfg.clock.Now()) && half.Before(next) {
			next = half
		}
	}
	return next
}

// plan schedules the next check after st: an allowed guard asks every
// check interval; one denied for a reason that can change asks again from
// deniedRetryMin on, backing off to deniedRetryMax; one allowed from its
// file or a stale result during an outage backs off from deniedRetryMin to
// the check interval, so the first check after the outage comes within an
// interval at most.
func (r *guardRun) plan(st GuardState) {
	interval := r.g.cfg.interval
	now := r.g.c.cfg.clock.Now()
	switch {
	case r.g.cfg.offlineOnly, st.Allowed && st.Source == SourceService, !st.Allowed && permanentDenial(st.Code):
		r.retry = 0
		r.nextCheck = now.Add(interval)
		return
	case st.Allowed:
		r.retry = min(max(2*r.retry, deniedRetryMin), interval)
	default:
		r.retry = min(max(2*r.retry, deniedRetryMin), deniedRetryMax, interval)
	}
	r.nextCheck = now.Add(r.retry)
}

// check makes one decision and carries out its effects.
func (r *guardRun) check(ctx context.Context, kind checkKind) GuardState {
	g := r.g
	now := g.c.cfg.clock.Now()
	if g.cfg.offlineOnly {
		r.file, r.fileErr = g.file.load(g.key)
		r.noteFileErr()
		return stateOfFileOnly(r.file, r.fileErr, g.cfg.ents, now)
	}
	mode := validateMode{fresh: kind == checkFresh, once: kind == checkFirst && r.file != nil}
	v, err := r.validate(ctx, mode)
	// Mend what the guard can mend itself: activate, revive. Two rounds at
	// most (a revived machine may still need activating after a cull).
	var seen *Validation
	for round := 0; err == nil && round < 2; round++ {
		if v.License != nil {
			seen = v
		}
		switch v.Code {
		case CodeFingerprintNotFound:
			err = r.activate(ctx)
		case CodeHeartbeatRequired:
			err = r.revive(ctx, v.Machine)
		default:
			round = 2
			continue
		}
		if err == nil {
			v, err = r.validate(ctx, validateMode{fresh: true, once: mode.once})
		}
	}
	if ctx.Err() != nil {
		return g.State()
	}
	switch {
	case err == nil && !v.Stale: // the service answered
		r.learn(v)
		if v.Valid {
			r.keepBeating(ctx, v)
			r.keepFile(ctx, v, now)
		} else {
			r.stopBeats()
			if definitiveDenial(v.Code) {
				r.dropFile(v, now)
			}
		}
	case err == nil || errors.Is(err, ErrUnavailable):
		// An outage: look at the file again now (its expiry, the clock).
		if g.file != nil {
			r.file, r.fileErr = g.file.load(g.key)
			r.noteFileErr()
		}
	}
	return decide(verdict{v: v, err: err, seen: seen, file: r.file, fileErr: r.fileErr,
		ents: g.cfg.ents, interval: g.cfg.interval, now: now})
}

// validate validates the guard's license on this machine.
func (r *guardRun) validate(ctx context.Context, mode validateMode) (*Validation, error) {
	g := r.g
	opts := []ValidateOption{WithFingerprint(g.fp)}
	if len(g.cfg.ents) > 0 {
		opts = append(opts, WithEntitlements(g.cfg.ents...))
	}
	return g.c.validate(ctx, g.key, mode, opts)
}

// learn records the license and machine the service named.
func (r *guardRun) learn(v *Validation) {
	if v.License != nil && v.License.ID != "" {
		id := v.License.ID
		r.g.licenseID.Store(&id)
	}
	if v.Machine != nil && v.Machine.ID != "" {
		r.setMachine(v.Machine.ID)
	}
}

func (r *guardRun) setMachine(id string) {
	r.machineID = id
	r.g.machineID.Store(&id)
}

// activate activates this machine.
func (r *guardRun) activate(ctx context.Context) error {
	p := r.g.cfg.activate
	p.Fingerprint = r.g.fp
	m, err := r.g.c.Activate(ctx, r.g.key, p)
	if err != nil {
		return err
	}
	r.setMachine(m.ID)
	return nil
}

// revive sends a heartbeat for a dead machine (KEEP_DEAD), or activates
// again when it is gone.
func (r *guardRun) revive(ctx context.Context, m *Machine) error {
	if m == nil || m.ID == "" {
		return r.activate(ctx)
	}
	if _, err := r.g.c.Heartbeat(ctx, r.g.key, m.ID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return r.activate(ctx)
		}
		return err
	}
	return nil
}

// keepBeating runs a HeartbeatMonitor for this machine while the policy
// requires heartbeats, with the policy's interval.
func (r *guardRun) keepBeating(ctx context.Context, v *Validation) {
	p := v.License.Policy
	if p == nil || !p.RequireHeartbeat || p.HeartbeatIntervalMinutes <= 0 || r.machineID == "" {
		r.stopBeats()
		return
	}
	every := time.Duration(p.HeartbeatIntervalMinutes) * time.Minute
	if r.beats != nil && r.beatEvery == every && r.beats.machineID == r.machineID {
		return
	}
	r.stopBeats()
	opts := []HeartbeatOption{WithHeartbeatInterval(every), OnHeartbeatError(func(err error) {
		r.g.c.cfg.logger.Debug("licentric: guard: heartbeat failed", "error", err.Error())
	})}
	if v.Machine != nil && !v.Machine.LastHeartbeatAt.IsZero() {
		opts = append(opts, WithLastHeartbeat(v.Machine.LastHeartbeatAt.Time))
	}
	m, err := r.g.c.StartHeartbeat(ctx, r.g.key, r.machineID, opts...)
	if err != nil {
		r.g.c.cfg.logger.Warn("licentric: guard: cannot start heartbeats", "error", err.Error())
		return
	}
	r.beats, r.beatEvery = m, every
}

func (r *guardRun) stopBeats() {
	if r.beats != nil {
		r.beats.Stop()
		r.beats = nil
	}
}

// keepFile keeps the license file fresh after a valid answer v: checked
// out when there is none, refreshed past half its lifetime or when v says
// something else than the file, written only after it verifies.
func (r *guardRun) keepFile(ctx context.Context, v *Validation, now time.Time) {
	lf := r.g.file
	if lf == nil {
		return
	}
	if p := v.License.Policy; p == nil || !p.OfflineAllowed {
		if r.file != nil {
			r.dropFile(v, now)
		}
		r.fileErr = fmt.Errorf("%w: the license's policy does not allow offline use", ErrOfflineNotAllowed)
		r.noteFileErr()
		return
	}
	if err := lf.heal(); err != nil {
		r.file, r.fileErr = nil, err
		r.noteFileErr()
		return
	}
	if err := lf.mkdir(); err != nil {
		r.file, r.fileErr = nil, err
		r.noteFileErr()
		return
	}
	fraction := DefaultRefreshFraction
	if r.file != nil && (r.file.License.ID != v.License.ID || fileDiffers(r.file, v)) {
		fraction = 1
	}
	f, _, err := r.g.c.RefreshLicenseFile(ctx, lf.path, v.License.ID, lf.verifier, RefreshOptions{
		Fraction: fraction, TTL: r.fileTTL(v.License.Policy), Fingerprint: r.g.fp, LicenseKey: r.g.key,
	})
	if ctx.Err() != nil {
		return
	}
	r.file, r.fileErr = f, nil
	switch {
	case f == nil:
		r.fileErr = err
	case err != nil:
		// The stored file still verifies; the refresh is retried at the
		// next valid answer.
		r.warnOnce("licentric: guard: license file refresh failed; keeping the stored file", err)
	}
	r.noteFileErr()
}

// fileTTL is the lifetime of the files the guard checks out.
func (r *guardRun) fileTTL(p *Policy) time.Duration {
	if r.g.cfg.fileTTL != 0 {
		return r.g.cfg.fileTTL
	}
	ttl := DefaultCheckoutTTL
	if p.OfflineMaxDays > 0 {
		ttl = min(ttl, time.Duration(p.OfflineMaxDays)*24*time.Hour)
	}
	return max(ttl, MinCheckoutTTL)
}

// dropFile removes the license file after a definitive denial v and
// withdraws it in the rollback state, with the cached results.
func (r *guardRun) dropFile(v *Validation, now time.Time) {
	g := r.g
	g.c.results.dropKey(g.key)
	if g.file == nil {
		return
	}
	at, id := now, ""
	if r.file != nil {
		id = r.file.License.ID
		if r.file.IssuedAt.After(at) {
			at = r.file.IssuedAt
		}
	}
	if v.License != nil && v.License.ID != "" {
		id = v.License.ID
	} else if p := g.licenseID.Load(); p != nil && id == "" {
		id = *p
	}
	if err := g.file.withdraw(id, at); err != nil {
		g.c.cfg.logger.Warn("licentric: guard: cannot withdraw the license file of a denied license", "error", err.Error())
	}
	r.file = nil
	if v.Valid {
		return // the policy no longer allows offline use; keepFile says so
	}
	r.fileErr = fmt.Errorf("licentric: license file removed: %w", v.Err())
	r.noteFileErr()
}

// noteFileErr logs the current FileErr at WARN, once per cause.
func (r *guardRun) noteFileErr() {
	if r.fileErr != nil {
		r.warnOnce("licentric: guard: no usable license file", r.fileErr)
	}
}

// warnOnce logs err at WARN the first time its cause is seen.
func (r *guardRun) warnOnce(msg string, err error) {
	cause := msg + ": " + err.Error()
	for _, w := range r.warned {
		if w == cause {
			return
		}
	}
	if len(r.warned) == maxWarned {
		r.warned = r.warned[1:]
	}
	r.warned = append(r.warned, cause)
	r.g.c.cfg.logger.Warn(msg, "error", err.Error())
}

// maxWarned bounds the causes a guard remembers having logged.
const maxWarned = 16

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
