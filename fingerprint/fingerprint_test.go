package fingerprint

import (
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/denisbrodbeck/machineid"
)

const secretRawID = "raw-secret-7f3c9a11-do-not-leak"

func fixed(id string) Source {
	return SourceFunc(func() (string, error) { return id, nil })
}

func failing(err error) Source {
	return SourceFunc(func() (string, error) { return "", err })
}

func TestComputeKnownAnswer(t *testing.T) {
	// HMAC-SHA256(key "machine-1", message "com.example.app"), computed once
	// with openssl dgst -sha256 -hmac, pinned: a change here changes every
	// deployed fingerprint.
	const want = "d4462a458637c4c5bb3309dba5ad7328ec4e6e4bda83fcc8e34a150b8d43cc9b"
	got, err := Compute("com.example.app", WithSource(fixed("machine-1")))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("fingerprint = %s, want %s", got, want)
	}
}

func TestComputeIsDeterministicAndPerApp(t *testing.T) {
	a1, err := Compute("app-a", WithSource(fixed(secretRawID)))
	if err != nil {
		t.Fatal(err)
	}
	a2, err := Compute("app-a", WithSource(fixed(secretRawID)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Compute("app-b", WithSource(fixed(secretRawID)))
	if err != nil {
		t.Fatal(err)
	}
	other, err := Compute("app-a", WithSource(fixed(secretRawID+"x")))
	if err != nil {
		t.Fatal(err)
	}
	if a1 != a2 {
		t.Errorf("same machine and app gave %s and %s", a1, a2)
	}
	if a1 == b {
		t.Errorf("app-a and app-b share fingerprint %s", a1)
	}
	if a1 == other {
		t.Errorf("two raw IDs share fingerprint %s", a1)
	}
	for _, fp := range []string{a1, b, other} {
		if len(fp) != 64 {
			t.Errorf("fingerprint %q has length %d, want 64 (contract: 8..256)", fp, len(fp))
		}
		if _, err := hex.DecodeString(fp); err != nil || strings.ToLower(fp) != fp {
			t.Errorf("fingerprint %q is not lowercase hex", fp)
		}
		if strings.Contains(fp, secretRawID) || strings.Contains(fp, hex.EncodeToString([]byte(secretRawID))[:16]) {
			t.Errorf("fingerprint %q reveals the raw ID", fp)
		}
	}
}

func TestCustomSourceIsUsed(t *testing.T) {
	var calls atomic.Int32
	src := SourceFunc(func() (string, error) {
		calls.Add(1)
		return "pod-uid-1234", nil
	})
	got, err := Compute("app", WithSource(src))
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Errorf("custom source called %d times, want 1", calls.Load())
	}
	if want := derive("pod-uid-1234", "app"); got != want {
		t.Errorf("fingerprint = %s, want HMAC of the custom ID %s", got, want)
	}
}

func TestDefaultSourceMatchesProtectedID(t *testing.T) {
	want, err := machineid.ProtectedID("com.example.app")
	if err != nil {
		t.Skipf("no machine ID on this host: %v", err)
	}
	got, err := Compute("com.example.app")
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("default fingerprint %s differs from machineid.ProtectedID %s", got, want)
	}
	raw, _ := machineid.ID()
	if raw != "" && strings.Contains(got, raw) {
		t.Error("fingerprint contains the raw machine ID")
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	tests := []struct {
		name  string
		appID string
		opts  []Option
		is    error
	}{
		{"empty app ID", "", nil, ErrEmptyAppID},
		{"nil source", "app", []Option{WithSource(nil)}, nil},
		{"nil SourceFunc as Source", "app", []Option{WithSource(Source(nil))}, nil},
		{"source twice", "app", []Option{WithSource(fixed("a")), WithSource(fixed("b"))}, nil},
		{"empty state dir", "app", []Option{WithStateDir("")}, nil},
		{"state dir twice", "app", []Option{WithStateDir(t.TempDir()), WithStateDir(t.TempDir())}, nil},
		{"nil option", "app", []Option{nil}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := New(tt.appID, tt.opts...)
			if err == nil {
				t.Fatalf("New succeeded with %v", g)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v, want %v", err, tt.is)
			}
			if _, err := Compute(tt.appID, tt.opts...); err == nil {
				t.Error("Compute succeeded")
			}
		})
	}
}

