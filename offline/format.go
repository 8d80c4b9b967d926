package offline

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/licentric/licentric-go/resource"
)

// The license-file format, version 1 (wire docs/wire-protocol.md §7).
const (
	// FormatVersion is the value of "v" in the envelope and the payload.
	FormatVersion = 1
	// Algorithm is the only signature algorithm of version 1.
	Algorithm = "ed25519"
	// SignaturePrefix is prepended to the encoded payload to form the signed
	// message, so a signature over a license file can't be replayed as a
	// signature over anything else.
	SignaturePrefix = "licentric-license-file/v1:"
	// ArmorBegin and ArmorEnd are the optional lines around a license file.
	ArmorBegin = "-----BEGIN LICENTRIC LICENSE FILE-----"
	ArmorEnd   = "-----END LICENTRIC LICENSE FILE-----"
	// MaxFileSize caps the input of Verify, whitespace included (1 MiB).
	MaxFileSize = 1 << 20
)

// Envelope is the JSON object that, base64-encoded, is the license file.
type Envelope struct {
	V       int    `json:"v"`
	Alg     string `json:"alg"`
	KID     string `json:"kid"`
	Payload string `json:"payload"` // standard base64 of the payload JSON
	Sig     string `json:"sig"`     // standard base64 of the Ed25519 signature
}

// Payload is the signed content of a license file.
type Payload struct {
	V            int                `json:"v"`
	Env          string             `json:"env"` // "live" or "test"
	IssuedAt     resource.Timestamp `json:"issuedAt"`
	ExpiresAt    resource.Timestamp `json:"expiresAt"`
	TTL          int                `json:"ttl"` // seconds
	Fingerprint  string             `json:"fingerprint"`
	License      resource.License   `json:"license"`
	Machine      resource.Machine   `json:"machine"`
	Entitlements []string           `json:"entitlements"`
}

// KeyID returns the key id of an Ed25519 public key: the first 16 lowercase
// hex characters of the SHA-256 of its 32 raw bytes.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// SignedMessage returns the bytes an Ed25519 signature of a license file
// covers: SignaturePrefix followed by the encoded payload exactly as it
// appears in the envelope.
func SignedMessage(encodedPayload string) []byte {
	msg := make([]byte, 0, len(SignaturePrefix)+len(encodedPayload))
	msg = append(msg, SignaturePrefix...)
	return append(msg, encodedPayload...)
}

// Signer issues license files. The licentrictest server and test helpers
// use it; applications only ever verify.
type Signer struct {
	priv ed25519.PrivateKey
	kid  string
}

// NewSigner returns a Signer for priv.
func NewSigner(priv ed25519.PrivateKey) (*Signer, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, errors.New("offline: signing key is not an Ed25519 private key")
	}
	pub, _ := priv.Public().(ed25519.PublicKey)
	return &Signer{priv: priv, kid: KeyID(pub)}, nil
}

// KeyID returns the id of the signer's public key.
func (s *Signer) KeyID() string { return s.kid }

// PublicKey returns the signer's public key.
func (s *Signer) PublicKey() ed25519.PublicKey {
	pub, _ := s.priv.Public().(ed25519.PublicKey)
	return pub
}

// Sign encodes p, signs it and returns the license file: the standard base64
// of the envelope JSON, without armour or line breaks.
func (s *Signer) Sign(p *Payload) ([]byte, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("offline: encode payload: %w", err)
	}
	encoded := base64.StdEncoding.EncodeToString(raw)
	sig := ed25519.Sign(s.priv, SignedMessage(encoded))
	env, err := json.Marshal(Envelope{
		V:       FormatVersion,
		Alg:     Algorithm,
		KID:     s.kid,
		Payload: encoded,
		Sig:     base64.StdEncoding.EncodeToString(sig),
	})
	if err != nil {
		return nil, fmt.Errorf("offline: encode envelope: %w", err)
	}
	out := make([]byte, base64.StdEncoding.EncodedLen(len(env)))
	base64.StdEncoding.Encode(out, env)
	return out, nil
}
