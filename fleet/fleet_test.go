package fleet_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go/fleet"
	"github.com/licentric/licentric-go/internal/clocktest"
)

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func TestNewValidatesOptions(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled by a failing New
	defer rdb.Close()
	for name, tc := range map[string]struct {
		opts []fleet.Option
		want error
	}{
		"no secret":         {nil, fleet.ErrNoSecret},
		"short secret":      {[]fleet.Option{fleet.WithSecret([]byte("fifteen bytes!!"))}, fleet.ErrNoSecret},
		"empty namespace":   {[]fleet.Option{fleet.WithSecret(testSecret), fleet.WithNamespace("")}, fleet.ErrInvalidOption},
		"braces":            {[]fleet.Option{fleet.WithSecret(testSecret), fleet.WithNamespace("{acme}")}, fleet.ErrInvalidOption},
		"colon":             {[]fleet.Option{fleet.WithSecret(testSecret), fleet.WithNamespace("a:b")}, fleet.ErrInvalidOption},
		"long namespace":    {[]fleet.Option{fleet.WithSecret(testSecret), fleet.WithNamespace(strings.Repeat("a", 65))}, fleet.ErrInvalidOption},
		"zero replicas":     {[]fleet.Option{fleet.WithSecret(testSecret), fleet.WithReplicas(0)}, fleet.ErrInvalidOption},
		"zero timeout":      {[]fleet.Option{fleet.WithSecret(testSecret), fleet.WithTimeout(0)}, fleet.ErrInvalidOption},
		"nil clock":         {[]fleet.Option{fleet.WithSecret(testSecret), fleet.WithClock(nil)}, fleet.ErrInvalidOption},
		"nil logger":        {[]fleet.Option{fleet.WithSecret(testSecret), fleet.WithLogger(nil)}, fleet.ErrInvalidOption},
		"secret, then none": {[]fleet.Option{fleet.WithSecret(testSecret), fleet.WithSecret(nil)}, fleet.ErrNoSecret},
	} {
		t.Run(name, func(t *testing.T) {
			f, err := fleet.New(rdb, tc.opts...)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, f)
			assert.NotContains(t, err.Error(), string(testSecret))
		})
	}
	_, err := fleet.New(nil, fleet.WithSecret(testSecret))
	require.ErrorIs(t, err, fleet.ErrInvalidOption)
}

func TestNewWithRedisDownStillWorks(t *testing.T) {
	needRedis(t)
	p := newProxy(t, shared.Addr())
	p.Cut()
	f := newFleet(t, newRDB(t, p.Addr()), fleet.WithNamespace(namespace(t)))
	require.False(t, f.Healthy())
	_, _, ok, err := f.GetResult(t.Context(), "lic", "req")
	require.Error(t, err)
	require.False(t, ok)
	p.Restore()
	eventually(t, "the fleet joins", func() bool {
		_, _, _, err := f.GetResult(t.Context(), "lic", "req")
		return err == nil
	})
	require.True(t, f.Healthy())
}

func TestLocalShare(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer rdb.Close()
	f := newFleet(t, rdb, fleet.WithReplicas(8))
	assert.Equal(t, 7, f.LocalShare(60))
	assert.Equal(t, 1, f.LocalShare(5))
	assert.Equal(t, 0, f.LocalShare(0))
	g := newFleet(t, rdb)
	assert.Equal(t, 60, g.LocalShare(60))
}

func TestResultsAreShared(t *testing.T) {
	r := needRedis(t)
	ns := namespace(t)
	a := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns))
	b := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns))
	other := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns+"x"))
	ctx := t.Context()

	require.NoError(t, put(ctx, a, "lic-1", "req-1", []byte("result one"), time.Minute))
	v, _, ok, err := b.GetResult(ctx, "lic-1", "req-1")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "result one", string(v))

	for _, miss := range [][2]string{{"lic-1", "req-2"}, {"lic-2", "req-1"}} {
		_, _, ok, err := b.GetResult(ctx, miss[0], miss[1])
		require.NoError(t, err)
		require.False(t, ok, "%v", miss)
	}
	_, _, ok, err = other.GetResult(ctx, "lic-1", "req-1")
	require.NoError(t, err)
	require.False(t, ok, "another namespace sees nothing")

	require.NoError(t, put(ctx, b, "lic-1", "req-1", []byte("result two"), time.Minute))
	v, _, ok, err = a.GetResult(ctx, "lic-1", "req-1")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "result two", string(v))
}

