package fleet

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// takeBudget counts one unit in a fixed window's counter and returns the
// count. The counter expires a while after its window (it is never read
// again), even when someone else created it without an expiry.
var takeBudget = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
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
)

// TakeBudget takes one unit of the namespace's budget for tier in the
// fixed window that ends at windowEnd, of which there are limit units: ok
// is false once limit units of the window are taken, by any member. The
// window is the caller's (the service's fixed minute), so the count is a
// fixed-window count too: one counter, lc:<ns>:b:<tier>:<windowEnd in Unix
// seconds>, incremented atomically. A limit <= 0 (no limit) takes nothing.
// tier is 1 to 32 characters of A-Z, a-z, 0-9, '.', '_' and '-'.
func (f *Fleet) TakeBudget(ctx context.Context, tier string, windowEnd time.Time, limit int) (bool, error) {
	if limit <= 0 {
		return true, nil
	}
	if !validName(tier, maxTierLen) {
		return false, fmt.Errorf("%w: bad tier name", ErrInvalidArgument)
	}
	var b [96]byte
	key := append(b[:0], f.prefix...)
	key = append(key, "b:"...)
	key = append(key, tier...)
	key = append(key, ':')
	key = strconv.AppendInt(key, windowEnd.Unix(), 10)
	linger := min(max(windowEnd.Sub(f.clock.Now()), 0), maxWindowAhead) + budgetLinger
	var n int64
	err := f.call(ctx, func(ctx context.Context) error {
		var err error
		n, err = takeBudget.Run(ctx, f.rdb, []string{string(key)}, ttlMillis(linger)).Int64()
		return err
	})
	if err != nil {
		return false, err
	}
	return n <= int64(limit), nil
}

// Acquire makes this member the one that asks the service for key, for at
// most ttl: a Redis lock (SET NX PX, lc:<ns>:f:<keyed digest of key>)
// holding a random token. acquired is false when another member holds it.
// release deletes the lock if it still holds this member's token, so it is
// safe after ttl (when another member may hold the lock) and more than
// once; it runs under the Fleet's deadline and gives up silently (the lock
// then ends with its ttl). A member that crashes holding the lock blocks
// no one past ttl. A ttl <= 0 gives ErrInvalidArgument. release is never
// nil.
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
		ok, err = f.rdb.SetNX(ctx, lock, token, ttl).Result()
		return err
	})
	if err != nil {
		return noop, false, err
	}
	if !ok {
		return noop, false, nil
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			_ = f.call(context.Background(), func(ctx context.Context) error {
				return releaseFlight.Run(ctx, f.rdb, []string{lock}, token).Err()
			})
		})
	}
	return release, true, nil
}
