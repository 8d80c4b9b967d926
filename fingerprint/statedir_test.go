package fingerprint

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
)

func readStateID(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, StateFileName))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(string(data), "\n")
}

// assertOnlyStateFile checks that dir holds the state file and nothing else
// (no temporary file left behind).
func assertOnlyStateFile(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != StateFileName {
		t.Errorf("state directory holds %v, want only %s", names, StateFileName)
	}
}

func TestStateDirCreatesOnceAndReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "state")
	id, err := StateDir(dir).ID()
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 64 {
		t.Errorf("new ID has %d characters, want 64 hex digits", len(id))
	}
	if _, err := parseStateID([]byte(id)); err != nil {
		t.Errorf("new ID is not hex: %v", err)
	}
	if got := readStateID(t, dir); got != id {
		t.Errorf("file holds a different ID than returned")
	}
	if runtime.GOOS != "windows" {
		info, err := os.Stat(filepath.Join(dir, StateFileName))
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("state file mode %o, want 600", perm)
		}
		dinfo, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if perm := dinfo.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("created state directory mode %o, want no group/other access", perm)
		}
	}
	assertOnlyStateFile(t, dir)

	// A new Source value (as in a new process) reads the same ID back.
	again, err := StateDir(dir).ID()
	if err != nil || again != id {
		t.Errorf("second read = %v, %v; want the created ID", again != id, err)
	}
	other, err := StateDir(t.TempDir()).ID()
	if err != nil {
		t.Fatal(err)
	}
	if other == id {
		t.Error("two state directories got the same random ID")
	}
}

func TestStateDirAcceptsProvisionedID(t *testing.T) {
	dir := t.TempDir()
	const provisioned = "0123456789ABCDEF0123456789abcdef" // e.g. a copied systemd machine ID
	if err := os.WriteFile(filepath.Join(dir, StateFileName), []byte(provisioned+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := StateDir(dir).ID()
	if err != nil || id != provisioned {
		t.Errorf("ID = %q, %v; want the provisioned ID", id, err)
	}
}

func TestStateDirConcurrentFirstCreationAgrees(t *testing.T) {
	for round := 0; round < 20; round++ {
		dir := t.TempDir()
		shared := StateDir(dir)
		const n = 8
		ids := make([]string, 2*n)
		errs := make([]error, 2*n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				<-start
				src := shared
				if i%2 == 1 {
					src = StateDir(dir) // separate values share no lock
				}
				ids[i], errs[i] = src.ID()
			})
		}
		close(start)
		wg.Wait()
		for i := range ids {
			if errs[i] != nil {
				t.Fatalf("round %d caller %d: %v", round, i, errs[i])
			}
			if ids[i] != ids[0] {
				t.Fatalf("round %d: callers got different IDs", round)
			}
		}
		if got := readStateID(t, dir); got != ids[0] {
			t.Fatalf("round %d: file holds an ID no caller got", round)
		}
		assertOnlyStateFile(t, dir)
	}
}

func TestStateDirWithoutHardLinks(t *testing.T) {
	dir := t.TempDir()
	src := &stateDir{dir: dir, link: func(string, string) error {
		return &os.LinkError{Op: "link", Err: syscall.EPERM}
	}}
	id, err := src.ID()
	if err != nil {
		t.Fatal(err)
	}
	if got := readStateID(t, dir); got != id {
		t.Error("file holds a different ID than returned")
	}
	assertOnlyStateFile(t, dir)
	again, err := src.ID()
	if err != nil || again != id {
		t.Errorf("second read differs or failed: %v", err)
	}
}

func TestStateDirCorruptFileIsAnError(t *testing.T) {
	nearlyValid := strings.Repeat("ab", 31) + "c" // 63 hex digits: almost a raw ID
	tests := []struct {
		name    string
		content []byte
	}{
		{"empty", nil},
		{"newline only", []byte("\n")},
		{"too short", []byte(nearlyValid[:31])},
		{"not hex", []byte(strings.Repeat("zz", 32))},
		{"trailing garbage", []byte(strings.Repeat("ab", 32) + "\nextra")},
		{"inner whitespace", []byte(strings.Repeat("ab", 16) + " " + strings.Repeat("ab", 16))},
		{"too long", []byte(strings.Repeat("a", maxStateIDLen+1))},
		{"over read cap", bytes.Repeat([]byte("a"), maxStateFile+1)},
		{"nearly valid", []byte(nearlyValid + "!")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, StateFileName)
			if err := os.WriteFile(path, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			id, err := StateDir(dir).ID()
			if !errors.Is(err, ErrCorruptState) {
				t.Fatalf("ID = %q, %v; want ErrCorruptState", id, err)
			}
			if len(tt.content) >= 8 && strings.Contains(err.Error(), string(tt.content[:8])) {
				t.Errorf("error %q quotes the file's contents", err)
			}
			if strings.Contains(err.Error(), nearlyValid[:16]) {
				t.Errorf("error %q quotes the file's contents", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			got, _ := os.ReadFile(path)
			if !bytes.Equal(got, tt.content) {
				t.Error("corrupt state file was modified")
			}
			// Through Compute the fallback's error is reported, not hidden
			// behind a fresh identity.
			_, err = Compute("app", WithSource(failing(errors.New("no id"))), WithStateDir(dir))
			if !errors.Is(err, ErrCorruptState) || !errors.Is(err, ErrNoMachineID) {
				t.Errorf("Compute error %v, want ErrCorruptState and ErrNoMachineID", err)
			}
		})
	}
}

func TestStateDirUnusableDirectory(t *testing.T) {
	if _, err := StateDir("").ID(); err == nil {
		t.Error("empty directory accepted")
	}
	// A regular file where the directory should be.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := StateDir(file).ID(); err == nil || errors.Is(err, ErrCorruptState) {
		t.Errorf("state dir that is a file: error %v, want a non-corruption error", err)
	}
	// A directory where the state file should be.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, StateFileName), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := StateDir(dir).ID(); err == nil {
		t.Error("state file that is a directory accepted")
	}
}

func FuzzParseStateID(f *testing.F) {
	f.Add([]byte(strings.Repeat("ab", 32) + "\n"))
	f.Add([]byte(strings.Repeat("AB", 16)))
	f.Add([]byte(strings.Repeat("a", 128) + "\r\n"))
	f.Add([]byte(""))
	f.Add([]byte("\r\n"))
	f.Add([]byte(strings.Repeat("g", 64)))
	f.Add([]byte(strings.Repeat("a", 129)))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := parseStateID(data)
		if err != nil {
			if id != "" {
				t.Fatalf("error with non-empty ID")
			}
			if len(data) >= 4 && strings.Contains(err.Error(), string(data)) {
				t.Fatalf("error %q quotes the input", err)
			}
			return
		}
		if len(id) < minStateIDLen || len(id) > maxStateIDLen {
			t.Fatalf("accepted ID of length %d", len(id))
		}
		for _, c := range []byte(id) {
			if !strings.ContainsRune("0123456789abcdefABCDEF", rune(c)) {
				t.Fatalf("accepted non-hex byte %q", c)
			}
		}
		if id != string(data) && id+"\n" != string(data) && id+"\r\n" != string(data) {
			t.Fatalf("ID is not the input less a line ending")
		}
	})
}