func TestResultArgumentsChecked(t *testing.T) {
	r := needRedis(t)
	f := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(namespace(t)))
	require.ErrorIs(t, put(t.Context(), f, "l", "r", []byte("v"), 0), fleet.ErrInvalidArgument)
	require.ErrorIs(t, put(t.Context(), f, "l", "r", make([]byte, fleet.MaxValueLen+1), time.Minute), fleet.ErrInvalidArgument)
	_, _, err := f.Acquire(t.Context(), "k", 0)
	require.ErrorIs(t, err, fleet.ErrInvalidArgument)
	_, err = f.TakeBudget(t.Context(), "bad tier", start, 60)
	require.ErrorIs(t, err, fleet.ErrInvalidArgument)
	require.ErrorIs(t, f.InvalidateLicense(t.Context(), strings.Repeat("x", 2000), true), fleet.ErrInvalidArgument)
	require.True(t, f.Healthy(), "bad arguments are not Redis failures")
}

// A result is never served past the ttl it was stored with, on the
// Fleet's clock, whatever Redis's own expiry says.
func TestResultNeverServedPastItsTTL(t *testing.T) {
	r := needRedis(t)
	clk := clocktest.New(start)
	ns := namespace(t)
	f := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns), fleet.WithClock(clk))
	ctx := t.Context()
	require.NoError(t, put(ctx, f, "lic", "req", []byte("v"), time.Minute))
	clk.Advance(time.Minute - time.Millisecond)
	_, _, ok, err := f.GetResult(ctx, "lic", "req")
	require.NoError(t, err)
	require.True(t, ok)
	clk.Advance(time.Millisecond)
	_, _, ok, err = f.GetResult(ctx, "lic", "req")
	require.NoError(t, err)
	require.False(t, ok)

	// Someone with access to Redis makes the entry live forever: the sealed
	// expiry still ends it.
	raw := newRDB(t, r.Addr())
	keys, err := raw.Keys(ctx, resultsPattern(ns)).Result()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	pttl, err := raw.PTTL(ctx, keys[0]).Result()
	require.NoError(t, err)
	require.Greater(t, pttl, time.Duration(0))
	require.LessOrEqual(t, pttl, time.Minute)
	require.NoError(t, raw.Persist(ctx, keys[0]).Err())
	_, _, ok, err = f.GetResult(ctx, "lic", "req")
	require.NoError(t, err)
	require.False(t, ok)
}

