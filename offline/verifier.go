package offline

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/licentric/licentric-go/clock"
	"github.com/licentric/licentric-go/internal/wire"
)

// DefaultClockSkew is how far a file's issuedAt may lie in the future of the
// local clock (and how far the clock may fall behind a RollbackGuard's mark).
const DefaultClockSkew = 5 * time.Minute

// Option configures a Verifier. Options validate their arguments; NewVerifier
// returns the first error.
type Option func(*Verifier) error

// WithPublicKey adds a trusted signing key. Repeat it to trust several keys
// during a rotation: each file names its key by id (KeyID) and only that key
// is tried. Adding the same key twice is harmless. A key that fails
// CheckPublicKey (wrong length, no curve point, or a weak key matching
// ErrWeakKey, under which files could be forged) makes NewVerifier fail.
func WithPublicKey(pub ed25519.PublicKey) Option {
	return func(v *Verifier) error {
		if err := CheckPublicKey(pub); err != nil {
			return err
		}
		kid := KeyID(pub)
		if old, ok := v.keys[kid]; ok && !old.Equal(pub) {
			return errors.New("offline: two different public keys share key id " + kid)
		}
		v.keys[kid] = slices.Clone(pub)
		return nil
	}
}

// WithFingerprint binds the verifier to this machine: a file checked out for
// any other fingerprint is refused with ErrFingerprintMismatch. Fingerprints
// compare exactly, case included.
func WithFingerprint(fingerprint string) Option {
	return func(v *Verifier) error {
		if fingerprint == "" {
			return errors.New("offline: fingerprint is empty")
		}
		v.fingerprint = fingerprint
		return nil
	}
}

// WithoutFingerprintCheck says explicitly that files of any machine are
// accepted, which is also what a verifier without WithFingerprint does. It
// suits tools that inspect files; an application should use WithFingerprint,
// because without it a file can be copied to any number of machines.
func WithoutFingerprintCheck() Option {
	return func(v *Verifier) error {
		v.skipFingerprint = true
		return nil
	}
}

// WithEntitlements requires every code to be in the file's entitlements.
// It may be repeated; the codes add up.
func WithEntitlements(codes ...string) Option {
	return func(v *Verifier) error {
		for _, c := range codes {
			if c == "" {
				return errors.New("offline: empty entitlement code")
			}
			if !slices.Contains(v.entitlements, c) {
				v.entitlements = append(v.entitlements, c)
			}
		}
		return nil
	}
}

// WithClockSource sets the clock that Verify reads (default clock.Wall{}):
// pass the clock the rest of the application uses, such as a
// licentrictest server's clock in tests. A nil clock is an error.
func WithClockSource(c clock.Clock) Option {
	return func(v *Verifier) error {
		if c == nil {
			return errors.New("offline: clock is nil")
		}
		v.clock = c
		return nil
	}
}

// WithClock sets the source of the current time (default time.Now).
//
// Deprecated: use WithClockSource, which takes the clock.Clock every other
// part of this module takes; WithClock(f) is WithClockSource(clock.Func(f)).
func WithClock(now func() time.Time) Option {
	if now == nil {
		return func(*Verifier) error { return errors.New("offline: clock is nil") }
	}
	return WithClockSource(clock.Func(now))
}

// WithClockSkew sets how far issuedAt may lie in the future of the local
// clock (default DefaultClockSkew). It does not extend the file's expiry.
func WithClockSkew(skew time.Duration) Option {
	return func(v *Verifier) error {
		if skew < 0 {
			return errors.New("offline: clock skew is negative")
		}
		v.skew = skew
		return nil
	}
}

// WithEnvironment requires files of one environment, "live" or "test", and
// refuses others with ErrEnvironment. One key signs both environments, so a
// production application should require "live": without this option a file
// checked out with a test key verifies too.
func WithEnvironment(env string) Option {
	return func(v *Verifier) error {
		if env != wire.EnvLive && env != wire.EnvTest {
			return fmt.Errorf("offline: environment %q is neither %q nor %q", env, wire.EnvLive, wire.EnvTest)
		}
		v.env = env
		return nil
	}
}

