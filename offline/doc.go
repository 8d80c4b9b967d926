// Package offline verifies Licentric license files without a network.
//
// An application checks out a license file while online (the server signs it
// with the account's Ed25519 key), saves it, and from then on verifies it
// locally against a public key pinned in the application. This package is
// all an air-gapped application needs: it imports nothing that opens a
// socket. It also holds the format's Signer, which the test server uses.
//
// # Format (wire docs/wire-protocol.md §7)
//
// A license file is the standard base64 of a JSON envelope
//
//	{"v":1,"alg":"ed25519","kid":"<key id>","payload":"<base64 of the payload JSON>","sig":"<base64 of the signature>"}
//
// optionally line-wrapped and between the lines ArmorBegin and ArmorEnd. The
// signature covers SignaturePrefix followed by the payload string exactly as
// it appears in the envelope, so it is checked before any payload JSON is
// read. The key id is KeyID of the public key; a Verifier may hold several
// keys (rotation) and uses only the one the file names. The payload carries
// the environment, issuedAt, expiresAt and ttl of the file, the machine
// fingerprint it is bound to, the license with its policy snapshot, the
// machine, and the granted entitlements.
//
// # Verification
//
// Verify checks, in order: size (1 MiB), decoding, known key id, signature,
// payload decoding, environment, clock rollback and withdrawn licenses
// (optional, with a RollbackGuard), issuedAt against
// the clock with a skew, the file's own expiry (strict, no skew), the
// license's status and expiry under its policy's expiration strategy, the
// fingerprint, and required entitlements. It returns data only when every
// check passes. Re-verifying the very same bytes skips the signature but
// repeats every check that depends on the clock.
//
// # Activation requests
//
// A machine that never reaches the service asks to be licensed with a
// Request: its fingerprint, its facts (hostname, platform, cores,
// application ID) and optionally the license key, as a small versioned JSON
// document (SaveRequest writes it with mode 0600, ParseRequest and
// LoadRequest read it strictly). The request is carried to a connected
// computer, fulfilled there (licentric.Client.FulfillOfflineRequest, or
// `licentric offline fulfill`), and the license file carried back. Making,
// saving and reading a request opens no socket.
//
// # Keys
//
// ParsePublicKey reads the pinned key; WithPublicKey trusts it. Both refuse,
// with ErrWeakKey, the keys under which signatures can be forged without any
// private key — the eight points of small order (the identity point, for
// one, accepts a fixed signature over every file; the all-zero key one
// file in four) and non-canonical encodings — and, with
// ErrInvalidPublicKey, bytes that are no curve point. CheckPublicKey runs the
// same check on raw bytes.
//
// # Clock
//
// Verify reads the clock.Clock given with WithClock (default
// clock.Wall{}); WithClock, which takes a func() time.Time, is deprecated.
//
// # Printing and logging
//
// Signer, RollbackGuard and File format with every fmt verb, and log
// through slog, as summaries without their secrets (the signing key, the
// rollback key, the license key).
//
// # What it protects, and what it doesn't
//
// A verified file was issued by the holder of the signing key, for this
// machine's fingerprint, and is within its lifetime by the local clock; it
// cannot be edited, moved to a machine with another fingerprint, or used past
// its expiry with the clock intact. It does not protect an application whose
// code is modified (the check can be patched out or the pinned key replaced),
// and it trusts the local clock and fingerprint. RollbackGuard catches
// casual clock changes, not a determined attacker (see its documentation).
// A license revoked after checkout stays usable offline until the file
// expires: choose the TTL accordingly.
package offline
