package fleet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// storeResult stores one sealed result (ARGV[4]) in field ARGV[3] of the
// license's hash (KEYS[2]) if the license's epoch (KEYS[1]) is still
// ARGV[1], or, for ARGV[1] = "", if it has none yet: then ARGV[2] becomes
// its epoch. It returns 0 and stores nothing otherwise (the license was
// invalidated since the epoch was read). The hash lives at least as long
// as the result (ARGV[6] ms) and the epoch at least as long as the hash
// or ARGV[7] ms. A hash key that is not a hash (written by someone else)
// or a license with too many results (ARGV[5]) starts over.
var storeResult = redis.NewScript(`
local t = redis.call('TYPE', KEYS[1]).ok
if ARGV[1] == '' then
  if t ~= 'none' then return 0 end
  redis.call('SET', KEYS[1], ARGV[2])
elseif t ~= 'string' or redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local h = redis.call('TYPE', KEYS[2]).ok
if h ~= 'none' and (h ~= 'hash' or redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[5])) then
  redis.call('DEL', KEYS[2])
end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
local ttl = tonumber(ARGV[6])
if redis.call('PTTL', KEYS[2]) < ttl then
  redis.call('PEXPIRE', KEYS[2], ttl)
end
local keep = math.max(ttl, tonumber(ARGV[7]))
if redis.call('PTTL', KEYS[1]) < keep then
  redis.call('PEXPIRE', KEYS[1], keep)
end
return 1
`)

// rotateEpoch gives the license (KEYS[1]) the fresh epoch ARGV[1], for
// ARGV[2] ms, and drops its results in the current generation (KEYS[2]),
// if its epoch is ARGV[3] ("*": whatever it is). It returns {1, old} or,
// when the epoch is not ARGV[3], {0, current}: "" for none, "?" for a key
// that is not a string.
var rotateEpoch = redis.NewScript(`
local t = redis.call('TYPE', KEYS[1]).ok
local cur = ''
if t == 'string' then cur = redis.call('GET', KEYS[1]) elseif t ~= 'none' then cur = '?' end
if ARGV[3] ~= '*' and cur ~= ARGV[3] then return {0, cur} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
return {1, cur}
`)

// licenseKeys are the Redis names of one license's state: its epoch,
// lc:<ns>:{<L>}:e, and its results hash in generation gen,
// lc:<ns>:{<L>}:r:<gen>, where L is the keyed digest of the license. The
// braces put both in one Cluster slot, so that one script reads or
// changes both; different licenses still spread over the slots.
func (f *Fleet) licenseKeys(license, gen string) (epochKey, resultKey string) {
	var b [192]byte
	s := append(b[:0], f.prefix...)
	s = append(s, '{')
	s = append(s, f.keys.name(nameLicense, license)...)
	s = append(s, "}:"...)
	n := len(s)
	s = append(s, 'e')
	epochKey = string(s)
	s = append(s[:n], "r:"...)
	s = append(s, gen...)
	return epochKey, string(s)
}

// A version names the state of a license's results that GetResult read:
// "<generation>.<epoch>", the epoch empty when the license had none. The
// empty version stores nothing.
func makeVersion(gen, epoch string) string { return gen + "." + epoch }

func parseVersion(v string) (gen, epoch string, ok bool) {
	if len(v) < tokenLen+1 || v[tokenLen] != '.' {
		return "", "", false
	}
	gen, epoch = v[:tokenLen], v[tokenLen+1:]
	return gen, epoch, validToken(gen) && (epoch == "" || validToken(epoch))
}

