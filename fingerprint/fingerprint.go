package fingerprint

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/denisbrodbeck/machineid"
)

// Errors reported by this package, for use with errors.Is.
var (
	// ErrNoMachineID reports that no source produced a raw machine ID. Every
	// error from a source is wrapped so that it also matches ErrNoMachineID.
	ErrNoMachineID = errors.New("fingerprint: no machine ID available")

	// ErrCorruptState reports a state file (see StateDir) whose contents are
	// not a machine ID. It is never replaced silently, because a new ID would
	// make this machine a different machine to the licensing service.
	ErrCorruptState = errors.New("fingerprint: state file is corrupt")

	// ErrEmptyAppID reports an empty application ID.
	ErrEmptyAppID = errors.New("fingerprint: application ID is empty")
)

// A Source yields a raw, secret, machine-unique identifier. The identifier is
// used only as an HMAC key and never leaves this package. ID must be safe for
// concurrent use; an empty ID counts as a failure.
type Source interface {
	ID() (string, error)
}

// SourceFunc adapts a function to a Source.
type SourceFunc func() (string, error)

// ID calls f.
func (f SourceFunc) ID() (string, error) {
	if f == nil {
		return "", errors.New("fingerprint: nil SourceFunc")
	}
	return f()
}

// MachineID returns the Source of the operating system's machine ID
// (/var/lib/dbus/machine-id or /etc/machine-id on Linux, IOPlatformUUID on
// macOS, MachineGuid on Windows, hostuuid on the BSDs). A missing, empty or
// uninitialized ID is an error wrapping ErrNoMachineID.
func MachineID() Source {
	return SourceFunc(func() (string, error) {
		id, err := machineid.ID()
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrNoMachineID, err)
		}
		// systemd writes "uninitialized" until the first boot completes.
		if id == "" || id == "uninitialized" {
			return "", fmt.Errorf("%w: the operating system's machine ID is not initialized", ErrNoMachineID)
		}
		return id, nil
	})
}

// FirstOf returns a Source that asks sources in order and yields the first ID
// obtained. When all fail, its error wraps ErrNoMachineID and every source's
// error.
func FirstOf(sources ...Source) Source {
	sources = append([]Source(nil), sources...)
	return SourceFunc(func() (string, error) {
		if len(sources) == 0 {
			return "", fmt.Errorf("%w: no sources given", ErrNoMachineID)
		}
		errs := make([]error, 0, len(sources))
		for i, s := range sources {
			id, err := readID(s)
			if err == nil {
				return id, nil
			}
			errs = append(errs, fmt.Errorf("source %d: %w", i+1, err))
		}
		return "", fmt.Errorf("%w: %w", ErrNoMachineID, errors.Join(errs...))
	})
}

// readID asks s for its ID, treating a nil source and an empty ID as failures.
func readID(s Source) (string, error) {
	if s == nil {
		return "", errors.New("fingerprint: nil source")
	}
	id, err := s.ID()
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", errors.New("fingerprint: source returned an empty ID")
	}
	return id, nil
}

// An Option configures New and Compute.
type Option func(*config) error

type config struct {
	source   Source
	stateDir string
}

// WithSource replaces MachineID as the primary source. Combine sources with
// FirstOf to try several.
func WithSource(s Source) Option {
	return func(c *config) error {
		if s == nil {
			return errors.New("fingerprint: WithSource: nil source")
		}
		if c.source != nil {
			return errors.New("fingerprint: WithSource given more than once")
		}
		c.source = s
		return nil
	}
}

// WithStateDir adds StateDir(dir) as the fallback used when the primary
// source fails. The directory should be absolute and private to the
// application (for example under os.UserConfigDir).
func WithStateDir(dir string) Option {
	return func(c *config) error {
		if dir == "" {
			return errors.New("fingerprint: WithStateDir: empty directory")
		}
		if c.stateDir != "" {
			return errors.New("fingerprint: WithStateDir given more than once")
		}
		c.stateDir = dir
		return nil
	}
}

// A Generator computes the fingerprint of one application ID. It keeps the
// first fingerprint it computes successfully and returns it from then on; a
// failure is not kept, so a later call asks the source again. It is safe for
// concurrent use.
type Generator struct {
	appID  string
	source Source

	mu          sync.Mutex
	fingerprint string
}

// New returns a Generator for appID. Without options the source is
// MachineID; WithSource replaces it and WithStateDir adds a fallback.
func New(appID string, opts ...Option) (*Generator, error) {
	if appID == "" {
		return nil, ErrEmptyAppID
	}
	var c config
	for _, opt := range opts {
		if opt == nil {
			return nil, errors.New("fingerprint: nil option")
		}
		if err := opt(&c); err != nil {
			return nil, err
		}
	}
	source := c.source
	if source == nil {
		source = MachineID()
	}
	if c.stateDir != "" {
		source = FirstOf(source, StateDir(c.stateDir))
	}
	return &Generator{appID: appID, source: source}, nil
}

// Fingerprint returns the hex fingerprint: HMAC-SHA256 keyed by the source's
// raw ID over the application ID. A source failure is an error wrapping
// ErrNoMachineID.
func (g *Generator) Fingerprint() (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fingerprint != "" {
		return g.fingerprint, nil
	}
	id, err := readID(g.source)
	if err != nil {
		if !errors.Is(err, ErrNoMachineID) {
			err = fmt.Errorf("%w: %w", ErrNoMachineID, err)
		}
		return "", err
	}
	g.fingerprint = derive(id, g.appID)
	return g.fingerprint, nil
}

// Compute returns the fingerprint of appID; it is New followed by
// Fingerprint.
func Compute(appID string, opts ...Option) (string, error) {
	g, err := New(appID, opts...)
	if err != nil {
		return "", err
	}
	return g.Fingerprint()
}

// derive is HMAC-SHA256(key = raw ID, message = app ID), hex encoded: the
// construction of machineid.ProtectedID.
func derive(rawID, appID string) string {
	mac := hmac.New(sha256.New, []byte(rawID))
	mac.Write([]byte(appID))
	return hex.EncodeToString(mac.Sum(nil))
}
