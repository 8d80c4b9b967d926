package licentric

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/offline"
)

// licenseFile is a guard's offline license file: where it lives, how it is
// verified, and the rollback state beside it. Only the guard's supervisor
// (and Start, before the supervisor runs) uses it.
type licenseFile struct {
	path string

	verifier *offline.Verifier // nil while the rollback state is unusable
	stateErr error             // why the rollback state is unusable

	// What the guard builds its verifier from (WithLicenseFile); keys is
	// nil for a verifier of the caller's (WithLicenseFileVerifier).
	keys     []ed25519.PublicKey
	opts     []offline.Option // fingerprint, environment, clock
	stateKey []byte           // the rollback state's HMAC key
}

// stateSuffix names the rollback state file beside the license file.
const stateSuffix = ".state"

// newLicenseFile prepares the license file of a guard of key on fingerprint
// fp. It reads the rollback state; a state that is damaged (or was edited)
// leaves the file unusable until a valid online decision replaces the state.
func newLicenseFile(c *Client, key, fp string, cfg guardConfig) *licenseFile {
	lf := &licenseFile{path: cfg.filePath}
	if cfg.verifier != nil {
		lf.verifier = cfg.verifier
		return lf
	}
	for _, k := range cfg.publicKeys {
		pub, _ := offline.ParsePublicKey(k) // checked by WithLicenseFile
		lf.keys = append(lf.keys, pub)
	}
	env := wire.EnvLive
	if c.cfg.env == EnvironmentTest {
		env = wire.EnvTest
	}
	lf.opts = []offline.Option{offline.WithFingerprint(fp), offline.WithEnvironment(env), offline.WithClockSource(c.cfg.clock)}
	// The state's key is derived from what the application holds: the
	// license key and this machine's fingerprint. It keeps the state from
	// being edited casually (see offline.RollbackGuard for what it cannot
	// stop); a vendor who wants a key of its own passes a verifier with
	// WithLicenseFileVerifier.
	sum := sha256.Sum256([]byte("licentric-guard-rollback/v1\x00" + key + "\x00" + fp))
	lf.stateKey = sum[:]
	_ = lf.mkdir() // a failure shows as FileErr when the file is written
	lf.stateErr = lf.build()
	return lf
}

// build makes the verifier on the rollback state in the state file.
func (lf *licenseFile) build() error {
	rg, err := offline.NewRollbackGuard(lf.path+stateSuffix, lf.stateKey)
	if err != nil {
		lf.verifier = nil
		return fmt.Errorf("licentric: license file's rollback state: %w", err)
	}
	opts := append([]offline.Option{offline.WithRollbackGuard(rg)}, lf.opts...)
	for _, k := range lf.keys {
		opts = append(opts, offline.WithPublicKey(k))
	}
	v, err := offline.NewVerifier(opts...)
	if err != nil {
		return fmt.Errorf("licentric: license file verifier: %w", err) // not reached: the keys were checked
	}
	lf.verifier = v
	return nil
}

// heal replaces a rollback state that could not be used, once the service
// has just vouched for the license.
func (lf *licenseFile) heal() error {
	if lf.verifier != nil {
		return nil
	}
	if err := os.Remove(lf.path + stateSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("licentric: license file's rollback state: %w", err)
	}
	lf.stateErr = lf.build()
	return lf.stateErr
}

// load verifies the stored file now; a valid file of another license key
// is no file.
func (lf *licenseFile) load(key string) (*offline.File, error) {
	if lf.verifier == nil {
		return nil, lf.stateErr
	}
	f, err := lf.verifier.VerifyFile(lf.path)
	if err != nil {
		return nil, err
	}
	if f.License.Key != key {
		return nil, errOtherLicense
	}
	return f, nil
}

// mkdir creates the file's directory (0700) when it is missing.
func (lf *licenseFile) mkdir() error {
	if err := os.MkdirAll(filepath.Dir(lf.path), 0o700); err != nil {
		return fmt.Errorf("licentric: license file directory: %w", err)
	}
	return nil
}

// withdraw removes the file after a definitive denial and records the
// denial in the rollback state, so that a copy put back is no license:
// files of licenseID issued at or before at are refused from then on.
func (lf *licenseFile) withdraw(licenseID string, at time.Time) error {
	var errs []error
	if lf.verifier != nil && licenseID != "" {
		if rg := lf.verifier.RollbackGuard(); rg != nil {
			errs = append(errs, rg.Withdraw(licenseID, at))
		}
	}
	if err := os.Remove(lf.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("licentric: removing the license file: %w", err))
	}
	return errors.Join(errs...)
}
