package licentric

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licentric/licentric-go/cache"
	"github.com/licentric/licentric-go/clock"
	"github.com/licentric/licentric-go/internal/flight"
)

// DefaultCacheTTL is how long a validation result is answered from the
// client's cache before the service is asked again.
//
// Ten minutes sits in the middle of the 5–15 minutes the service's
// documentation recommends for an in-memory cache, and is the value its
// official SDKs show (cache_ttl=600). It keeps an application that checks
// its license on every request far inside the 60 validations a minute the
// service allows per IP (one request per license, fingerprint and
// entitlement set every ten minutes) and saves license uses, while a
// suspension, revocation or renewal is seen within ten minutes even without
// webhooks; with (*Client).WebhookHandler it is seen at once.
const DefaultCacheTTL = 10 * time.Minute

// DefaultStaleIfError is how long past its arrival the last result for a
// validation is still served when the service cannot be reached or fails.
//
// One hour rides out a typical outage or network blip of the service, or of
// the application's own network, without locking users out, and bounds to
// an hour how long a license suspended during such an outage keeps working.
const DefaultStaleIfError = time.Hour

// cacheKeyVersion starts every cache key; it changes when the layout of
// keys or values does, so that entries an earlier version stored (v1: JSON
// values) are never read.
const cacheKeyVersion = "v2"

// maxIndexedLicenses bounds the license id → key index used to invalidate
// on events that name only a license id.
const maxIndexedLicenses = 4096

// results is the client's results part: the validation cache, requests
// shared among concurrent identical calls (in this process, and with a
// Fleet across processes), and stale results served when the service
// cannot be asked. It never builds an HTTP request: a miss calls the ask
// function Validate hands it.
type results struct {
	store       cache.Store      // nil: no cache
	values      cache.ValueStore // store as a ValueStore, if it is one
	prefix      string           // "v2/<env>/"
	env         Environment
	ttl         time.Duration
	staleMaxAge time.Duration
	clock       clock.Clock
	logger      *slog.Logger
	fleet       Fleet
	obs         Observer // told of the fleet's failures; nil: nothing observed
	flights     flight.Group[answer]
	lookups     flight.Group[fleetRead] // fleet lookups, run inline (see get)

	// invalidations counts invalidations; a request that overlapped one
	// does not store its result, which may predate the change.
	invalidations atomic.Uint64

	idMu    sync.Mutex
	ids     map[string]string // license id -> license key
	digests map[string]string // fleet license digest -> license key

	fleetDown atomic.Bool // logged once per outage
	lockStuck atomic.Bool // a fleet lock held past fleetLockWait was logged

	// recheck asks the client's guards of license key ("" for all) to ask
	// the service again; set by NewClient (see guardHub).
	recheck func(key string)

	// keyMemo holds the last validations checked and keyed (cachekey.go).
	keySeed maphash.Seed
	keyMemo [keyMemoSlots]atomic.Pointer[memoQuery]
}

// newResults builds the results part from the options.
func newResults(cfg *config, recheck func(key string)) *results {
	r := &results{
		recheck:     recheck,
		env:         cfg.env,
		prefix:      cacheKeyVersion + "/" + cfg.env.String() + "/",
		ttl:         cfg.cacheTTL,
		staleMaxAge: cfg.staleMaxAge,
		clock:       cfg.clock,
		logger:      cfg.logger,
		fleet:       cfg.fleet,
		obs:         cfg.observer,
		ids:         make(map[string]string),
		digests:     make(map[string]string),
		keySeed:     maphash.MakeSeed(),
	}
	if !cfg.cacheOff {
		r.store = cfg.cacheStore
		if r.store == nil {
			r.store = cache.NewMemory()
		}
		r.values, _ = r.store.(cache.ValueStore)
	}
	if r.fleet != nil {
		// The subscription lives as long as the fleet: a Client has no
		// Close, and the fleet's own Close ends it.
		r.fleet.Subscribe(func(license string, recheck bool) { r.onFleetInvalidation(license, !recheck) })
	}
	return r
}

// query is one validation as the results part sees it.
type query struct {
	key     string
	fp      string
	ents    []string // sorted, no repeats
	fresh   bool
	noRetry bool   // a single attempt that never waits (validateMode.once)
	ck      string // cache key (or, without a cache, the shared-request key)

	// fleetLooked: the fleet was asked for q just now (see get); fleetPrev
	// is what it had, if anything (not fresh, or it would have answered).
	// fleetVersion is the version of the license's results the last
	// fleet lookup before the service is asked read, for the SetResult of
	// the answer ("" stores nothing).
	fleetLooked  bool
	fleetPrev    *cacheEntry
	fleetVersion string
}

// fleetRead is what a fleet lookup found: the entry, if any, and the
// version of the license's results it read.
type fleetRead struct {
	e       *cacheEntry
	version string
}

// answer is a validation's result and where it came from.
type answer struct {
	v   *Validation
	src ValidationSource
}

// askFunc asks the service for a validation. noWait asks it to fail with
// ErrBudgetExhausted rather than wait for the rate budget.
type askFunc func(ctx context.Context, noWait bool) (*Validation, error)

