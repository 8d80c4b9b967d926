package cache

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// lazyPurgeEvery is how often, at most, Set removes expired entries when no
// cleanup interval is configured.
const lazyPurgeEvery = time.Minute

// DefaultMemoryMaxEntries is the default cap on the number of entries in a
// Memory store. A cached validation result is a few hundred bytes, so the
// default bounds the store to a few megabytes whatever the keys.
const DefaultMemoryMaxEntries = 10_000

// Memory is an in-process Store, bounded in entries. It is also a
// ValueStore: it holds Go values as they are.
//
// When a Set of a new key finds the store full, an expired entry or else
// one not read recently is evicted: the CLOCK approximation of least
// recently used, in which each entry carries a "used" bit that Get sets and
// the eviction hand clears as it passes, evicting the first entry it finds
// unused. A Get costs a map lookup under a read lock and, for an entry not
// yet marked, one atomic store, so it stays as cheap as a bare
// github.com/patrickmn/go-cache Get (see the package benchmarks), which is
// why the store has its own map rather than go-cache with an LRU list
// beside it (a list needs a write lock on every Get).
//
// Expiry uses the system clock (time.Now); an entry is served while
// time.Now() is not after its expiry, as in go-cache. Values returned by Get
// are the stored slices, not copies: callers must not modify them. By default
// no background goroutine runs: expired entries are invisible to Get and are
// removed from memory lazily by Set, at most once a minute, and first in line
// for eviction. With WithCleanupInterval a janitor goroutine runs until Close.
type Memory struct {
	mu    sync.RWMutex
	items map[string]*memEntry
	// ring holds every entry once, in the order the eviction hand visits
	// them; an entry's slot is its index. Guarded by mu (write).
	ring []*memEntry
	hand int
	max  int

	lastPurge atomic.Int64 // UnixNano of the last lazy purge

	closeOnce sync.Once
	stop      chan struct{} // nil without a janitor
	done      chan struct{}
}

// memEntry is one stored value. key, value and expiry never change after
// the entry is stored (a Set of the same key stores a new entry), so Get
// reads them without the lock.
type memEntry struct {
	key    string
	value  any
	expiry int64       // UnixNano; live while now <= expiry
	used   atomic.Bool // set by Get, cleared by the eviction hand
	slot   int         // index in Memory.ring; guarded by Memory.mu
}

// MemoryOption configures a Memory store.
type MemoryOption func(*memoryConfig)

type memoryConfig struct {
	cleanupInterval time.Duration
	maxEntries      int
}

// WithCleanupInterval starts a janitor goroutine that removes expired entries
// every d. The goroutine runs until Close is called. A d <= 0 (the default)
// starts no goroutine; expired entries are then purged lazily by Set.
func WithCleanupInterval(d time.Duration) MemoryOption {
	return func(c *memoryConfig) { c.cleanupInterval = d }
}

// WithMemoryMaxEntries caps the number of entries a Memory store holds
// (default DefaultMemoryMaxEntries); past it, Set of a new key evicts an
// expired or least recently used entry (see Memory). An n <= 0 keeps the
// default: the store is never unbounded. (WithMaxEntries is the File store's
// option.)
func WithMemoryMaxEntries(n int) MemoryOption {
	return func(c *memoryConfig) {
		if n > 0 {
			c.maxEntries = n
		}
	}
}

// NewMemory returns an empty in-memory store.
func NewMemory(opts ...MemoryOption) *Memory {
	cfg := memoryConfig{maxEntries: DefaultMemoryMaxEntries}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	m := &Memory{items: make(map[string]*memEntry), max: cfg.maxEntries}
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
			m.deleteExpired(time.Now().UnixNano())
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

// Len returns the number of entries held, expired ones not yet removed
// included. It never exceeds the store's maximum.
func (m *Memory) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.items)
}

// get is the hot path of Get and GetValue.
func (m *Memory) get(key string) (any, bool) {
	m.mu.RLock()
	e, ok := m.items[key]
	m.mu.RUnlock()
	if !ok || time.Now().UnixNano() > e.expiry {
		return nil, false
	}
	// Only the first read after the hand passed writes: the entry's cache
	// line stays shared between cores on every later read.
	if !e.used.Load() {
		e.used.Store(true)
	}
	return e.value, true
}

