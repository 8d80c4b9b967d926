package fleet_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/fleet"
	"github.com/licentric/licentric-go/internal/clocktest"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/licentrictest"
)

// End to end: separate licentric.Client values (separate local caches and
// budgets), each with its own go-redis client and Fleet, as replicas
// behind one address are, against licentrictest over loopback with the
// service's real limit of 60 validations a minute.

const validatePath = "/licenses/validate-key"

var simStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) // a whole minute

// serverLead is how far the service's clock runs ahead of the members'.
// Both clocks move only together (see drive), so the lead stays what it is
// between two hosts, and the members learn it from the Date header. (A
// server clock that flowed with real time while the members' stood still
// for the driver would move the service's windows under the members.)
const serverLead = 2500 * time.Millisecond

// fleetSim is a server, a client clock that moves with it, and the
// members of one namespace.
type fleetSim struct {
	srv     *licentrictest.Server
	clk     *clocktest.Clock
	ns      string
	redis   string // address
	raw     *redis.Client
	keys    []string // license keys
	ids     []string // their ids
	members []*member

	// busy counts the members' Redis commands and dials and their HTTP
	// requests in progress: real-time work the driver lets finish before
	// it moves the clocks (see drive).
	busy atomic.Int64

	redisDown atomic.Bool // the test killed Redis
}

// busyHook counts a member's Redis commands and dials in progress.
type busyHook struct{ n *atomic.Int64 }

func (h busyHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		h.n.Add(1)
		defer h.n.Add(-1)
		return next(ctx, network, addr)
	}
}

func (h busyHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		defer h.n.Add(-1)
		return next(ctx, cmd)
	}
}

func (h busyHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		defer h.n.Add(-1)
		return next(ctx, cmds)
	}
}

// busyTransport counts a member's HTTP requests in progress.
type busyTransport struct {
	n    *atomic.Int64
	next http.RoundTripper
}

func (b busyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	b.n.Add(1)
	defer b.n.Add(-1)
	return b.next.RoundTrip(r)
}

type member struct {
	f *fleet.Fleet
	c *licentric.Client
}

