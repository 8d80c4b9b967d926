package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// signatureLen is the length of a signature: lowercase hex of a SHA-256 MAC.
const signatureLen = 2 * sha256.Size

// Verify checks that signature is the lowercase hex HMAC-SHA256 of body
// under one of secrets. Pass the old and the new secret during a rotation;
// any match passes. The comparison is constant time.
//
// Verify refuses, before looking at the signature, a call with no secret
// or with any empty secret (ErrNoSecret). It refuses an empty signature
// (ErrMissingSignature), and anything but exactly 64 lowercase hex
// characters (ErrMalformedSignature). A well-formed signature that matches
// no secret is ErrSignatureMismatch. The three signature errors match
// ErrInvalidSignature. Error messages never contain a secret or the
// expected MAC.
func Verify(body []byte, signature string, secrets ...string) error {
	if err := checkSecrets(secrets); err != nil {
		return err
	}
	got, err := decodeSignature(signature)
	if err != nil {
		return err
	}
	for _, s := range secrets {
		if hmac.Equal(got, computeMAC(body, s)) {
			return nil
		}
	}
	return ErrSignatureMismatch
}

// Sign returns the signature Licentric puts on body: the lowercase hex
// HMAC-SHA256 of body keyed with secret. It is meant for tests that build
// deliveries; Verify refuses an empty secret, so a signature made with one
// never verifies.
func Sign(body []byte, secret string) string {
	return hex.EncodeToString(computeMAC(body, secret))
}

func computeMAC(body []byte, secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

func checkSecrets(secrets []string) error {
	if len(secrets) == 0 {
		return fmt.Errorf("%w: none given", ErrNoSecret)
	}
	for i, s := range secrets {
		if s == "" {
			return fmt.Errorf("%w: secret %d of %d is empty", ErrNoSecret, i+1, len(secrets))
		}
	}
	return nil
}

// decodeSignature checks the wire form strictly and returns the MAC bytes.
func decodeSignature(sig string) ([]byte, error) {
	if sig == "" {
		return nil, ErrMissingSignature
	}
	if len(sig) >= len("sha256=") && strings.EqualFold(sig[:len("sha256=")], "sha256=") {
		return nil, fmt.Errorf("%w: unexpected \"sha256=\" prefix", ErrMalformedSignature)
	}
	if len(sig) != signatureLen {
		return nil, fmt.Errorf("%w: %d characters, want %d", ErrMalformedSignature, len(sig), signatureLen)
	}
	for i := 0; i < len(sig); i++ {
		switch c := sig[i]; {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
		case 'A' <= c && c <= 'F':
			return nil, fmt.Errorf("%w: uppercase hex", ErrMalformedSignature)
		default:
			return nil, fmt.Errorf("%w: non-hex character at offset %d", ErrMalformedSignature, i)
		}
	}
	mac, err := hex.DecodeString(sig)
	if err != nil { // unreachable after the checks above
		return nil, fmt.Errorf("%w: not hex", ErrMalformedSignature)
	}
	return mac, nil
}
