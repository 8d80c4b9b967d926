package cache

import (
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