// cached returns a fresh cached result of q, if there is one.
func (r *results) cached(q *query) (*Validation, bool) {
	if r.store == nil || q.fresh {
		return nil, false
	}
	e := r.lookup(q.ck)
	if e == nil {
		return nil, false
	}
	now := r.clock.Now()
	if !now.Before(e.freshUntil) {
		return nil, false
	}
	return e.answer(now, nil), true
}

// get answers q after a miss of the fresh cache: it shares one request
// among concurrent identical calls, stores the result and falls back to a
// stale result as WithStaleIfError says. It also says where the result came
// from.
func (r *results) get(ctx context.Context, q *query, ask askFunc) (*Validation, ValidationSource, error) {
	fk := q.ck
	if q.fresh {
		fk += "\x00fresh"
	}
	if q.noRetry {
		fk += "\x00once"
	}
	if r.fleet != nil && r.store != nil && !q.fresh {
		// A member without a local copy looks in the fleet first, here in
		// the caller's goroutine (one lookup for concurrent callers of the
		// same key), since a result another member stored is the common
		// answer: it costs a Redis round trip, not a shared request's
		// goroutine as well.
		fr, _ := r.lookups.Inline(ctx, q.ck, func(ctx context.Context) (fleetRead, error) {
			return r.fleetLookup(ctx, q), nil
		})
		if e := fr.e; e != nil {
			if now := r.clock.Now(); now.Before(e.freshUntil) {
				return e.answer(now, nil), ValidationSourceFleet, nil
			}
		}
		q.fleetLooked, q.fleetPrev, q.fleetVersion = true, fr.e, fr.version
	}
	a, err := r.flights.Do(ctx, fk, func(fctx context.Context) (answer, error) {
		return r.miss(fctx, q, ask)
	})
	if err != nil {
		return nil, "", err
	}
	return a.v.clone(), a.src, nil
}

func (r *results) miss(ctx context.Context, q *query, ask askFunc) (answer, error) {
	var prev *cacheEntry
	prevSrc := ValidationSourceCache
	if r.store != nil {
		prev = r.lookup(q.ck)
		switch {
		case r.fleet == nil:
		case q.fresh:
			// Not served from the fleet, but its answer is shared: read
			// the version it is to be stored at.
			q.fleetVersion = r.fleetLookup(ctx, q).version
		case prev != nil:
		case q.fleetLooked:
			prev, prevSrc = q.fleetPrev, ValidationSourceFleet
		default:
			fr := r.fleetLookup(ctx, q)
			prev, prevSrc, q.fleetVersion = fr.e, ValidationSourceFleet, fr.version
		}
		now := r.clock.Now()
		if prev != nil && !q.fresh && now.Before(prev.freshUntil) {
			return answer{prev.answer(now, nil), prevSrc}, nil // stored by a call that just ended
		}
		if prev != nil && !now.Before(prev.staleUntil) {
			prev = nil
		}
	}
	release := func() {}
	defer func() { release() }() // after remember: the waiters find the result
	var (
		gen uint64
		v   *Validation
		err error
	)
	for {
		gaveUp := false
		if r.fleet != nil && r.store != nil && !q.fresh {
			var shared *Validation
			release, shared, gaveUp, err = r.fleetShare(ctx, q)
			if err != nil {
				return answer{}, err
			}
			if shared != nil {
				return answer{shared, ValidationSourceFleet}, nil
			}
		}
		gen = r.invalidations.Load()
		// With a result to fall back on, the last result beats a wait for
		// the rate budget. A member that gave up waiting for another's
		// lock asks only with a unit free now: with the budget spent, the
		// holder may be waiting for the next window itself, and its result
		// is waited for again.
		v, err = ask(ctx, prev != nil || gaveUp)
		if !gaveUp || prev != nil || !errors.Is(err, ErrBudgetExhausted) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		if prev != nil && ctx.Err() == nil && staleable(err) {
			if now := r.clock.Now(); now.Before(prev.staleUntil) {
				return answer{prev.answer(now, err), ValidationSourceStale}, nil
			}
		}
		return answer{}, err
	}
	if r.store != nil && r.invalidations.Load() == gen {
		v.until = r.remember(ctx, q, v)
	}
	return answer{v, ValidationSourceService}, nil
}

// staleable reports whether err is a failure to ask the service, which a
// stale result may cover: exactly ErrUnavailable (a transport error, a 5xx
// or 429 after the retries, an unusable success answer, the client's own
// budget spent). Client errors (4xx) and refused arguments are not.
func staleable(err error) bool { return errors.Is(err, ErrUnavailable) }

// cacheEntry is what the cache holds for one validation: the result and
// the times, on the client's clock, until which it is fresh and until
// which it may be served stale.
type cacheEntry struct {
	v          Validation // FromCache, Age, Stale and StaleReason unset
	storedAt   time.Time
	freshUntil time.Time
	staleUntil time.Time
}

// answer returns a copy of e's result as served at now, sharing nothing
// with the cache.
func (e *cacheEntry) answer(now time.Time, staleReason error) *Validation {
	out := e.v.clone()
	out.FromCache = true
	out.Age = max(now.Sub(e.storedAt), 0)
	out.until = e.staleUntil
	if staleReason != nil {
		out.Stale = true
		out.StaleReason = staleReason
	}
	return out
}

