package fleet

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/clock"
)

// Defaults.
const (
	// DefaultNamespace is the namespace of a Fleet built without
	// WithNamespace.
	DefaultNamespace = "default"
	// DefaultTimeout is the deadline of each Redis call (see WithTimeout).
	// It is far above a Redis round trip on a healthy network (well under
	// a millisecond) and far below what a user waiting for a validation
	// notices.
	DefaultTimeout = 100 * time.Millisecond
	// MinSecretLen is the shortest secret WithSecret accepts.
	MinSecretLen = 16
)

// Limits.
const (
	maxNamespaceLen = 64
	// MaxValueLen is the largest value SetResult stores. A validation
	// result is a few kilobytes at most.
	MaxValueLen = 128 << 10
	// maxLicenseLen bounds the license digest an invalidation carries.
	maxLicenseLen = 1024
	// maxTTL bounds the ttl of a result or lock.
	maxTTL = 30 * 24 * time.Hour
	// maxFieldsPerLicense bounds the results kept for one license (one per
	// fingerprint and entitlement set); past it the license's results are
	// dropped and start over.
	maxFieldsPerLicense = 256
	// maxPending bounds the invalidations remembered while Redis is
	// unreachable; past it a full invalidation is sent on rejoin.
	maxPending = 1024
	// maxKilled bounds the tokens (generations and license epochs) a
	// member remembers as invalidated; past it the oldest are forgotten.
	maxKilled = 4096
	// epochLinger is how long a license's epoch outlives the last result
	// stored under it, at least: longer than any member takes from reading
	// it (GetResult) to storing what it fetched meanwhile (SetResult).
	epochLinger = time.Hour
	// Backoff of the probes of an unreachable Redis.
	minBackoff = 100 * time.Millisecond
	// tripAfter is the failures in a row after which Redis is taken to be
	// unreachable.
	tripAfter = 3
	// subscriptionTimeout bounds the subscription's pings and reconnections.
	subscriptionTimeout = time.Second
	// closeWait bounds how long Close waits for the subscription to close.
	closeWait  = 250 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// Sentinel errors, for use with errors.Is.
var (
	// ErrNoSecret is returned by New without a WithSecret of at least
	// MinSecretLen bytes.
	ErrNoSecret = errors.New("fleet: a secret of at least 16 bytes is required (WithSecret)")
	// ErrInvalidOption is returned by New for an option with a bad value.
	ErrInvalidOption = errors.New("fleet: invalid option")
	// ErrInvalidArgument is returned by a method given an argument it
	// cannot use (a ttl <= 0, a value over MaxValueLen, a bad tier).
	ErrInvalidArgument = errors.New("fleet: invalid argument")
	// ErrUnavailable is returned, at once and without a Redis call, while
	// Redis is known to be unreachable: after three calls in a row failed
	// (or the first try in New), the Fleet probes Redis again with growing
	// pauses (100 ms to 2 s) and answers every other call with
	// ErrUnavailable until a probe succeeds.
	ErrUnavailable = errors.New("fleet: redis is unreachable")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("fleet: closed")
)

var _ licentric.Fleet = (*Fleet)(nil)

// Fleet shares validation results, the rate budget of every tier and
// in-flight validations among the clients of several processes through
// Redis. It implements licentric.Fleet; install it with
// licentric.WithFleet. Build it with New and stop it with Close. It is safe
// for concurrent use.
type Fleet struct {
	rdb          redis.UniversalClient // commands (see dataClient)
	sub          redis.UniversalClient // the subscription: the caller's client
	ctxDeadlines bool                  // rdb stops at the context's deadline by itself
	fixedTimeout bool                  // rdb stops at the Fleet's timeout by itself, not earlier
	ns           string
	timeout      time.Duration
	replicas     int
	clock        clock.Clock
	log          *slog.Logger
	keys         *keys
	member       [16]byte // random id of this member: its own messages are skipped

	// Redis names.
	prefix  string // "lc:<ns>:"
	genKey  string // "lc:<ns>:gen"
	channel string // "lc:<ns>:inv"

	// gen is the namespace's generation, a random token (nil: not known
	// yet, or just killed): InvalidateAll replaces it, and results live
	// under the generation they were stored in. It is never one in killed.
	gen atomic.Pointer[string]

	// killed holds the generations and license epochs this member saw
	// invalidated (its own invalidations and those it heard of), the
	// latest maxKilled: an entry sealed under one of them is never
	// accepted again, whatever Redis is made to hold (see GetResult).
	kmu        sync.Mutex
	killed     map[string]struct{}
	killedRing []string
	killedNext int
	rolledBack atomic.Bool // a rolled-back token was logged

	// Health of Redis (see enter).
	fails    atomic.Int32 // Redis failures in a row
	down     atomic.Bool
	everDown atomic.Bool
	hmu      sync.Mutex
	probing  bool
	retryAt  time.Time
	backoff  time.Duration
	tampered atomic.Bool // a forged entry was logged

	// Invalidations that could not reach Redis, sent before the next call
	// that reaches it (or on rejoin).
	pmu        sync.Mutex
	pending    map[string]bool // license digest → recheck
	pendingAll bool
	unsent     atomic.Bool // pending or pendingAll

	// Budget units taken on the local share while Redis failed, owed to
	// their windows' counters (see TakeBudget).
	dmu   sync.Mutex
	debts map[string]debt
	owing atomic.Bool // debts is not empty

	// Subscribers.
	smu     sync.Mutex
	subs    map[uint64]func(license string, recheck bool)
	nextSub uint64

	locks sync.WaitGroup // keepLock goroutines

	ps        *redis.PubSub
	stop      chan struct{}
	done      chan struct{}
	closed    atomic.Bool
	closeOnce sync.Once
}

// Option configures a Fleet.
type Option func(*config) error

type config struct {
	ns       string
	secret   []byte
	timeout  time.Duration
	replicas int
	clock    clock.Clock
	log      *slog.Logger
}

// WithNamespace sets the namespace: every client of the same namespace
// (and Redis) shares one budget, one set of results and one set of
// in-flight validations. Use one namespace per egress IP address (the
// service counts validations per IP) or per fleet. It is 1 to 64
// characters of A-Z, a-z, 0-9, '.', '_' and '-'. The default is
// DefaultNamespace.
func WithNamespace(ns string) Option {
	return func(c *config) error {
		if !validName(ns, maxNamespaceLen) {
			return fmt.Errorf("%w: namespace must be 1 to %d characters of A-Z a-z 0-9 . _ -", ErrInvalidOption, maxNamespaceLen)
		}
		c.ns = ns
		return nil
	}
}

// WithSecret sets the secret every member of the fleet shares: it keys
// the digests in Redis key names and seals (XChaCha20-Poly1305) every value
// and message the fleet writes, so that someone who can read Redis learns
// no license and someone who can write to it cannot grant one. It must be
// at least MinSecretLen bytes of high entropy (32 random bytes are right);
// it is required. The Fleet keeps only keys derived from it.
func WithSecret(secret []byte) Option {
	return func(c *config) error {
		if len(secret) < MinSecretLen {
			return ErrNoSecret
		}
		c.secret = secret
		return nil
	}
}

// WithReplicas sets how many members the namespace expects (default 1).
// While Redis is unreachable each member sends at most its share of the
// service's limit, LocalShare(limit) = max(1, limit/n) validations a
// minute, so that together they still stay under the limit.
func WithReplicas(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: replicas must be at least 1", ErrInvalidOption)
		}
		c.replicas = n
		return nil
	}
}