// Nothing the fleet writes to Redis names a license or holds a result in
// clear: keys hold keyed digests, values and messages are sealed.
func TestRedisHoldsNoLicenseInClear(t *testing.T) {
	r := needRedis(t)
	ns := namespace(t)
	rdb := newRDB(t, r.Addr())
	raw := newRDB(t, r.Addr())
	ctx := t.Context()
	sub := raw.Subscribe(ctx, "lc:"+ns+":inv")
	defer sub.Close()
	_, err := sub.Receive(ctx) // the subscription's confirmation
	require.NoError(t, err)

	f := newFleet(t, rdb, fleet.WithNamespace(ns))
	const license, request, payload = "LICENSE-DIGEST-abc123", "REQUEST-DIGEST-def456", "PAYLOAD-VALID-true"
	require.NoError(t, put(ctx, f, license, request, []byte(payload), time.Minute))
	release, ok, err := f.Acquire(ctx, license+"/"+request, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	defer release()
	_, err = f.TakeBudget(ctx, "VALIDATION", start, 60)
	require.NoError(t, err)

	var dump bytes.Buffer
	keys, err := raw.Keys(ctx, "*"+ns+"*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 5, "the generation, a license's epoch and results, a lock and a budget counter: %v", keys)
	for _, k := range keys {
		dump.WriteString(k + "\n")
		switch raw.Type(ctx, k).Val() {
		case "hash":
			for field, v := range raw.HGetAll(ctx, k).Val() {
				dump.WriteString(field + "=" + v + "\n")
			}
		case "string":
			dump.WriteString(raw.Get(ctx, k).Val() + "\n")
		}
	}
	require.NoError(t, f.InvalidateLicense(ctx, license, true))
	msg, err := sub.ReceiveMessage(ctx)
	require.NoError(t, err)
	dump.WriteString(msg.Payload)

	for _, secret := range []string{license, request, payload, "LICENSE", "REQUEST", "PAYLOAD", string(testSecret)} {
		assert.NotContains(t, dump.String(), secret)
	}
}

// An entry in Redis that the fleet did not seal is a miss: garbage, a
// damaged value, a value moved from another license or request, and one
// sealed by a fleet with another secret.
func TestForgedEntriesAreIgnored(t *testing.T) {
	r := needRedis(t)
	ns := namespace(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))
	f := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns), fleet.WithLogger(logger))
	evil := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns), fleet.WithSecret([]byte("another secret, 32 bytes long!!!")))
	raw := newRDB(t, r.Addr())
	ctx := t.Context()

	// The victim's entry, and where it lives.
	require.NoError(t, put(ctx, f, "victim", "req", []byte(`{"valid":false}`), time.Minute))
	victimKey := onlyKey(t, raw, ns, nil)
	field := onlyField(t, raw, victimKey)
	require.NoError(t, put(ctx, f, "granted", "req", []byte(`{"valid":true}`), time.Minute))
	grantedKey := onlyKey(t, raw, ns, []string{victimKey})
	moved := raw.HGet(ctx, grantedKey, onlyField(t, raw, grantedKey)).Val()
	require.NoError(t, put(ctx, f, "victim", "other-req", []byte(`{"valid":true}`), time.Minute))
	var otherField string
	for k := range raw.HGetAll(ctx, victimKey).Val() {
		if k != field {
			otherField = k
		}
	}
	require.NotEmpty(t, otherField)
	// The attacker's own fleet, under another secret, seals a grant.
	require.NoError(t, put(ctx, evil, "victim", "req", []byte(`{"valid":true}`), time.Minute))
	evilValue := ""
	for _, k := range raw.Keys(ctx, resultsPattern(ns)).Val() {
		if k != victimKey && k != grantedKey {
			for _, v := range raw.HGetAll(ctx, k).Val() {
				evilValue = v
			}
		}
	}
	require.NotEmpty(t, evilValue)
	genuine := raw.HGet(ctx, victimKey, field).Val()
	flipped := []byte(genuine)
	flipped[len(flipped)-20] ^= 1

	for name, forged := range map[string]string{
		"garbage":                    `{"valid":true}`,
		"empty":                      "",
		"truncated":                  genuine[:len(genuine)-1],
		"bit flipped":                string(flipped),
		"moved from another key":     moved,
		"moved from another field":   raw.HGet(ctx, victimKey, otherField).Val(),
		"sealed with another secret": evilValue,
	} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, raw.HSet(ctx, victimKey, field, forged).Err())
			v, _, ok, err := f.GetResult(ctx, "victim", "req")
			require.NoError(t, err)
			require.False(t, ok, "served %q", v)
		})
	}
	require.NoError(t, raw.HSet(ctx, victimKey, field, genuine).Err())
	v, _, ok, err := f.GetResult(ctx, "victim", "req")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, `{"valid":false}`, string(v))

	// Not a hash at all: a miss (an error of the server's answer, not an
	// outage), and the next store replaces it.
	require.NoError(t, raw.Set(ctx, victimKey, "junk", 0).Err())
	_, _, ok, _ = f.GetResult(ctx, "victim", "req")
	require.False(t, ok)
	require.True(t, f.Healthy())
	require.NoError(t, put(ctx, f, "victim", "req", []byte("again"), time.Minute))
	v, _, ok, err = f.GetResult(ctx, "victim", "req")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "again", string(v))

	require.Equal(t, 1, strings.Count(logs.String(), "did not seal"), "logged once: %s", logs.String())
	assert.NotContains(t, logs.String(), "victim")
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

func onlyKey(t *testing.T, raw *redis.Client, ns string, except []string) string {
	t.Helper()
	var found []string
	for _, k := range raw.Keys(t.Context(), resultsPattern(ns)).Val() {
		if !contains(except, k) {
			found = append(found, k)
		}
	}
	require.Len(t, found, 1)
	return found[0]
}

