package licentric

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// A Fleet shares validation results, the rate budget of every tier
// (validation, activation, management), in-flight validations and
// invalidations among the clients of several processes (replicas behind
// one egress address), in four parts. Package fleet implements it on Redis; other
// backends can implement the same methods. WithFleet installs one.
//
// The client treats every method as fallible and slow-prone: it calls each
// with a short deadline, and on any error it falls back to its own local
// cache and a local budget of LocalShare requests a minute per tier, so a fleet
// backend that is down is never an outage of the application.
//
// Keys handed to a Fleet never hold a license key in clear: license is an
// opaque digest of the environment and license key, request a digest of the
// fingerprint and entitlement set. Values are the client's own encoding of a
// result; a Fleet must seal or authenticate what it stores so that a writer
// to the backend cannot grant a license.
type Fleet interface {
	FleetResults
	FleetInvalidations
	FleetBudget
	FleetLocks
}

// FleetResults is the part of a Fleet that shares validation results.
type FleetResults interface {
	// GetResult returns the value stored for (license, request), if any,
	// and the version of license's results it read (whether or not it
	// found one): the client passes it to the SetResult of the value it
	// then fetched from the service.
	GetResult(ctx context.Context, license, request string) (value []byte, version string, ok bool, err error)
	// SetResult stores value for (license, request) for ttl, unless
	// license was invalidated since the GetResult that returned version
	// (the value may predate the change): then it stores nothing and
	// returns nil. An empty version stores nothing.
	SetResult(ctx context.Context, license, request, version string, value []byte, ttl time.Duration) error
}

// FleetInvalidations is the part of a Fleet that drops shared results and
// tells every member (its local copies, and its guards).
type FleetInvalidations interface {
	// InvalidateLicense drops every result of license for the whole fleet
	// and tells every member (see Subscribe). recheck says that the
	// license itself may have changed (suspended, revoked, renewed, its
	// policy changed; or the caller cannot tell), so that what decided on
	// it (a guard) asks again; false says that only its cached results
	// went stale (one of its machines was activated or sent a heartbeat).
	InvalidateLicense(ctx context.Context, license string, recheck bool) error
	// InvalidateAll drops every result for the whole fleet and tells every
	// member.
	InvalidateAll(ctx context.Context) error
	// Subscribe calls fn with the license digest (or "" for all) of every
	// invalidation published by any member, this one included, and its
	// recheck (true for InvalidateAll, and when invalidations may have
	// been missed), until the returned stop function is called. fn must
	// not block.
	Subscribe(fn func(license string, recheck bool)) (stop func())
}

// FleetBudget is the part of a Fleet that counts the rate budget of every
// tier for all members.
type FleetBudget interface {
	// TakeBudget takes one unit of the shared budget of tier in the
	// service's fixed window that ends at windowEnd, of which limit units
	// exist; ok is false when the window's units are spent.
	TakeBudget(ctx context.Context, tier string, windowEnd time.Time, limit int) (ok bool, err error)
	// LocalShare is the requests of a tier (of limit a minute) one member
	// may send a minute on its own while the backend is unreachable (the
	// limit divided among the expected replicas).
	LocalShare(limit int) int
}

// FleetLocks is the part of a Fleet that lets one member ask the service
// for a request while the others wait for its result.
type FleetLocks interface {
	// Acquire makes this member the one that asks the service for key
	// until it calls release; acquired is false when another member holds
	// it. The Fleet keeps the lock alive while it is held (the holder may
	// wait a minute for the rate budget) and lets it end within ttl when
	// the member stops without releasing it (a crash). release is safe to
	// call more than once and when another member holds the lock by now.
	Acquire(ctx context.Context, key string, ttl time.Duration) (release func(), acquired bool, err error)
}

// WithFleet makes the client share validation results, the rate budget
// of every tier and in-flight validations with every other client built with
// a Fleet on the same backend and namespace (see package fleet). The local
// cache stays, as each member's small first-level copy.
func WithFleet(f Fleet) Option {
	return func(c *config) error {
		if f == nil {
			return fmt.Errorf("%w: nil Fleet", ErrInvalidArgument)
		}
		c.fleet = f
		return nil
	}
}

// The client's side of a Fleet: the results part's lookups, stores, locks
// and invalidations, and their bounds. (The shared rate budget is
// budget.takeShared.)

// fleetTimeout bounds one call to the fleet. The Fleet bounds its own
// calls more tightly (package fleet: 100 ms, failing fast while its backend
// is down); this only keeps a misbehaving implementation from stalling a
// validation.
const fleetTimeout = time.Second

// Fleet timings: a lock held by a member that crashed ends after
// fleetLockTTL. A member that
// finds another asking the service polls the fleet's results, first after
// fleetPoll, then less often, up to every fleetPollMax, while the other
// holds the lock (which may be a while when it waits for the rate budget's
// next window) and its own context lasts, but no longer than fleetLockWait
// (real time, as the lock's ttl): a lock held that long may be no member's
// (written into Redis by someone else), and the member then asks the
// service itself if its rate budget has a unit free at once (else it
// waits again).
const (
	fleetLockTTL  = 5 * time.Second
	fleetLockWait = 3 * fleetLockTTL
	fleetPoll     = 20 * time.Millisecond
	fleetPollMax  = 250 * time.Millisecond
)