func newFleetSim(t *testing.T, redisAddr string, licenses int, srvOpts ...licentrictest.Option) *fleetSim {
	t.Helper()
	srv := licentrictest.NewServer(append([]licentrictest.Option{licentrictest.WithFrozenClock(simStart.Add(serverLead))}, srvOpts...)...)
	t.Cleanup(srv.Close)
	s := &fleetSim{srv: srv, clk: clocktest.New(simStart), ns: namespace(t), redis: redisAddr, raw: newRDB(t, redisAddr)}
	fx, err := srv.Seed(licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	require.NoError(t, err)
	s.keys, s.ids = append(s.keys, fx.License.Key), append(s.ids, fx.License.ID)
	for len(s.keys) < licenses {
		l, err := srv.AddLicense(fx.Env, fx.Policy.ID, licentrictest.LicenseRequest{})
		require.NoError(t, err)
		s.keys, s.ids = append(s.keys, l.Key), append(s.ids, l.ID)
	}
	return s
}

// addMembers adds n members, each with its own go-redis client, Fleet and
// licentric.Client.
func (s *fleetSim) addMembers(t *testing.T, n int, opts ...fleet.Option) {
	t.Helper()
	for range n {
		rdb := redis.NewClient(&redis.Options{Addr: s.redis}) // as a user builds it
		rdb.AddHook(busyHook{&s.busy})
		t.Cleanup(func() { _ = rdb.Close() })
		// A deadline of a second, not the default 100 ms: 512 goroutines
		// under -race on a small machine queue for Redis connections, and
		// a call that times out falls back to local state, which this test
		// counts as a failure to share. Once Redis is killed, each Fleet
		// knows it after a few calls and fails at once.
		f := newFleet(t, rdb, append([]fleet.Option{fleet.WithNamespace(s.ns), fleet.WithReplicas(n),
			fleet.WithClock(s.clk), fleet.WithTimeout(time.Second)}, opts...)...)
		hc := *s.srv.Client()
		hc.Transport = busyTransport{&s.busy, hc.Transport}
		c := testkit.Client(t, s.srv, licentric.WithHTTPClient(&hc), licentric.WithClock(s.clk),
			licentric.WithRetry(testkit.FastRetry), licentric.WithFleet(f))
		s.members = append(s.members, &member{f: f, c: c})
	}
}

// Advance moves the server's clock, then the clients'.
func (s *fleetSim) Advance(d time.Duration) {
	s.srv.Advance(d)
	s.clk.Advance(d)
}

// nextMinute moves both clocks to the start of the next minute.
func (s *fleetSim) nextMinute() {
	now := s.clk.Now()
	s.Advance(now.Truncate(time.Minute).Add(time.Minute).Sub(now))
}

// validations counts the validate-key requests the server received.
func (s *fleetSim) validations() int {
	return s.srv.CountRequests(http.MethodPost, validatePath)
}

func (s *fleetSim) no429(t *testing.T) {
	t.Helper()
	for _, r := range s.srv.Requests() {
		require.NotEqual(t, http.StatusTooManyRequests, r.Status, "the server answered 429 to %s %s at %s", r.Method, r.Path, r.Time)
	}
}

// drive moves time while the test runs, only as far as the clients need,
// and never while a member is busy in real time (a Redis command or dial,
// an HTTP request), which the clocks' jumps must not make look minutes
// long. Whenever a client waits on the clock, no member is busy and every
// validation the server received has been answered, time jumps to the
// next minute if the shared budget of this minute is spent (every unit
// granted in it has reached the server: requests are never in flight
// across a window's end), and moves 50 ms otherwise, at most fifty times
// as fast as real time (a member between two steps of its own, say from
// taking a budget unit to sending its request, is not counted as busy;
// the pace keeps such gaps well inside a second on the clocks). It
// returns a function that stops it.
func (s *fleetSim) drive(t *testing.T) (stop func()) {
	var (
		stopped atomic.Bool
		done    = make(chan struct{})
	)
	const step, pace = 50 * time.Millisecond, time.Millisecond // pace: real time per step
	go func() {
		defer close(done)
		last := time.Now()
		for {
			s.clk.BlockUntil(1)
			if stopped.Load() {
				return
			}
			if s.busy.Load() > 0 {
				time.Sleep(50 * time.Microsecond) // polling a condition
				continue
			}
			switch settled, spent := s.window(); {
			case !settled:
				time.Sleep(time.Millisecond) // polling a condition
			case spent:
				s.nextMinute()
			default:
				if wait := pace - time.Since(last); wait > 0 {
					time.Sleep(wait) // pacing, not synchronisation
				}
				last = time.Now()
				s.Advance(step)
			}
		}
	}()
	return func() {
		stopped.Store(true)
		s.clk.After(time.Hour) // wakes the driver
		<-done
	}
}

// window reports whether every validate-key request received was answered
// and every unit of the shared budget granted in the current minute has
// arrived, and whether the minute's shared budget is spent (false when
// Redis cannot tell).
func (s *fleetSim) window() (settled, spent bool) {
	now := s.srv.Now()
	windowStart := now.Truncate(time.Minute)
	arrived := 0
	for _, r := range s.srv.Requests() {
		if r.Path != validatePath {
			continue
		}
		if r.Status == 0 {
			return false, false
		}
		if !r.Time.Before(windowStart) {
			arrived++
		}
	}
	if s.redisDown.Load() {
		return true, false // and a look would take the whole deadline (go-redis dials until it ends)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	key := fmt.Sprintf("lc:%s:b:VALIDATION:%d", s.ns, windowStart.Add(time.Minute).Unix())
	n, err := s.raw.Get(ctx, key).Int()
	if err != nil {
		return true, false // no counter (or no Redis): nothing granted through it
	}
	return arrived >= min(n, 60), n >= 60
}

type tally struct {
	calls, fromCache atomic.Int64
	mu               sync.Mutex
	failure          error
}

func (tl *tally) fail(err error) {
	tl.mu.Lock()
	if tl.failure == nil {
		tl.failure = err
	}
	tl.mu.Unlock()
}

// run validates keys from every member with goroutines goroutines each,
// every goroutine over every key (starting at a different one), and
// calls after(n) after the n-th call of all. Every call must return a
// valid result.
func (s *fleetSim) run(t *testing.T, keys []string, goroutines int, after func(n int64)) *tally {
	t.Helper()
	var (
		tl tally
		wg sync.WaitGroup
	)
	for mi, m := range s.members {
		for g := range goroutines {
			wg.Go(func() {
				for i := range keys {
					key := keys[(i+g*7+mi*13)%len(keys)]
					v, err := m.c.Validate(t.Context(), key)
					if err != nil {
						tl.fail(fmt.Errorf("member %d: Validate: %w", mi, err))
						return
					}
					if !v.Valid {
						tl.fail(fmt.Errorf("member %d: not valid: %s %s", mi, v.Code, v.Detail))
						return
					}
					if v.FromCache {
						tl.fromCache.Add(1)
					}
					if n := tl.calls.Add(1); after != nil {
						after(n)
					}
					// An application does other work between two checks;
					// without this, 512 goroutines of nothing but cache hits
					// keep the goroutines waiting on Redis off the CPU for
					// longer than any sensible Redis deadline.
					runtime.Gosched()
				}
			})
		}
	}
	wg.Wait()
	require.NoError(t, tl.failure)
	require.Equal(t, int64(len(s.members)*goroutines*len(keys)), tl.calls.Load(), "every call answered")
	return &tl
}

// Eight members × 64 goroutines × 100 licenses: the fleet asks the service
// once per license (at most 100 requests where eight lone clients would
// send 800) and is never answered 429, though 100 licenses take two of the
// service's minutes.
func TestFleetSharesOneBudgetAndOneCache(t *testing.T) {
	r := needRedis(t)
	s := newFleetSim(t, r.Addr(), 100)
	s.addMembers(t, 8)
	stop := s.drive(t)
	tl := s.run(t, s.keys, 64, nil)
	stop()
	n := s.validations()
	s.no429(t)
	assert.LessOrEqual(t, n, 100, "validate-key requests")
	t.Logf("%d validations by 8 members: %d requests to the service (8 lone clients: 800), %d saved; %d from a cache",
		tl.calls.Load(), n, tl.calls.Load()-int64(n), tl.fromCache.Load())
}

// When eight members miss the same result at once, one asks the service
// and the others wait for its answer.
func TestFleetSharesInFlightValidations(t *testing.T) {
	r := needRedis(t)
	s := newFleetSim(t, r.Addr(), 1, licentrictest.WithoutRateLimits())
	s.addMembers(t, 8)
	s.run(t, s.keys, 8, nil)
	assert.Equal(t, 1, s.validations())
}

// Redis crashes mid-run: every call is still answered, from each member's
// local copies and, for what they lack, from the service within each
// member's local share of the limit; no 429. Redis comes back empty: the
// members rejoin and share again.
func TestFleetRidesOutARedisCrash(t *testing.T) {
	r := ownRedis(t)
	s := newFleetSim(t, r.Addr(), 100)
	s.addMembers(t, 8)
	stop := s.drive(t)
	defer stop()

	// Up: 50 licenses, at most 50 requests.
	s.run(t, s.keys[:50], 64, nil)
	sent := s.validations()
	require.LessOrEqual(t, sent, 50)

	// Redis dies after 1000 calls of a run over those 50 (every member
	// has them) and two more.
	s.nextMinute()
	var kill sync.Once
	crash := func() {
		s.redisDown.Store(true)
		r.Kill()
	}
	s.run(t, s.keys[:52], 64, func(n int64) {
		if n == 1000 {
			kill.Do(crash)
		}
	})
	kill.Do(crash)
	during := s.validations() - sent
	assert.LessOrEqual(t, during, 2*len(s.members), "each member asks at most once for each of the two new licenses")
	for _, m := range s.members {
		assert.Equal(t, 7, m.f.LocalShare(60), "the local share of 8 replicas")
	}
	s.no429(t)

	// Back, empty: the members rejoin (each member's subscription comes
	// back and tells it to drop its local copies) and share again, so the
	// 100 licenses cost at most 100 requests, not 8 × 48.
	resynced := make([]*subscriber, len(s.members))
	for i, m := range s.members {
		resynced[i] = subscribe(t, m.f)
	}
	require.NoError(t, r.Start())
	s.redisDown.Store(false)
	for i, m := range s.members {
		for resynced[i].next(t) != "" {
		}
		eventually(t, "the member rejoins", func() bool {
			_, _, _, err := m.f.GetResult(t.Context(), "probe", "probe")
			return err == nil
		})
	}
	s.nextMinute()
	before := s.validations()
	s.run(t, s.keys, 64, nil)
	after := s.validations() - before
	assert.LessOrEqual(t, after, 100)
	s.no429(t)
	t.Logf("requests: %d with Redis up, %d while it was down, %d after it came back empty", sent, during, after)
}

// An entry written to Redis by someone without the fleet's secret cannot
// grant a license: a valid result of another license moved over a
// suspended one's, or made-up bytes, is ignored and the service is asked.
func TestFleetForgedResultCannotGrant(t *testing.T) {
	r := needRedis(t)
	s := newFleetSim(t, r.Addr(), 2, licentrictest.WithoutRateLimits())
	s.addMembers(t, 2)
	a, b := s.members[0], s.members[1]
	good, bad := s.keys[0], s.keys[1]
	ctx := t.Context()

	v, err := a.c.Validate(ctx, good)
	require.NoError(t, err)
	require.True(t, v.Valid)
	goodKeys := s.raw.Keys(ctx, resultsPattern(s.ns)).Val()
	require.Len(t, goodKeys, 1, "the valid result is shared")
	goodFields := s.raw.HGetAll(ctx, goodKeys[0]).Val()
	require.Len(t, goodFields, 1)
	var goodValue string
	for _, v := range goodFields {
		goodValue = v
	}

	// The other license is suspended before anyone validates it.
	_, err = s.srv.SetLicenseStatus(licentrictest.EnvTest, s.ids[1], "suspend")
	require.NoError(t, err)
	v, err = b.c.Validate(ctx, bad)
	require.NoError(t, err)
	require.Equal(t, licentric.CodeSuspended, v.Code)
	var badKey string
	for _, k := range s.raw.Keys(ctx, resultsPattern(s.ns)).Val() {
		if k != goodKeys[0] {
			badKey = k
		}
	}
	require.NotEmpty(t, badKey, "the suspended result is shared")

	for name, forged := range map[string]string{
		"a valid result moved from another license": goodValue,
		"made-up bytes": `{"valid":true,"code":"VALID"}`,
	} {
		t.Run(name, func(t *testing.T) {
			for field := range s.raw.HGetAll(ctx, badKey).Val() {
				require.NoError(t, s.raw.HSet(ctx, badKey, field, forged).Err())
			}
			for field := range goodFields { // the field of a request without fingerprint
				require.NoError(t, s.raw.HSet(ctx, badKey, field, forged).Err())
			}
			c := newMemberClient(t, s) // a member with an empty local cache
			before := s.validations()
			v, err := c.Validate(ctx, bad)
			require.NoError(t, err)
			assert.False(t, v.Valid, "a forged entry granted the license")
			assert.Equal(t, licentric.CodeSuspended, v.Code)
			assert.Equal(t, before+1, s.validations(), "the service was asked")
		})
	}
}

func newMemberClient(t *testing.T, s *fleetSim) *licentric.Client {
	t.Helper()
	f := newFleet(t, newRDB(t, s.redis), fleet.WithNamespace(s.ns), fleet.WithClock(s.clk))
	return testkit.Client(t, s.srv, licentric.WithClock(s.clk), licentric.WithRetry(testkit.FastRetry), licentric.WithFleet(f))
}

// A webhook's invalidation on one member reaches every member: the next
// Validate anywhere asks the service and sees the suspension.
func TestFleetInvalidationReachesEveryMember(t *testing.T) {
	r := needRedis(t)
	s := newFleetSim(t, r.Addr(), 1, licentrictest.WithoutRateLimits())
	s.addMembers(t, 3)
	key := s.keys[0]
	ctx := t.Context()
	for _, m := range s.members {
		v, err := m.c.Validate(ctx, key)
		require.NoError(t, err)
		require.True(t, v.Valid)
	}
	require.Equal(t, 1, s.validations())
	for _, m := range s.members {
		v, err := m.c.Validate(ctx, key)
		require.NoError(t, err)
		require.True(t, v.FromCache)
	}
	_, err := s.srv.SetLicenseStatus(licentrictest.EnvTest, s.ids[0], "suspend")
	require.NoError(t, err)

	s.members[0].c.InvalidateLicense(key) // what the webhook handler does
	for i, m := range s.members {
		eventually(t, "member "+strconv.Itoa(i)+" sees the suspension", func() bool {
			v, err := m.c.Validate(ctx, key)
			require.NoError(t, err)
			return v.Code == licentric.CodeSuspended
		})
	}
	assert.LessOrEqual(t, s.validations(), 1+len(s.members))
}
