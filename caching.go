package licentric

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licentric/licentric-go/cache"
	"github.com/licentric/licentric-go/internal/wire"
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

// caching holds the validation cache, shared requests and the rate budget.
type caching struct {
	// Options.
	cacheStore     cache.Store
	cacheOff       bool
	cacheTTL       time.Duration
	staleMaxAge    time.Duration
	staleSet       bool
	budgetSettings [3]budgetSetting

	// Built by initCaching.
	cacheValues cache.ValueStore // cacheStore as a ValueStore, if it is one
	cachePrefix string           // "v1/<env>/"
	budget      *rateBudget      // nil: no budget
	flights     flightGroup

	// invalidations counts invalidations; a request that overlapped one
	// does not store its result, which may predate the change.
	invalidations atomic.Uint64

	idMu sync.Mutex
	ids  map[string]string // license id -> license key

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

// initCaching sets up the cache and budget after the options have run.
func (c *Client) initCaching() error {
	if c.cacheTTL == 0 {
		c.cacheTTL = DefaultCacheTTL
	}
	if !c.staleSet {
		c.staleMaxAge = DefaultStaleIfError
	}
	if c.cacheOff {
		c.cacheStore = nil
	} else if c.cacheStore == nil {
		c.cacheStore = cache.NewMemory()
	}
	c.cacheValues, _ = c.cacheStore.(cache.ValueStore)
	c.cachePrefix = cacheKeyVersion + "/" + c.env.String() + "/"
	c.budget = newRateBudget(c.clock, c.retry.MaxWait, c.budgetSettings)
	c.ids = make(map[string]string)
	c.keySeed = maphash.MakeSeed()
	return nil
}

// WithValidationCache makes Validate answer repeated validations from store
// for ttl (see Validate). The default is an in-memory cache.Memory with
// DefaultCacheTTL. A cache.File keeps results across restarts (15–60
// minutes is a sensible ttl for it); its keys hold hashes of license keys,
// never the keys themselves.
func WithValidationCache(store cache.Store, ttl time.Duration) Option {
	return func(c *Client) error {
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
	return func(c *Client) error {
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
	return func(c *Client) error {
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
	return func(c *Client) error {
		if maxAge < 0 {
			return fmt.Errorf("%w: stale-if-error age must not be negative", ErrInvalidArgument)
		}
		c.staleMaxAge = maxAge
		c.staleSet = true
		return nil
	}
}

// cacheEntry is what the cache holds for one validation: the result and
// the times, on the client's clock, until which it is fresh and until
// which it may be served stale.
type cacheEntry struct {
	v          Validation // FromCache, Age, Stale and StaleReason unset
	storedAt   time.Time
	freshUntil time.Time
	staleUntil time.Time
}

// answer returns a copy of e's result as served at now.
func (e *cacheEntry) answer(now time.Time, staleReason error) *Validation {
	out := e.v
	out.FromCache = true
	out.Age = max(now.Sub(e.storedAt), 0)
	if staleReason != nil {
		out.Stale = true
		out.StaleReason = staleReason
	}
	return &out
}

// storedEntry is the JSON form of a cacheEntry, for stores of bytes.
type storedEntry struct {
	Version    int             `json:"v"`
	Result     wire.Validation `json:"result"`
	StoredAt   int64           `json:"storedAt"` // Unix nanoseconds
	FreshUntil int64           `json:"freshUntil"`
	StaleUntil int64           `json:"staleUntil"`
}

const storedEntryVersion = 1

// lookup returns the entry under ck, or nil.
func (c *Client) lookup(ck string) *cacheEntry {
	if c.cacheValues != nil {
		v, ok := c.cacheValues.GetValue(ck)
		if !ok {
			return nil
		}
		e, _ := v.(*cacheEntry)
		return e
	}
	b, ok := c.cacheStore.Get(ck)
	if !ok {
		return nil
	}
	var s storedEntry
	if json.Unmarshal(b, &s) != nil || s.Version != storedEntryVersion {
		return nil
	}
	v, err := validationFromWire(&s.Result)
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

// remember stores v, just received, under ck.
func (c *Client) remember(ck string, v *Validation) {
	now := c.clock.Now()
	e := &cacheEntry{v: *v, storedAt: now, freshUntil: now.Add(c.cacheTTL)}
	e.staleUntil = e.freshUntil
	if s := now.Add(c.staleMaxAge); s.After(e.staleUntil) {
		e.staleUntil = s
	}
	// A result must not outlive the license's expiry: at that moment it
	// changes. (A result given after the expiry already says so.)
	if v.License != nil && !v.License.ExpiresAt.IsZero() {
		if exp := v.License.ExpiresAt.Time; exp.After(now) {
			if exp.Before(e.freshUntil) {
				e.freshUntil = exp
			}
			if exp.Before(e.staleUntil) {
				e.staleUntil = exp
			}
		}
	}
	ttl := e.staleUntil.Sub(now)
	if ttl <= 0 {
		return
	}
	if v.License != nil && v.License.ID != "" && v.License.Key != "" {
		c.indexLicense(v.License.ID, v.License.Key)
	}
	if c.cacheValues != nil {
		_ = c.cacheValues.SetValue(ck, e, ttl)
		return
	}
	b, err := json.Marshal(storedEntry{
		Version: storedEntryVersion,
		Result: wire.Validation{
			Valid: v.Valid, Code: string(v.Code), Detail: v.Detail,
			License: v.License, Machine: v.Machine, Entitlements: v.Entitlements,
		},
		StoredAt:   now.UnixNano(),
		FreshUntil: e.freshUntil.UnixNano(),
		StaleUntil: e.staleUntil.UnixNano(),
	})
	if err != nil {
		return
	}
	if err := c.cacheStore.Set(ck, b, ttl); err != nil {
		c.logger.Debug("licentric: validation cache write failed", "error", err.Error())
	}
}

// cacheKey returns the key of a validation:
// "v1/<env>/<license part>/<request part>". In a ValueStore, which never
// leaves the process, the license part is the key itself (escaped so that
// it holds no '/') and the request part an unambiguous encoding of the
// fingerprint and the sorted entitlements; other stores get SHA-256 hashes
// of both. ents must be sorted and free of duplicates.
func (c *Client) cacheKey(key, fp string, ents []string) string {
	slot := &c.keyMemo[maphash.String(c.keySeed, key)&(keyMemoSlots-1)]
	if m := slot.Load(); m != nil && m.key == key && m.fp == fp && slices.Equal(m.ents, ents) {
		return m.ck
	}
	ck := c.buildCacheKey(key, fp, ents)
	slot.Store(&memoKey{key: key, fp: fp, ents: slices.Clone(ents), ck: ck})
	return ck
}

func (c *Client) buildCacheKey(key, fp string, ents []string) string {
	if c.cacheValues != nil {
		return c.rawCacheKey(key, fp, ents)
	}
	var buf [128]byte
	b := append(buf[:0], c.cachePrefix...)
	b = append(b, hashedLicensePart(key)...)
	b = append(b, '/')
	var raw [256]byte
	sum := sha256.Sum256(appendRequestPart(raw[:0], fp, ents))
	b = hex.AppendEncode(b, sum[:16])
	return string(b)
}

// rawCacheKey is cacheKey for a ValueStore.
func (c *Client) rawCacheKey(key, fp string, ents []string) string {
	var buf [256]byte
	b := append(buf[:0], c.cachePrefix...)
	b = appendLicensePart(b, key)
	b = append(b, '/')
	b = appendRequestPart(b, fp, ents)
	return string(b)
}

// licensePrefix returns the prefix of every key of license key in env.
func (c *Client) licensePrefix(env Environment, key string) string {
	b := []byte(cacheKeyVersion + "/" + env.String() + "/")
	if c.cacheValues != nil {
		b = appendLicensePart(b, key)
	} else {
		b = append(b, hashedLicensePart(key)...)
	}
	return string(append(b, '/'))
}

// appendLicensePart appends key with '%' and '/' escaped.
func appendLicensePart(b []byte, key string) []byte {
	if strings.IndexByte(key, '/') < 0 && strings.IndexByte(key, '%') < 0 {
		return append(b, key...)
	}
	for i := 0; i < len(key); i++ {
		switch key[i] {
		case '%':
			b = append(b, "%25"...)
		case '/':
			b = append(b, "%2F"...)
		default:
			b = append(b, key[i])
		}
	}
	return b
}

func hashedLicensePart(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// appendRequestPart appends "f<len>:<fp>" and "e<len>:<code>" for each
// entitlement: lengths make the encoding unambiguous whatever the strings
// hold.
func appendRequestPart(b []byte, fp string, ents []string) []byte {
	b = append(b, 'f')
	b = strconv.AppendInt(b, int64(len(fp)), 10)
	b = append(b, ':')
	b = append(b, fp...)
	for _, e := range ents {
		b = append(b, 'e')
		b = strconv.AppendInt(b, int64(len(e)), 10)
		b = append(b, ':')
		b = append(b, e...)
	}
	return b
}

// normalizeEntitlements returns codes sorted and without repeats. It
// returns codes itself when it already is, so the common cases (none, one,
// a sorted list) do not allocate; otherwise the result is built in buf's
// backing array (which a caller may keep on its stack).
func normalizeEntitlements(buf, codes []string) []string {
	sorted := true
	for i := 1; i < len(codes); i++ {
		if codes[i-1] >= codes[i] {
			sorted = false
			break
		}
	}
	if sorted {
		return codes
	}
	out := append(buf[:0], codes...)
	slices.Sort(out)
	return slices.Compact(out)
}

// staleable reports whether err is a failure to ask the service, which a
// stale result may cover: a transport error, a 5xx or 429 (after the
// retries), or an unusable success response. Client errors (4xx) and
// refused arguments are not.
func staleable(err error) bool {
	var apiErr *APIError
	switch {
	case errors.As(err, &apiErr):
		return apiErr.StatusCode >= 500 || apiErr.StatusCode == 429
	case errors.Is(err, ErrMalformedResponse):
		return true
	case errors.Is(err, ErrInvalidArgument), errors.Is(err, ErrNoAPIKey):
		return false
	}
	return true
}

// validateShared answers a validation that the fresh cache could not: it
// shares one request among concurrent identical calls, stores the result
// and falls back to a stale result as WithStaleIfError says.
func (c *Client) validateShared(ctx context.Context, ck string, req *wire.ValidateRequest, fresh bool) (*Validation, error) {
	fk := ck
	if fresh {
		fk += "\x00fresh"
	}
	v, err := c.flights.do(ctx, fk, func(fctx context.Context) (*Validation, error) {
		return c.validateMiss(fctx, ck, req, fresh)
	})
	if err != nil {
		return nil, err
	}
	out := *v
	return &out, nil
}

func (c *Client) validateMiss(ctx context.Context, ck string, req *wire.ValidateRequest, fresh bool) (*Validation, error) {
	var prev *cacheEntry
	if c.cacheStore != nil {
		prev = c.lookup(ck)
		now := c.clock.Now()
		if prev != nil && !fresh && now.Before(prev.freshUntil) {
			return prev.answer(now, nil), nil // stored by a call that just ended
		}
		if prev != nil && !now.Before(prev.staleUntil) {
			prev = nil
		}
	}
	tok := noToken
	if prev != nil {
		// With the budget spent, the last result beats a wait.
		var ok bool
		if tok, ok = c.budget.tryTake(wire.TierValidation); !ok {
			return prev.answer(c.clock.Now(), ErrBudgetExhausted), nil
		}
	}
	gen := c.invalidations.Load()
	v, err := c.validateRemote(ctx, req, tok, prev != nil)
	if err != nil {
		if prev != nil && ctx.Err() == nil && staleable(err) {
			if now := c.clock.Now(); now.Before(prev.staleUntil) {
				return prev.answer(now, err), nil
			}
		}
		return nil, err
	}
	if c.cacheStore != nil && c.invalidations.Load() == gen {
		c.remember(ck, v)
	}
	return v, nil
}

// InvalidateLicense drops every cached validation result of license key,
// in every environment, so that the next Validate asks the service.
func (c *Client) InvalidateLicense(key string) {
	if key == "" {
		return
	}
	c.invalidations.Add(1)
	if c.cacheStore == nil {
		return
	}
	for _, env := range []Environment{EnvironmentLive, EnvironmentTest, EnvironmentNone} {
		c.cacheStore.DeletePrefix(c.licensePrefix(env, key))
	}
}

// InvalidateLicenseID drops the cached validation results of the license
// with id, if this client has cached a result naming it (results carry the
// license's id and key; the client keeps an index of the last few thousand).
// It reports whether the license was known.
func (c *Client) InvalidateLicenseID(id string) bool {
	if id == "" {
		return false
	}
	c.idMu.Lock()
	key, ok := c.ids[id]
	c.idMu.Unlock()
	if ok {
		c.InvalidateLicense(key)
	}
	return ok
}

func (c *Client) indexLicense(id, key string) {
	c.idMu.Lock()
	defer c.idMu.Unlock()
	if old, ok := c.ids[id]; ok && old == key {
		return
	}
	if len(c.ids) >= maxIndexedLicenses {
		for k := range c.ids { // drop an arbitrary one
			delete(c.ids, k)
			break
		}
	}
	c.ids[id] = key
}

// invalidateAll drops every cached validation result of the client's store.
func (c *Client) invalidateAll() {
	c.invalidations.Add(1)
	if c.cacheStore != nil {
		c.cacheStore.DeletePrefix(cacheKeyVersion + "/")
	}
}

// afterWrite drops the cached results that a successful write sent through
// this client may have changed, so that the client never contradicts its
// own management calls: a change to a license or its machines drops that
// license's results; a change to a policy, product or entitlement, or a
// machine removed by id, drops them all.
func (c *Client) afterWrite(r *request) {
	if c.cacheStore == nil || r.method == http.MethodGet || r.method == http.MethodHead ||
		r.path == wire.PathValidateKey || strings.HasSuffix(r.path, "/"+wire.SegmentCheckout) {
		return
	}
	switch out := r.out.(type) {
	case *License:
		if out != nil {
			c.InvalidateLicense(out.Key)
			c.InvalidateLicenseID(out.ID)
		}
	case *Machine:
		if out != nil {
			c.InvalidateLicenseID(out.LicenseID)
		}
	}
	if r.licenseKey != "" {
		c.InvalidateLicense(r.licenseKey)
	}
	switch {
	case strings.HasPrefix(r.path, wire.PathLicenses+"/"):
		id, _, _ := strings.Cut(strings.TrimPrefix(r.path, wire.PathLicenses+"/"), "/")
		if id, err := url.PathUnescape(id); err == nil {
			c.InvalidateLicenseID(id)
		}
	case r.licenseKey == "" && strings.HasPrefix(r.path, wire.PathMachines+"/"),
		strings.HasPrefix(r.path, wire.PathPolicies+"/"),
		strings.HasPrefix(r.path, wire.PathProducts+"/"),
		strings.HasPrefix(r.path, wire.PathEntitlements+"/"):
		c.invalidateAll()
	}
}

// afterRecoveredWrite does for a write that failed on its retry because a
// lost earlier attempt had already acted (see Activate, Deactivate,
// deleteResource, LicensesService.transition) what afterWrite does for a
// plain success. out is the resource the recovery found, or nil.
func (c *Client) afterRecoveredWrite(r *request, out any) {
	r.out = out
	c.afterWrite(r)
}
