package fleet_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/fleet"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/licentrictest"
)

// Someone who can write to Redis but lacks the fleet's secret: they cannot
// seal an entry, but they can copy what is there (DUMP), put it back later
// (RESTORE), delete keys and cut subscriptions. The bar:
//
//   - a member never accepts an entry stored before an invalidation that
//     member saw (its own, or one it heard of), whatever keys are rolled
//     back;
//   - a member that never saw the invalidation (a new one) does not accept
//     what the fleet invalidated when keys are deleted or some of them
//     rolled back; only a rollback of every key the license has (its
//     results and its invalidation epoch) shows it a result for the rest
//     of that result's original life, and the first member that knows
//     better undoes that rollback for everyone;
//   - no entry is served past the life the service gave it.

// snapshot is a copy of every key of a namespace, as DUMP gives it.
type snapshot map[string]string

func dumpKeys(t *testing.T, raw *redis.Client, ns string, only func(key, typ string) bool) snapshot {
	t.Helper()
	ctx := t.Context()
	out := snapshot{}
	for _, k := range raw.Keys(ctx, "lc:"+ns+":*").Val() {
		if only != nil && !only(k, raw.Type(ctx, k).Val()) {
			continue
		}
		d, err := raw.Dump(ctx, k).Result()
		require.NoError(t, err)
		out[k] = d
	}
	return out
}

// restore writes the copies back over whatever is there (RESTORE ...
// REPLACE), without expiry.
func (s snapshot) restore(t *testing.T, raw *redis.Client) {
	t.Helper()
	for k, d := range s {
		require.NoError(t, raw.RestoreReplace(t.Context(), k, 0, d).Err())
	}
}

func resultsOnly(_, typ string) bool { return typ == "hash" }

// validateCode validates key with c and returns the answer's code.
func validateCode(t *testing.T, c *licentric.Client, key string, opts ...licentric.ValidateOption) licentric.Code {
	t.Helper()
	v, err := c.Validate(t.Context(), key, opts...)
	require.NoError(t, err)
	return v.Code
}

// machineFP is the fingerprint of a machine the tests activate, so that a
// license has results for two requests: without a fingerprint and with it.
const machineFP = "fleet-hostile-machine-0001"

// A sealed VALID result copied while the license was
// valid and written back after its suspension and invalidation is no
// entry, for the members that saw the invalidation and for new ones; a
// rollback of every key fools no member that saw it, and the first of
// those to look undoes it for new members too.
func TestReplayedResultAfterInvalidationIsRefused(t *testing.T) {
	r := needRedis(t)
	s := newFleetSim(t, r.Addr(), 1, licentrictest.WithoutRateLimits())
	s.addMembers(t, 3)
	a, b, e := s.members[0], s.members[1], s.members[2]
	joined(t, b.f, a.f)
	joined(t, e.f, a.f)
	key := s.keys[0]
	withFP := licentric.WithFingerprint(machineFP)
	_, err := a.c.Activate(t.Context(), key, licentric.ActivateParams{Fingerprint: machineFP})
	require.NoError(t, err)

	require.Equal(t, licentric.CodeValid, validateCode(t, a.c, key))
	require.Equal(t, licentric.CodeValid, validateCode(t, a.c, key, withFP))
	results := dumpKeys(t, s.raw, s.ns, resultsOnly) // the sealed VALID results
	require.NotEmpty(t, results)
	everything := dumpKeys(t, s.raw, s.ns, nil)

	_, err = s.srv.SetLicenseStatus(licentrictest.EnvTest, s.ids[0], "suspend")
	require.NoError(t, err)
	sb, se := subscribe(t, b.f), subscribe(t, e.f)
	a.c.InvalidateLicense(key) // what the webhook handler does
	sb.next(t)
	se.next(t)

	// The results written back.
	results.restore(t, s.raw)
	before := s.validations()
	assert.Equal(t, licentric.CodeSuspended, validateCode(t, b.c, key), "a member that saw the invalidation")
	assert.Equal(t, licentric.CodeSuspended, validateCode(t, newMemberClient(t, s), key, withFP), "a new member")
	assert.Equal(t, before+2, s.validations(), "the service was asked")

	// Every key written back: the members that saw the invalidation still
	// refuse it (e never validated since), and the first look undoes the
	// rollback for every member: a new member refuses the other request's
	// result too.
	everything.restore(t, s.raw)
	before = s.validations()
	assert.Equal(t, licentric.CodeSuspended, validateCode(t, e.c, key), "a member that saw the invalidation, after a rollback of every key")
	assert.Equal(t, licentric.CodeSuspended, validateCode(t, newMemberClient(t, s), key, withFP), "a new member after the rollback was undone")
	assert.Equal(t, before+2, s.validations(), "the service was asked")
}

