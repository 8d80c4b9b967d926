package fingerprint

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/licentric/licentric-go/internal/atomicfile"
)

// StateFileName is the name of the file in which StateDir keeps its ID.
const StateFileName = "machine-id"

const (
	// maxStateFile caps what is read from a state file.
	maxStateFile = 1024
	// Accepted lengths of a state file's ID, in hex digits. Created files
	// hold 64; 32 admits a copied systemd machine ID.
	minStateIDLen = 32
	maxStateIDLen = 128
)

// StateDir returns a Source that keeps a random ID in the file StateFileName
// inside dir. The first call on a machine creates dir (mode 0700) if needed
// and writes 32 random bytes from crypto/rand as hex, with mode 0600, through
// a temporary file so that no reader sees a partial file. The file is then
// published only if it is still absent, so concurrent first callers, in this
// process or in others, all get the ID that was published first. Later calls
// read the file back.
//
// A file that exists but does not hold 32 to 128 hex digits (with an optional
// trailing newline) gives an error wrapping ErrCorruptState and is left as it
// is: remove it to give the machine a new identity.
func StateDir(dir string) Source {
	return &stateDir{dir: dir, link: os.Link}
}

type stateDir struct {
	dir string
	// link publishes a complete temporary file under its final name and
	// fails if that name exists. Tests replace it to reach the fallback.
	link func(oldname, newname string) error
	// mu serializes first creation among callers of this value.
	mu sync.Mutex
}

func (s *stateDir) ID() (string, error) {
	if s.dir == "" {
		return "", errors.New("fingerprint: state directory not set")
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	path := filepath.Join(s.dir, StateFileName)
	id, err := readStateFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return id, err
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return "", fmt.Errorf("fingerprint: create state directory: %w", err)
	}
	return s.create(path)
}

// create writes a new ID to path unless another caller got there first, in
// which case the ID already there is returned.
func (s *stateDir) create(path string) (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("fingerprint: generate state ID: %w", err)
	}
	id := hex.EncodeToString(raw[:])

	tmp := filepath.Join(s.dir, "."+StateFileName+".new-"+rand.Text())
	if err := atomicfile.Write(tmp, []byte(id+"\n"), atomicfile.DefaultPerm); err != nil {
		return "", fmt.Errorf("fingerprint: write state file: %w", err)
	}
	defer os.Remove(tmp)

	err := s.link(tmp, path)
	switch {
	case err == nil:
		atomicfile.SyncDir(s.dir)
		return id, nil
	case errors.Is(err, fs.ErrExist):
		// Another creator published first: use its ID.
		return readStateFile(path)
	}
	// The file system cannot link. Rename instead, checking first that no
	// one has published; the check and the rename are not atomic across
	// processes, so concurrent first creators in different processes may
	// disagree here.
	if _, err := os.Lstat(path); err == nil {
		return readStateFile(path)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("fingerprint: publish state file: %w", err)
	}
	atomicfile.SyncDir(s.dir)
	return id, nil
}

// readStateFile reads and checks the ID at path. An absent file gives an
// error matching fs.ErrNotExist.
func readStateFile(path string) (string, error) {
	data, err := atomicfile.ReadCapped(path, maxStateFile)
	if errors.Is(err, atomicfile.ErrTooLarge) {
		return "", fmt.Errorf("%w: %s is larger than %d bytes; remove it to create a new machine identity", ErrCorruptState, path, maxStateFile)
	}
	if err != nil {
		return "", fmt.Errorf("fingerprint: read state file: %w", err)
	}
	id, err := parseStateID(data)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w; remove it to create a new machine identity", ErrCorruptState, path, err)
	}
	return id, nil
}

// parseStateID checks a state file's contents: 32 to 128 hex digits, with an
// optional trailing "\n" or "\r\n". Its errors never quote the contents.
func parseStateID(data []byte) (string, error) {
	s := string(data)
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\r")
	if len(s) < minStateIDLen || len(s) > maxStateIDLen {
		return "", fmt.Errorf("ID has %d characters, want %d to %d hex digits", len(s), minStateIDLen, maxStateIDLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", fmt.Errorf("ID has a character that is not a hex digit at offset %d", i)
		}
	}
	return s, nil
}