// WithTimeout sets the deadline of each Redis call (default
// DefaultTimeout). A call that takes longer fails, and the client falls
// back to its local state for it. The Fleet enforces the deadline whatever
// the client's options. A *redis.Client (single server or Sentinel) does
// so itself, through a WithTimeout clone sharing its pools; a Cluster
// client does with ContextTimeoutEnabled set. Any other client costs a
// goroutine handoff per call (about 20 µs of a 30 µs loopback round trip
// on a small machine), as does a call whose context's deadline comes
// before the Fleet's timeout on a client without ContextTimeoutEnabled:
// every call returns by the earlier of the two.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: timeout must be positive", ErrInvalidOption)
		}
		c.timeout = d
		return nil
	}
}

// WithClock sets the clock that dates results (a result is never served
// past the time SetResult was given) and budget windows. Give it the same
// clock as the client (licentric.WithClock). The default is clock.Wall.
// Redis call deadlines and the probes of an unreachable Redis always run on
// real time.
func WithClock(c clock.Clock) Option {
	return func(cfg *config) error {
		if c == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalidOption)
		}
		cfg.clock = c
		return nil
	}
}

// WithLogger sets the logger (silent by default). The Fleet logs once
// when Redis becomes unreachable, once when it is back, and once when it
// finds an entry it did not write. It never logs a license or secret.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		c.log = l
		return nil
	}
}

