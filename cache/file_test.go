package cache

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licentric/licentric-go/clock"
	"github.com/licentric/licentric-go/internal/clocktest"
)

var testSecret = []byte("machine-fingerprint-A")

func newFakeClock() *clocktest.Clock {
	return clocktest.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
}

func newTestFile(t testing.TB, path string, secret []byte, clk *clocktest.Clock, opts ...FileOption) *File {
	t.Helper()
	opts = append([]FileOption{WithClock(clk)}, opts...)
	f, err := NewFile(path, secret, opts...)
	if err != nil {
		t.Fatalf("NewFile: %v", err)
	}
	return f
}

func mustSet(t testing.TB, s Store, key, value string, ttl time.Duration) {
	t.Helper()
	if err := s.Set(key, []byte(value), ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func wantGet(t testing.TB, s Store, key, want string) {
	t.Helper()
	v, ok := s.Get(key)
	if !ok || string(v) != want {
		t.Fatalf("Get(%q) = %q, %v; want %q, true", key, v, ok, want)
	}
}

func wantMiss(t testing.TB, s Store, key string) {
	t.Helper()
	if v, ok := s.Get(key); ok {
		t.Fatalf("Get(%q) = %q, true; want a miss", key, v)
	}
}

// logBuffer returns a logger writing text to a buffer, for asserting that a
// rejected file is reported.
func logBuffer() (*slog.Logger, *syncBuffer) {
	var b syncBuffer
	return slog.New(slog.NewTextHandler(&b, nil)), &b
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestFileSetGetDelete(t *testing.T) {
	f := newTestFile(t, filepath.Join(t.TempDir(), "cache"), testSecret, newFakeClock())
	wantMiss(t, f, "k")
	mustSet(t, f, "k", "v1", time.Hour)
	wantGet(t, f, "k", "v1")
	mustSet(t, f, "k", "v2", time.Hour)
	wantGet(t, f, "k", "v2")
	f.Delete("k")
	wantMiss(t, f, "k")
	f.Delete("missing")
}

func TestFileRejectsNonPositiveTTL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache")
	f := newTestFile(t, path, testSecret, newFakeClock())
	for _, ttl := range []time.Duration{0, -time.Minute} {
		if err := f.Set("k", []byte("v"), ttl); !errors.Is(err, ErrInvalidTTL) {
			t.Errorf("Set with ttl %v: err = %v, want ErrInvalidTTL", ttl, err)
		}
	}
	wantMiss(t, f, "k")
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("rejected Set wrote the file: %v", err)
	}
}

func TestFileConstructionErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache")
	if _, err := NewFile(path, nil); !errors.Is(err, ErrNoSecret) {
		t.Errorf("nil secret: err = %v, want ErrNoSecret", err)
	}
	if _, err := NewFile(path, []byte{}); !errors.Is(err, ErrNoSecret) {
		t.Errorf("empty secret: err = %v, want ErrNoSecret", err)
	}
	if _, err := NewFile("", testSecret); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("empty path: err = %v, want ErrInvalidOption", err)
	}
	if _, err := NewFile(path, testSecret, WithClock(nil)); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("nil clock: err = %v, want ErrInvalidOption", err)
	}
	if _, err := NewFile(path, testSecret, WithMaxEntries(0)); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("zero max entries: err = %v, want ErrInvalidOption", err)
	}
}

func TestFileSetCopiesValue(t *testing.T) {
	f := newTestFile(t, filepath.Join(t.TempDir(), "cache"), testSecret, newFakeClock())
	in := []byte("VALID")
	if err := f.Set("k", in, time.Hour); err != nil {
		t.Fatal(err)
	}
	copy(in, "XXXXX")
	wantGet(t, f, "k", "VALID")
}

func TestFileEmptyValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache")
	clk := newFakeClock()
	f := newTestFile(t, path, testSecret, clk)
	if err := f.Set("k", nil, time.Hour); err != nil {
		t.Fatal(err)
	}
	wantGet(t, f, "k", "")
	wantGet(t, newTestFile(t, path, testSecret, clk), "k", "")
}

