package webhook

import "errors"

// ErrNoSecret reports that no signing secret, or an empty one, was given.
// An empty secret is refused even next to valid ones: an unset environment
// variable must never become a key anyone can sign with.
var ErrNoSecret = errors.New("webhook: no signing secret")

// ErrInvalidSignature is matched (with errors.Is) by every signature
// failure: ErrMissingSignature, ErrMalformedSignature and
// ErrSignatureMismatch.
var ErrInvalidSignature = errors.New("webhook: invalid signature")

// Signature failures. Each also matches ErrInvalidSignature.
var (
	// ErrMissingSignature: the signature is empty.
	ErrMissingSignature error = &signatureError{"webhook: missing signature"}
	// ErrMalformedSignature: the signature is not 64 lowercase hex
	// characters (uppercase, a "sha256=" prefix, wrong length, non-hex).
	ErrMalformedSignature error = &signatureError{"webhook: malformed signature"}
	// ErrSignatureMismatch: the signature is well formed but is not the
	// HMAC of the body under any of the secrets.
	ErrSignatureMismatch error = &signatureError{"webhook: signature does not match"}
)

// ErrInvalidEvent reports a body that is not a well-formed event.
var ErrInvalidEvent = errors.New("webhook: invalid event")

// ErrBodyTooLarge reports a body over the size cap.
var ErrBodyTooLarge = errors.New("webhook: body too large")

// ErrNoResource reports that an event carries no resource of the kind asked
// for (License on a machine.* event, or data that is null).
var ErrNoResource = errors.New("webhook: event carries no such resource")

// signatureError is a signature failure that unwraps to ErrInvalidSignature.
type signatureError struct{ msg string }

func (e *signatureError) Error() string { return e.msg }
func (e *signatureError) Unwrap() error { return ErrInvalidSignature }