func onlyField(t *testing.T, raw *redis.Client, key string) string {
	t.Helper()
	fields := raw.HKeys(t.Context(), key).Val()
	require.Len(t, fields, 1)
	return fields[0]
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// subscriber records what Subscribe delivers.
type subscriber struct {
	ch       chan string
	rechecks chan bool // each delivery's recheck, in order
}

func subscribe(t *testing.T, f *fleet.Fleet) *subscriber {
	s := &subscriber{ch: make(chan string, 100), rechecks: make(chan bool, 100)}
	stop := f.Subscribe(func(l string, recheck bool) {
		if l != joinProbe { // late echoes of joined
			s.rechecks <- recheck
			s.ch <- l
		}
	})
	t.Cleanup(stop)
	return s
}

// next returns the next delivery, failing after 10 s.
func (s *subscriber) next(t *testing.T) string {
	t.Helper()
	select {
	case l := <-s.ch:
		<-s.rechecks
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no invalidation delivered within 10 s")
		return ""
	}
}

// nextRecheck returns the next delivery and its recheck, failing after
// 10 s.
func (s *subscriber) nextRecheck(t *testing.T) (string, bool) {
	t.Helper()
	select {
	case l := <-s.ch:
		return l, <-s.rechecks
	case <-time.After(10 * time.Second):
		t.Fatal("no invalidation delivered within 10 s")
		return "", false
	}
}

func (s *subscriber) none(t *testing.T) {
	t.Helper()
	select {
	case l := <-s.ch:
		t.Fatalf("unexpected invalidation %q", l)
	default:
	}
}

const joinProbe = "join-probe"

// joined waits until f's subscription is up, by publishing through
// another member until f hears it.
func joined(t *testing.T, f, other *fleet.Fleet) {
	t.Helper()
	s := &subscriber{ch: make(chan string, 100)}
	stop := f.Subscribe(func(l string, _ bool) {
		select {
		case s.ch <- l:
		default:
		}
	})
	defer stop()
	eventually(t, "the subscription is up", func() bool {
		require.NoError(t, other.InvalidateLicense(t.Context(), joinProbe, true))
		select {
		case <-s.ch:
			return true
		case <-time.After(20 * time.Millisecond):
			return false
		}
	})
}

func TestInvalidateLicenseDropsItForTheFleet(t *testing.T) {
	r := needRedis(t)
	ns := namespace(t)
	a := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns))
	b := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns))
	joined(t, a, b)
	joined(t, b, a)
	sa, sb := subscribe(t, a), subscribe(t, b)
	ctx := t.Context()
	for _, l := range []string{"lic-1", "lic-2"} {
		for _, req := range []string{"req-1", "req-2"} {
			require.NoError(t, put(ctx, a, l, req, []byte(l+req), time.Minute))
		}
	}

	require.NoError(t, b.InvalidateLicense(ctx, "lic-1", true))
	require.Equal(t, "lic-1", sb.next(t), "the member's own subscribers, at once")
	require.Equal(t, "lic-1", sa.next(t), "the other member's subscribers")
	sa.none(t)
	sb.none(t)
	for _, req := range []string{"req-1", "req-2"} {
		_, _, ok, err := a.GetResult(ctx, "lic-1", req)
		require.NoError(t, err)
		require.False(t, ok)
		v, _, ok, err := a.GetResult(ctx, "lic-2", req)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "lic-2"+req, string(v))
	}
}

// An invalidation tells every member whether the license itself may have
// changed (recheck: a guard asks again) or only its results went stale (a
// machine's activity), locally and through Redis, also when it was sent
// late; InvalidateAll always says recheck.
func TestInvalidationsCarryRecheck(t *testing.T) {
	r := needRedis(t)
	ns := namespace(t)
	a := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns))
	b := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns))
	joined(t, a, b)
	sa, sb := subscribe(t, a), subscribe(t, b)
	ctx := t.Context()
	for _, recheck := range []bool{true, false, true} {
		require.NoError(t, b.InvalidateLicense(ctx, "lic", recheck))
		for name, s := range map[string]*subscriber{"own": sb, "other": sa} {
			l, got := s.nextRecheck(t)
			assert.Equal(t, "lic", l, name)
			assert.Equal(t, recheck, got, "%s member, sent with recheck %v", name, recheck)
		}
	}
	require.NoError(t, b.InvalidateAll(ctx))
	for _, s := range []*subscriber{sb, sa} {
		l, got := s.nextRecheck(t)
		assert.Equal(t, "", l)
		assert.True(t, got)
	}

	// Sent when Redis answers again: the recheck is kept.
	gone, cancel := context.WithCancel(ctx)
	cancel()
	require.Error(t, b.InvalidateLicense(gone, "late", false))
	_, _ = sb.nextRecheck(t)
	_, _, _, err := b.GetResult(ctx, "other", "req") // sends it first
	require.NoError(t, err)
	l, got := sa.nextRecheck(t)
	assert.Equal(t, "late", l)
	assert.False(t, got)
}

func TestInvalidateAllDropsEverything(t *testing.T) {
	r := needRedis(t)
	ns := namespace(t)
	a := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns))
	b := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns))
	joined(t, a, b)
	sa, sb := subscribe(t, a), subscribe(t, b)
	ctx := t.Context()
	require.NoError(t, put(ctx, a, "lic-1", "req", []byte("1"), time.Minute))
	require.NoError(t, put(ctx, a, "lic-2", "req", []byte("2"), time.Minute))

	require.NoError(t, b.InvalidateAll(ctx))
	require.Equal(t, "", sb.next(t))
	require.Equal(t, "", sa.next(t))
	for _, f := range []*fleet.Fleet{a, b} {
		for _, l := range []string{"lic-1", "lic-2"} {
			_, _, ok, err := f.GetResult(ctx, l, "req")
			require.NoError(t, err)
			require.False(t, ok)
		}
	}
	// Results stored afterwards, by either member, are shared again.
	require.NoError(t, put(ctx, a, "lic-1", "req", []byte("new"), time.Minute))
	v, _, ok, err := b.GetResult(ctx, "lic-1", "req")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "new", string(v))

	// A member that joins later starts in the new generation.
	c := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns))
	v, _, ok, err = c.GetResult(ctx, "lic-1", "req")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "new", string(v))
}