// fleetLookup returns the fleet's entry of q, if any (and keeps a local
// copy), and the version of the license's results it read.
func (r *results) fleetLookup(ctx context.Context, q *query) fleetRead {
	fctx, cancel := context.WithTimeout(ctx, fleetTimeout)
	b, version, ok, err := r.fleet.GetResult(fctx, r.licenseDigest(q.key), requestDigest(q.fp, q.ents))
	cancel()
	if !r.fleetResult(ctx, FleetOpLookup, err) {
		return fleetRead{}
	}
	if !ok {
		return fleetRead{version: version}
	}
	e := decodeEntry(b)
	if e == nil {
		return fleetRead{version: version}
	}
	if ttl := e.staleUntil.Sub(r.clock.Now()); ttl > 0 {
		if e.v.License != nil && e.v.License.ID != "" && e.v.License.Key == q.key {
			r.indexLicense(e.v.License.ID, q.key)
		}
		r.storeLocal(q.ck, e, ttl)
	}
	return fleetRead{e: e, version: version}
}

// fleetShare makes this process the one of the fleet that asks the service
// for q, or waits for the result of the member that does (v), for at most
// fleetLockWait (gaveUp: ask without the lock); err reports that ctx ended
// while it waited. The wait is measured in real time, as the lock's ttl
// is (by Redis).
func (r *results) fleetShare(ctx context.Context, q *query) (release func(), v *Validation, gaveUp bool, err error) {
	key := r.licenseDigest(q.key) + "/" + requestDigest(q.fp, q.ents)
	poll := fleetPoll
	giveUp := time.Now().Add(fleetLockWait)
	for {
		fctx, cancel := context.WithTimeout(ctx, fleetTimeout)
		rel, acquired, err := r.fleet.Acquire(fctx, key, fleetLockTTL)
		cancel()
		if !r.fleetResult(ctx, FleetOpLock, err) || acquired {
			if rel == nil {
				rel = func() {}
			}
			// The last holder may have stored its result just before it
			// let go: look once more before asking the service (and store
			// the answer at the version read now).
			if acquired {
				fr := r.fleetLookup(ctx, q)
				if e := fr.e; e != nil {
					if now := r.clock.Now(); now.Before(e.freshUntil) {
						rel()
						return func() {}, e.answer(now, nil), false, nil
					}
				}
				if fr.version != "" {
					q.fleetVersion = fr.version
				}
			}
			return rel, nil, false, nil
		}
		if !time.Now().Before(giveUp) {
			// Held past a few of its ttls without a result: it may be no
			// member's. Ask the service without the lock.
			if !r.lockStuck.Swap(true) {
				r.logger.Warn("licentric: another fleet member held a validation's in-flight lock for longer than expected; asking the service directly (logged once)",
					"waited", fleetLockWait.String())
			}
			return func() {}, nil, true, nil
		}
		// Another member asks: wait for its result. If it gives up (its
		// answer was an error, which is not shared) or crashes, its lock
		// ends and the next Acquire makes this member the one that asks.
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return func() {}, nil, false, fmt.Errorf("%w: waiting for another fleet member's validation of this license: %w",
				ErrUnavailable, context.Cause(ctx))
		case <-t.C:
		}
		poll = min(poll*3/2, fleetPollMax)
		if e := r.fleetLookup(ctx, q).e; e != nil {
			if now := r.clock.Now(); now.Before(e.freshUntil) {
				return func() {}, e.answer(now, nil), false, nil
			}
		}
	}
}

// fleetResult reports whether a fleet call op succeeded, logging the first
// failure of an outage and the recovery, and telling the observer of each
// failure that did not come from ctx's end.
func (r *results) fleetResult(ctx context.Context, op FleetOperation, err error) bool {
	if err != nil {
		if r.obs != nil && ctx.Err() == nil {
			r.obs.FleetFallback(ctx, op)
		}
		if !r.fleetDown.Swap(true) {
			r.logger.Warn("licentric: fleet unavailable; using the local cache", "error", err.Error())
		}
		return false
	}
	if r.fleetDown.Swap(false) {
		r.logger.Info("licentric: fleet available again")
	}
	return true
}

// onFleetInvalidation drops the local copies of an invalidation published
// by any member of the fleet (this one included), and has the client's
// guards of the license ask the service again unless quiet.
func (r *results) onFleetInvalidation(license string, quiet bool) {
	key, known := "", license == ""
	if license != "" {
		r.idMu.Lock()
		key, known = r.digests[license]
		r.idMu.Unlock()
	}
	if !known {
		return // no result or guard of this client names the license
	}
	if r.store != nil {
		r.invalidations.Add(1)
		if key == "" {
			r.store.DeletePrefix(cacheKeyVersion + "/")
		} else {
			r.store.DeletePrefix(r.licensePrefix(r.env, key))
		}
	}
	if !quiet {
		r.recheck(key)
	}
}

// licenseDigest names license key in the fleet without revealing it, and
// remembers the name so that the fleet's invalidations find it.
func (r *results) licenseDigest(key string) string {
	sum := sha256.Sum256([]byte(cacheKeyVersion + "\x00" + r.env.String() + "\x00" + key))
	d := hex.EncodeToString(sum[:16])
	r.idMu.Lock()
	if _, ok := r.digests[d]; !ok {
		if len(r.digests) >= maxIndexedLicenses {
			for k := range r.digests {
				delete(r.digests, k)
				break
			}
		}
		r.digests[d] = key
	}
	r.idMu.Unlock()
	return d
}

// requestDigest names the fingerprint and entitlement set of a validation.
func requestDigest(fp string, ents []string) string {
	var raw [256]byte
	sum := sha256.Sum256(appendRequestPart(raw[:0], fp, ents))
	return hex.EncodeToString(sum[:16])
}
