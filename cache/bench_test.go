package cache

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	gocache "github.com/patrickmn/go-cache"
)

const benchKey = "v1/prod/0123456789abcdef0123456789abcdef/fedcba9876543210fedcba9876543210"

var benchSink []byte

func BenchmarkMemoryGet(b *testing.B) {
	m := NewMemory()
	defer m.Close()
	if err := m.Set(benchKey, make([]byte, 256), time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		v, ok := m.Get(benchKey)
		if !ok {
			b.Fatal("miss")
		}
		benchSink = v
	}
}

// BenchmarkGoCacheGet is the baseline: a bare go-cache Get of the same entry.
func BenchmarkGoCacheGet(b *testing.B) {
	c := gocache.New(gocache.NoExpiration, 0)
	c.Set(benchKey, make([]byte, 256), time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		v, ok := c.Get(benchKey)
		if !ok {
			b.Fatal("miss")
		}
		benchSink = v.([]byte)
	}
}

func BenchmarkFileGet(b *testing.B) {
	f, err := NewFile(filepath.Join(b.TempDir(), "cache"), []byte("fingerprint"))
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Set(benchKey, make([]byte, 256), time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		v, ok := f.Get(benchKey)
		if !ok {
			b.Fatal("miss")
		}
		benchSink = v
	}
}

var benchAny any

func BenchmarkMemoryGetValue(b *testing.B) {
	m := NewMemory()
	defer m.Close()
	if err := m.SetValue(benchKey, &struct{ n int }{1}, time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		v, ok := m.GetValue(benchKey)
		if !ok {
			b.Fatal("miss")
		}
		benchAny = v
	}
}

// The parallel forms show that marking entries used does not make readers
// on several cores contend.
func BenchmarkMemoryGetParallel(b *testing.B) {
	m := NewMemory()
	defer m.Close()
	if err := m.Set(benchKey, make([]byte, 256), time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := m.Get(benchKey); !ok {
				b.Fatal("miss")
			}
		}
	})
}

func BenchmarkGoCacheGetParallel(b *testing.B) {
	c := gocache.New(gocache.NoExpiration, 0)
	c.Set(benchKey, make([]byte, 256), time.Hour)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := c.Get(benchKey); !ok {
				b.Fatal("miss")
			}
		}
	})
}

// BenchmarkMemorySetFull measures a Set of a new key into a full store,
// which evicts one entry.
func BenchmarkMemorySetFull(b *testing.B) {
	m := NewMemory()
	defer m.Close()
	value := make([]byte, 256)
	keys := make([]string, 2*DefaultMemoryMaxEntries)
	for i := range keys {
		keys[i] = fmt.Sprintf("v1/live/%016x/%032x", i, i)
	}
	for _, k := range keys[:DefaultMemoryMaxEntries] {
		if err := m.Set(k, value, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := m.Set(keys[i%len(keys)], value, time.Hour); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
