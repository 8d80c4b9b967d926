package offline

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/licentric/licentric-go/internal/clocktest"
	"github.com/licentric/licentric-go/resource"
)

var rollbackKey = []byte("0123456789abcdef-rollback-key")

func guardedVerifier(t *testing.T, g *RollbackGuard, c *clocktest.Clock) *Verifier {
	t.Helper()
	return newTestVerifier(t, WithRollbackGuard(g), WithClock(c))
}

func TestRollbackGuardRefusesClockSetBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	g, err := NewRollbackGuard(path, rollbackKey)
	if err != nil {
		t.Fatal(err)
	}
	c := clocktest.New(now)
	v := guardedVerifier(t, g, c)
	cert := validFile(t, nil)
	if _, err := v.Verify(cert); err != nil {
		t.Fatal(err)
	}
	c.Advance(48 * time.Hour)
	if _, err := v.Verify(cert); err != nil {
		t.Fatal(err)
	}
	if got := g.HighWaterMark(); !got.Equal(now.Add(48 * time.Hour)) {
		t.Fatalf("HighWaterMark = %v", got)
	}
	// Back by exactly the skew: tolerated. Further: refused, even on the
	// very same (cached) bytes.
	c.Set(now.Add(48*time.Hour - DefaultClockSkew))
	if _, err := v.Verify(cert); err != nil {
		t.Fatalf("clock back by the skew: %v", err)
	}
	c.Set(now.Add(48*time.Hour - DefaultClockSkew - time.Millisecond))
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
	c := clocktest.New(issued.Add(10*24*time.Hour + time.Hour))
	v := guardedVerifier(t, g, c)
	newer := validFile(t, func(p *Payload) {
		p.IssuedAt = ts(issued.Add(10 * 24 * time.Hour))
		p.ExpiresAt = ts(issued.Add(24 * 24 * time.Hour))
	})
	if _, err := v.Verify(newer); err != nil {
		t.Fatal(err)
	}
	c.Set(now)
	f, err := v.Verify(validFile(t, nil))
	wantErr(t, f, err, ErrClockRollback)

	// A guard only learns from files that verify.
	g2, _ := NewRollbackGuard("", rollbackKey)
	v2 := guardedVerifier(t, g2, clocktest.New(issued.Add(100*24*time.Hour)))
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
	c := clocktest.New(now)
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
	c := clocktest.New(now)
	v := guardedVerifier(t, g, c)
	cert := validFile(t, nil)
	if _, err := v.Verify(cert); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(path)
	c.Advance(RollbackSaveInterval - time.Second)
	v.Verify(cert)
	if second, _ := os.ReadFile(path); !bytes.Equal(first, second) {
		t.Error("state written before RollbackSaveInterval passed")
	}
	c.Advance(time.Second)
	v.Verify(cert)
	if third, _ := os.ReadFile(path); bytes.Equal(first, third) {
		t.Error("state not written after RollbackSaveInterval")
	}
	// Save writes at once.
	c.Advance(time.Second)
	v.Verify(cert)
	if err := g.Save(); err != nil {
		t.Fatal(err)
	}
	g2, _ := NewRollbackGuard(path, rollbackKey)
	if !g2.HighWaterMark().Equal(c.Now()) {
		t.Errorf("after Save, mark = %v, want %v", g2.HighWaterMark(), c.Now())
	}
}

func TestRollbackGuardWriteFailureDoesNotLockOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "state")
	g, err := NewRollbackGuard(path, rollbackKey)
	if err != nil {
		t.Fatal(err)
	}
	c := clocktest.New(now)
	v := guardedVerifier(t, g, c)
	if _, err := v.Verify(validFile(t, nil)); err != nil {
		t.Fatalf("Verify with an unwritable state file: %v", err)
	}
	if g.Err() == nil {
		t.Error("Err() is nil after a failed write")
	}
	// The in-memory mark still protects this process.
	c.Advance(-time.Hour)
	if _, err := v.Verify(validFile(t, nil)); !errors.Is(err, ErrClockRollback) {
		t.Errorf("rollback after failed write: %v", err)
	}
}

