package fleet

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// takeBudget counts units in a fixed window's counter and returns the
// count. The counter expires a while after its window (it is never read
// again), even when someone else created it without an expiry.
var takeBudget = redis.NewScript(`
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
`)

// releaseFlight deletes a lock only if it still holds this holder's token.
var releaseFlight = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

const (
	maxTierLen = 32
	// budgetLinger is how long a window's counter outlives its window.
	budgetLinger = time.Minute
	// maxWindowAhead bounds how far ahead of the Fleet's clock a window
	// end may lie for the counter's expiry (a window is a minute).
	maxWindowAhead = 2 * time.Minute
	// maxDebts bounds the windows the Fleet owes units to.
	maxDebts = 16
	// debtSkew is how long past its end, on the Fleet's clock, a window is
	// still owed its units: the window is the service's, and the Fleet's
	// clock may run minutes behind or ahead of it. Charging a window that
	// is over costs nothing (its counter is never read again); dropping a
	// debt of a window still open would let the members overshoot it.
	debtSkew = 10 * time.Minute
)

// TakeBudget takes one unit of the namespace's budget for tier in the
// fixed window that ends at windowEnd, of which there are limit units: ok
// is false once limit units of the window are taken, by any member. The
// window is the caller's (the service's fixed minute), so the count is a
// fixed-window count too: one counter, lc:<ns>:b:<tier>:<windowEnd in Unix
// seconds>, incremented atomically. A limit <= 0 (no limit) takes nothing.
// tier is 1 to 32 characters of A-Z, a-z, 0-9, '.', '_' and '-'.
//
// When it fails (Redis unreachable: at once, while the Fleet knows it is),
// the caller sends on its local share instead; the Fleet remembers the
// unit and adds it to the window's counter when Redis answers again, so
// that what members sent on their own and what they send through the
// counter afterwards stay within the limit together. Call TakeBudget for
// every unit, also while it fails, for that to hold.
func (f *Fleet) TakeBudget(ctx context.Context, tier string, windowEnd time.Time, limit int) (bool, error) {
	if limit <= 0 {
		return true, nil
	}
	if !validName(tier, maxTierLen) {
		return false, fmt.Errorf("%w: bad tier name", ErrInvalidArgument)
	}
	var b [96]byte
	k := append(b[:0], f.prefix...)
	k = append(k, "b:"...)
	k = append(k, tier...)
	k = append(k, ':')
	k = strconv.AppendInt(k, windowEnd.Unix(), 10)
	key := string(k)
	owed := f.takeDebt(key)
	gone := ctx.Err() != nil // the caller gave up before asking: it sends nothing
	var n int64
	units := 1 + owed // fn may run on after a failure (see bounded), when owed changes
	err := f.call(ctx, func(ctx context.Context) error {
		var err error
		n, err = takeBudget.Run(ctx, f.rdb, []string{key}, f.budgetLinger(windowEnd), units).Int64()
		return err
	})
	if err != nil {
		// A call that failed on its way, even by the caller's deadline,
		// may be followed by a send on the local share: owe it (counting
		// a unit that was not sent only makes the budget stricter).
		if !gone && !errors.Is(err, ErrClosed) {
			owed++
		}
		f.addDebt(key, windowEnd, owed)
		return false, err
	}
	if f.owing.Load() {
		// Units owed to other windows, from failures too few to mark
		// Redis down (whose rejoin would charge them): charge them now.
		_ = f.flushDebts(ctx)
	}
	return n <= int64(limit), nil
}

// budgetLinger is how long, in milliseconds, a window's counter lives.
func (f *Fleet) budgetLinger(windowEnd time.Time) int64 {
	return ttlMillis(min(max(windowEnd.Sub(f.clock.Now()), 0), maxWindowAhead) + budgetLinger)
}

// debt is units of a window that the Fleet owes its counter.
type debt struct {
	units     int64
	windowEnd time.Time
}

func (f *Fleet) takeDebt(key string) int64 {
	f.dmu.Lock()
	defer f.dmu.Unlock()
	d, ok := f.debts[key]
	if !ok {
		return 0
	}
	delete(f.debts, key)
	f.owing.Store(len(f.debts) > 0)
	return d.units
}

func (f *Fleet) addDebt(key string, windowEnd time.Time, units int64) {
	if units <= 0 {
		return
	}
	now := f.clock.Now()
	f.dmu.Lock()
	defer f.dmu.Unlock()
	for k, d := range f.debts {
		if !now.Before(d.windowEnd.Add(debtSkew)) {
			delete(f.debts, k) // a window that is over owes nothing
		}
	}
	if !now.Before(windowEnd.Add(debtSkew)) || (len(f.debts) >= maxDebts && f.debts[key].units == 0) {
		return
	}
	d := f.debts[key]
	d.units += units
	d.windowEnd = windowEnd
	f.debts[key] = d
	f.owing.Store(true)
}