func TestSourceFailureWrapsErrNoMachineID(t *testing.T) {
	errPod := errors.New("pod identity unavailable")
	_, err := Compute("app", WithSource(failing(errPod)))
	if !errors.Is(err, ErrNoMachineID) || !errors.Is(err, errPod) {
		t.Errorf("error %v, want ErrNoMachineID wrapping the source's error", err)
	}
	_, err = Compute("app", WithSource(fixed("")))
	if !errors.Is(err, ErrNoMachineID) {
		t.Errorf("empty ID: error %v, want ErrNoMachineID", err)
	}
	_, err = Compute("app", WithSource(SourceFunc(nil)))
	if !errors.Is(err, ErrNoMachineID) {
		t.Errorf("nil SourceFunc: error %v, want ErrNoMachineID", err)
	}
}

func TestStateDirIsFallbackAfterSource(t *testing.T) {
	dir := t.TempDir()
	fromState, err := Compute("app", WithSource(failing(errors.New("no id"))), WithStateDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir + "/" + StateFileName); err != nil {
		t.Fatalf("fallback did not create the state file: %v", err)
	}
	again, err := Compute("app", WithSource(failing(errors.New("no id"))), WithStateDir(dir))
	if err != nil || again != fromState {
		t.Errorf("second fallback = %s, %v; want %s", again, err, fromState)
	}
	primary, err := Compute("app", WithSource(fixed("machine-1")), WithStateDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if primary != derive("machine-1", "app") {
		t.Errorf("working primary source was not used: %s", primary)
	}
}

func TestGeneratorKeepsFirstSuccess(t *testing.T) {
	var calls atomic.Int32
	src := SourceFunc(func() (string, error) {
		if calls.Add(1) == 1 {
			return "", errors.New("transient")
		}
		return "machine-1", nil
	})
	g, err := New("app", WithSource(src))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Fingerprint(); err == nil {
		t.Fatal("first call succeeded although the source failed")
	}
	var wg sync.WaitGroup
	results := make([]string, 8)
	for i := range results {
		wg.Go(func() {
			fp, err := g.Fingerprint()
			if err != nil {
				t.Error(err)
			}
			results[i] = fp
		})
	}
	wg.Wait()
	for _, fp := range results {
		if fp != derive("machine-1", "app") {
			t.Errorf("fingerprint %s, want the one of machine-1", fp)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("source called %d times, want 2 (one failure, then one success kept)", n)
	}
}

func TestFirstOfOrder(t *testing.T) {
	var called []string
	var mu sync.Mutex
	src := func(name, id string, err error) Source {
		return SourceFunc(func() (string, error) {
			mu.Lock()
			called = append(called, name)
			mu.Unlock()
			return id, err
		})
	}
	s := FirstOf(
		src("a", "", errors.New("a failed")),
		src("b", "", nil), // an empty ID is a failure too
		nil,
		src("c", "id-c", nil),
		src("d", "id-d", nil),
	)
	id, err := s.ID()
	if err != nil || id != "id-c" {
		t.Fatalf("ID = %q, %v; want id-c", id, err)
	}
	if got := strings.Join(called, ","); got != "a,b,c" {
		t.Errorf("sources called %s, want a,b,c", got)
	}
}

func TestFirstOfJoinsErrors(t *testing.T) {
	errA := errors.New("first source down")
	errB := errors.New("second source down")
	_, err := FirstOf(failing(errA), failing(errB)).ID()
	if !errors.Is(err, ErrNoMachineID) || !errors.Is(err, errA) || !errors.Is(err, errB) {
		t.Fatalf("error %v, want ErrNoMachineID joining both errors", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "source 1: first source down") || !strings.Contains(msg, "source 2: second source down") {
		t.Errorf("message %q does not name each failure", msg)
	}
	if _, err := FirstOf().ID(); !errors.Is(err, ErrNoMachineID) {
		t.Errorf("FirstOf() error %v, want ErrNoMachineID", err)
	}
}

func TestMachineIDSource(t *testing.T) {
	id, err := MachineID().ID()
	if err != nil {
		if !errors.Is(err, ErrNoMachineID) {
			t.Errorf("error %v does not wrap ErrNoMachineID", err)
		}
		t.Skipf("no machine ID on this host: %v", err)
	}
	if id == "" || id == "uninitialized" {
		t.Errorf("MachineID returned unusable ID of length %d", len(id))
	}
}
