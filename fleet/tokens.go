package fleet

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// What an invalidation ends, and how a member keeps it ended.
//
// Two random tokens decide which results a member may read: the
// namespace's generation (lc:<ns>:gen), which InvalidateAll replaces and
// which names the hashes results live in, and each license's epoch
// (lc:<ns>:{<license>}:e), which InvalidateLicense replaces and under which
// each result is sealed. A result is read only with the epoch Redis holds
// now (one round trip reads both), so a result written back after its
// license's invalidation does not open; a token is random, so one cannot be
// rolled back without a copy of it; and each member keeps the tokens it saw
// invalidated, so it never reads under one again, whatever Redis is made to
// hold: when it finds one there, it replaces it and tells the fleet, which
// undoes the rollback for the members that did not see the invalidation.

// readGenScript returns the generation, making a fresh one (ARGV[1]) when
// there is none: {1, fresh} when it made it, {0, current} otherwise, with
// "?" for a key that is not a string (written by someone else).
var readGenScript = redis.NewScript(`
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then
  redis.call('SET', KEYS[1], ARGV[1])
  return {1, ARGV[1]}
end
if t ~= 'string' then return {0, '?'} end
return {0, redis.call('GET', KEYS[1])}
`)

// swapGenScript replaces the generation with ARGV[2] if it is ARGV[1] ("*":
// whatever it is) and returns {1, old} or, when it is not, {0, current}
// ("" for none, "?" for a key that is not a string).
var swapGenScript = redis.NewScript(`
local t = redis.call('TYPE', KEYS[1]).ok
local cur = ''
if t == 'string' then cur = redis.call('GET', KEYS[1]) elseif t ~= 'none' then cur = '?' end
if ARGV[1] ~= '*' and cur ~= ARGV[1] then return {0, cur} end
redis.call('SET', KEYS[1], ARGV[2])
return {1, cur}
`)

// errGenUnsettled reports that the generation changed under every try to
// read it (a writer keeps replacing it).
var errGenUnsettled = errors.New("fleet: the generation in redis keeps changing")

// syncGen reads the namespace's generation and adopts it. A generation
// that is missing is made anew (so that a deleted one brings back nothing)
// and the fleet told to read it; one this member saw invalidated, or that
// is not a token, is replaced and the fleet told. It runs under the
// caller's deadline (see bounded).
func (f *Fleet) syncGen(ctx context.Context) error {
	for range 3 {
		res, err := readGenScript.Run(ctx, f.rdb, []string{f.genKey}, newToken()).Slice()
		if err != nil {
			return err
		}
		made, g, ok := scriptPair(res)
		if !ok {
			return errors.New("fleet: unexpected answer of redis")
		}
		if !validToken(g) || f.isKilled(g) {
			// Rolled back to a generation this member saw invalidated,
			// or written by someone else: replace it, unless another
			// member did meanwhile.
			f.logRolledBack()
			fresh := newToken()
			res, err := swapGenScript.Run(ctx, f.rdb, []string{f.genKey}, g, fresh).Slice()
			if err != nil {
				return err
			}
			if swapped, _, _ := scriptPair(res); swapped {
				f.adoptGen(fresh)
				return f.publish(ctx, message{all: true, killed: tokenOrNone(g)})
			}
			continue
		}
		if !f.adoptGen(g) {
			continue // killed meanwhile: read again
		}
		if made {
			// Made anew: the members on the one that went missing read it.
			return f.publish(ctx, message{all: true})
		}
		return nil
	}
	return errGenUnsettled
}

// generation returns the generation, reading it first when this member
// does not hold one (at start, or after it was killed).
func (f *Fleet) generation(ctx context.Context) (string, error) {
	if g := f.gen.Load(); g != nil {
		return *g, nil
	}
	if err := f.syncGen(ctx); err != nil {
		return "", err
	}
	if g := f.gen.Load(); g != nil {
		return *g, nil
	}
	return "", errGenUnsettled
}

// adoptGen makes g the generation unless it was killed; the one held
// before, if another, is killed (it was replaced: read under it no more).
func (f *Fleet) adoptGen(g string) bool {
	f.kmu.Lock()
	defer f.kmu.Unlock()
	if _, dead := f.killed[g]; dead {
		return false
	}
	if prev := f.gen.Load(); prev != nil && *prev != g {
		f.killLocked(*prev)
	}
	f.gen.Store(&g)
	return true
}

// kill records that token was invalidated; a generation this member holds
// is dropped (the next call reads the generation again).
func (f *Fleet) kill(token string) {
	if !validToken(token) {
		return
	}
	f.kmu.Lock()
	defer f.kmu.Unlock()
	f.killLocked(token)
}

func (f *Fleet) killLocked(token string) {
	if g := f.gen.Load(); g != nil && *g == token {
		f.gen.CompareAndSwap(g, nil)
	}
	if _, ok := f.killed[token]; ok {
		return
	}
	if len(f.killedRing) < maxKilled {
		f.killedRing = append(f.killedRing, token)
	} else {
		delete(f.killed, f.killedRing[f.killedNext])
		f.killedRing[f.killedNext] = token
		f.killedNext = (f.killedNext + 1) % maxKilled
	}
	f.killed[token] = struct{}{}
}

// isKilled reports whether this member saw token invalidated.
func (f *Fleet) isKilled(token string) bool {
	f.kmu.Lock()
	defer f.kmu.Unlock()
	_, ok := f.killed[token]
	return ok
}

// publish seals m and publishes it on the namespace's channel.
func (f *Fleet) publish(ctx context.Context, m message) error {
	m.sender = f.member
	return f.rdb.Publish(ctx, f.channel, f.keys.sealMessage(f.channel, m)).Err()
}

// logRolledBack logs, once, that Redis held a token this member saw
// invalidated.
func (f *Fleet) logRolledBack() {
	if f.rolledBack.CompareAndSwap(false, true) {
		f.log.Warn("fleet: redis held an invalidated generation or license epoch (restored from an old snapshot, or written back by someone without the secret); replaced it, and the fleet was told; further ones are replaced silently",
			"namespace", f.ns)
	}
}

// scriptPair reads a script's {flag, string} answer.
func scriptPair(res []any) (flag bool, s string, ok bool) {
	if len(res) != 2 {
		return false, "", false
	}
	n, ok1 := res[0].(int64)
	s, ok2 := res[1].(string)
	return n == 1, s, ok1 && ok2
}

// tokenOrNone is s if it is a token, else "".
func tokenOrNone(s string) string {
	if validToken(s) {
		return s
	}
	return ""
}