func TestSubscribeStop(t *testing.T) {
	r := needRedis(t)
	f := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(namespace(t)))
	var n atomic.Int32
	stop := f.Subscribe(func(string, bool) { n.Add(1) })
	require.NoError(t, f.InvalidateLicense(t.Context(), "l", true))
	require.Equal(t, int32(1), n.Load())
	stop()
	stop()
	require.NoError(t, f.InvalidateLicense(t.Context(), "l", true))
	require.Equal(t, int32(1), n.Load())
	f.Subscribe(nil)() // a nil fn is a no-op
}

// The shared budget is a fixed-window count: of 8 members × 40 concurrent
// takes in one window exactly the limit succeed, and the next window has
// the whole limit again.
func TestBudgetIsOneFixedWindowCount(t *testing.T) {
	r := needRedis(t)
	ns := namespace(t)
	clk := clocktest.New(start)
	members := make([]*fleet.Fleet, 8)
	for i := range members {
		// A generous deadline: 320 calls at once under -race on a small
		// machine queue for connections; this test counts, it does not time.
		members[i] = newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns), fleet.WithClock(clk), fleet.WithTimeout(5*time.Second))
	}
	windowEnd := start.Add(time.Minute)
	take := func(windowEnd time.Time, tier string) int {
		var ok atomic.Int32
		var wg sync.WaitGroup
		for _, f := range members {
			for range 40 {
				wg.Go(func() {
					got, err := f.TakeBudget(t.Context(), tier, windowEnd, 60)
					assert.NoError(t, err)
					if got {
						ok.Add(1)
					}
				})
			}
		}
		wg.Wait()
		return int(ok.Load())
	}
	require.Equal(t, 60, take(windowEnd, "VALIDATION"))
	require.Equal(t, 60, take(windowEnd.Add(time.Minute), "VALIDATION"))
	require.Equal(t, 60, take(windowEnd, "MANAGEMENT"), "tiers count apart")

	ok, err := members[0].TakeBudget(t.Context(), "VALIDATION", windowEnd, 0)
	require.NoError(t, err)
	require.True(t, ok, "no limit")

	raw := newRDB(t, r.Addr())
	key := fmt.Sprintf("lc:%s:b:VALIDATION:%d", ns, windowEnd.Unix())
	require.Equal(t, "320", raw.Get(t.Context(), key).Val())
	pttl := raw.PTTL(t.Context(), key).Val()
	require.Greater(t, pttl, time.Duration(0))
	require.LessOrEqual(t, pttl, 2*time.Minute, "the counter outlives its window by a minute")
}

// Units a member sends on its local share while Redis is unreachable
// (TakeBudget failed) are added to the window's counter when Redis is back,
// so the members' local sends and the shared ones stay within the limit
// together; a call whose caller gave up counts nothing.
func TestBudgetTakenWhileDownIsChargedOnRejoin(t *testing.T) {
	r := needRedis(t)
	ns := namespace(t)
	clk := clocktest.New(start)
	p := newProxy(t, r.Addr())
	cut := newFleet(t, newRDB(t, p.Addr()), fleet.WithNamespace(ns), fleet.WithClock(clk))
	peer := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns), fleet.WithClock(clk))
	windowEnd := start.Add(time.Minute)
	ctx := t.Context()

	p.Cut()
	for range 5 {
		ok, err := cut.TakeBudget(ctx, "VALIDATION", windowEnd, 60)
		require.Error(t, err)
		require.False(t, ok)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	_, err := cut.TakeBudget(gone, "VALIDATION", windowEnd, 60)
	require.Error(t, err)
	_, err = cut.TakeBudget(ctx, "VALIDATION", start, 60) // a window that is over
	require.Error(t, err)

	p.Restore()
	eventually(t, "the cut member rejoins", func() bool {
		_, _, _, err := cut.GetResult(ctx, "probe", "probe")
		return err == nil
	})
	require.Equal(t, 55, grantedOf70(t, peer, windowEnd), "the 5 units sent on the local share were charged")
}