func TestFileDeletePrefix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache")
	clk := newFakeClock()
	f := newTestFile(t, path, testSecret, clk)
	for _, k := range []string{"v1/prod/licA/fp1", "v1/prod/licA/fp2", "v1/prod/licAB/fp1", "v1/test/licA/fp1"} {
		mustSet(t, f, k, k, time.Hour)
	}
	f.DeletePrefix("v1/prod/licA/")
	reopened := newTestFile(t, path, testSecret, clk)
	for _, s := range []Store{f, reopened} {
		wantMiss(t, s, "v1/prod/licA/fp1")
		wantMiss(t, s, "v1/prod/licA/fp2")
		wantGet(t, s, "v1/prod/licAB/fp1", "v1/prod/licAB/fp1")
		wantGet(t, s, "v1/test/licA/fp1", "v1/test/licA/fp1")
	}
}

func TestFileExpiry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache")
	clk := newFakeClock()
	f := newTestFile(t, path, testSecret, clk)
	mustSet(t, f, "short", "s", 15*time.Minute)
	mustSet(t, f, "long", "l", time.Hour)

	clk.Advance(15*time.Minute - time.Nanosecond)
	wantGet(t, f, "short", "s")
	clk.Advance(time.Nanosecond)
	wantMiss(t, f, "short")
	wantGet(t, f, "long", "l")

	// Expired entries are dropped on load and on write.
	reopened := newTestFile(t, path, testSecret, clk)
	wantMiss(t, reopened, "short")
	if _, ok := reopened.entries["short"]; ok {
		t.Error("expired entry kept on load")
	}
	mustSet(t, f, "other", "o", time.Hour)
	if _, ok := f.entries["short"]; ok {
		t.Error("expired entry kept on write")
	}
	clk.Advance(time.Hour)
	wantMiss(t, newTestFile(t, path, testSecret, clk), "long")
}

func TestFilePersistsAcrossInstances(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache")
	clk := newFakeClock()
	a := newTestFile(t, path, testSecret, clk)
	mustSet(t, a, "v1/prod/lic/fp", "VALID", 30*time.Minute)
	mustSet(t, a, "gone", "x", 30*time.Minute)
	a.Delete("gone")

	b := newTestFile(t, path, testSecret, clk)
	wantGet(t, b, "v1/prod/lic/fp", "VALID")
	wantMiss(t, b, "gone")
}

func TestFileWrongSecretStartsEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache")
	clk := newFakeClock()
	mustSet(t, newTestFile(t, path, testSecret, clk), "k", "VALID", time.Hour)

	log, buf := logBuffer()
	other := newTestFile(t, path, []byte("machine-fingerprint-B"), clk, WithLogger(log))
	wantMiss(t, other, "k")
	if !strings.Contains(buf.String(), "does not open") {
		t.Errorf("rejected file not logged; log = %q", buf.String())
	}
	if strings.Contains(buf.String(), "fingerprint") {
		t.Errorf("log mentions the secret: %q", buf.String())
	}
	// The foreign store can still be used and replaces the file.
	mustSet(t, other, "k2", "mine", time.Hour)
	wantGet(t, newTestFile(t, path, []byte("machine-fingerprint-B"), clk), "k2", "mine")
	wantMiss(t, newTestFile(t, path, testSecret, clk), "k")
}

func sealedFile(t *testing.T) (path string, data []byte, clk *clocktest.Clock) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "cache")
	clk = newFakeClock()
	f := newTestFile(t, path, testSecret, clk)
	mustSet(t, f, "v1/prod/lic/fp", "SUSPENDED", time.Hour)
	mustSet(t, f, "v1/prod/lic2/fp", "VALID", time.Hour)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, data, clk
}

func TestFileFlippedBitStartsEmpty(t *testing.T) {
	path, data, clk := sealedFile(t)
	for i := range data {
		for _, bit := range []byte{0x01, 0x80} {
			mod := bytes.Clone(data)
			mod[i] ^= bit
			if err := os.WriteFile(path, mod, 0o600); err != nil {
				t.Fatal(err)
			}
			f := newTestFile(t, path, testSecret, clk)
			if len(f.entries) != 0 {
				t.Fatalf("flipping bit %#x of byte %d: store loaded %d entries", bit, i, len(f.entries))
			}
		}
	}
}