// Get returns the value under key if present, not expired and stored as
// bytes. The returned slice is shared with the store and must not be
// modified.
func (m *Memory) Get(key string) ([]byte, bool) {
	v, ok := m.get(key)
	if !ok {
		return nil, false
	}
	b, ok := v.([]byte)
	return b, ok
}

// GetValue returns the value under key if present and not expired, whether
// it was stored with Set or SetValue. The value is shared with the store and
// must not be modified.
func (m *Memory) GetValue(key string) (any, bool) {
	return m.get(key)
}

// SetValue stores v under key for ttl as it is, without copying. A ttl <= 0
// gives ErrInvalidTTL.
func (m *Memory) SetValue(key string, v any, ttl time.Duration) error {
	if ttl <= 0 {
		return ErrInvalidTTL
	}
	m.set(key, v, ttl)
	return nil
}

// Set stores a copy of value under key for ttl. A ttl <= 0 gives ErrInvalidTTL.
func (m *Memory) Set(key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return ErrInvalidTTL
	}
	m.set(key, append([]byte(nil), value...), ttl)
	return nil
}

func (m *Memory) set(key string, v any, ttl time.Duration) {
	now := time.Now().UnixNano()
	m.maybePurge(now)
	e := &memEntry{key: key, value: v, expiry: addNanos(now, clampTTL(ttl))}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.items[key]; ok {
		// A refresh counts as a use.
		e.slot = old.slot
		e.used.Store(true)
		m.ring[e.slot] = e
		m.items[key] = e
		return
	}
	if len(m.items) >= m.max {
		// The new entry takes the victim's slot, just behind the hand, so
		// it is the last the hand visits again.
		victim := m.victimLocked(now)
		delete(m.items, victim.key)
		e.slot = victim.slot
		m.ring[e.slot] = e
		m.items[key] = e
		return
	}
	e.slot = len(m.ring)
	m.ring = append(m.ring, e)
	m.items[key] = e
}

// victimLocked moves the hand to the entry to evict and returns it: the
// first expired entry, or the first whose used bit is clear, clearing the
// bits it passes. Within two turns it finds one. The caller holds m.mu and
// the ring is not empty.
func (m *Memory) victimLocked(now int64) *memEntry {
	for {
		if m.hand >= len(m.ring) {
			m.hand = 0
		}
		e := m.ring[m.hand]
		m.hand++
		if now > e.expiry || !e.used.Load() {
			return e
		}
		e.used.Store(false)
	}
}

// removeLocked deletes e from the map and the ring. The caller holds m.mu.
func (m *Memory) removeLocked(e *memEntry) {
	delete(m.items, e.key)
	last := len(m.ring) - 1
	if e.slot != last {
		moved := m.ring[last]
		moved.slot = e.slot
		m.ring[e.slot] = moved
	}
	m.ring[last] = nil
	m.ring = m.ring[:last]
	if m.hand > len(m.ring) {
		m.hand = 0
	}
}

// maybePurge removes expired entries at most once per lazyPurgeEvery.
func (m *Memory) maybePurge(now int64) {
	last := m.lastPurge.Load()
	if now-last < int64(lazyPurgeEvery) || !m.lastPurge.CompareAndSwap(last, now) {
		return
	}
	m.deleteExpired(now)
}

func (m *Memory) deleteExpired(now int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.items {
		if now > e.expiry {
			m.removeLocked(e)
		}
	}
	m.shrinkLocked()
}

// shrinkLocked gives back the ring's memory after many removals.
func (m *Memory) shrinkLocked() {
	if cap(m.ring) > 64 && len(m.ring) < cap(m.ring)/4 {
		m.ring = append(make([]*memEntry, 0, 2*len(m.ring)), m.ring...)
	}
}

// Delete removes the entry under key, if any.
func (m *Memory) Delete(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.items[key]; ok {
		m.removeLocked(e)
	}
}

// DeletePrefix removes every entry whose key starts with prefix.
func (m *Memory) DeletePrefix(prefix string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, e := range m.items {
		if strings.HasPrefix(k, prefix) {
			m.removeLocked(e)
		}
	}
	m.shrinkLocked()
}
