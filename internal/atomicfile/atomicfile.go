package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// DefaultPerm is the permission for files that hold license material or cached
// results: readable and writable by the owner only.
const DefaultPerm os.FileMode = 0o600

// Write replaces the file at path with data. The data is written to a
// temporary file in the same directory, synced, given perm and then renamed
// over path, and the directory is synced where the platform allows. On any
// error the destination is left as it was and the temporary file is removed.
func Write(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
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