// GetResult returns the value a member stored for (license, request) with
// SetResult, if it is there, was sealed by this fleet for this very
// license and request under the license's current epoch, and its ttl has
// not passed on the Fleet's clock; and the version of the license's
// results it read, for SetResult. Anything else in its place (written
// without the secret, damaged, moved from another key, stored before the
// license's last invalidation and written back) is a miss; a forged entry
// is logged once. An epoch this member saw invalidated is a rollback: the
// Fleet replaces it and tells the fleet, and the read is a miss. An error
// means Redis could not be asked (the version is then empty).
func (f *Fleet) GetResult(ctx context.Context, license, request string) ([]byte, string, bool, error) {
	var (
		epoch, version string
		raw            []byte
		epochBad       bool // not a string (written by someone else)
	)
	err := f.call(ctx, func(ctx context.Context) error {
		gen, err := f.generation(ctx)
		if err != nil {
			return err
		}
		ek, rk := f.licenseKeys(license, gen)
		field := f.keys.name(nameRequest, request)
		pipe := f.rdb.Pipeline()
		ec := pipe.Get(ctx, ek)
		rc := pipe.HGet(ctx, rk, field)
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) && !isReply(err) {
			return err
		}
		switch err := ec.Err(); {
		case err == nil:
			epoch = ec.Val()
		case isReply(err):
			epochBad = true
		case !errors.Is(err, redis.Nil):
			return err
		}
		if epochBad || (epoch != "" && (!validToken(epoch) || f.isKilled(epoch))) {
			// Rolled back (or written by someone else): replace the epoch
			// for the whole fleet; this read is a miss.
			f.logRolledBack()
			old := epoch
			if epochBad {
				old = "?"
			}
			fresh, err := f.replaceEpoch(ctx, license, ek, rk, old)
			if err != nil {
				return err
			}
			epoch, raw = fresh, nil
			if fresh != "" {
				version = makeVersion(gen, fresh)
			}
			return nil
		}
		version = makeVersion(gen, epoch)
		if b, err := rc.Bytes(); err == nil && epoch != "" {
			raw = b
			if len(raw) > sealOverhead+8+MaxValueLen {
				f.logTampered()
				raw = nil
				return nil
			}
			value, expires, err := f.keys.openValue(rk, field, epoch, raw)
			if err != nil {
				f.logTampered()
				raw = nil
				return nil
			}
			if !f.clock.Now().Before(expires) {
				raw = nil
				return nil
			}
			raw = value
		} else {
			raw = nil // none, not a hash, or no epoch to have been sealed under
		}
		return nil
	})
	if err != nil {
		return nil, "", false, err
	}
	return raw, version, raw != nil, nil
}

// replaceEpoch gives license a fresh epoch if its epoch in Redis is still
// old (one this member saw invalidated, or not a token), drops its results,
// and tells the fleet. It returns the fresh epoch, or "" when another
// member replaced it first.
func (f *Fleet) replaceEpoch(ctx context.Context, license, ek, rk, old string) (string, error) {
	fresh := newToken()
	res, err := rotateEpoch.Run(ctx, f.rdb, []string{ek, rk}, fresh, epochLinger.Milliseconds(), old).Slice()
	if err != nil {
		return "", err
	}
	if swapped, _, _ := scriptPair(res); !swapped {
		return "", nil
	}
	return fresh, f.publish(ctx, message{killed: tokenOrNone(old), license: license}) // no change of the license: no recheck
}

// isReply reports whether err is an error answer of the server (such as
// WRONGTYPE), not a failure to reach it.
func isReply(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && !errors.Is(err, redis.Nil)
}

// SetResult stores value for (license, request) for every member, for ttl
// on the Fleet's clock, if the license's results are still at version,
// the version the GetResult before the value was fetched returned: if
// the license was invalidated since (by any member), nothing is stored,
// since the value may predate the change. An empty version stores nothing.
// value is sealed (XChaCha20-Poly1305, bound to its key and to the
// license's epoch) with its expiry inside. A ttl <= 0, a value over
// MaxValueLen or a malformed version gives ErrInvalidArgument.
func (f *Fleet) SetResult(ctx context.Context, license, request, version string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("%w: ttl must be positive", ErrInvalidArgument)
	}
	if len(value) > MaxValueLen {
		return fmt.Errorf("%w: value of %d bytes is over %d", ErrInvalidArgument, len(value), MaxValueLen)
	}
	if f.closed.Load() {
		return ErrClosed
	}
	if version == "" {
		return nil
	}
	gen, epoch, ok := parseVersion(version)
	if !ok {
		return fmt.Errorf("%w: malformed version", ErrInvalidArgument)
	}
	if g := f.gen.Load(); g == nil || *g != gen || (epoch != "" && f.isKilled(epoch)) {
		return nil // invalidated since
	}
	ttl = min(ttl, maxTTL)
	fresh := ""
	if epoch == "" {
		fresh = newToken()
	}
	ek, rk := f.licenseKeys(license, gen)
	field := f.keys.name(nameRequest, request)
	sealed := f.keys.sealValue(rk, field, cmp.Or(epoch, fresh), f.clock.Now().Add(ttl), value)
	return f.call(ctx, func(ctx context.Context) error {
		return storeResult.Run(ctx, f.rdb, []string{ek, rk}, epoch, fresh, field, sealed, maxFieldsPerLicense,
			ttlMillis(ttl), epochLinger.Milliseconds()).Err()
	})
}