// lookup returns the local entry under ck, or nil.
func (r *results) lookup(ck string) *cacheEntry {
	if r.values != nil {
		v, ok := r.values.GetValue(ck)
		if !ok {
			return nil
		}
		e, _ := v.(*cacheEntry)
		return e
	}
	b, ok := r.store.Get(ck)
	if !ok {
		return nil
	}
	return decodeEntry(b)
}

// remember stores v, just received for q, and returns until when it may be
// served (zero when it is not stored).
func (r *results) remember(ctx context.Context, q *query, v *Validation) time.Time {
	now := r.clock.Now()
	e := &cacheEntry{v: *v.clone(), storedAt: now, freshUntil: now.Add(r.ttl)}
	e.staleUntil = e.freshUntil
	if s := now.Add(r.staleMaxAge); s.After(e.staleUntil) {
		e.staleUntil = s
	}
	// A result must not outlive the license's expiry: at that moment it
	// changes. (A result given after the expiry already says so.)
	if v.License != nil && !v.License.ExpiresAt.IsZero() {
		if exp := v.License.ExpiresAt.Time; exp.After(now) {
			e.freshUntil = minTime(e.freshUntil, exp)
			e.staleUntil = minTime(e.staleUntil, exp)
		}
	}
	ttl := e.staleUntil.Sub(now)
	if ttl <= 0 {
		return time.Time{}
	}
	if v.License != nil && v.License.ID != "" && v.License.Key != "" {
		r.indexLicense(v.License.ID, v.License.Key)
	}
	r.storeLocal(q.ck, e, ttl)
	// Shared under the request's context: when every caller has given up,
	// no one waits for Redis (the next member asks the service again).
	if r.fleet != nil && ctx.Err() == nil {
		if b, err := e.encode(); err == nil {
			fctx, cancel := context.WithTimeout(ctx, fleetTimeout)
			r.fleetResult(ctx, FleetOpStore, r.fleet.SetResult(fctx, r.licenseDigest(q.key), requestDigest(q.fp, q.ents), q.fleetVersion, b, ttl))
			cancel()
		}
	}
	return e.staleUntil
}

func (r *results) storeLocal(ck string, e *cacheEntry, ttl time.Duration) {
	if r.values != nil {
		_ = r.values.SetValue(ck, e, ttl)
		return
	}
	b, err := e.encode()
	if err != nil {
		return
	}
	if err := r.store.Set(ck, b, ttl); err != nil {
		r.logger.Debug("licentric: validation cache write failed", "error", err.Error())
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func (r *results) indexLicense(id, key string) {
	r.idMu.Lock()
	defer r.idMu.Unlock()
	if old, ok := r.ids[id]; ok && old == key {
		return
	}
	if len(r.ids) >= maxIndexedLicenses {
		for k := range r.ids { // drop an arbitrary one
			delete(r.ids, k)
			break
		}
	}
	r.ids[id] = key
}

// WithValidationCache makes Validate answer repeated validations from store
// (see Validate) for the cache TTL (WithCacheTTL). The default is an
// in-memory cache.Memory. A cache.File keeps results across restarts (with
// a WithCacheTTL of 15–60 minutes, say); its keys hold hashes of license
// keys, never the keys themselves. WithoutValidationCache overrides it.
func WithValidationCache(store cache.Store) Option {
	return func(c *config) error {
		if store == nil {
			return fmt.Errorf("%w: nil cache store", ErrInvalidArgument)
		}
		c.cacheStore = store
		return nil
	}
}

// WithCacheTTL sets how long a validation result is answered from the
// validation cache (default DefaultCacheTTL). It must be positive.
func WithCacheTTL(ttl time.Duration) Option {
	return func(c *config) error {
		if ttl <= 0 {
			return fmt.Errorf("%w: cache TTL must be positive", ErrInvalidArgument)
		}
		c.cacheTTL = ttl
		return nil
	}
}

// WithoutValidationCache turns the validation cache off: every Validate
// asks the service (concurrent identical calls still share one request),
// and no stale result can be served when it fails. It wins over
// WithValidationCache wherever either appears among the options.
func WithoutValidationCache() Option {
	return func(c *config) error {
		c.cacheOff = true
		return nil
	}
}

// WithStaleIfError sets how long after it arrived a cached result may still
// be served, marked Stale, when the service cannot be asked: it is
// unreachable, answers 5xx or 429 after the retries, sends an unusable
// answer, or the validation rate budget is spent. Past maxAge the error is
// returned. An answer of 4xx (401, 403, 400) is never masked. The default
// is DefaultStaleIfError; 0 turns stale results off. A result is never
// served past its license's expiresAt.
func WithStaleIfError(maxAge time.Duration) Option {
	return func(c *config) error {
		if maxAge < 0 {
			return fmt.Errorf("%w: stale-if-error age must not be negative", ErrInvalidArgument)
		}
		c.staleMaxAge = maxAge
		c.staleSet = true
		return nil
	}
}
