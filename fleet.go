package licentric

import (
	"context"
	"fmt"
	"time"
)

// A Fleet shares validation results, the rate budget of every tier
// (validation, activation, management) and in-flight validations among the clients of several processes (replicas
// behind one egress address). Package fleet implements it on Redis; other
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
	// InvalidateLicense drops every result of license for the whole fleet
	// and tells every member (see Subscribe). recheck says that the
	// license itself may have changed (suspended, revoked, renewed, its
	// policy changed; or the caller cannot tell), so that what decided on
	// it (a guard) asks again; false says that only its cached results
	// went stale (one of its machines was activated, deactivated or sent a
	// heartbeat).
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

	// TakeBudget takes one unit of the shared budget of tier in the
	// service's fixed window that ends at windowEnd, of which limit units
	// exist; ok is false when the window's units are spent.
	TakeBudget(ctx context.Context, tier string, windowEnd time.Time, limit int) (ok bool, err error)
	// LocalShare is the requests of a tier (of limit a minute) one member
	// may send a minute on its own while the backend is unreachable (the limit divided among the
	// expected replicas).
	LocalShare(limit int) int

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
