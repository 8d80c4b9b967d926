package licentric

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
// keys or values does.
const cacheKeyVersion = "v1"

// maxIndexedLicenses bounds the license id → key index used to invalidate
// on events that name only a license id.
const maxIndexedLicenses = 4096

// Fleet timings: each call to the fleet's results and locks is bounded by
// fleetTimeout (the Fleet bounds its own calls more tightly; this only
// keeps a misbehaving implementation from stalling a validation). A lock
// held by a member that crashed ends after fleetLockTTL. A member that
// finds another asking the service polls the fleet's results, first after
// fleetPoll, then less often, up to every fleetPollMax, for as long as the
// other holds the lock (which may be a minute when it waits for the rate
// budget's next window) and its own context lasts.
const (
	fleetLockTTL = 5 * time.Second
	fleetPoll    = 20 * time.Millisecond
	fleetPollMax = 250 * time.Millisecond
)

// results is the client's results part: the validation cache, requests
// shared among concurrent identical calls (in this process, and with a
// Fleet across processes), and stale results served when the service
// cannot be asked. It never builds an HTTP request: a miss calls the ask
// function Validate hands it.
type results struct {
	store       cache.Store      // nil: no cache
	values      cache.ValueStore // store as a ValueStore, if it is one
	prefix      string           // "v1/<env>/"
	env         Environment
	ttl         time.Duration
	staleMaxAge time.Duration
	clock       clock.Clock
	logger      *slog.Logger
	fleet       Fleet
	flights     flight.Group[*Validation]
	lookups     flight.Group[*cacheEntry] // fleet lookups, run inline (see get)

	// invalidations counts invalidations; a request that overlapped one
	// does not store its result, which may predate the change.
	invalidations atomic.Uint64

	idMu    sync.Mutex
	ids     map[string]string // license id -> license key
	digests map[string]string // fleet license digest -> license key

	fleetDown atomic.Bool // logged once per outage

	// keyMemo remembers recently built cache keys, so that the hot path
	// of an application validating the same license over and over does
	// not build (and allocate) its key every time.
	keySeed maphash.Seed
	keyMemo [keyMemoSlots]atomic.Pointer[memoKey]
}

// keyMemoSlots is the size of the cache-key memo (a power of two).
const keyMemoSlots = 64

type memoKey struct {
	key, fp string
	ents    []string
	ck      string
}