// ttlMillis is d in whole milliseconds, rounded up, at least 1.
func ttlMillis(d time.Duration) int64 {
	return max(1, int64((d+time.Millisecond-1)/time.Millisecond))
}

// InvalidateLicense drops every result of license for the whole fleet, by
// giving the license a fresh epoch (under which no earlier result opens),
// and tells every member's subscribers (this member's at once, before it
// returns); every member that hears of it refuses the old epoch for good.
// When Redis cannot be told, it returns the error and sends the
// invalidation before its next call that reaches Redis, so that no member
// serves the dropped results afterwards.
//
// recheck tells the subscribers whether the license itself may have
// changed (suspended, revoked, renewed, its policy changed, or the caller
// cannot tell), so that holders of a decision about it (guards) ask the
// service again, or only its cached results went stale (one of its
// machines was activated, deactivated or sent a heartbeat).
func (f *Fleet) InvalidateLicense(ctx context.Context, license string, recheck bool) error {
	if len(license) > maxLicenseLen {
		return fmt.Errorf("%w: license digest over %d bytes", ErrInvalidArgument, maxLicenseLen)
	}
	if f.closed.Load() {
		return ErrClosed
	}
	err := f.call(ctx, func(ctx context.Context) error { return f.invalidateLicense(ctx, license, recheck) })
	if err != nil {
		f.addPending(license, recheck)
	}
	f.notify(license, recheck)
	return err
}

// invalidateLicense replaces license's epoch and publishes the epoch it
// ended.
func (f *Fleet) invalidateLicense(ctx context.Context, license string, recheck bool) error {
	gen, err := f.generation(ctx)
	if err != nil {
		return err
	}
	ek, rk := f.licenseKeys(license, gen)
	res, err := rotateEpoch.Run(ctx, f.rdb, []string{ek, rk}, newToken(), epochLinger.Milliseconds(), "*").Slice()
	if err != nil {
		return err
	}
	_, old, _ := scriptPair(res)
	old = tokenOrNone(old)
	f.kill(old)
	return f.publish(ctx, message{killed: old, license: license, recheck: recheck})
}

// InvalidateAll drops every result for the whole fleet, by moving the
// namespace to a fresh generation, and tells every member's subscribers
// (this member's at once); every member that hears of it refuses the old
// generation for good. Like InvalidateLicense it is sent later when Redis
// cannot be told now.
func (f *Fleet) InvalidateAll(ctx context.Context) error {
	if f.closed.Load() {
		return ErrClosed
	}
	err := f.call(ctx, f.publishAll)
	if err != nil {
		f.pmu.Lock()
		f.pendingAll = true
		clear(f.pending)
		f.unsent.Store(true)
		f.pmu.Unlock()
	}
	f.notify("", true)
	return err
}

// publishAll moves the namespace to a fresh generation and tells the
// fleet.
func (f *Fleet) publishAll(ctx context.Context) error {
	fresh := newToken()
	res, err := swapGenScript.Run(ctx, f.rdb, []string{f.genKey}, "*", fresh).Slice()
	if err != nil {
		return err
	}
	_, old, _ := scriptPair(res)
	old = tokenOrNone(old)
	f.kill(old)
	f.adoptGen(fresh)
	return f.publish(ctx, message{all: true, killed: old, recheck: true})
}