// WithRollbackGuard refuses files when the clock stands earlier than the
// guard's high-water mark by more than the skew, and advances the mark on
// every successful Verify. See RollbackGuard for what it can and can't stop.
func WithRollbackGuard(g *RollbackGuard) Option {
	return func(v *Verifier) error {
		if g == nil {
			return errors.New("offline: rollback guard is nil")
		}
		v.guard = g
		return nil
	}
}

// Verifier checks license files against pinned public keys and this
// machine's settings. It is safe for concurrent use.
type Verifier struct {
	keys            map[string]ed25519.PublicKey
	fingerprint     string
	skipFingerprint bool
	entitlements    []string
	clock           clock.Clock
	skew            time.Duration
	env             string
	guard           *RollbackGuard

	// last remembers the most recent input whose signature held, so that an
	// application that checks the same file on every request skips the
	// signature and decoding (never the checks that depend on the time).
	last atomic.Pointer[verified]
	// pending is the hash of the last input that verified but is not cached.
	pending atomic.Uint64
	seed    maphash.Seed
	// scratch pools the decoding buffers of authenticate.
	scratch sync.Pool
}

// maxPooledScratch bounds the scratch buffers kept for reuse; the rare
// larger file gets a buffer of its own.
const maxPooledScratch = 64 << 10

// verified is an input whose signature verified and whose payload decoded.
// Its fields are not modified after it is stored; the decoded File is made
// on the first re-verification and then only ever cloned.
type verified struct {
	input   []byte
	kid     string
	payload string // the payload JSON
	tmpl    atomic.Pointer[File]
}

func (e *verified) template() (*File, error) {
	if f := e.tmpl.Load(); f != nil {
		return f, nil
	}
	f, err := decodeFile(e.kid, e.payload)
	if err != nil {
		return nil, err // not reached: the payload decoded before
	}
	e.tmpl.Store(f)
	return f, nil
}

// NewVerifier returns a Verifier. It needs at least one WithPublicKey. An
// application also binds it to this machine with WithFingerprint and to the
// live environment with WithEnvironment; without them, files of any machine
// and either environment verify. The clock is clock.Wall{} and the skew
// DefaultClockSkew unless WithClockSource and WithClockSkew say otherwise.
func NewVerifier(opts ...Option) (*Verifier, error) {
	v := &Verifier{
		keys:  make(map[string]ed25519.PublicKey),
		clock: clock.Wall{},
		skew:  DefaultClockSkew,
		seed:  maphash.MakeSeed(),
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(v); err != nil {
			return nil, err
		}
	}
	if len(v.keys) == 0 {
		return nil, errors.New("offline: no public key given (use WithPublicKey)")
	}
	if v.fingerprint != "" && v.skipFingerprint {
		return nil, errors.New("offline: WithFingerprint and WithoutFingerprintCheck both given")
	}
	return v, nil
}

// RollbackGuard returns the guard given with WithRollbackGuard, or nil.
func (v *Verifier) RollbackGuard() *RollbackGuard { return v.guard }