func TestFileTruncatedStartsEmpty(t *testing.T) {
	path, data, clk := sealedFile(t)
	for n := range len(data) {
		if err := os.WriteFile(path, data[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		if f := newTestFile(t, path, testSecret, clk); len(f.entries) != 0 {
			t.Fatalf("file truncated to %d bytes: store loaded %d entries", n, len(f.entries))
		}
	}
	// Appended bytes are rejected too.
	if err := os.WriteFile(path, append(bytes.Clone(data), 0), 0o600); err != nil {
		t.Fatal(err)
	}
	if f := newTestFile(t, path, testSecret, clk); len(f.entries) != 0 {
		t.Fatal("file with a trailing byte was loaded")
	}
}

func TestFileOversizedStartsEmpty(t *testing.T) {
	path, data, clk := sealedFile(t)
	big := append(bytes.Clone(data), make([]byte, MaxFileSize)...)
	if err := os.WriteFile(path, big, 0o600); err != nil {
		t.Fatal(err)
	}
	log, buf := logBuffer()
	f := newTestFile(t, path, testSecret, clk, WithLogger(log))
	if len(f.entries) != 0 {
		t.Fatal("oversized file was loaded")
	}
	if !strings.Contains(buf.String(), "unreadable") {
		t.Errorf("oversized file not logged; log = %q", buf.String())
	}
}

// A payload that authenticates but does not decode is rejected as a whole.
func TestFileMalformedSealedPayloadStartsEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache")
	clk := newFakeClock()
	f := newTestFile(t, path, testSecret, clk)
	good := encodeEntries(0, map[string]fileEntry{"k": {expiry: clk.Now().Add(time.Hour).UnixNano(), value: []byte("v")}})
	for name, plain := range map[string][]byte{
		"trailing":    append(bytes.Clone(good), 0),
		"bad version": append([]byte{9}, good[1:]...),
		"short count": good[:3],
		"cut entry":   good[:len(good)-1],
	} {
		sealed := sealPlain(t, f, plain)
		if err := os.WriteFile(path, sealed, 0o600); err != nil {
			t.Fatal(err)
		}
		if g := newTestFile(t, path, testSecret, clk); len(g.entries) != 0 {
			t.Errorf("%s: store loaded %d entries", name, len(g.entries))
		}
	}
	// Sanity check of the helper: the good payload loads.
	if err := os.WriteFile(path, sealPlain(t, f, good), 0o600); err != nil {
		t.Fatal(err)
	}
	wantGet(t, newTestFile(t, path, testSecret, clk), "k", "v")
}

func sealPlain(t *testing.T, f *File, plain []byte) []byte {
	t.Helper()
	nonce := make([]byte, 24)
	out := append(bytes.Clone(fileMagic), nonce...)
	return f.aead.Seal(out, nonce, plain, fileMagic)
}

func TestFilePermissionsAndNoTempFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX permissions")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "cache")
	f := newTestFile(t, path, testSecret, newFakeClock())
	mustSet(t, f, "a", "1", time.Hour)
	mustSet(t, f, "b", "2", time.Hour)
	f.Delete("a")
	f.DeletePrefix("b")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("cache file mode = %v, want 0600", perm)
	}
	names, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0].Name() != "cache" {
		var got []string
		for _, n := range names {
			got = append(got, n.Name())
		}
		t.Errorf("directory holds %v, want only [cache]", got)
	}
}

func TestFileWriteFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no-such-dir", "cache")
	f := newTestFile(t, path, testSecret, newFakeClock())
	if err := f.Set("k", []byte("v"), time.Hour); err == nil {
		t.Fatal("Set into a missing directory succeeded")
	}
	wantMiss(t, f, "k") // a failed Set leaves the store unchanged

	// A deletion that cannot be persisted still applies in memory.
	f.entries["k"] = fileEntry{expiry: f.clock.Now().Add(time.Hour).UnixNano(), value: []byte("v")}
	log, buf := logBuffer()
	f.log = log
	f.DeletePrefix("k")
	wantMiss(t, f, "k")
	if !strings.Contains(buf.String(), "could not persist") {
		t.Errorf("failed deletion not logged; log = %q", buf.String())
	}
}

func TestFileMaxEntriesEvictsSoonestExpiring(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache")
	clk := newFakeClock()
	f := newTestFile(t, path, testSecret, clk, WithMaxEntries(3))
	mustSet(t, f, "a", "a", 3*time.Hour)
	mustSet(t, f, "b", "b", 1*time.Hour) // expires soonest
	mustSet(t, f, "c", "c", 2*time.Hour)
	mustSet(t, f, "d", "d", 4*time.Hour)
	wantMiss(t, f, "b")
	for _, k := range []string{"a", "c", "d"} {
		wantGet(t, f, k, k)
	}
	// The entry being set is kept even if it expires soonest.
	mustSet(t, f, "e", "e", time.Minute)
	wantGet(t, f, "e", "e")
	wantMiss(t, f, "c")
	if n := len(newTestFile(t, path, testSecret, clk, WithMaxEntries(3)).entries); n != 3 {
		t.Errorf("reloaded %d entries, want 3", n)
	}
	// A smaller cap on load keeps the latest-expiring entries.
	g := newTestFile(t, path, testSecret, clk, WithMaxEntries(1))
	wantGet(t, g, "d", "d")
	if len(g.entries) != 1 {
		t.Errorf("loaded %d entries with cap 1", len(g.entries))
	}
}

