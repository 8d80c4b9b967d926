package cache

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gocache "github.com/patrickmn/go-cache"
)

// lazyPurgeEvery is how often, at most, Set removes expired entries when no
// cleanup interval is configured.
const lazyPurgeEvery = time.Minute

// Memory is an in-process Store built on github.com/patrickmn/go-cache. It
// is also a ValueStore: it holds Go values as they are, which go-cache
// supports natively.
//
// Expiry uses the system clock (time.Now), as go-cache does. Values returned
// by Get are the stored slices, not copies: callers must not modify them.
// By default no background goroutine runs: expired entries are invisible to
// Get and are removed from memory lazily by Set, at most once a minute. With
// WithCleanupInterval a janitor goroutine runs until Close.
type Memory struct {
	c         *gocache.Cache
	lastPurge atomic.Int64 // UnixNano of the last lazy purge

	closeOnce sync.Once
	stop      chan struct{} // nil without a janitor
	done      chan struct{}
}

// MemoryOption configures a Memory store.
type MemoryOption func(*memoryConfig)

type memoryConfig struct {
	cleanupInterval time.Duration
}

// WithCleanupInterval starts a janitor goroutine that removes expired entries
// every d. The goroutine runs until Close is called. A d <= 0 (the default)
// starts no goroutine; expired entries are then purged lazily by Set.
func WithCleanupInterval(d time.Duration) MemoryOption {
	return func(c *memoryConfig) { c.cleanupInterval = d }
}

// NewMemory returns an empty in-memory store.
func NewMemory(opts ...MemoryOption) *Memory {
	var cfg memoryConfig
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	// go-cache's own janitor can only be stopped by a finalizer, so it is
	// left off (cleanup interval 0) and Memory runs its own, stoppable one.
	m := &Memory{c: gocache.New(gocache.NoExpiration, 0)}
	m.lastPurge.Store(time.Now().UnixNano())
	if cfg.cleanupInterval > 0 {
		m.stop = make(chan struct{})
		m.done = make(chan struct{})
		go m.janitor(cfg.cleanupInterval)
	}
	return m
}

func (m *Memory) janitor(every time.Duration) {
	defer close(m.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			m.c.DeleteExpired()
		case <-m.stop:
			return
		}
	}
}

// Close stops the janitor goroutine started by WithCleanupInterval and waits
// for it to exit. It is safe to call more than once, and on a store without a
// janitor. The store stays usable after Close; expired entries are then
// purged lazily.
func (m *Memory) Close() error {
	m.closeOnce.Do(func() {
		if m.stop != nil {
			close(m.stop)
			<-m.done
		}
	})
	return nil
}

// Get returns the value under key if present, not expired and stored as
// bytes. The returned slice is shared with the store and must not be
// modified.
func (m *Memory) Get(key string) ([]byte, bool) {
	v, ok := m.c.Get(key)
	if !ok {
		return nil, false
	}
	b, ok := v.([]byte)
	return b, ok
}

// GetValue returns the value under key if present and not expired, whether
// it was stored with Set or SetValue. It is a bare go-cache Get. The value
// is shared with the store and must not be modified.
func (m *Memory) GetValue(key string) (any, bool) {
	return m.c.Get(key)
}

// SetValue stores v under key for ttl as it is, without copying. A ttl <= 0
// gives ErrInvalidTTL.
func (m *Memory) SetValue(key string, v any, ttl time.Duration) error {
	if ttl <= 0 {
		return ErrInvalidTTL
	}
	m.maybePurge()
	m.c.Set(key, v, clampTTL(ttl))
	return nil
}

// Set stores a copy of value under key for ttl. A ttl <= 0 gives ErrInvalidTTL.
func (m *Memory) Set(key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return ErrInvalidTTL
	}
	m.maybePurge()
	m.c.Set(key, append([]byte(nil), value...), clampTTL(ttl))
	return nil
}

// maybePurge removes expired entries at most once per lazyPurgeEvery.
func (m *Memory) maybePurge() {
	now := time.Now().UnixNano()
	last := m.lastPurge.Load()
	if now-last < int64(lazyPurgeEvery) || !m.lastPurge.CompareAndSwap(last, now) {
		return
	}
	m.c.DeleteExpired()
}

// Delete removes the entry under key, if any.
func (m *Memory) Delete(key string) {
	m.c.Delete(key)
}

// DeletePrefix removes every entry whose key starts with prefix. It takes a
// snapshot of the keys, so an entry set concurrently with the call may or may
// not be removed.
func (m *Memory) DeletePrefix(prefix string) {
	for k := range m.c.Items() {
		if strings.HasPrefix(k, prefix) {
			m.c.Delete(k)
		}
	}
}
