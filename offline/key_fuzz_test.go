package offline

import (
	"crypto/ed25519"
	"os"
	"testing"
)

// FuzzParsePublicKey feeds arbitrary text to ParsePublicKey: it must never
// panic, and whatever it accepts must be a 32-byte key that passes
// CheckPublicKey (no weak key) and round-trips through MarshalPublicKey.
func FuzzParsePublicKey(f *testing.F) {
	for _, name := range []string{"public-key.b64", "public-key.hex", "public-key.pem"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Add("")
	f.Add("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n")
	f.Add("zz" + string(make([]byte, 62)))
	f.Add("AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=") // the identity point
	for _, h := range smallOrderKeys {
		f.Add(h)
	}
	for _, h := range nonCanonicalKeys {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, text string) {
		pub, err := ParsePublicKey(text)
		if err != nil {
			if pub != nil {
				t.Fatalf("error %v came with a key", err)
			}
			return
		}
		if len(pub) != ed25519.PublicKeySize {
			t.Fatalf("accepted a %d-byte key", len(pub))
		}
		if err := CheckPublicKey(pub); err != nil {
			t.Fatalf("accepted a key CheckPublicKey refuses: %v", err)
		}
		back, err := ParsePublicKey(MarshalPublicKey(pub))
		if err != nil || !back.Equal(pub) {
			t.Fatalf("MarshalPublicKey does not round-trip: %v", err)
		}
	})
}
