package offline

import "errors"

// Errors of Verify, in the order the checks run. Every error Verify returns
// matches exactly one of these with errors.Is (ErrTooLarge also matches
// ErrMalformed). Messages name the failed check, never the certificate.
var (
	// ErrMalformed reports input that is not a well-formed license file: bad
	// armour or base64, an incomplete or ill-typed envelope, or a signed
	// payload that does not decode.
	ErrMalformed = errors.New("offline: malformed license file")
	// ErrTooLarge reports input over MaxFileSize bytes. It wraps ErrMalformed.
	ErrTooLarge error = &wrapped{msg: "offline: license file exceeds 1 MiB", inner: ErrMalformed}
	// ErrUnknownKey reports a file signed under a key id the verifier does
	// not hold.
	ErrUnknownKey = errors.New("offline: license file signed by an unknown key")
	// ErrSignature reports a signature that does not verify under the key its
	// key id names: the file was altered or forged.
	ErrSignature = errors.New("offline: license file signature is invalid")
	// ErrEnvironment reports a file of another environment than the one
	// required (a test file where live is required, or the reverse).
	ErrEnvironment = errors.New("offline: license file is for another environment")
	// ErrClockRollback reports a clock earlier than the latest time the
	// RollbackGuard has seen, by more than the allowed skew.
	ErrClockRollback = errors.New("offline: system clock was set back")
	// ErrFileWithdrawn reports a file issued before its license was
	// withdrawn with RollbackGuard.Withdraw (the service denied the license
	// for good after the file was issued).
	ErrFileWithdrawn = errors.New("offline: license file was withdrawn: the license was denied after it was issued")
	// ErrNotYetValid reports a file issued after now plus the allowed skew.
	ErrNotYetValid = errors.New("offline: license file is not yet valid")
	// ErrFileExpired reports a file whose own TTL has run out: the
	// application must go online and check out a new one.
	ErrFileExpired = errors.New("offline: license file has expired")
	// ErrLicenseSuspended, ErrLicenseRevoked and ErrLicenseBanned report the
	// license's status at checkout. ErrLicenseRevoked also reports an expired
	// license under the REVOKE expiration strategy.
	ErrLicenseSuspended = errors.New("offline: license is suspended")
	ErrLicenseRevoked   = errors.New("offline: license is revoked")
	ErrLicenseBanned    = errors.New("offline: license is banned")
	// ErrLicenseExpired reports an expired license under the RESTRICT_ACCESS
	// expiration strategy (the default).
	ErrLicenseExpired = errors.New("offline: license has expired")
	// ErrFingerprintMismatch reports a file bound to another machine.
	ErrFingerprintMismatch = errors.New("offline: license file is bound to another machine")
	// ErrEntitlementsMissing reports a file without every required
	// entitlement.
	ErrEntitlementsMissing = errors.New("offline: license lacks required entitlements")
	// ErrRollbackState reports a rollback state file that fails its integrity
	// check or cannot be parsed (see RollbackGuard).
	ErrRollbackState = errors.New("offline: rollback state file is damaged or was altered")
)

// Errors of ParsePublicKey and WithPublicKey.
var (
	// ErrInvalidPublicKey reports text or bytes that are not an Ed25519
	// public key: a bad encoding, a wrong length, or 32 bytes that are no
	// point of the curve.
	ErrInvalidPublicKey = errors.New("offline: invalid Ed25519 public key")
	// ErrWeakKey reports a public key that must never be trusted: a point
	// of small order (under the identity point, for one, a fixed signature
	// verifies over every file) or a non-canonical encoding of a point. A
	// real signing key is never one of them. It wraps ErrInvalidPublicKey.
	ErrWeakKey error = &wrapped{msg: "offline: weak Ed25519 public key", inner: ErrInvalidPublicKey}
)

// wrapped is a sentinel that also matches a more general one.
type wrapped struct {
	msg   string
	inner error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.inner }

// detail is an error that matches a sentinel and adds a short, safe detail.
// It is cheaper than fmt.Errorf and never formats input bytes.
type detail struct {
	sentinel error
	msg      string
}

func (e *detail) Error() string { return e.sentinel.Error() + ": " + e.msg }
func (e *detail) Unwrap() error { return e.sentinel }

func errorf(sentinel error, msg string) error { return &detail{sentinel: sentinel, msg: msg} }