func TestAcquireHasOneHolder(t *testing.T) {
	r := needRedis(t)
	ns := namespace(t)
	members := make([]*fleet.Fleet, 8)
	for i := range members {
		members[i] = newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns))
	}
	var (
		holders  atomic.Int32
		releases = make(chan func(), len(members))
		wg       sync.WaitGroup
	)
	for _, f := range members {
		wg.Go(func() {
			release, ok, err := f.Acquire(t.Context(), "lic/req", time.Minute)
			assert.NoError(t, err)
			require.NotNil(t, release)
			if ok {
				holders.Add(1)
				releases <- release
			} else {
				release() // a no-op
			}
		})
	}
	wg.Wait()
	require.Equal(t, int32(1), holders.Load())
	release := <-releases

	_, ok, err := members[0].Acquire(t.Context(), "lic/other", time.Minute)
	require.NoError(t, err)
	require.True(t, ok, "another key is free")

	release()
	next, ok, err := members[1].Acquire(t.Context(), "lic/req", time.Minute)
	require.NoError(t, err)
	require.True(t, ok, "free after release")
	release() // again, while members[1] holds it: must not drop its lock
	_, ok, err = members[2].Acquire(t.Context(), "lic/req", time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "a late release dropped the new holder's lock")
	next()
}

// A holder that crashes (never releases, and renews no more: Close stops
// the renewals as a crash does) blocks others until the lock's ttl, not
// longer.
func TestAcquireCrashedHolderExpires(t *testing.T) {
	r := needRedis(t)
	ns := namespace(t)
	a := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns))
	b := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns))
	_, ok, err := a.Acquire(t.Context(), "key", 300*time.Millisecond)
	require.NoError(t, err)
	require.True(t, ok)
	_, ok, err = b.Acquire(t.Context(), "key", time.Minute)
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, a.Close())

	raw := newRDB(t, r.Addr())
	locks := raw.Keys(t.Context(), "lc:"+ns+":f:*").Val()
	require.Len(t, locks, 1)
	pttl := raw.PTTL(t.Context(), locks[0]).Val()
	require.Greater(t, pttl, time.Duration(0))
	require.LessOrEqual(t, pttl, 300*time.Millisecond)

	eventually(t, "b acquires once the ttl passed", func() bool {
		_, ok, err := b.Acquire(t.Context(), "key", time.Minute)
		require.NoError(t, err)
		return ok
	})
}

// A holder that works longer than the lock's ttl (waiting for the rate
// budget's next window) keeps the lock until it releases it: the others
// wait for its result instead of asking the service too.
func TestAcquireIsKeptWhileHeld(t *testing.T) {
	r := needRedis(t)
	ns := namespace(t)
	a := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns))
	b := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns))
	const ttl = 150 * time.Millisecond
	release, ok, err := a.Acquire(t.Context(), "key", ttl)
	require.NoError(t, err)
	require.True(t, ok)

	// Ask for the lock for six ttls: it stays a's all along.
	for end := time.Now().Add(6 * ttl); time.Now().Before(end); {
		_, ok, err := b.Acquire(t.Context(), "key", time.Minute)
		require.NoError(t, err)
		require.False(t, ok, "the lock ended while its holder still held it")
		time.Sleep(10 * time.Millisecond) // polling a condition that must hold throughout
	}

	release()
	next, ok, err := b.Acquire(t.Context(), "key", time.Minute)
	require.NoError(t, err)
	require.True(t, ok, "free after release")
	next()
}

// While Redis is unreachable every call fails, quickly and without
// blocking the caller past the deadline; the fleet logs once, rejoins when
// Redis is back, logs once more, and replays the invalidations it could
// not send.
func TestUnreachableRedisFailsFastAndRejoins(t *testing.T) {
	r := needRedis(t)
	ns := namespace(t)
	var logs syncWriter
	logs.w = &bytes.Buffer{}
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	p := newProxy(t, r.Addr())
	cut := newFleet(t, newRDB(t, p.Addr()), fleet.WithNamespace(ns), fleet.WithLogger(logger))
	peer := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns))
	joined(t, peer, cut)
	sPeer, sCut := subscribe(t, peer), subscribe(t, cut)
	ctx := t.Context()
	require.NoError(t, put(ctx, peer, "lic", "req", []byte("v"), time.Minute))

	p.Cut()
	for range 3 { // three failures in a row
		require.True(t, cut.Healthy())
		_, _, ok, err := cut.GetResult(ctx, "lic", "req")
		require.Error(t, err)
		require.False(t, ok)
	}
	require.False(t, cut.Healthy())
	for range 100 {
		_, _, _, err := cut.GetResult(ctx, "lic", "req")
		require.Error(t, err)
		ok, err := cut.TakeBudget(ctx, "VALIDATION", start, 60)
		require.Error(t, err)
		require.False(t, ok)
		release, ok, err := cut.Acquire(ctx, "k", time.Second)
		require.Error(t, err)
		require.False(t, ok)
		release()
		require.Error(t, put(ctx, cut, "l", "r", []byte("v"), time.Minute))
	}
	require.Error(t, cut.InvalidateLicense(ctx, "lic", true))
	require.Equal(t, "lic", sCut.next(t), "local subscribers are told even when Redis is not")
	_, _, ok, err := peer.GetResult(ctx, "lic", "req")
	require.NoError(t, err)
	require.True(t, ok, "Redis was not told yet")

	p.Restore()
	eventually(t, "the cut member rejoins", func() bool {
		_, err := cut.TakeBudget(ctx, "VALIDATION", start, 60)
		return err == nil
	})
	require.True(t, cut.Healthy())
	_, _, ok, err = peer.GetResult(ctx, "lic", "req")
	require.NoError(t, err)
	require.False(t, ok, "the invalidation was replayed on rejoin")
	require.Equal(t, "lic", sPeer.next(t))

	out := logs.String()
	require.Equal(t, 1, strings.Count(out, "redis unreachable"), out)
	require.Equal(t, 1, strings.Count(out, "reachable again"), out)
}

