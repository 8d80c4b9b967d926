package offline

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/licentric/licentric-go/clock"
)

var rollbackKey = []byte("0123456789abcdef-rollback-key")

// testClock is a controllable clock.Clock for tests.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) set(t time.Time)     { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func (c *testClock) add(d time.Duration) { c.set(c.now().Add(d)) }

// Now and After make testClock a clock.Clock.
func (c *testClock) Now() time.Time { return c.now() }
func (c *testClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- c.now().Add(d)
	return ch
}

var _ clock.Clock = (*testClock)(nil)

func guardedVerifier(t *testing.T, g *RollbackGuard, c *testClock) *Verifier {
	t.Helper()
	return newTestVerifier(t, WithRollbackGuard(g), WithClockSource(c))
}

func TestRollbackGuardRefusesClockSetBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	g, err := NewRollbackGuard(path, rollbackKey)
	if err != nil {
		t.Fatal(err)
	}
	c := &testClock{t: now}
	v := guardedVerifier(t, g, c)
	cert := validFile(t, nil)
	if _, err := v.Verify(cert); err != nil {
		t.Fatal(err)
	}
	c.add(48 * time.Hour)
	if _, err := v.Verify(cert); err != nil {
		t.Fatal(err)
	}
	if got := g.HighWaterMark(); !got.Equal(now.Add(48 * time.Hour)) {
		t.Fatalf("HighWaterMark = %v", got)
	}
	// Back by exactly the skew: tolerated. Further: refused, even on the
	// very same (cached) bytes.
	c.set(now.Add(48*time.Hour - DefaultClockSkew))
	if _, err := v.Verify(cert); err != nil {
		t.Fatalf("clock back by the skew: %v", err)
	}
	c.set(now.Add(48*time.Hour - DefaultClockSkew - time.Millisecond))
	f, err := v.Verify(cert)
	wantErr(t, f, err, ErrClockRollback)

	// The mark survives a restart.
	g2, err := NewRollbackGuard(path, rollbackKey)
	if err != nil {
		t.Fatal(err)
	}
	if got := g2.HighWaterMark(); !got.Equal(now.Add(48 * time.Hour)) {
		t.Fatalf("reloaded HighWaterMark = %v", got)
	}
	f, err = guardedVerifier(t, g2, c).Verify(cert)
	wantErr(t, f, err, ErrClockRollback)
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode = %v, %v; want 0600", info.Mode(), err)
	}
}

func TestRollbackGuardRemembersIssuedAt(t *testing.T) {
	g, err := NewRollbackGuard("", rollbackKey) // memory only
	if err != nil {
		t.Fatal(err)
	}
	// A newer file issued 10 days after the first one is seen; going back to
	// the old file with the clock set to its lifetime is refused.
	c := &testClock{t: issued.Add(10*24*time.Hour + time.Hour)}
	v := guardedVerifier(t, g, c)
	newer := validFile(t, func(p *Payload) {
		p.IssuedAt = ts(issued.Add(10 * 24 * time.Hour))
		p.ExpiresAt = ts(issued.Add(24 * 24 * time.Hour))
	})
	if _, err := v.Verify(newer); err != nil {
		t.Fatal(err)
	}
	c.set(now)
	f, err := v.Verify(validFile(t, nil))
	wantErr(t, f, err, ErrClockRollback)

	// A guard only learns from files that verify.
	g2, _ := NewRollbackGuard("", rollbackKey)
	v2 := guardedVerifier(t, g2, &testClock{t: issued.Add(100 * 24 * time.Hour)})
	if _, err := v2.Verify(validFile(t, nil)); !errors.Is(err, ErrFileExpired) {
		t.Fatalf("expired file: %v", err)
	}
	if !g2.HighWaterMark().IsZero() {
		t.Errorf("a failed Verify moved the mark to %v", g2.HighWaterMark())
	}
}

func TestRollbackStateIntegrity(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	g, _ := NewRollbackGuard(path, rollbackKey)
	c := &testClock{t: now}
	if _, err := guardedVerifier(t, g, c).Verify(validFile(t, nil)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Any edit is detected, and so is the wrong key.
	edited := bytes.Replace(data, []byte(" 17"), []byte(" 16"), 1)
	if bytes.Equal(edited, data) {
		t.Fatalf("test state file has an unexpected form: %q", data)
	}
	for name, content := range map[string][]byte{
		"edited time": edited,
		"garbage":     []byte("hello"),
		"empty":       {},
		"huge":        bytes.Repeat([]byte("1"), 4096),
		"bad mac hex": append(bytes.Clone(data[:len(data)-5]), []byte("zz\n")...),
	} {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if g, err := NewRollbackGuard(path, rollbackKey); !errors.Is(err, ErrRollbackState) || g != nil {
			t.Errorf("%s: NewRollbackGuard = %v, %v", name, g, err)
		}
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewRollbackGuard(path, []byte("another key of 16+ bytes")); !errors.Is(err, ErrRollbackState) {
		t.Errorf("wrong key: %v", err)
	}
	if _, err := NewRollbackGuard(path, rollbackKey); err != nil {
		t.Errorf("original state: %v", err)
	}
	if _, err := NewRollbackGuard(path, []byte("short")); err == nil {
		t.Error("short key accepted")
	}
	// A deleted state file simply starts over (documented limitation).
	os.Remove(path)
	if g, err := NewRollbackGuard(path, rollbackKey); err != nil || !g.HighWaterMark().IsZero() {
		t.Errorf("missing state: %v, %v", g, err)
	}
}

func TestRollbackGuardWritesSparingly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	g, _ := NewRollbackGuard(path, rollbackKey)
	c := &testClock{t: now}
	v := guardedVerifier(t, g, c)
	cert := validFile(t, nil)
	if _, err := v.Verify(cert); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(path)
	c.add(RollbackSaveInterval - time.Second)
	v.Verify(cert)
	if second, _ := os.ReadFile(path); !bytes.Equal(first, second) {
		t.Error("state written before RollbackSaveInterval passed")
	}
	c.add(time.Second)
	v.Verify(cert)
	if third, _ := os.ReadFile(path); bytes.Equal(first, third) {
		t.Error("state not written after RollbackSaveInterval")
	}
	// Save writes at once.
	c.add(time.Second)
	v.Verify(cert)
	if err := g.Save(); err != nil {
		t.Fatal(err)
	}
	g2, _ := NewRollbackGuard(path, rollbackKey)
	if !g2.HighWaterMark().Equal(c.now()) {
		t.Errorf("after Save, mark = %v, want %v", g2.HighWaterMark(), c.now())
	}
}

func TestRollbackGuardWriteFailureDoesNotLockOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "state")
	g, err := NewRollbackGuard(path, rollbackKey)
	if err != nil {
		t.Fatal(err)
	}
	c := &testClock{t: now}
	v := guardedVerifier(t, g, c)
	if _, err := v.Verify(validFile(t, nil)); err != nil {
		t.Fatalf("Verify with an unwritable state file: %v", err)
	}
	if g.Err() == nil {
		t.Error("Err() is nil after a failed write")
	}
	// The in-memory mark still protects this process.
	c.add(-time.Hour)
	if _, err := v.Verify(validFile(t, nil)); !errors.Is(err, ErrClockRollback) {
		t.Errorf("rollback after failed write: %v", err)
	}
}