// Deleting the generation and cutting the members'
// subscriptions (so that they read it again) does not bring back the
// results InvalidateAll dropped, for the members that saw it or for new
// ones; nor does writing an old generation back.
func TestGenerationRollbackRevivesNothing(t *testing.T) {
	r := ownRedis(t) // CLIENT KILL cuts every subscriber of the server
	s := newFleetSim(t, r.Addr(), 1, licentrictest.WithoutRateLimits())
	s.addMembers(t, 3)
	a, b, e := s.members[0], s.members[1], s.members[2]
	joined(t, b.f, a.f)
	joined(t, e.f, a.f)
	key := s.keys[0]
	ctx := t.Context()
	genKey := "lc:" + s.ns + ":gen"

	require.Equal(t, licentric.CodeValid, validateCode(t, a.c, key))
	everything := dumpKeys(t, s.raw, s.ns, nil)
	_, err := s.srv.SetLicenseStatus(licentrictest.EnvTest, s.ids[0], "suspend")
	require.NoError(t, err)
	sb, se := subscribe(t, b.f), subscribe(t, e.f)
	require.NoError(t, a.f.InvalidateAll(ctx))
	require.Equal(t, "", sb.next(t))
	require.Equal(t, "", se.next(t))

	// Delete the generation; cut every subscription: each member
	// subscribes again and reads the generation.
	require.NoError(t, s.raw.Del(ctx, genKey).Err())
	cutSubscriptions(t, s.raw)
	require.Equal(t, "", sb.next(t), "b subscribed again")
	require.Equal(t, "", se.next(t), "e subscribed again")
	before := s.validations()
	assert.Equal(t, licentric.CodeSuspended, validateCode(t, b.c, key), "a member that saw InvalidateAll")
	assert.Equal(t, before+1, s.validations(), "the service was asked")
	assert.Equal(t, licentric.CodeSuspended, validateCode(t, newMemberClient(t, s), key), "a new member")

	// Every key back as it was before InvalidateAll, subscriptions cut.
	everything.restore(t, s.raw)
	cutSubscriptions(t, s.raw)
	require.Equal(t, "", se.next(t), "e subscribed again")
	assert.Equal(t, licentric.CodeSuspended, validateCode(t, e.c, key), "a member that saw InvalidateAll, after a rollback of every key")
	assert.Equal(t, licentric.CodeSuspended, validateCode(t, newMemberClient(t, s), key), "a new member after the rollback was undone")
}

// cutSubscriptions closes every subscriber's connection to the server
// (CLIENT KILL TYPE pubsub).
func cutSubscriptions(t *testing.T, raw *redis.Client) {
	t.Helper()
	n, err := raw.ClientKillByFilter(t.Context(), "TYPE", "pubsub").Result()
	require.NoError(t, err)
	require.Positive(t, n)
}

// An invalidation that could not be sent (the caller's context ended) is
// sent before the member reads Redis again: the member never serves the
// result it meant to drop.
func TestUnsentInvalidationGoesFirst(t *testing.T) {
	r := needRedis(t)
	ns := namespace(t)
	f := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns))
	peer := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns))
	ctx := t.Context()
	require.NoError(t, put(ctx, f, "lic", "req", []byte("valid"), time.Minute))

	gone, cancel := context.WithCancel(ctx)
	cancel()
	require.Error(t, f.InvalidateLicense(gone, "lic", true))
	require.True(t, f.Healthy(), "the caller's end is not Redis's failure")
	_, _, ok, err := f.GetResult(ctx, "lic", "req")
	require.NoError(t, err)
	require.False(t, ok, "served the result its own invalidation dropped")
	_, _, ok, err = peer.GetResult(ctx, "lic", "req")
	require.NoError(t, err)
	require.False(t, ok, "the invalidation reached Redis")
}

// lockSpy is a transport that records, at each request, the in-flight
// locks Redis holds: the name of the lock a validation takes.
type lockSpy struct {
	raw   *redis.Client
	ns    string
	next  http.RoundTripper
	mu    sync.Mutex
	locks []string
}

func (l *lockSpy) RoundTrip(r *http.Request) (*http.Response, error) {
	keys := l.raw.Keys(r.Context(), "lc:"+l.ns+":f:*").Val()
	l.mu.Lock()
	l.locks = append(l.locks, keys...)
	l.mu.Unlock()
	return l.next.RoundTrip(r)
}