// flushDebts adds the units owed to the windows that are not over yet to
// their counters. It runs inside the probe of enter.
func (f *Fleet) flushDebts(ctx context.Context) error {
	f.dmu.Lock()
	owed := make(map[string]debt, len(f.debts))
	for k, d := range f.debts {
		owed[k] = d
	}
	clear(f.debts)
	f.owing.Store(false)
	f.dmu.Unlock()
	now := f.clock.Now()
	var first error
	for key, d := range owed {
		if !now.Before(d.windowEnd.Add(debtSkew)) {
			continue
		}
		err := f.bounded(ctx, func(ctx context.Context) error {
			return takeBudget.Run(ctx, f.rdb, []string{key}, f.budgetLinger(d.windowEnd), d.units).Err()
		})
		if err != nil {
			f.addDebt(key, d.windowEnd, d.units)
			first = cmp.Or(first, err)
		}
	}
	return first
}

// acquireFlight takes the lock KEYS[1] with token ARGV[1] for ARGV[2] ms if
// it is free, or if what holds it is no member's: a key without expiry
// (members always set one) or with more than ARGV[3] ms left (more than
// any member gives). It returns 1 when the lock is this holder's.
var acquireFlight = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
local left = redis.call('PTTL', KEYS[1])
if left == -1 or left > tonumber(ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`)

// extendFlight renews a lock's ttl only if it still holds this holder's
// token.
var extendFlight = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// Acquire makes this member the one that asks the service for key until
// it calls release: a Redis lock (SET NX PX, lc:<ns>:f:<keyed digest of
// key>) holding a random token. acquired is false when another member
// holds it. While the lock is held the Fleet renews it every third of ttl
// (compare-and-expire), so a holder that waits long, for the rate budget's
// next window or a slow service, keeps it, and the others keep waiting for
// its result rather than asking too; a member that crashes, or is closed,
// blocks no one past ttl. A lock no member set (one without expiry, or
// with more than the longest ttl a member gives, written by someone else)
// is taken over at once. release deletes the lock if it still holds this
// member's token, so it is safe when another member holds the lock by now
// and more than once; it runs under the Fleet's deadline and gives up
// silently (the lock then ends with its ttl). A ttl <= 0 gives
// ErrInvalidArgument. release is never nil.
func (f *Fleet) Acquire(ctx context.Context, key string, ttl time.Duration) (func(), bool, error) {
	noop := func() {}
	if ttl <= 0 {
		return noop, false, fmt.Errorf("%w: ttl must be positive", ErrInvalidArgument)
	}
	ttl = time.Duration(ttlMillis(min(ttl, maxTTL))) * time.Millisecond
	lock := f.prefix + "f:" + f.keys.name(nameFlight, key)
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	token := base64.RawURLEncoding.EncodeToString(tok[:])
	var ok bool
	err := f.call(ctx, func(ctx context.Context) error {
		var err error
		n, err := acquireFlight.Run(ctx, f.rdb, []string{lock}, token, ttl.Milliseconds(), maxTTL.Milliseconds()).Int64()
		ok = n == 1
		return err
	})
	if err != nil {
		return noop, false, err
	}
	if !ok {
		return noop, false, nil
	}
	held := make(chan struct{})
	f.locks.Add(1)
	go f.keepLock(lock, token, ttl, held)
	var once sync.Once
	release := func() {
		once.Do(func() {
			close(held)
			_ = f.call(context.Background(), func(ctx context.Context) error {
				return releaseFlight.Run(ctx, f.rdb, []string{lock}, token).Err()
			})
		})
	}
	return release, true, nil
}

// keepLock renews a lock this member holds every third of its ttl until
// held is closed (release), the Fleet is closed, or the lock turns out to
// be lost (it expired while Redis was unreachable and another member took
// it). A renewal that fails is tried again at the next tick: the lock
// lives on its ttl meanwhile.
func (f *Fleet) keepLock(lock, token string, ttl time.Duration, held <-chan struct{}) {
	defer f.locks.Done()
	tick := time.NewTicker(max(ttl/3, time.Millisecond))
	defer tick.Stop()
	ms := ttlMillis(ttl)
	for {
		select {
		case <-held:
			return
		case <-f.stop:
			return
		case <-tick.C:
		}
		var kept int64
		err := f.call(context.Background(), func(ctx context.Context) error {
			var err error
			kept, err = extendFlight.Run(ctx, f.rdb, []string{lock}, token, ms).Int64()
			return err
		})
		if err == nil && kept == 0 {
			return
		}
	}
}
