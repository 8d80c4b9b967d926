package offline

import (
	"errors"
	"fmt"

	"github.com/licentric/licentric-go/internal/atomicfile"
)

// SaveFile writes a license file to path atomically with mode 0600: a crash
// leaves either the old file or the new one, never a torn or empty file. It
// refuses an empty or oversized certificate but does not verify it; verify
// first when the certificate comes from outside the application.
func SaveFile(path string, certificate []byte) error {
	switch {
	case len(certificate) == 0:
		return errorf(ErrMalformed, "refusing to save an empty license file")
	case len(certificate) > MaxFileSize:
		return ErrTooLarge
	}
	if err := atomicfile.Write(path, certificate, atomicfile.DefaultPerm); err != nil {
		return fmt.Errorf("offline: save license file: %w", err)
	}
	return nil
}

// LoadFile reads a license file, refusing files over MaxFileSize with
// ErrTooLarge without reading them in full.
func LoadFile(path string) ([]byte, error) {
	data, err := atomicfile.ReadCapped(path, MaxFileSize)
	if errors.Is(err, atomicfile.ErrTooLarge) {
		return nil, ErrTooLarge
	}
	if err != nil {
		return nil, fmt.Errorf("offline: load license file: %w", err)
	}
	return data, nil
}

// VerifyAndSave verifies a certificate fresh from checkout and, only if it
// verifies, saves it to path with SaveFile. A bad download thus never
// replaces a good license file.
func (v *Verifier) VerifyAndSave(path string, certificate []byte) (*File, error) {
	f, err := v.Verify(certificate)
	if err != nil {
		return nil, err
	}
	if err := SaveFile(path, certificate); err != nil {
		return nil, err
	}
	return f, nil
}
