package cache

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkRing verifies the store's internal invariants: every entry is in
// the map and the ring once, at its slot.
func checkRing(t *testing.T, m *Memory) {
	t.Helper()
	m.mu.RLock()
	defer m.mu.RUnlock()
	require.Len(t, m.ring, len(m.items))
	require.LessOrEqual(t, len(m.items), m.max)
	for i, e := range m.ring {
		require.Equal(t, i, e.slot)
		require.Same(t, e, m.items[e.key])
	}
}

func TestMemoryDefaultMaxEntries(t *testing.T) {
	for _, m := range []*Memory{NewMemory(), NewMemory(WithMemoryMaxEntries(0)), NewMemory(WithMemoryMaxEntries(-5))} {
		for i := range DefaultMemoryMaxEntries + 500 {
			require.NoError(t, m.Set(fmt.Sprint("k", i), []byte("v"), time.Hour))
		}
		assert.Equal(t, DefaultMemoryMaxEntries, m.Len())
		checkRing(t, m)
		// The newest entry is there.
		_, ok := m.Get(fmt.Sprint("k", DefaultMemoryMaxEntries+499))
		assert.True(t, ok)
	}
}

// TestMemoryEvictsLeastRecentlyUsed: past the cap, the entry not read for
// the longest time goes first, and a read saves an entry.
func TestMemoryEvictsLeastRecentlyUsed(t *testing.T) {
	m := NewMemory(WithMemoryMaxEntries(4))
	for _, k := range []string{"a", "b", "c", "d"} {
		require.NoError(t, m.Set(k, []byte(k), time.Hour))
	}
	_, ok := m.Get("a")
	require.True(t, ok)
	require.NoError(t, m.Set("e", []byte("e"), time.Hour))
	has := func(k string) bool {
		m.mu.RLock()
		defer m.mu.RUnlock()
		_, ok := m.items[k] // no Get: it would mark the entry used
		return ok
	}
	assert.False(t, has("b"), "b, the least recently used, survived")
	for _, k := range []string{"a", "c", "d", "e"} {
		assert.True(t, has(k), k)
	}
	_, ok = m.Get("c")
	require.True(t, ok)
	require.NoError(t, m.Set("f", []byte("f"), time.Hour))
	assert.False(t, has("d"), "d, now the least recently used, survived")
	for _, k := range []string{"a", "c", "e", "f"} {
		assert.True(t, has(k), k)
	}
	checkRing(t, m)
}

// TestMemoryHotEntrySurvivesFlood: an entry read between inserts stays
// while thousands of one-off keys pass through.
func TestMemoryHotEntrySurvivesFlood(t *testing.T) {
	m := NewMemory(WithMemoryMaxEntries(100))
	require.NoError(t, m.Set("hot", []byte("h"), time.Hour))
	for i := range 10_000 {
		_, ok := m.Get("hot")
		require.True(t, ok, "hot entry evicted after %d inserts", i)
		require.NoError(t, m.Set(fmt.Sprint("cold", i), []byte("c"), time.Hour))
	}
	assert.Equal(t, 100, m.Len())
}

// TestMemoryEvictsExpiredFirst: an expired entry is evicted before a live
// unused one.
func TestMemoryEvictsExpiredFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(WithMemoryMaxEntries(3))
		require.NoError(t, m.Set("live1", nil, time.Hour))
		require.NoError(t, m.Set("short", nil, time.Second))
		require.NoError(t, m.Set("live2", nil, time.Hour))
		for _, k := range []string{"live1", "short", "live2"} {
			_, ok := m.Get(k)
			require.True(t, ok)
		}
		time.Sleep(2 * time.Second)
		require.NoError(t, m.Set("new", nil, time.Hour))
		for _, k := range []string{"live1", "live2", "new"} {
			_, ok := m.Get(k)
			assert.True(t, ok, k)
		}
		assert.Equal(t, 3, m.Len())
	})
}

// TestMemoryRandomOperations runs random Sets, Gets, Deletes and
// DeletePrefixes against a small cap and checks the invariants.
func TestMemoryRandomOperations(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m := NewMemory(WithMemoryMaxEntries(16))
	for i := range 20_000 {
		k := fmt.Sprintf("p%d/k%d", r.IntN(4), r.IntN(40))
		switch r.IntN(10) {
		case 0:
			m.Delete(k)
		case 1:
			m.DeletePrefix(fmt.Sprintf("p%d/", r.IntN(4)))
		case 2, 3, 4:
			if v, ok := m.Get(k); ok {
				require.Equal(t, k, string(v))
			}
		default:
			require.NoError(t, m.Set(k, []byte(k), time.Hour))
			v, ok := m.Get(k)
			require.True(t, ok)
			require.Equal(t, k, string(v))
		}
		if i%97 == 0 {
			checkRing(t, m)
		}
	}
	checkRing(t, m)
}

// heapAfterDistinctKeys stores n distinct keys with 256-byte values in a
// default Memory and returns the live heap growth it causes.
func heapAfterDistinctKeys(t *testing.T, n int) (growth int64, m *Memory) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m = NewMemory()
	value := make([]byte, 256)
	for i := range n {
		key := fmt.Sprintf("v1/live/%016x/%032x", i, i)
		if err := m.Set(key, value, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc), m
}

// memoryHeapBound is what a default Memory full of 10,000 entries with
// 256-byte values and 57-byte keys may hold: about 4 MB of keys, values
// and entries, plus the map; 16 MiB leaves room for the runtime.
const memoryHeapBound = 16 << 20

// TestMemoryHeapBounded stores the 1,000,000 distinct keys (under
// a second; 6 s with -race), or 100,000 with -short: the heap stays under
// memoryHeapBound (before the bound it grew by hundreds of megabytes).
func TestMemoryHeapBounded(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	growth, m := heapAfterDistinctKeys(t, n)
	t.Logf("%d distinct keys: heap grew %.1f MiB, %d entries held", n, float64(growth)/(1<<20), m.Len())
	assert.Equal(t, DefaultMemoryMaxEntries, m.Len())
	assert.Less(t, growth, int64(memoryHeapBound))
	runtime.KeepAlive(m)
}
