package fleet

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// setResult stores one sealed result in the license's hash and makes the
// hash live at least as long as the result. A key that is not a hash
// (written by someone else) or a license with too many results starts
// over.
var setResult = redis.NewScript(`
local t = redis.call('TYPE', KEYS[1]).ok
if t ~= 'none' and (t ~= 'hash' or redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3])) then
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local ttl = tonumber(ARGV[4])
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1
`)

// resultKey is the Redis hash of license's results in generation gen:
// lc:<ns>:r:<gen>:<keyed digest of license>. Its fields are keyed digests
// of the requests.
func (f *Fleet) resultKey(gen uint64, license string) string {
	var b [96]byte
	s := append(b[:0], f.prefix...)
	s = append(s, "r:"...)
	s = strconv.AppendUint(s, gen, 10)
	s = append(s, ':')
	s = append(s, f.keys.name(nameLicense, license)...)
	return string(s)
}

// GetResult returns the value a member stored for (license, request) with
// SetResult, if it is there, was sealed by this fleet for this very
// license and request, and its ttl has not passed on the Fleet's clock.
// Anything else in its place (written without the secret, damaged, moved
// from another key) is a miss, logged once. An error means Redis could not
// be asked.
func (f *Fleet) GetResult(ctx context.Context, license, request string) ([]byte, bool, error) {
	key := f.resultKey(f.gen.Load(), license)
	field := f.keys.name(nameRequest, request)
	var raw []byte
	err := f.call(ctx, func(ctx context.Context) error {
		var err error
		raw, err = f.rdb.HGet(ctx, key, field).Bytes()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if len(raw) > sealOverhead+8+MaxValueLen {
		f.logTampered()
		return nil, false, nil
	}
	value, expires, err := f.keys.openValue(key, field, raw)
	if err != nil {
		f.logTampered()
		return nil, false, nil
	}
	if !f.clock.Now().Before(expires) {
		return nil, false, nil
	}
	return value, true, nil
}

// SetResult stores value for (license, request) for every member, for ttl
// on the Fleet's clock. value is sealed (XChaCha20-Poly1305, bound to its
// key) with its expiry inside. A ttl <= 0 or a value over MaxValueLen gives
// ErrInvalidArgument.
func (f *Fleet) SetResult(ctx context.Context, license, request string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("%w: ttl must be positive", ErrInvalidArgument)
	}
	if len(value) > MaxValueLen {
		return fmt.Errorf("%w: value of %d bytes is over %d", ErrInvalidArgument, len(value), MaxValueLen)
	}
	ttl = min(ttl, maxTTL)
	key := f.resultKey(f.gen.Load(), license)
	field := f.keys.name(nameRequest, request)
	sealed := f.keys.sealValue(key, field, f.clock.Now().Add(ttl), value)
	return f.call(ctx, func(ctx context.Context) error {
		return setResult.Run(ctx, f.rdb, []string{key}, field, sealed, maxFieldsPerLicense, ttlMillis(ttl)).Err()
	})
}

// ttlMillis is d in whole milliseconds, rounded up, at least 1.
func ttlMillis(d time.Duration) int64 {
	return max(1, int64((d+time.Millisecond-1)/time.Millisecond))
}

// InvalidateLicense drops every result of license for the whole fleet and
// tells every member's subscribers (this member's at once, before it
// returns). When Redis cannot be told, it returns the error and sends the
// invalidation when Redis answers again, so that no member serves the
// dropped results afterwards.
func (f *Fleet) InvalidateLicense(ctx context.Context, license string) error {
	if len(license) > maxLicenseLen {
		return fmt.Errorf("%w: license digest over %d bytes", ErrInvalidArgument, maxLicenseLen)
	}
	if f.closed.Load() {
		return ErrClosed
	}
	err := f.invalidateLicense(ctx, license)
	if err != nil {
		f.addPending(license)
	}
	f.notify(license)
	return err
}

func (f *Fleet) invalidateLicense(ctx context.Context, license string) error {
	return f.call(ctx, func(ctx context.Context) error {
		g, err := f.fetchGen(ctx)
		if err != nil {
			return err
		}
		f.raiseGen(g)
		msg := f.keys.sealMessage(f.channel, message{sender: f.member, license: license})
		pipe := f.rdb.Pipeline()
		pipe.Del(ctx, f.resultKey(g, license))
		if cur := f.gen.Load(); cur != g {
			pipe.Del(ctx, f.resultKey(cur, license))
		}
		pipe.Publish(ctx, f.channel, msg)
		_, err = pipe.Exec(ctx)
		return err
	})
}

// InvalidateAll drops every result for the whole fleet, by moving the
// namespace to a new generation, and tells every member's subscribers
// (this member's at once). Like InvalidateLicense it is replayed when
// Redis cannot be told now.
func (f *Fleet) InvalidateAll(ctx context.Context) error {
	if f.closed.Load() {
		return ErrClosed
	}
	err := f.invalidateAll(ctx)
	if err != nil {
		f.pmu.Lock()
		f.pendingAll = true
		clear(f.pending)
		f.pmu.Unlock()
	}
	f.notify("")
	return err
}

func (f *Fleet) invalidateAll(ctx context.Context) error {
	return f.call(ctx, f.publishAll)
}

// publishAll moves the namespace to a new generation and tells the fleet.
func (f *Fleet) publishAll(ctx context.Context) error {
	g, err := f.rdb.Incr(ctx, f.genKey).Uint64()
	if err != nil {
		return err
	}
	f.raiseGen(g)
	return f.rdb.Publish(ctx, f.channel, f.keys.sealMessage(f.channel, message{all: true, sender: f.member, gen: g})).Err()
}

func (f *Fleet) addPending(license string) {
	f.pmu.Lock()
	defer f.pmu.Unlock()
	if f.pendingAll {
		return
	}
	if len(f.pending) >= maxPending {
		f.pendingAll = true
		clear(f.pending)
		return
	}
	f.pending[license] = struct{}{}
}

// flushPending sends the invalidations that could not be sent. It runs
// inside the probe of enter, so its calls bypass call.
func (f *Fleet) flushPending(ctx context.Context) error {
	f.pmu.Lock()
	all := f.pendingAll
	list := make([]string, 0, len(f.pending))
	for l := range f.pending {
		list = append(list, l)
	}
	f.pendingAll = false
	clear(f.pending)
	f.pmu.Unlock()

	if all {
		err := f.bounded(ctx, f.publishAll)
		if err != nil {
			f.pmu.Lock()
			f.pendingAll = true
			f.pmu.Unlock()
		}
		return err
	}
	for i, l := range list {
		err := f.bounded(ctx, func(ctx context.Context) error {
			pipe := f.rdb.Pipeline()
			pipe.Del(ctx, f.resultKey(f.gen.Load(), l))
			pipe.Publish(ctx, f.channel, f.keys.sealMessage(f.channel, message{sender: f.member, license: l}))
			_, err := pipe.Exec(ctx)
			return err
		})
		if err != nil {
			for _, rest := range list[i:] {
				f.addPending(rest)
			}
			return err
		}
	}
	return nil
}

// Subscribe calls fn with the license digest of every InvalidateLicense
// (and "" for every InvalidateAll) of any member of the namespace, this
// one included, until stop is called or the Fleet is closed. It also calls
// fn("") when the subscription comes back after a break, since
// invalidations may have been missed meanwhile. fn runs on the Fleet's
// goroutine (or, for this member's own invalidations, the caller's) and
// must not block.
func (f *Fleet) Subscribe(fn func(license string)) (stop func()) {
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

func (f *Fleet) notify(license string) {
	f.smu.Lock()
	fns := make([]func(string), 0, len(f.subs))
	for _, fn := range f.subs {
		fns = append(fns, fn)
	}
	f.smu.Unlock()
	for _, fn := range fns {
		fn(license)
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

// resync follows a (re)subscription after a break: it adopts the
// generation in Redis and tells subscribers that anything may have been
// invalidated.
func (f *Fleet) resync() {
	if err := f.bounded(context.Background(), f.readGen); err != nil {
		f.markDown(err)
	}
	f.notify("")
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
	if m.all {
		f.raiseGen(m.gen)
		f.notify("")
		return
	}
	f.notify(m.license)
}