func TestFileSizeCap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache")
	clk := newFakeClock()
	f := newTestFile(t, path, testSecret, clk)
	if err := f.Set("huge", make([]byte, MaxFileSize), time.Hour); !errors.Is(err, ErrEntryTooLarge) {
		t.Fatalf("Set of a value larger than the file cap: err = %v, want ErrEntryTooLarge", err)
	}
	big := string(make([]byte, 3*MaxFileSize/8))
	mustSet(t, f, "1", big, 1*time.Hour)
	mustSet(t, f, "2", big, 2*time.Hour)
	mustSet(t, f, "3", big, 3*time.Hour) // does not fit with 1 and 2
	wantMiss(t, f, "1")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > MaxFileSize {
		t.Fatalf("file is %d bytes, cap is %d", fi.Size(), MaxFileSize)
	}
	g := newTestFile(t, path, testSecret, clk)
	wantGet(t, g, "2", big)
	wantGet(t, g, "3", big)
}

func TestFileConcurrent(t *testing.T) {
	f := newTestFile(t, filepath.Join(t.TempDir(), "cache"), testSecret, newFakeClock())
	exerciseConcurrently(t, f)
}

func TestDecodeEntriesRejectsDuplicates(t *testing.T) {
	one := encodeEntries(7, map[string]fileEntry{"k": {expiry: 1, value: []byte("v")}})
	entry := one[payloadHeaderSize:]
	dup := append([]byte{payloadVersion, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 2}, entry...)
	dup = append(dup, entry...)
	if _, _, err := decodeEntries(dup); err == nil {
		t.Fatal("duplicate keys accepted")
	}
	if mark, m, err := decodeEntries(one); err != nil || string(m["k"].value) != "v" || mark != 7 {
		t.Fatalf("decode of a valid payload = %d, %v, %v", mark, m, err)
	}
}

func FuzzFile(f *testing.F) {
	dir := f.TempDir()
	seedPath := filepath.Join(dir, "seed")
	clk := newFakeClock()
	s, err := NewFile(seedPath, testSecret, WithClock(clock.Func(clk.Now)))
	if err != nil {
		f.Fatal(err)
	}
	if err := s.Set("v1/prod/lic/fp", []byte("VALID"), time.Hour); err != nil {
		f.Fatal(err)
	}
	valid, err := os.ReadFile(seedPath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add([]byte{})
	f.Add([]byte("LCC\x01"))
	f.Add(append([]byte("LCC\x01"), make([]byte, 64)...))
	f.Add([]byte("not a cache file at all"))

	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "cache")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := NewFile(path, testSecret, WithClock(clock.Func(clk.Now)))
		if err != nil {
			t.Fatalf("NewFile on arbitrary contents: %v", err)
		}
		s.Get("v1/prod/lic/fp")
		if err := s.Set("k", []byte("v"), time.Minute); err != nil {
			t.Fatalf("Set after loading arbitrary contents: %v", err)
		}
		wantGet(t, s, "k", "v")
	})
}

// FuzzDecodeEntries exercises the payload decoder directly, since fuzzed
// files almost never pass authentication.
func FuzzDecodeEntries(f *testing.F) {
	f.Add(encodeEntries(1, map[string]fileEntry{"k": {expiry: 1, value: []byte("v")}, "k2": {expiry: 2}}))
	f.Add(encodeEntries(0, map[string]fileEntry{}))
	f.Add([]byte{payloadVersion, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{payloadVersion, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{payloadVersion, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{1, 0, 0, 0, 0}) // version 1, which is not read
	f.Fuzz(func(t *testing.T, data []byte) {
		mark, m, err := decodeEntries(data)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to the same bytes up to key order.
		mark2, m2, err := decodeEntries(encodeEntries(mark, m))
		if err != nil || len(m2) != len(m) || mark2 != mark {
			t.Fatalf("round trip failed: %v, %d vs %d entries, mark %d vs %d", err, len(m2), len(m), mark2, mark)
		}
	})
}