func (f *Fleet) addPending(license string, recheck bool) {
	f.pmu.Lock()
	defer f.pmu.Unlock()
	f.unsent.Store(true)
	if f.pendingAll {
		return
	}
	if len(f.pending) >= maxPending {
		f.pendingAll = true
		clear(f.pending)
		return
	}
	f.pending[license] = f.pending[license] || recheck
}

// flushPending sends the invalidations that could not be sent. It runs
// before any other Redis call of a member that has some (see call) and in
// the probe of enter; its calls are the caller's.
func (f *Fleet) flushPending(ctx context.Context) error {
	f.pmu.Lock()
	all := f.pendingAll
	type pendingLicense struct {
		license string
		recheck bool
	}
	list := make([]pendingLicense, 0, len(f.pending))
	for l, recheck := range f.pending {
		list = append(list, pendingLicense{l, recheck})
	}
	f.pendingAll = false
	clear(f.pending)
	f.unsent.Store(false)
	f.pmu.Unlock()

	if all {
		err := f.publishAll(ctx)
		if err != nil {
			f.pmu.Lock()
			f.pendingAll = true
			f.unsent.Store(true)
			f.pmu.Unlock()
		}
		return err
	}
	for i, l := range list {
		if err := f.invalidateLicense(ctx, l.license, l.recheck); err != nil {
			for _, rest := range list[i:] {
				f.addPending(rest.license, rest.recheck)
			}
			return err
		}
	}
	return nil
}

// Subscribe calls fn with the license digest of every InvalidateLicense
// (and "" for every InvalidateAll) of any member of the namespace, this
// one included, until stop is called or the Fleet is closed, and with the
// invalidation's recheck (always true for InvalidateAll). It also calls
// fn("", true) when the subscription comes back after a break, since
// invalidations may have been missed meanwhile, and fn(license, false) or
// fn("", false) when this or another member replaced a rolled-back epoch
// or generation (results dropped, no license changed). fn runs on the
// Fleet's goroutine (or, for this member's own invalidations, the
// caller's) and must not block.
func (f *Fleet) Subscribe(fn func(license string, recheck bool)) (stop func()) {
	if fn == nil {
		return func() {}
	}
	f.smu.Lock()
	id := f.nextSub
	f.nextSub++
	f.subs[id] = fn
	f.smu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.smu.Lock()
			delete(f.subs, id)
			f.smu.Unlock()
		})
	}
}

func (f *Fleet) notify(license string, recheck bool) {
	f.smu.Lock()
	fns := make([]func(string, bool), 0, len(f.subs))
	for _, fn := range f.subs {
		fns = append(fns, fn)
	}
	f.smu.Unlock()
	for _, fn := range fns {
		fn(license, recheck)
	}
}

// listen receives the namespace's invalidations until Close.
func (f *Fleet) listen(ch <-chan any) {
	defer close(f.done)
	first := true
	for {
		select {
		case <-f.stop:
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			switch m := m.(type) {
			case *redis.Subscription:
				if m.Kind != "subscribe" {
					continue
				}
				// The first subscription follows New, before which this
				// member cached nothing, unless Redis was down at New.
				if first && !f.everDown.Load() {
					first = false
					continue
				}
				first = false
				f.resync()
			case *redis.Message:
				if m.Channel == f.channel {
					f.receive(m.Payload)
				}
			}
		}
	}
}

// resync follows a (re)subscription after a break: it reads the
// generation in Redis and tells subscribers that anything may have been
// invalidated.
func (f *Fleet) resync() {
	if err := f.bounded(context.Background(), f.syncGen); err != nil {
		f.markDown(err)
	}
	f.notify("", true)
}

func (f *Fleet) receive(payload string) {
	m, err := f.keys.openMessage(f.channel, []byte(payload))
	if err != nil {
		f.logTampered()
		return
	}
	if m.sender == f.member {
		return // told its own subscribers already
	}
	f.kill(m.killed)
	if m.all {
		// The message may be old (written back by someone): the
		// generation is what Redis holds, unless killed.
		if err := f.bounded(context.Background(), f.syncGen); err != nil {
			f.markDown(err)
		}
		f.notify("", m.recheck)
		return
	}
	f.notify(m.license, m.recheck)
}