func TestRollbackGuardWithdrawRefusesFilesIssuedBefore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	g, err := NewRollbackGuard(path, rollbackKey)
	if err != nil {
		t.Fatal(err)
	}
	c := clocktest.New(now)
	v := guardedVerifier(t, g, c)
	old := validFile(t, nil)
	f, err := v.Verify(old)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Withdraw(f.License.ID, c.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(old); !errors.Is(err, ErrFileWithdrawn) {
		t.Fatalf("a file issued before the withdrawal verified: %v", err)
	}
	// Another license's file, and a file issued after the withdrawal
	// (a reinstatement), verify.
	if _, err := v.Verify(validFile(t, func(p *Payload) { p.License.ID = "another-license" })); err != nil {
		t.Errorf("another license: %v", err)
	}
	c.Advance(time.Minute)
	fresh := validFile(t, func(p *Payload) { p.IssuedAt = resource.Timestamp{Time: c.Now().Add(-time.Second)} })
	if _, err := v.Verify(fresh); err != nil {
		t.Errorf("a file issued after the withdrawal: %v", err)
	}

	// The withdrawal survives a restart, and a later one never moves it back.
	g2, err := NewRollbackGuard(path, rollbackKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := g2.Withdraw(f.License.ID, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := guardedVerifier(t, g2, c).Verify(old); !errors.Is(err, ErrFileWithdrawn) {
		t.Errorf("after a restart the withdrawn file verified: %v", err)
	}

	// The withdrawal is in the integrity-checked state: removing it from
	// the file is detected.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fields := bytes.Fields(data)
	stripped := append(bytes.Join(append(fields[:3:3], fields[len(fields)-1]), []byte(" ")), '\n')
	if err := os.WriteFile(path, stripped, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewRollbackGuard(path, rollbackKey); !errors.Is(err, ErrRollbackState) {
		t.Errorf("a state file with its withdrawal cut out loaded: %v", err)
	}
}

func TestRollbackGuardWithdrawalsAreBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	g, _ := NewRollbackGuard(path, rollbackKey)
	for i := range MaxWithdrawals + 5 {
		if err := g.Withdraw(strings.Repeat("x", 100)+strconv.Itoa(i), now); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Withdraw("", now); err == nil {
		t.Error("an empty license id was accepted")
	}
	if err := g.Withdraw(strings.Repeat("y", 129), now); err == nil {
		t.Error("an oversized license id was accepted")
	}
	g2, err := NewRollbackGuard(path, rollbackKey)
	if err != nil {
		t.Fatalf("a full state file does not load: %v", err)
	}
	if _, ok := g2.withdrawnAt(strings.Repeat("x", 100)+"0", now); ok {
		t.Error("the oldest withdrawal was kept past MaxWithdrawals")
	}
	if _, ok := g2.withdrawnAt(strings.Repeat("x", 100)+strconv.Itoa(MaxWithdrawals+4), now); !ok {
		t.Error("the newest withdrawal was lost")
	}
}

func TestRollbackGuardLoadsVersion1State(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	g, _ := NewRollbackGuard("", rollbackKey)
	body := rollbackMagicV1 + " 1700000000000 1700000000000"
	v1 := body + " " + hex.EncodeToString(g.mac(body)) + "\n"
	if err := os.WriteFile(path, []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	g2, err := NewRollbackGuard(path, rollbackKey)
	if err != nil {
		t.Fatal(err)
	}
	if !g2.HighWaterMark().Equal(time.UnixMilli(1700000000000).UTC()) {
		t.Errorf("mark %v", g2.HighWaterMark())
	}
}

// FuzzRollbackState feeds arbitrary bytes to the state-file decoder: it
// never panics, and what it accepts round-trips.
func FuzzRollbackState(f *testing.F) {
	g, _ := NewRollbackGuard("", rollbackKey)
	f.Add(g.encode(now, now, nil))
	f.Add(g.encode(now, now.Add(time.Hour), []withdrawal{{"lic-1", now}, {"lic ü 2", now.Add(time.Minute)}}))
	f.Add([]byte(rollbackMagicV1 + " 1 2 00"))
	f.Add([]byte(rollbackMagic + " 1 2 w:::: 00"))
	f.Add([]byte("w:" + strings.Repeat("A", 200) + ":1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		seen, issued, withdrawn, err := g.decode(data)
		if err != nil {
			if !errors.Is(err, ErrRollbackState) {
				t.Fatalf("error %v does not match ErrRollbackState", err)
			}
			return
		}
		again, _, _, err := g.decode(g.encode(seen, issued, withdrawn))
		if err != nil || !again.Equal(seen) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