// lockOf validates key once, on a member of its own, and returns the name
// of the in-flight lock that validation took (what a writer to Redis sees
// while it is held); the license's results are then invalidated, so that
// the next member without a local copy asks for the lock.
func lockOf(t *testing.T, s *fleetSim, key string) string {
	t.Helper()
	spy := &lockSpy{raw: s.raw, ns: s.ns, next: s.srv.Client().Transport}
	hc := *s.srv.Client()
	hc.Transport = spy
	f := newFleet(t, newRDB(t, s.redis), fleet.WithNamespace(s.ns), fleet.WithClock(s.clk))
	c := testkit.Client(t, s.srv, licentric.WithHTTPClient(&hc), licentric.WithClock(s.clk),
		licentric.WithRetry(testkit.FastRetry), licentric.WithFleet(f))
	require.Equal(t, licentric.CodeValid, validateCode(t, c, key))
	c.InvalidateLicense(key)
	spy.mu.Lock()
	defer spy.mu.Unlock()
	require.Len(t, spy.locks, 1, "one lock while the service was asked")
	return spy.locks[0]
}

// A lock written without expiry (no member sets one)
// does not make a member without a local copy wait: it is taken over, and
// the service asked.
func TestLockWithoutExpiryDoesNotStallValidate(t *testing.T) {
	r := needRedis(t)
	s := newFleetSim(t, r.Addr(), 1, licentrictest.WithoutRateLimits())
	key := s.keys[0]
	lock := lockOf(t, s, key)
	require.NoError(t, s.raw.Set(t.Context(), lock, "held", 0).Err())

	before := s.validations()
	// Three seconds stand for "forever": without the fix it waits for
	// the whole context.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	v, err := newMemberClient(t, s).Validate(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, licentric.CodeValid, v.Code)
	assert.Equal(t, before+1, s.validations(), "the service was asked")
}

// A lock that stays held (written by someone with a
// ttl as long as a member's, and written again) makes a member wait a few
// lock ttls at most (15 s, real time, as Redis counts the lock's ttl);
// then, its rate budget having a unit free, it asks the service itself.
func TestLockHeldTooLongIsGivenUp(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 15 s for a lock: not in -short")
	}
	r := needRedis(t)
	s := newFleetSim(t, r.Addr(), 1, licentrictest.WithoutRateLimits())
	key := s.keys[0]
	lock := lockOf(t, s, key)
	require.NoError(t, s.raw.Set(t.Context(), lock, "held", time.Minute).Err())

	before := s.validations()
	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second) // before the lock's own end
	defer cancel()
	v, err := newMemberClient(t, s).Validate(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, licentric.CodeValid, v.Code)
	assert.Equal(t, before+1, s.validations(), "the service was asked")
}

// A Validate whose context ends while another member
// holds the lock says so; it does not blame the rate budget.
func TestLockWaitReportsItsCause(t *testing.T) {
	r := needRedis(t)
	s := newFleetSim(t, r.Addr(), 1, licentrictest.WithoutRateLimits())
	key := s.keys[0]
	lock := lockOf(t, s, key)
	require.NoError(t, s.raw.Set(t.Context(), lock, "held", time.Minute).Err())

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := newMemberClient(t, s).Validate(ctx, key)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, err, licentric.ErrUnavailable)
	assert.NotErrorIs(t, err, licentric.ErrBudgetExhausted, "blames the rate budget: %v", err)
	assert.Contains(t, err.Error(), "fleet member")
}

// While Redis is paused (it accepts connections and
// never answers), a Validate returns by its own deadline, not the Fleet's
// longer timeout.
func TestValidateKeepsItsDeadlineWhileRedisIsPaused(t *testing.T) {
	r := ownRedis(t)
	s := newFleetSim(t, r.Addr(), 2, licentrictest.WithoutRateLimits())
	const fleetTimeout = 5 * time.Second
	s.addMembers(t, 1, fleet.WithTimeout(fleetTimeout))
	c := s.members[0].c
	require.Equal(t, licentric.CodeValid, validateCode(t, c, s.keys[0])) // connections made

	r.Pause(t)
	for _, key := range s.keys { // one cached locally, one not
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		began := time.Now()
		_, _ = c.Validate(ctx, key)
		took := time.Since(began)
		cancel()
		// A bound, not a speed: without the fix it takes the Fleet's
		// timeout (5 s); the margin absorbs a slow machine.
		assert.Less(t, took, fleetTimeout/2, "Validate outlived its 300 ms context")
	}
}
