package fingerprint

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
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
	pod      *PodIdentity
	env      env
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
// application (for example under os.UserConfigDir), and, in a container, on
// a volume that outlives the container.
//
// With the default source it is also used when the machine ID exists but
// cannot tell clones apart: empty, a known image default (or one given to
// WithStaticMachineIDs), or seen from inside a container (/.dockerenv,
// /run/.containerenv, KUBERNETES_SERVICE_HOST, or a container runtime in
// /proc/1/cgroup), where it is the image's or the host's. Generator.Origin
// reports which identity was used and why.
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

// WithKubernetesPod makes the pod's identity the primary source (see
// PodIdentity), for seats that should follow the pod; when it is missing
// the machine ID and the state directory are tried as without it. It
// cannot be combined with WithSource.
func WithKubernetesPod(p PodIdentity) Option {
	return func(c *config) error {
		if c.pod != nil {
			return errors.New("fingerprint: WithKubernetesPod given more than once")
		}
		c.pod = &p
		return nil
	}
}

// WithStaticMachineIDs adds machine IDs known to be shared by many
// machines (the ID baked into your golden image, say), which are then
// treated like an empty one: WithStateDir's identity is used instead.
func WithStaticMachineIDs(ids ...string) Option {
	return func(c *config) error {
		for _, id := range ids {
			if id = strings.TrimSpace(id); id != "" {
				c.env.static = append(c.env.static, id)
			}
		}
		return nil
	}
}

// WithRoot reads the machine-ID, container-marker, cgroup and downward-API
// files under dir instead of "/" (Linux; for tests and chroots). It does not
// move WithStateDir.
func WithRoot(dir string) Option {
	return func(c *config) error {
		if dir == "" {
			return errors.New("fingerprint: WithRoot: empty directory")
		}
		c.env.root = dir
		return nil
	}
}

// WithLookupEnv replaces os.LookupEnv for the variables detection reads
// (KUBERNETES_SERVICE_HOST, the pod UID's).
func WithLookupEnv(lookup func(key string) (string, bool)) Option {
	return func(c *config) error {
		if lookup == nil {
			return errors.New("fingerprint: WithLookupEnv: nil function")
		}
		c.env.lookupEnv = lookup
		return nil
	}
}

// WithHostname replaces os.Hostname for PodIdentity.StatefulSet.
func WithHostname(hostname func() (string, error)) Option {
	return func(c *config) error {
		if hostname == nil {
			return errors.New("fingerprint: WithHostname: nil function")
		}
		c.env.hostname = hostname
		return nil
	}
}

// A Generator computes the fingerprint of one application ID. It keeps the
// first fingerprint it computes successfully and returns it from then on; a
// failure is not kept, so a later call asks the source again. It is safe for
// concurrent use.
type Generator struct {
	appID    string
	custom   Source // WithSource, or nil for the default chain
	stateDir Source // WithStateDir, or nil
	pod      *PodIdentity
	env      env

	mu          sync.Mutex
	fingerprint string
	origin      Origin
}

// New returns a Generator for appID. Without options the source is the
// operating system's machine ID (the result equals machineid.ProtectedID);
// WithKubernetesPod puts the pod's identity first, WithSource replaces the
// chain with a Source of the caller's, and WithStateDir adds the persisted
// identity as the fallback, used also when the machine ID cannot tell clones
// apart (see WithStateDir). Generator.Origin tells which was used.
func New(appID string, opts ...Option) (*Generator, error) {
	if appID == "" {
		return nil, ErrEmptyAppID
	}
	c := config{env: defaultEnv()}
	for _, opt := range opts {
		if opt == nil {
			return nil, errors.New("fingerprint: nil option")
		}
		if err := opt(&c); err != nil {
			return nil, err
		}
	}
	if c.source != nil && c.pod != nil {
		return nil, errors.New("fingerprint: WithSource and WithKubernetesPod both given")
	}
	g := &Generator{appID: appID, custom: c.source, pod: c.pod, env: c.env}
	if c.stateDir != "" {
		g.stateDir = StateDir(c.stateDir)
	}
	return g, nil
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
	id, origin, err := g.resolve()
	if err != nil {
		if !errors.Is(err, ErrNoMachineID) {
			err = fmt.Errorf("%w: %w", ErrNoMachineID, err)
		}
		return "", err
	}
	g.fingerprint, g.origin = derive(id, g.appID), origin
	return g.fingerprint, nil
}

// Origin reports which identity the kept fingerprint came from and why
// (see Origin); it is the zero Origin until Fingerprint succeeds.
func (g *Generator) Origin() Origin {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.origin
}

// resolve picks the raw ID: the custom source, or the pod identity, the
// machine ID if it tells this machine apart, and the state directory.
func (g *Generator) resolve() (string, Origin, error) {
	if g.custom != nil {
		id, err := readID(g.custom)
		if err == nil {
			return id, Origin{Kind: OriginCustom}, nil
		}
		if g.stateDir == nil {
			return "", Origin{}, err
		}
		sid, serr := readID(g.stateDir)
		if serr != nil {
			return "", Origin{}, fmt.Errorf("%w: source 1: %w", ErrNoMachineID, errors.Join(err, fmt.Errorf("source 2: %w", serr)))
		}
		return sid, Origin{Kind: OriginStateDir, Reason: "the WithSource source failed"}, nil
	}
	var reasons []string
	if g.pod != nil {
		id, err := g.env.podID(*g.pod)
		if err == nil {
			return id, Origin{Kind: OriginKubernetesPod}, nil
		}
		reasons = append(reasons, "no pod identity ("+strings.TrimPrefix(err.Error(), "fingerprint: ")+")")
	}
	mid, problem := g.env.readMachineID()
	if problem == "" {
		if c := g.env.container(); c != "" {
			problem = c + ", where the machine ID is the image's or the host's"
		}
	}
	if mid != "" && problem == "" {
		return mid, Origin{Kind: OriginMachineID, Reason: strings.Join(reasons, "; ")}, nil
	}
	reasons = append(reasons, problem)
	if g.stateDir != nil {
		id, err := readID(g.stateDir)
		if err != nil {
			return "", Origin{}, fmt.Errorf("%w: %s; state directory: %w", ErrNoMachineID, strings.Join(reasons, "; "), err)
		}
		return id, Origin{Kind: OriginStateDir, Reason: strings.Join(reasons, "; ")}, nil
	}
	if mid != "" {
		reasons = append(reasons, "clones of this machine may share its fingerprint; use WithStateDir")
		return mid, Origin{Kind: OriginMachineID, Reason: strings.Join(reasons, "; "), Shared: true}, nil
	}
	return "", Origin{}, fmt.Errorf("%w: %s", ErrNoMachineID, strings.Join(reasons, "; "))
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
