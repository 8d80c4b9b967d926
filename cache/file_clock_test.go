package cache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go/clock"
)

// TestFileClockHeldBackMisses: a user who restarts with
// the clock set back inside [storedAt, freshUntil) no longer gets the cached
// result; the client asks the service instead.
func TestFileClockHeldBackMisses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache")
	clk := newFakeClock()
	storedAt := clk.Now()
	f := newTestFile(t, path, testSecret, clk)
	mustSet(t, f, "v1/live/lic/fp", "VALID", time.Hour)
	clk.Advance(10 * time.Minute)
	wantGet(t, f, "v1/live/lic/fp", "VALID") // records the mark
	assert.False(t, f.ClockRolledBack())

	// Restart with the clock set back to just after storedAt.
	clk.Set(storedAt.Add(time.Minute))
	g := newTestFile(t, path, testSecret, clk)
	wantMiss(t, g, "v1/live/lic/fp")
	assert.True(t, g.ClockRolledBack())
	assert.WithinDuration(t, storedAt.Add(10*time.Minute), g.HighWaterMark(), time.Second)
	// A Set while the clock is back does not lower the mark, and the new
	// entry is not served either.
	mustSet(t, g, "other", "x", time.Hour)
	wantMiss(t, g, "other")
	h := newTestFile(t, path, testSecret, clk)
	assert.True(t, h.ClockRolledBack())

	// Once the clock is back within the skew of the mark, entries serve.
	clk.Set(storedAt.Add(10*time.Minute - DefaultClockSkew + time.Second))
	assert.False(t, h.ClockRolledBack())
	wantGet(t, h, "v1/live/lic/fp", "VALID")
}

// TestFileMarkFromSetsAlone: the mark is written with every change, so a
// clock set back behind the last Set is caught without any Get.
func TestFileMarkFromSetsAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache")
	clk := newFakeClock()
	start := clk.Now()
	f := newTestFile(t, path, testSecret, clk)
	mustSet(t, f, "a", "A", 3*time.Hour)
	clk.Advance(2 * time.Hour)
	mustSet(t, f, "b", "B", 3*time.Hour)
	clk.Set(start.Add(5 * time.Minute))
	g := newTestFile(t, path, testSecret, clk)
	wantMiss(t, g, "a")
	wantMiss(t, g, "b")
}

// TestFileSmallSkewTolerated: a clock a little behind the mark (an NTP
// step) still serves entries.
func TestFileSmallSkewTolerated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache")
	clk := newFakeClock()
	f := newTestFile(t, path, testSecret, clk)
	mustSet(t, f, "k", "v", time.Hour)
	clk.Advance(-30 * time.Second)
	wantGet(t, f, "k", "v")
	g := newTestFile(t, path, testSecret, clk, WithClockSkew(10*time.Second))
	wantMiss(t, g, "k")
	assert.True(t, g.ClockRolledBack())
}

// TestFileGetWritesMarkSparingly: a Get writes the file only when the mark
// has moved by MarkSaveInterval since the last write.
func TestFileGetWritesMarkSparingly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache")
	clk := newFakeClock()
	f := newTestFile(t, path, testSecret, clk)
	mustSet(t, f, "k", "v", time.Hour)
	written := func() []byte {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		return b
	}
	before := written()
	clk.Advance(MarkSaveInterval - time.Second)
	wantGet(t, f, "k", "v")
	assert.True(t, bytes.Equal(before, written()), "a Get within MarkSaveInterval wrote the file")
	clk.Advance(2 * time.Second)
	wantGet(t, f, "k", "v")
	assert.False(t, bytes.Equal(before, written()), "a Get past MarkSaveInterval did not write the mark")
	// An empty store writes no file for the mark.
	empty := filepath.Join(t.TempDir(), "empty")
	e := newTestFile(t, empty, testSecret, clk)
	clk.Advance(time.Hour)
	wantMiss(t, e, "k")
	_, err := os.Stat(empty)
	assert.True(t, errors.Is(err, os.ErrNotExist))
}

// TestFileVersion1Ignored: a file of the format before the mark starts the
// store empty (it would let a held-back clock pass unseen).
func TestFileVersion1Ignored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache")
	clk := newFakeClock()
	f := newTestFile(t, path, testSecret, clk)
	v1 := []byte{1, 0, 0, 0, 1}
	v1 = binary.BigEndian.AppendUint64(v1, uint64(clk.Now().Add(time.Hour).UnixNano()))
	v1 = append(v1, 1, 'k', 1, 'v')
	require.NoError(t, os.WriteFile(path, sealPlain(t, f, v1), 0o600))
	wantMiss(t, newTestFile(t, path, testSecret, clk), "k")
}

func TestFileClockOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache")
	for _, opt := range []FileOption{WithClock(nil), WithClockSkew(-time.Second)} {
		_, err := NewFile(path, testSecret, opt)
		assert.ErrorIs(t, err, ErrInvalidOption)
	}
	// A clock.Func is read as the clock.
	clk := newFakeClock()
	for _, opt := range []FileOption{WithClock(clock.Func(clk.Now))} {
		f, err := NewFile(filepath.Join(t.TempDir(), "c"), testSecret, opt)
		require.NoError(t, err)
		mustSet(t, f, "k", "v", time.Minute)
		clk.Advance(time.Minute)
		wantMiss(t, f, "k")
	}
}
