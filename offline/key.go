package offline

import (
	"bytes"
	"crypto/ed25519"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// ParsePublicKey parses an Ed25519 public key in one of the forms the
// dashboard and GET /keys/signing give: standard base64 of the 32 raw bytes,
// 64 hexadecimal characters, or a PEM "PUBLIC KEY" block (PKIX). Surrounding
// whitespace is ignored.
//
// Every error matches ErrInvalidPublicKey. A key that decodes but must not be
// trusted — a point of small order, such as the identity (base64
// "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=") or 32 zero bytes, under
// which signatures can be forged, or a non-canonical encoding — is refused
// with an error that also matches ErrWeakKey; 32 bytes that are no point of
// the curve are refused too.
func ParsePublicKey(text string) (ed25519.PublicKey, error) {
	pub, err := parsePublicKeyText(text)
	if err != nil {
		return nil, err
	}
	if err := CheckPublicKey(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// CheckPublicKey reports whether pub is fit to verify license files: 32
// bytes encoding, canonically, a point of the Ed25519 curve that is not of
// small order. Its errors match ErrInvalidPublicKey, and those of small-order
// and non-canonical encodings also ErrWeakKey. ParsePublicKey and
// WithPublicKey call it; a key from Signer.PublicKey always passes.
func CheckPublicKey(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return errorf(ErrInvalidPublicKey, fmt.Sprintf("%d bytes, want %d", len(pub), ed25519.PublicKeySize))
	}
	// An Ed25519 public key encodes a point (x, y) as y, 255 bits little
	// endian, with the sign of x in the top bit (RFC 8032 §5.1.3).
	// crypto/ed25519 verifies under whatever point the bytes decode to, and
	// its decoder, like edwards25519.Point.SetBytes, accepts the two
	// non-canonical forms RFC 8032 refuses: y >= p (read as y mod p) and
	// x = 0 with the sign bit set.
	//
	// 1. Canonical y, y < p = 2^255-19: a field element reads the 255 bits
	//    reduced mod p, so they come back unchanged only if y < p.
	yBits := [32]byte(pub)
	yBits[31] &= 0x7f
	var y field.Element // SetBytes fails only on a length other than 32
	if _, err := y.SetBytes(yBits[:]); err != nil || !bytes.Equal(y.Bytes(), yBits[:]) {
		return errorf(ErrWeakKey, "a non-canonical encoding (y >= 2^255-19)")
	}
	// 2. A point of the curve: x² = (y²-1)/(d·y²+1) has a square root.
	var p edwards25519.Point
	if _, err := p.SetBytes(pub); err != nil {
		return errorf(ErrInvalidPublicKey, "not a point of the Ed25519 curve")
	}
	// 3. Not of small order: [8]P is the identity exactly for the eight
	//    points of order dividing 8, under which signatures can be forged
	//    (under the identity, 0x01 || 63 zero bytes signs every message).
	//    This also refuses the one other non-canonical form, x = 0 with the
	//    sign bit set: x is 0 only for y = 1 (the identity) and y = -1
	//    (order 2).
	if new(edwards25519.Point).MultByCofactor(&p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return errorf(ErrWeakKey, "a point of small order, under which signatures can be forged")
	}
	return nil
}

func parsePublicKeyText(text string) (ed25519.PublicKey, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return nil, errorf(ErrInvalidPublicKey, "empty text")
	case strings.HasPrefix(text, "-----BEGIN"):
		return parsePEMKey(text)
	case len(text) == 2*ed25519.PublicKeySize && isHex(text):
		raw, err := hex.DecodeString(text)
		if err != nil {
			return nil, errorf(ErrInvalidPublicKey, "not valid hexadecimal")
		}
		return ed25519.PublicKey(raw), nil
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(text)
	if err != nil {
		return nil, errorf(ErrInvalidPublicKey, "not base64, 64 hex characters or PEM")
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, errorf(ErrInvalidPublicKey, "does not decode to 32 bytes")
	}
	return ed25519.PublicKey(raw), nil
}

func parsePEMKey(text string) (ed25519.PublicKey, error) {
	block, rest := pem.Decode([]byte(text))
	if block == nil {
		return nil, errorf(ErrInvalidPublicKey, "PEM block is invalid")
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, errorf(ErrInvalidPublicKey, "PEM has trailing data")
	}
	if block.Type != "PUBLIC KEY" {
		return nil, errorf(ErrInvalidPublicKey, `PEM block is not a "PUBLIC KEY"`)
	}
	return parsePKIX(block.Bytes)
}

// oidEd25519 is the algorithm identifier of Ed25519 keys (RFC 8410).
var oidEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}

type subjectPublicKeyInfo struct {
	Algorithm struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue `asn1:"optional"`
	}
	PublicKey asn1.BitString
}

// parsePKIX reads a DER SubjectPublicKeyInfo holding an Ed25519 key, as
// x509.ParsePKIXPublicKey does. crypto/x509 is not used because it links in
// package net, and this package must stay free of networking code.
func parsePKIX(der []byte) (ed25519.PublicKey, error) {
	var spki subjectPublicKeyInfo
	rest, err := asn1.Unmarshal(der, &spki)
	if err != nil || len(rest) != 0 {
		return nil, errorf(ErrInvalidPublicKey, "PEM public key is not valid PKIX")
	}
	if !spki.Algorithm.Algorithm.Equal(oidEd25519) {
		return nil, errorf(ErrInvalidPublicKey, "PEM public key is not an Ed25519 key")
	}
	if len(spki.Algorithm.Parameters.FullBytes) != 0 {
		return nil, errorf(ErrInvalidPublicKey, "Ed25519 key has unexpected parameters")
	}
	if spki.PublicKey.BitLength != 8*ed25519.PublicKeySize || len(spki.PublicKey.Bytes) != ed25519.PublicKeySize {
		return nil, errorf(ErrInvalidPublicKey, "PEM public key is not 32 bytes")
	}
	return ed25519.PublicKey(spki.PublicKey.Bytes), nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// MarshalPublicKey returns the standard base64 form of pub, the form
// ParsePublicKey reads first and GET /keys/signing serves.
func MarshalPublicKey(pub ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(pub)
}
