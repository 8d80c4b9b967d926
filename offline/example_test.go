package offline_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/licentric/licentric-go/clock"
	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/offline"
)

// The example signs its own file with a key made from a fixed seed; a real
// application only holds the public key, pinned in its source.
func ExampleVerifier() {
	signer, _ := offline.NewSigner(ed25519.NewKeyFromSeed([]byte("example seed, never use for real")))
	issued := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
	certificate, _ := signer.Sign(&offline.Payload{
		V:           offline.FormatVersion,
		Env:         "live",
		IssuedAt:    wire.NewTimestamp(issued),
		ExpiresAt:   wire.NewTimestamp(issued.Add(14 * 24 * time.Hour)),
		TTL:         14 * 24 * 3600,
		Fingerprint: "3f2a9c1e7b8d4f6a",
		License: wire.License{
			ID: "lic_1", Key: "DSK-A1B2-C3D4-E5F6-G7H8", Status: "active",
			Policy: &wire.Policy{ExpirationStrategy: "RESTRICT_ACCESS"},
		},
		Entitlements: []string{"export"},
	})

	// The public key as the dashboard shows it.
	pub, err := offline.ParsePublicKey(offline.MarshalPublicKey(signer.PublicKey()))
	if err != nil {
		fmt.Println(err)
		return
	}
	now := issued.Add(24 * time.Hour)
	v, err := offline.NewVerifier(
		offline.WithPublicKey(pub),
		offline.WithFingerprint("3f2a9c1e7b8d4f6a"),
		offline.WithEntitlements("export"),
		offline.WithClock(clock.Func(func() time.Time { return now })),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	f, err := v.Verify(certificate)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.License.Key, f.License.Status, f.HasEntitlement("export"))
	fmt.Println("file valid for another", f.Remaining(now))

	// Two weeks later the file has expired: go online and check out again.
	now = issued.Add(15 * 24 * time.Hour)
	_, err = v.Verify(certificate)
	fmt.Println(errors.Is(err, offline.ErrFileExpired))
	// Output:
	// DSK-A1B2-C3D4-E5F6-G7H8 active true
	// file valid for another 312h0m0s
	// true
}

// The key is the example Ed25519 public key of RFC 8410, in each form.
func ExampleParsePublicKey() {
	for _, text := range []string{
		"MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=", // PKIX DER in base64 is not accepted bare
		"-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n",
		"19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1",
		"Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=",
	} {
		pub, err := offline.ParsePublicKey(text)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println(offline.KeyID(pub))
	}
	// Output:
	// error: offline: invalid Ed25519 public key: does not decode to 32 bytes
	// e744c0791320c328
	// e744c0791320c328
	// e744c0791320c328
}
