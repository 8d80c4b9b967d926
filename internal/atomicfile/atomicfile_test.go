package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteReplacesWithOwnerOnlyPermissions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "license.lic")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("new contents"), DefaultPerm); err != nil {
		t.Fatalf("Write: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "new contents" {
		t.Fatalf("read back %q, %v", got, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("permissions = %o, want 600", perm)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the file (no temporary left behind)", len(entries))
	}
}

func TestWriteFailureLeavesDestinationIntact(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "missing-dir", "license.lic")
	if err := Write(path, []byte("x"), DefaultPerm); err == nil {
		t.Fatal("Write into a missing directory succeeded")
	}
	// A destination that is a directory cannot be replaced by rename.
	target := filepath.Join(dir, "target")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "keep"), []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(target, []byte("x"), DefaultPerm); err == nil {
		t.Fatal("Write over a non-empty directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary file left behind: %d entries", len(entries))
	}
}

func TestReadCapped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadCapped(path, 10); err != nil || string(got) != "0123456789" {
		t.Fatalf("ReadCapped at the limit = %q, %v", got, err)
	}
	if _, err := ReadCapped(path, 9); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadCapped over the limit = %v, want ErrTooLarge", err)
	}
}

// TestWriteRemovesStaleTemps: temporary files left by
// killed writers (empty or whole) are removed by the next write of the same
// target once older than StaleTempAge; a fresh one (another process may be
// writing it) and other targets' files stay.
func TestWriteRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "license.lic")
	old := time.Now().Add(-2 * StaleTempAge)
	plant := func(name string, data []byte, mtime time.Time) string {
		t.Helper()
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o600))
		require.NoError(t, os.Chtimes(p, mtime, mtime))
		return p
	}
	staleEmpty := plant(".license.lic.tmp-123456", nil, old)
	staleWhole := plant(".license.lic.tmp-987654321", []byte("a whole license file"), old)
	fresh := plant(".license.lic.tmp-555", []byte("being written"), time.Now())
	otherTarget := plant(".cache.bin.tmp-42", nil, old)
	nested := plant(".license.lic.tmp-x.tmp-77", nil, old) // a temp of target "license.lic.tmp-x"
	notOurs := plant(".license.lic.tmp-notes", []byte("user file"), old)
	require.NoError(t, os.Mkdir(filepath.Join(dir, ".license.lic.tmp-1"), 0o700))
	require.NoError(t, os.Chtimes(filepath.Join(dir, ".license.lic.tmp-1"), old, old))

	require.NoError(t, Write(path, []byte("new"), DefaultPerm))
	for _, gone := range []string{staleEmpty, staleWhole} {
		_, err := os.Stat(gone)
		assert.True(t, errors.Is(err, os.ErrNotExist), "%s survived", filepath.Base(gone))
	}
	for _, kept := range []string{fresh, otherTarget, nested, notOurs, filepath.Join(dir, ".license.lic.tmp-1"), path} {
		_, err := os.Stat(kept)
		assert.NoError(t, err, "%s was removed", filepath.Base(kept))
	}
	// The next write of the other target removes its own.
	require.NoError(t, Write(filepath.Join(dir, "cache.bin"), []byte("c"), DefaultPerm))
	_, err := os.Stat(otherTarget)
	assert.True(t, errors.Is(err, os.ErrNotExist))
}
