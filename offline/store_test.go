package offline

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSaveAndLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "license.lic")
	cert := validFile(t, nil)
	if err := os.WriteFile(path, []byte("old contents"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := SaveFile(path, cert); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, %v; want 0600", info.Mode(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d directory entries, want 1 (no temporary file left)", len(entries))
	}
	got, err := LoadFile(path)
	if err != nil || !bytes.Equal(got, cert) {
		t.Fatalf("LoadFile = %q, %v", got, err)
	}
	f, err := newTestVerifier(t).VerifyFile(path)
	if err != nil || f.License.ID == "" {
		t.Fatalf("VerifyFile: %v", err)
	}

	if err := SaveFile(path, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("SaveFile(empty) = %v", err)
	}
	if err := SaveFile(path, make([]byte, MaxFileSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("SaveFile(too large) = %v", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, cert) {
		t.Error("a refused save changed the file")
	}
	if err := SaveFile(filepath.Join(dir, "no-such-dir", "x.lic"), cert); err == nil {
		t.Error("SaveFile into a missing directory succeeded")
	}

	big := filepath.Join(dir, "big.lic")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("LoadFile(too large) = %v", err)
	}
	if _, err := newTestVerifier(t).VerifyFile(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("VerifyFile(too large) = %v", err)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.lic")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadFile(missing) = %v", err)
	}
}

func TestVerifyAndSaveKeepsGoodFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "license.lic")
	v := newTestVerifier(t)
	good := validFile(t, nil)
	if _, err := v.VerifyAndSave(path, good); err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(good)
	bad[200] ^= 2
	if f, err := v.VerifyAndSave(path, bad); err == nil || f != nil {
		t.Fatal("VerifyAndSave accepted a tampered file")
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, good) {
		t.Error("a refused certificate replaced the saved file")
	}
}