// A Redis that accepts connections and never answers costs each call at
// most the deadline, whatever the client: a *redis.Client (whose own read
// timeout is seconds), one with ContextTimeoutEnabled, and a client of
// another type.
func TestHungRedisTimesOut(t *testing.T) {
	r := needRedis(t)
	for name, client := range map[string]func(addr string) redis.UniversalClient{
		"redis.Client": func(addr string) redis.UniversalClient {
			return newRDB(t, addr)
		},
		"ContextTimeoutEnabled": func(addr string) redis.UniversalClient {
			rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
			t.Cleanup(func() { _ = rdb.Close() })
			return rdb
		},
		"another UniversalClient": func(addr string) redis.UniversalClient {
			return otherClient{newRDB(t, addr)}
		},
	} {
		t.Run(name, func(t *testing.T) {
			p := newProxy(t, r.Addr())
			f := newFleet(t, client(p.Addr()), fleet.WithNamespace(namespace(t)), fleet.WithTimeout(50*time.Millisecond))
			require.NoError(t, put(t.Context(), f, "l", "r", []byte("v"), time.Minute))
			p.Hang()
			for range 3 {
				_, _, ok, err := f.GetResult(t.Context(), "l", "r")
				require.Error(t, err)
				require.False(t, ok)
			}
			require.False(t, f.Healthy())
			_, err := f.TakeBudget(t.Context(), "VALIDATION", start, 60)
			require.ErrorIs(t, err, fleet.ErrUnavailable, "answered at once while Redis is known down")
		})
	}
}

// otherClient is a redis.UniversalClient of a type the Fleet does not know.
type otherClient struct{ *redis.Client }

// When Redis crashes and comes back empty, each member's subscription
// comes back and tells its subscribers to drop everything (invalidations
// may have been missed), and the members share again.
func TestRedisRestartResyncs(t *testing.T) {
	r := ownRedis(t)
	ns := namespace(t)
	a := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns))
	b := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns))
	joined(t, a, b)
	ctx := t.Context()
	sa, sb := subscribe(t, a), subscribe(t, b)
	require.NoError(t, a.InvalidateAll(ctx)) // generation 1
	require.Equal(t, "", sa.next(t))
	require.Equal(t, "", sb.next(t))

	r.Kill()
	_, _, _, err := a.GetResult(ctx, "l", "r")
	require.Error(t, err)
	require.NoError(t, r.Start())
	require.Equal(t, "", sa.next(t), "told to drop everything after the break")
	require.Equal(t, "", sb.next(t), "told to drop everything after the break")
	eventually(t, "both members rejoin", func() bool {
		_, _, _, ea := a.GetResult(ctx, "l", "r")
		_, _, _, eb := b.GetResult(ctx, "l", "r")
		return ea == nil && eb == nil
	})
	require.NoError(t, put(ctx, b, "l", "r", []byte("after"), time.Minute))
	v, _, ok, err := a.GetResult(ctx, "l", "r")
	require.NoError(t, err)
	require.True(t, ok, "both members use the generation Redis holds now")
	require.Equal(t, "after", string(v))
}

func TestClosedFleet(t *testing.T) {
	r := needRedis(t)
	f, err := fleet.New(newRDB(t, r.Addr()), fleet.WithSecret(testSecret), fleet.WithNamespace(namespace(t)))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, f.Close())
	_, _, _, err = f.GetResult(t.Context(), "l", "r")
	require.ErrorIs(t, err, fleet.ErrClosed)
	require.ErrorIs(t, put(t.Context(), f, "l", "r", []byte("v"), time.Minute), fleet.ErrClosed)
	require.ErrorIs(t, f.InvalidateAll(t.Context()), fleet.ErrClosed)
	_, err = f.TakeBudget(t.Context(), "VALIDATION", start, 1)
	require.ErrorIs(t, err, fleet.ErrClosed)
}