// New returns a Fleet on rdb, a go-redis v9 client of a single server,
// Sentinel or Cluster (redis.UniversalClient). WithSecret is required.
//
// New tries Redis once, within the timeout, but does not fail when Redis
// is unreachable: the Fleet starts on local state and joins when Redis
// answers. It subscribes to the namespace's invalidation channel with one
// connection and one goroutine (and go-redis's own, for the subscription),
// which run until Close. Close does not close rdb.
func New(rdb redis.UniversalClient, opts ...Option) (*Fleet, error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: nil redis client", ErrInvalidOption)
	}
	cfg := config{ns: DefaultNamespace, timeout: DefaultTimeout, replicas: 1, clock: clock.Wall{},
		log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if len(cfg.secret) < MinSecretLen {
		return nil, ErrNoSecret
	}
	k, err := deriveKeys(cfg.secret, cfg.ns)
	if err != nil {
		return nil, fmt.Errorf("fleet: deriving keys: %w", err)
	}
	f := &Fleet{
		sub:      rdb,
		ns:       cfg.ns,
		timeout:  cfg.timeout,
		replicas: cfg.replicas,
		clock:    cfg.clock,
		log:      cfg.log,
		keys:     k,
		prefix:   "lc:" + cfg.ns + ":",
		backoff:  minBackoff,
		pending:  make(map[string]bool),
		debts:    make(map[string]debt),
		killed:   make(map[string]struct{}),
		subs:     make(map[uint64]func(string, bool)),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	f.rdb, f.ctxDeadlines, f.fixedTimeout = dataClient(rdb, f.timeout)
	_, _ = rand.Read(f.member[:])
	f.genKey = f.prefix + "gen"
	f.channel = f.prefix + "inv"

	if err := f.bounded(context.Background(), f.syncGen); err != nil {
		f.markDown(err)
	}

	f.ps = f.sub.Subscribe(context.Background(), f.channel)
	// Pings and reconnections of the subscription hold its lock, which
	// PubSub.Close needs: bound them, so that its goroutines end soon after
	// Close even when Redis hangs.
	ch := f.ps.ChannelWithSubscriptions(redis.WithChannelSize(256),
		redis.WithChannelPingTimeout(subscriptionTimeout), redis.WithChannelReconnectTimeout(subscriptionTimeout))
	go f.listen(ch)
	return f, nil
}

// Close stops the subscription and the Fleet's goroutine. go-redis's
// goroutines of the subscription end with it, or, when Redis hangs, within
// the client's own read timeout; Close waits for them at most 250 ms.
// Every method fails with ErrClosed afterwards, except Subscribe, whose
// functions are no longer called. It does not close the Redis client. It
// is safe to call more than once.
func (f *Fleet) Close() error {
	var err error
	f.closeOnce.Do(func() {
		f.closed.Store(true)
		close(f.stop)
		<-f.done
		f.locks.Wait() // each stops at once, or after one call under the deadline
		// PubSub.Close waits for a reconnection in progress, which a hung
		// Redis holds up to the client's own timeouts: wait a while, then
		// let it finish on its own.
		errc := make(chan error, 1)
		go func() { errc <- f.ps.Close() }()
		select {
		case err = <-errc:
		case <-time.After(closeWait):
		}
		f.smu.Lock()
		clear(f.subs)
		f.smu.Unlock()
	})
	return err
}

// Namespace returns the namespace.
func (f *Fleet) Namespace() string { return f.ns }

// Healthy reports whether the last Redis call succeeded, that is, whether
// the Fleet is sharing through Redis rather than living on local state.
func (f *Fleet) Healthy() bool { return !f.down.Load() }

// String describes f without any secret.
func (f *Fleet) String() string {
	state := "joined"
	if f.down.Load() {
		state = "redis unreachable"
	}
	return fmt.Sprintf("fleet.Fleet{namespace: %q, %s}", f.ns, state)
}

// GoString is String, so that %#v shows no key either.
func (f *Fleet) GoString() string { return f.String() }

// LocalShare returns max(1, limit/n) for the n of WithReplicas: the
// requests of a tier (of limit a minute) one member may send a minute
// while Redis is unreachable. A
// limit <= 0 (no limit) is returned as it is.
func (f *Fleet) LocalShare(limit int) int {
	if limit <= 0 {
		return limit
	}
	return max(1, limit/f.replicas)
}

func validName(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
