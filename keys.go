package licentric

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"net/http"

	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/offline"
)

// KeysService reads the account's signing key. Reach it as Client.Keys.
type KeysService service

// SigningKey is the Ed25519 public key that signs offline license files.
type SigningKey struct {
	KeyID     string            // first 16 hex characters of SHA-256 of PublicKey
	Algorithm string            // "ed25519"
	PublicKey ed25519.PublicKey // 32 bytes
}

// GetSigningKey fetches the current license-file signing key (GET
// /keys/signing), for tooling that pins it into an application at build
// time. An application must not fetch its trust anchor at run time: a
// network attacker could then hand it any key.
//
// The answer is checked: the algorithm must be ed25519, the key 32 bytes,
// and the key id must be the one the key implies; anything else is an
// error matching ErrMalformedResponse.
func (s *KeysService) GetSigningKey(ctx context.Context) (*SigningKey, error) {
	// A GET: retried on 429, 5xx and transport errors.
	raw, _, err := callData[wire.SigningKey](ctx, s.client, &request{
		method: http.MethodGet,
		path:   wire.PathSigningKey,
		auth:   authAPIKey,
	})
	if err != nil {
		return nil, err
	}
	bad := func(why string) error {
		return fmt.Errorf("%w: GET %s: %s", ErrMalformedResponse, wire.PathSigningKey, why)
	}
	if raw.Algorithm != "ed25519" {
		return nil, bad("algorithm is not ed25519")
	}
	pub, err := base64.StdEncoding.DecodeString(raw.PublicKey)
	if err != nil {
		return nil, bad("public key is not base64")
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, bad(fmt.Sprintf("public key has %d bytes, want %d", len(pub), ed25519.PublicKeySize))
	}
	pk := ed25519.PublicKey(pub)
	if kid := offline.KeyID(pk); kid != raw.KeyID {
		return nil, bad("key id does not match the public key")
	}
	return &SigningKey{KeyID: raw.KeyID, Algorithm: raw.Algorithm, PublicKey: pk}, nil
}
