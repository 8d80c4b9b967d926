package licentric

import (
	"fmt"

	"github.com/licentric/licentric-go/internal/wire"
)

// Argument checks: what the client refuses (ErrInvalidArgument) before it
// sends anything.

// checkLicenseKey refuses license keys the service cannot have (docs/wire-protocol.md
// §13, wire.LicenseKeyProblem): empty, longer than wire.MaxLicenseKeyLen,
// not UTF-8, with control characters, or with leading or trailing white
// space. The key never appears in the error.
func checkLicenseKey(k string) error {
	if problem := wire.LicenseKeyProblem(k); problem != "" {
		return fmt.Errorf("%w: license key %s", ErrInvalidArgument, problem)
	}
	return nil
}

// checkFingerprint enforces the contract's fingerprint length.
func checkFingerprint(fp string) error {
	if n := len(fp); n < wire.MinFingerprintLen || n > wire.MaxFingerprintLen {
		return fmt.Errorf("%w: fingerprint must be %d to %d characters, got %d",
			ErrInvalidArgument, wire.MinFingerprintLen, wire.MaxFingerprintLen, n)
	}
	return nil
}

// checkID refuses empty or oversized resource IDs before any request.
func checkID(what, id string) error {
	if id == "" {
		return fmt.Errorf("%w: %s is empty", ErrInvalidArgument, what)
	}
	if len(id) > 256 {
		return fmt.Errorf("%w: %s is longer than 256 bytes", ErrInvalidArgument, what)
	}
	return nil
}
