package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultPerm is the permission for files that hold license material or cached
// results: readable and writable by the owner only.
const DefaultPerm os.FileMode = 0o600

// StaleTempAge is how old a leftover temporary file of the same target must
// be before Write removes it. A write takes milliseconds, so a temporary file
// this old belongs to a process that died mid-write (kill -9, power loss),
// not to one still writing.
const StaleTempAge = time.Minute

// Write replaces the file at path with data. The data is written to a
// temporary file in the same directory, synced, given perm and then renamed
// over path, and the directory is synced where the platform allows. On any
// error the destination is left as it was and the temporary file is removed.
//
// A process killed mid-write leaves its temporary file behind; each Write
// first removes the temporary files of the same target older than
// StaleTempAge (see removeStaleTemps), so they don't pile up.
func Write(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	prefix := tempPrefix(path)
	removeStaleTemps(dir, prefix, time.Now().Add(-StaleTempAge))
	tmp, err := os.CreateTemp(dir, prefix+"*")
	if err != nil {
		return fmt.Errorf("atomicfile: create temporary file: %w", err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmpName)
		}
	}()
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("atomicfile: set permissions: %w", err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("atomicfile: write: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("atomicfile: sync: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("atomicfile: close: %w", err)
	}
	if err = os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("atomicfile: rename: %w", err)
	}
	SyncDir(dir)
	return nil
}

// tempPrefix is the name prefix of Write's temporary files for path;
// os.CreateTemp completes it with a decimal random number.
func tempPrefix(path string) string { return "." + filepath.Base(path) + ".tmp-" }

// removeStaleTemps removes, from dir, the regular files named prefix
// followed by digits only (Write's temporary files of one target, and of no
// other: another target's temporary names carry a second ".tmp-") last
// modified before cutoff. Failures are ignored: cleaning up must never fail
// a write.
func removeStaleTemps(dir, prefix string, cutoff time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, prefix) || !allDigits(name[len(prefix):]) {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			continue
		}
		_ = os.Remove(filepath.Join(dir, name))
	}
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ReadCapped reads at most limit bytes from the file at path. A file larger
// than limit gives ErrTooLarge without its contents being read in full.
func ReadCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, ErrTooLarge
	}
	return data, nil
}

// ErrTooLarge reports a file over the size limit given to ReadCapped.
var ErrTooLarge = errors.New("atomicfile: file exceeds size limit")

// SyncDir flushes dir's entries, such as a rename or link just made in it.
// Failures are ignored: some platforms and file systems cannot sync
// directories, and the change itself has already succeeded.
func SyncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