// Close stops every goroutine the Fleet started (its own and go-redis's
// for the subscription).
func TestCloseLeaksNoGoroutine(t *testing.T) {
	r := needRedis(t)
	ns := namespace(t)
	// Warm up what the runtime and testing start once.
	func() {
		rdb := redis.NewClient(&redis.Options{Addr: r.Addr()})
		f, err := fleet.New(rdb, fleet.WithSecret(testSecret), fleet.WithNamespace(ns))
		require.NoError(t, err)
		require.NoError(t, f.Close())
		require.NoError(t, rdb.Close())
	}()
	before := runtime.NumGoroutine()
	for range 5 {
		rdb := redis.NewClient(&redis.Options{Addr: r.Addr()})
		f, err := fleet.New(rdb, fleet.WithSecret(testSecret), fleet.WithNamespace(ns))
		require.NoError(t, err)
		require.NoError(t, put(t.Context(), f, "l", "r", []byte("v"), time.Minute))
		f.Subscribe(func(string, bool) {})
		require.NoError(t, f.InvalidateLicense(t.Context(), "l", true))
		require.NoError(t, f.Close())
		require.NoError(t, rdb.Close())
	}
	eventually(t, "goroutines end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestStringShowsNoSecret(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer rdb.Close()
	f := newFleet(t, rdb, fleet.WithNamespace("acme-prod"))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		s := fmt.Sprintf(verb, f)
		assert.Contains(t, s, "acme-prod", verb)
		assert.NotContains(t, s, string(testSecret), verb)
		assert.NotContains(t, s, "aead", verb)
	}
	assert.Equal(t, "acme-prod", f.Namespace())
}

// The windows are the service's: a member whose clock runs ahead of the
// service's still owes the units it sent on its local share to a window
// that its own clock says is over, but the service's is not.
func TestBudgetDebtSurvivesAClockAhead(t *testing.T) {
	r := needRedis(t)
	ns := namespace(t)
	windowEnd := start.Add(time.Minute)
	ahead := clocktest.New(windowEnd.Add(30 * time.Second)) // 30 s ahead, near the end of the service's window
	p := newProxy(t, r.Addr())
	cut := newFleet(t, newRDB(t, p.Addr()), fleet.WithNamespace(ns), fleet.WithClock(ahead))
	peer := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns), fleet.WithClock(clocktest.New(start)))
	ctx := t.Context()

	p.Cut()
	for range 5 {
		_, err := cut.TakeBudget(ctx, "VALIDATION", windowEnd, 60)
		require.Error(t, err)
	}
	p.Restore()
	eventually(t, "the cut member rejoins", func() bool {
		_, _, _, err := cut.GetResult(ctx, "probe", "probe")
		return err == nil
	})
	require.Equal(t, 55, grantedOf70(t, peer, windowEnd), "the 5 units sent on the local share were charged")
}

// A unit taken in a failure too short to mark Redis down (and so with no
// rejoin to charge it) is charged by the next call that gets through,
// whatever window that call is for; so is one whose call ran into the
// caller's deadline.
func TestBudgetOwedAfterABriefFailureIsChargedByTheNextCall(t *testing.T) {
	r := needRedis(t)
	ns := namespace(t)
	clk := clocktest.New(start)
	p := newProxy(t, r.Addr())
	cut := newFleet(t, newRDB(t, p.Addr()), fleet.WithNamespace(ns), fleet.WithClock(clk))
	peer := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns), fleet.WithClock(clk))
	windowEnd := start.Add(time.Minute)
	ctx := t.Context()

	p.Cut()
	_, err := cut.TakeBudget(ctx, "VALIDATION", windowEnd, 60)
	require.Error(t, err)
	p.Hang()
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	_, err = cut.TakeBudget(short, "VALIDATION", windowEnd, 60) // ends by the caller's deadline
	cancel()
	require.Error(t, err)
	require.True(t, cut.Healthy(), "two failures do not mark Redis down")
	p.Restore()

	eventually(t, "the next call gets through", func() bool {
		_, err := cut.TakeBudget(ctx, "VALIDATION", windowEnd.Add(time.Minute), 60) // another window
		return err == nil
	})
	require.Equal(t, 58, grantedOf70(t, peer, windowEnd), "the 2 units of the brief failure were charged")
}

// grantedOf70 asks f for 70 units of a window of 60 and returns how many
// it granted: 60 less what the window's counter held already.
func grantedOf70(t *testing.T, f *fleet.Fleet, windowEnd time.Time) int {
	t.Helper()
	granted := 0
	for range 70 {
		ok, err := f.TakeBudget(t.Context(), "VALIDATION", windowEnd, 60)
		require.NoError(t, err)
		if ok {
			granted++
		}
	}
	return granted
}