// KeyIDs returns the ids of the trusted keys, sorted.
func (v *Verifier) KeyIDs() []string {
	ids := make([]string, 0, len(v.keys))
	for id := range v.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Verify checks a license file and returns its contents. The checks run in
// this order, and the first that fails decides the error:
//
//  1. size: at most MaxFileSize bytes, whitespace included (ErrTooLarge);
//  2. decoding: armour, base64 and a complete envelope (ErrMalformed);
//  3. key id: a trusted key (ErrUnknownKey); no other key is tried;
//  4. Ed25519 signature over SignedMessage(payload) (ErrSignature);
//  5. payload decoding: JSON types, "v" 1, issuedAt and expiresAt present,
//     a known license status (ErrMalformed);
//  6. environment (ErrEnvironment);
//  7. with WithRollbackGuard: clock rollback (ErrClockRollback), then a
//     license withdrawn after the file was issued (ErrFileWithdrawn; see
//     RollbackGuard.Withdraw);
//  8. issuedAt <= now + skew (ErrNotYetValid);
//  9. now < expiresAt, strictly and without skew (ErrFileExpired);
//  10. license status, then license expiry under the policy's expiration
//     strategy (ErrLicenseSuspended, ErrLicenseRevoked, ErrLicenseBanned,
//     ErrLicenseExpired; under ALLOW_ACCESS an expired license verifies and
//     File.LicenseExpired is true);
//  11. fingerprint (ErrFingerprintMismatch);
//  12. required entitlements (ErrEntitlementsMissing).
//
// On error the File is nil: no data is returned unless the signature holds
// and every check passes. Each call returns a File of its own, which the
// caller may modify.
//
// Verify remembers the last input whose signature held. Given the very same
// bytes again (from the third call on) it skips steps 2 to 5, whose result
// can't differ, but repeats every later check against the current clock.
func (v *Verifier) Verify(certificate []byte) (*File, error) {
	if len(certificate) > MaxFileSize {
		return nil, ErrTooLarge
	}
	var f *File
	if last := v.last.Load(); last != nil && bytes.Equal(last.input, certificate) {
		tmpl, err := last.template()
		if err != nil {
			return nil, err
		}
		f = tmpl.clone()
	} else {
		kid, payload, err := v.authenticate(certificate)
		if err != nil {
			return nil, err
		}
		if f, err = decodeFile(kid, payload); err != nil {
			return nil, err
		}
		v.remember(certificate, kid, payload)
	}
	now := v.clock.Now()
	expired, err := v.check(f, now)
	if err != nil {
		return nil, err
	}
	if v.guard != nil {
		v.guard.observe(now, f.IssuedAt)
	}
	f.LicenseExpired = expired
	return f, nil
}

// remember caches an input whose signature held, from its second
// sighting on: an application that verifies many different files does not
// pay for copying each, one that checks the same file repeatedly pays two
// full verifications. The hash only gates caching; a cache hit always
// compares the full bytes.
func (v *Verifier) remember(certificate []byte, kid, payload string) {
	h := maphash.Bytes(v.seed, certificate)
	if v.pending.Swap(h) != h {
		return
	}
	v.last.Store(&verified{input: bytes.Clone(certificate), kid: kid, payload: payload})
}

// VerifyFile loads a license file with LoadFile and verifies it.
func (v *Verifier) VerifyFile(path string) (*File, error) {
	data, err := LoadFile(path)
	if err != nil {
		return nil, err
	}
	return v.Verify(data)
}

// authenticate runs checks 2 to 4 (decoding, key id, signature) and
// returns the key id and the payload JSON.
func (v *Verifier) authenticate(certificate []byte) (kid, payload string, err error) {
	body, err := certificateBody(certificate)
	if err != nil {
		return "", "", err
	}
	// A pooled scratch buffer holds the decoded envelope, then the signed
	// message. Nothing returned points into it.
	n := strict.DecodedLen(len(body))
	size := n + len(SignaturePrefix) + n
	bp, _ := v.scratch.Get().(*[]byte)
	if bp == nil || cap(*bp) < size {
		b := make([]byte, size)
		bp = &b
	}
	defer func() {
		if cap(*bp) <= maxPooledScratch {
			v.scratch.Put(bp)
		}
	}()
	buf := (*bp)[:size]
	en, err := strict.Decode(buf[:n], body)
	if err != nil {
		// Spaces or tabs inside the text (indented or padded lines) are
		// tolerated at the cost of a copy.
		compact, ok := compactBody(body)
		if !ok {
			return "", "", errorf(ErrMalformed, "license file is not base64")
		}
		if en, err = strict.Decode(buf[:n], compact); err != nil {
			return "", "", errorf(ErrMalformed, "license file is not base64")
		}
	}
	var env envelope
	// The envelope is read in place: buf[:en] is not written again before
	// this function returns, and only copies of its strings escape.
	if err := parseEnvelope(unsafe.String(unsafe.SliceData(buf), en), &env); err != nil {
		return "", "", err
	}
	pub, ok := v.keys[env.kid]
	if !ok {
		return "", "", errorf(ErrUnknownKey, "key id "+safeText(env.kid))
	}
	msg := append(append(buf[n:n], SignaturePrefix...), env.payload...)
	if !ed25519.Verify(pub, msg, env.sig[:]) {
		return "", "", ErrSignature
	}
	raw := make([]byte, strict.DecodedLen(len(env.payload)))
	pn, err := strict.Decode(raw, msg[len(SignaturePrefix):])
	if err != nil {
		return "", "", errorf(ErrMalformed, "payload is not base64")
	}
	if pn == 0 {
		return "", "", errorf(ErrMalformed, "payload is empty")
	}
	// raw is never written again: the payload string, and the File fields
	// cut from it, share its memory instead of copying it.
	return strings.Clone(env.kid), unsafe.String(unsafe.SliceData(raw), pn), nil
}

// decodeFile runs check 5: it decodes the payload JSON into a File.
func decodeFile(kid, payload string) (*File, error) {
	var p Payload
	if msg := decodePayload(payload, &p); msg != "" {
		return nil, errorf(ErrMalformed, "payload: "+msg)
	}
	if err := validatePayload(&p); err != nil {
		return nil, err
	}
	return &File{
		License:      p.License,
		Machine:      p.Machine,
		Fingerprint:  p.Fingerprint,
		Entitlements: p.Entitlements,
		Env:          p.Env,
		KeyID:        kid,
		IssuedAt:     p.IssuedAt.Time,
		ExpiresAt:    p.ExpiresAt.Time,
		TTL:          time.Duration(p.TTL) * time.Second,
	}, nil
}

// validatePayload checks what a payload needs beyond its JSON types.
func validatePayload(p *Payload) error {
	switch {
	case p.V != FormatVersion:
		return errorf(ErrMalformed, "unsupported payload version")
	case p.IssuedAt.IsZero():
		return errorf(ErrMalformed, "payload lacks issuedAt")
	case p.ExpiresAt.IsZero():
		return errorf(ErrMalformed, "payload lacks expiresAt")
	}
	switch p.License.Status {
	case wire.StatusActive, wire.StatusExpired, wire.StatusSuspended, wire.StatusRevoked, wire.StatusBanned:
	default:
		return errorf(ErrMalformed, "payload has an unknown license status")
	}
	return nil
}

// check runs checks 6 to 12 against now. It reports whether the license is
// expired but allowed (ALLOW_ACCESS).
func (v *Verifier) check(f *File, now time.Time) (licenseExpired bool, err error) {
	if v.env != "" && f.Env != v.env {
		return false, errorf(ErrEnvironment, "want "+v.env)
	}
	if v.guard != nil {
		if err := v.guard.check(now, v.skew); err != nil {
			return false, err
		}
		if at, ok := v.guard.withdrawnAt(f.License.ID, f.IssuedAt); ok {
			return false, errorf(ErrFileWithdrawn, "license withdrawn at "+at.Format(time.RFC3339))
		}
	}
	if f.IssuedAt.After(now.Add(v.skew)) {
		return false, ErrNotYetValid
	}
	if !now.Before(f.ExpiresAt) {
		return false, ErrFileExpired
	}
	switch f.License.Status {
	case wire.StatusBanned:
		return false, ErrLicenseBanned
	case wire.StatusRevoked:
		return false, ErrLicenseRevoked
	case wire.StatusSuspended:
		return false, ErrLicenseSuspended
	}
	if f.License.Status == wire.StatusExpired || (!f.License.ExpiresAt.IsZero() && !now.Before(f.License.ExpiresAt.Time)) {
		switch f.ExpirationStrategy() {
		case wire.StrategyAllowAccess:
			licenseExpired = true
		case wire.StrategyRevoke:
			return false, errorf(ErrLicenseRevoked, "expired under the REVOKE strategy")
		default:
			return false, ErrLicenseExpired
		}
	}
	if v.fingerprint != "" && f.Fingerprint != v.fingerprint {
		return false, ErrFingerprintMismatch
	}
	for _, code := range v.entitlements {
		if !slices.Contains(f.Entitlements, code) {
			return false, errorf(ErrEntitlementsMissing, "missing "+safeText(code))
		}
	}
	return licenseExpired, nil
}

// safeText shortens s to 32 printable ASCII characters for an error message,
// so that a hostile file can't inject text into logs.
func safeText(s string) string {
	const limit = 32
	out := make([]byte, 0, limit+3)
	for i := 0; i < len(s); i++ {
		if len(out) == limit {
			return string(out) + "..."
		}
		c := s[i]
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		out = append(out, c)
	}
	return string(out)
}
