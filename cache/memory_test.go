package cache

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestMemorySetGetDelete(t *testing.T) {
	m := NewMemory()
	defer m.Close()
	if _, ok := m.Get("k"); ok {
		t.Fatal("Get on empty store reported a hit")
	}
	if err := m.Set("k", []byte("v1"), time.Hour); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if v, ok := m.Get("k"); !ok || string(v) != "v1" {
		t.Fatalf("Get = %q, %v; want v1, true", v, ok)
	}
	if err := m.Set("k", []byte("v2"), time.Hour); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if v, ok := m.Get("k"); !ok || string(v) != "v2" {
		t.Fatalf("Get after overwrite = %q, %v; want v2, true", v, ok)
	}
	m.Delete("k")
	if _, ok := m.Get("k"); ok {
		t.Fatal("Get after Delete reported a hit")
	}
	m.Delete("missing") // must not panic
}

func TestMemoryRejectsNonPositiveTTL(t *testing.T) {
	m := NewMemory()
	for _, ttl := range []time.Duration{0, -time.Second} {
		if err := m.Set("k", []byte("v"), ttl); !errors.Is(err, ErrInvalidTTL) {
			t.Errorf("Set with ttl %v: err = %v, want ErrInvalidTTL", ttl, err)
		}
	}
	if _, ok := m.Get("k"); ok {
		t.Error("rejected Set stored a value")
	}
}

func TestMemorySetCopiesValue(t *testing.T) {
	m := NewMemory()
	in := []byte("VALID")
	if err := m.Set("k", in, time.Hour); err != nil {
		t.Fatal(err)
	}
	copy(in, "XXXXX")
	if v, _ := m.Get("k"); string(v) != "VALID" {
		t.Fatalf("stored value changed with caller's slice: %q", v)
	}
}

func TestMemoryDeletePrefix(t *testing.T) {
	m := NewMemory()
	keys := []string{"v1/prod/licA/fp1", "v1/prod/licA/fp2", "v1/prod/licAB/fp1", "v1/prod/licB/fp1", "v1/test/licA/fp1"}
	for _, k := range keys {
		if err := m.Set(k, []byte(k), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	m.DeletePrefix("v1/prod/licA/")
	want := map[string]bool{
		"v1/prod/licA/fp1": false, "v1/prod/licA/fp2": false,
		"v1/prod/licAB/fp1": true, "v1/prod/licB/fp1": true, "v1/test/licA/fp1": true,
	}
	for k, present := range want {
		if _, ok := m.Get(k); ok != present {
			t.Errorf("after DeletePrefix, Get(%q) ok = %v, want %v", k, ok, present)
		}
	}
}

// Memory reads time.Now (through go-cache); synctest's fake clock controls it.
func TestMemoryExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory()
		if err := m.Set("k", []byte("v"), time.Minute); err != nil {
			t.Fatal(err)
		}
		time.Sleep(59 * time.Second)
		if _, ok := m.Get("k"); !ok {
			t.Fatal("entry expired before its ttl")
		}
		time.Sleep(2 * time.Second)
		if _, ok := m.Get("k"); ok {
			t.Fatal("entry still served after its ttl")
		}
	})
}

func TestMemoryLazyPurgeWithoutJanitor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory()
		for i := range 10 {
			if err := m.Set(fmt.Sprint("old", i), []byte("v"), time.Second); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(2 * lazyPurgeEvery)
		if err := m.Set("new", []byte("v"), time.Hour); err != nil {
			t.Fatal(err)
		}
		if n := m.Len(); n != 1 {
			t.Fatalf("after lazy purge %d items held, want 1", n)
		}
	})
}

// If Close did not stop the janitor, the bubble would be left with a
// goroutine that never exits and synctest.Test would fail.
func TestMemoryJanitorPurgesAndStopsOnClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(WithCleanupInterval(time.Minute))
		if err := m.Set("k", []byte("v"), 30*time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(61 * time.Second)
		synctest.Wait()
		if n := m.Len(); n != 0 {
			t.Errorf("janitor left %d expired items", n)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil { // idempotent
			t.Fatal(err)
		}
		if err := m.Set("k", []byte("v"), time.Minute); err != nil {
			t.Fatalf("Set after Close: %v", err)
		}
	})
}

func TestMemoryConcurrent(t *testing.T) {
	m := NewMemory()
	exerciseConcurrently(t, m)
}

// exerciseConcurrently runs all Store methods from several goroutines; it is
// meant for -race.
func exerciseConcurrently(t *testing.T, s Store) {
	t.Helper()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				k := fmt.Sprintf("v1/prod/lic%d/fp%d", g, i%5)
				if err := s.Set(k, []byte(k), time.Hour); err != nil {
					t.Error(err)
					return
				}
				if v, ok := s.Get(k); ok && string(v) != k {
					t.Errorf("Get(%q) = %q", k, v)
				}
				if i%7 == 0 {
					s.Delete(k)
				}
				if i%11 == 0 {
					s.DeletePrefix(fmt.Sprintf("v1/prod/lic%d/", (g+1)%4))
				}
			}
		})
	}
	wg.Wait()
}

func TestMemoryValueStore(t *testing.T) {
	m := NewMemory()
	type result struct{ code string }
	in := &result{code: "VALID"}
	if err := m.SetValue("v1/live/a/x", in, time.Hour); err != nil {
		t.Fatalf("SetValue: %v", err)
	}
	v, ok := m.GetValue("v1/live/a/x")
	if !ok || v.(*result) != in {
		t.Fatalf("GetValue = %v, %v; want the stored pointer", v, ok)
	}
	// A Go value is not bytes: Get does not report it.
	if b, ok := m.Get("v1/live/a/x"); ok || b != nil {
		t.Errorf("Get of a SetValue entry = %q, %v; want a miss", b, ok)
	}
	// Bytes stored with Set are visible to GetValue too.
	if err := m.Set("v1/live/b/x", []byte("raw"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if v, ok := m.GetValue("v1/live/b/x"); !ok || string(v.([]byte)) != "raw" {
		t.Errorf("GetValue of a Set entry = %v, %v", v, ok)
	}
	for _, ttl := range []time.Duration{0, -time.Second} {
		if err := m.SetValue("k", in, ttl); !errors.Is(err, ErrInvalidTTL) {
			t.Errorf("SetValue with ttl %v: %v, want ErrInvalidTTL", ttl, err)
		}
	}
	// DeletePrefix removes values of both kinds.
	m.DeletePrefix("v1/live/")
	if _, ok := m.GetValue("v1/live/a/x"); ok {
		t.Error("SetValue entry survived DeletePrefix")
	}
	if _, ok := m.GetValue("v1/live/b/x"); ok {
		t.Error("Set entry survived DeletePrefix")
	}
}

func TestMemoryValueExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory()
		if err := m.SetValue("k", 42, time.Minute); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute - time.Nanosecond)
		if v, ok := m.GetValue("k"); !ok || v.(int) != 42 {
			t.Fatalf("before expiry: %v, %v", v, ok)
		}
		time.Sleep(2 * time.Nanosecond)
		if _, ok := m.GetValue("k"); ok {
			t.Fatal("value outlived its ttl")
		}
	})
}