// newResults builds the results part from the options.
func newResults(cfg *config) *results {
	r := &results{
		env:         cfg.env,
		prefix:      cacheKeyVersion + "/" + cfg.env.String() + "/",
		ttl:         cfg.cacheTTL,
		staleMaxAge: cfg.staleMaxAge,
		clock:       cfg.clock,
		logger:      cfg.logger,
		fleet:       cfg.fleet,
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
		r.fleet.Subscribe(r.onFleetInvalidation)
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
	fleetLooked bool
	fleetPrev   *cacheEntry
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
// stale result as WithStaleIfError says.
func (r *results) get(ctx context.Context, q *query, ask askFunc) (*Validation, error) {
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
		e, _ := r.lookups.Inline(ctx, q.ck, func(ctx context.Context) (*cacheEntry, error) {
			return r.fleetLookup(ctx, q), nil
		})
		if e != nil {
			if now := r.clock.Now(); now.Before(e.freshUntil) {
				return e.answer(now, nil), nil
			}
		}
		q.fleetLooked, q.fleetPrev = true, e
	}
	v, err := r.flights.Do(ctx, fk, func(fctx context.Context) (*Validation, error) {
		return r.miss(fctx, q, ask)
	})
	if err != nil {
		return nil, err
	}
	return v.clone(), nil
}

func (r *results) miss(ctx context.Context, q *query, ask askFunc) (*Validation, error) {
	var prev *cacheEntry
	if r.store != nil {
		prev = r.lookup(q.ck)
		switch {
		case prev != nil || r.fleet == nil:
		case q.fleetLooked:
			prev = q.fleetPrev
		default:
			prev = r.fleetLookup(ctx, q)
		}
		now := r.clock.Now()
		if prev != nil && !q.fresh && now.Before(prev.freshUntil) {
			return prev.answer(now, nil), nil // stored by a call that just ended
		}
		if prev != nil && !now.Before(prev.staleUntil) {
			prev = nil
		}
	}
	if r.fleet != nil && r.store != nil && !q.fresh {
		release, v := r.fleetShare(ctx, q)
		if v != nil {
			return v, nil
		}
		defer release()
	}
	gen := r.invalidations.Load()
	// With a result to fall back on, the last result beats a wait for
	// the rate budget.
	v, err := ask(ctx, prev != nil)
	if err != nil {
		if prev != nil && ctx.Err() == nil && staleable(err) {
			if now := r.clock.Now(); now.Before(prev.staleUntil) {
				return prev.answer(now, err), nil
			}
		}
		return nil, err
	}
	if r.store != nil && r.invalidations.Load() == gen {
		v.until = r.remember(ctx, q, v)
	}
	return v, nil
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

// storedEntry is the JSON form of a cacheEntry, which earlier versions
// stored (see entrycodec.go for the form written now).
type storedEntry struct {
	Version    int            `json:"v"`
	Result     validationBody `json:"result"`
	StoredAt   int64          `json:"storedAt"` // Unix nanoseconds
	FreshUntil int64          `json:"freshUntil"`
	StaleUntil int64          `json:"staleUntil"`
}

const storedEntryVersion = 1

func decodeJSONEntry(b []byte) *cacheEntry {
	var s storedEntry
	if json.Unmarshal(b, &s) != nil || s.Version != storedEntryVersion {
		return nil
	}
	v, err := s.Result.validation()
	if err != nil {
		return nil
	}
	return &cacheEntry{
		v:          *v,
		storedAt:   time.Unix(0, s.StoredAt),
		freshUntil: time.Unix(0, s.FreshUntil),
		staleUntil: time.Unix(0, s.StaleUntil),
	}
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
	if r.fleet != nil {
		if b, err := e.encode(); err == nil {
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fleetTimeout)
			r.fleetResult(r.fleet.SetResult(fctx, r.licenseDigest(q.key), requestDigest(q.fp, q.ents), b, ttl))
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

// fleetLookup returns the fleet's entry of q (and keeps a local copy).
func (r *results) fleetLookup(ctx context.Context, q *query) *cacheEntry {
	fctx, cancel := context.WithTimeout(ctx, fleetTimeout)
	b, ok, err := r.fleet.GetResult(fctx, r.licenseDigest(q.key), requestDigest(q.fp, q.ents))
	cancel()
	if !r.fleetResult(err) || !ok {
		return nil
	}
	e := decodeEntry(b)
	if e == nil {
		return nil
	}
	if ttl := e.staleUntil.Sub(r.clock.Now()); ttl > 0 {
		if e.v.License != nil && e.v.License.ID != "" && e.v.License.Key == q.key {
			r.indexLicense(e.v.License.ID, q.key)
		}
		r.storeLocal(q.ck, e, ttl)
	}
	return e
}

// fleetShare makes this process the one of the fleet that asks the service
// for q, or waits for the member that does and returns its result. release
// must be called after the result is stored.
func (r *results) fleetShare(ctx context.Context, q *query) (release func(), v *Validation) {
	key := r.licenseDigest(q.key) + "/" + requestDigest(q.fp, q.ents)
	poll := fleetPoll
	for {
		fctx, cancel := context.WithTimeout(ctx, fleetTimeout)
		rel, acquired, err := r.fleet.Acquire(fctx, key, fleetLockTTL)
		cancel()
		if !r.fleetResult(err) || acquired {
			if rel == nil {
				rel = func() {}
			}
			// The last holder may have stored its result just before it
			// let go: look once more before asking the service.
			if acquired {
				if e := r.fleetLookup(ctx, q); e != nil {
					if now := r.clock.Now(); now.Before(e.freshUntil) {
						rel()
						return func() {}, e.answer(now, nil)
					}
				}
			}
			return rel, nil
		}
		// Another member asks: wait for its result. If it gives up (its
		// answer was an error, which is not shared) or crashes, its lock
		// ends and the next Acquire makes this member the one that asks.
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return func() {}, nil
		case <-t.C:
		}
		poll = min(poll*3/2, fleetPollMax)
		if e := r.fleetLookup(ctx, q); e != nil {
			if now := r.clock.Now(); now.Before(e.freshUntil) {
				return func() {}, e.answer(now, nil)
			}
		}
	}
}

// fleetResult reports whether a fleet call succeeded, logging the first
// failure of an outage and the recovery.
func (r *results) fleetResult(err error) bool {
	if err != nil {
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
// by any member of the fleet.
func (r *results) onFleetInvalidation(license string) {
	if r.store == nil {
		return
	}
	if license == "" {
		r.invalidations.Add(1)
		r.store.DeletePrefix(cacheKeyVersion + "/")
		return
	}
	r.idMu.Lock()
	key, ok := r.digests[license]
	r.idMu.Unlock()
	if ok {
		r.invalidations.Add(1)
		r.store.DeletePrefix(r.licensePrefix(r.env, key))
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
// for ttl (see Validate). The default is an in-memory cache.Memory with
// DefaultCacheTTL. A cache.File keeps results across restarts (15–60
// minutes is a sensible ttl for it); its keys hold hashes of license keys,
// never the keys themselves.
func WithValidationCache(store cache.Store, ttl time.Duration) Option {
	return func(c *config) error {
		if store == nil {
			return fmt.Errorf("%w: nil cache store", ErrInvalidArgument)
		}
		if ttl <= 0 {
			return fmt.Errorf("%w: cache TTL must be positive", ErrInvalidArgument)
		}
		c.cacheStore, c.cacheTTL, c.cacheOff = store, ttl, false
		return nil
	}
}

// WithCacheTTL sets how long a validation result is answered from the cache
// (default DefaultCacheTTL). It must be positive.
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
// and no stale result can be served when it fails.
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
