package offline

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licentric/licentric-go/clock"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden describes one file in testdata: how it is made from the fixed-seed
// test key (testSeed) and what Verify, with the clock at now and bound to
// testFingerprint, must say about it.
type golden struct {
	name string
	make func(t *testing.T) []byte
	want error // nil: verifies
}

func goldenFiles() []golden {
	valid := func(t *testing.T) []byte { return validFile(t, nil) }
	armoured := func(t *testing.T) []byte {
		return []byte(ArmorBegin + "\r\n" + wrap(string(valid(t)), 64, "\r\n") + "\r\n" + ArmorEnd + "\r\n")
	}
	return []golden{
		{"valid.lic", valid, nil},
		{"armored-crlf.lic", armoured, nil},
		{"allow-access-expired.lic", func(t *testing.T) []byte {
			return validFile(t, func(p *Payload) {
				p.License.Status = "expired"
				p.License.Policy.ExpirationStrategy = "ALLOW_ACCESS"
			})
		}, nil},
		{"tampered-payload.lic", func(t *testing.T) []byte {
			// The payload of a file for another machine, under the valid
			// file's signature.
			m := envelopeFields(t, valid(t))
			other := envelopeFields(t, validFile(t, func(p *Payload) { p.Fingerprint = "another-machine-0001" }))
			return encodeEnvelope(`{"v":1,"alg":"ed25519","kid":"` + m["kid"].(string) + `","payload":"` +
				other["payload"].(string) + `","sig":"` + m["sig"].(string) + `"}`)
		}, ErrSignature},
		{"tampered-signature.lic", func(t *testing.T) []byte {
			m := envelopeFields(t, valid(t))
			sig := []byte(m["sig"].(string))
			sig[10] = map[bool]byte{true: 'B', false: 'A'}[sig[10] == 'A']
			return encodeEnvelope(`{"v":1,"alg":"ed25519","kid":"` + m["kid"].(string) + `","payload":"` +
				m["payload"].(string) + `","sig":"` + string(sig) + `"}`)
		}, ErrSignature},
		{"unknown-key.lic", func(t *testing.T) []byte {
			return signPayload(t, testSigner(t, otherSeed), testPayload())
		}, ErrUnknownKey},
		{"truncated.lic", func(t *testing.T) []byte { v := valid(t); return v[:len(v)/2] }, ErrMalformed},
		{"wrong-alg.lic", func(t *testing.T) []byte {
			m := envelopeFields(t, valid(t))
			return encodeEnvelope(`{"v":1,"alg":"EdDSA","kid":"` + m["kid"].(string) + `","payload":"` +
				m["payload"].(string) + `","sig":"` + m["sig"].(string) + `"}`)
		}, ErrMalformed},
		{"test-env.lic", func(t *testing.T) []byte {
			return validFile(t, func(p *Payload) { p.Env = "test" })
		}, ErrEnvironment},
		{"other-machine.lic", func(t *testing.T) []byte {
			return validFile(t, func(p *Payload) { p.Fingerprint = "another-machine-0001" })
		}, ErrFingerprintMismatch},
	}
}

func goldenKeys(t *testing.T) map[string][]byte {
	pub := testSigner(t, testSeed).PublicKey()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"public-key.b64": []byte(MarshalPublicKey(pub) + "\n"),
		"public-key.hex": []byte(hex.EncodeToString(pub) + "\n"),
		"public-key.pem": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
	}
}

// compareGolden writes data with -update, and otherwise fails when the
// stored file differs from what the code produces now: a format drift.
func compareGolden(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stored, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
	}
	if !bytes.Equal(stored, data) {
		t.Errorf("%s: the format drifted: stored golden file differs from what the code produces now\n"+
			"(if the change is intended, run go test -run TestGolden -update and review the diff)", name)
	}
	return stored
}

func TestGolden(t *testing.T) {
	v := newTestVerifier(t, WithEnvironment("live"))
	for name, data := range goldenKeys(t) {
		stored := compareGolden(t, name, data)
		pub, err := ParsePublicKey(string(stored))
		if err != nil || !pub.Equal(testSigner(t, testSeed).PublicKey()) {
			t.Errorf("%s: ParsePublicKey = %v", name, err)
		}
	}
	for _, g := range goldenFiles() {
		t.Run(g.name, func(t *testing.T) {
			stored := compareGolden(t, g.name, g.make(t))
			// Verify the stored bytes, not the regenerated ones.
			f, err := v.Verify(stored)
			if g.want == nil {
				if err != nil || f == nil {
					t.Fatalf("Verify = %v", err)
				}
				return
			}
			wantErr(t, f, err, g.want)
		})
	}
	// Every file in testdata is known: a stale file would go unchecked.
	entries, _ := os.ReadDir("testdata")
	known := goldenKeys(t)
	known[".gitattributes"] = nil // keeps git from rewriting line endings
	for _, g := range goldenFiles() {
		known[g.name] = nil
	}
	for _, e := range entries {
		if _, ok := known[e.Name()]; !ok && !e.IsDir() {
			t.Errorf("testdata/%s is not a known golden file", e.Name())
		}
	}
}

// TestGoldenVerifiesWithPublishedKey checks the golden valid file against
// each published key form, as an application would load them.
func TestGoldenVerifiesWithPublishedKey(t *testing.T) {
	cert, err := LoadFile(filepath.Join("testdata", "valid.lic"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"public-key.b64", "public-key.hex", "public-key.pem"} {
		text, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		pub, err := ParsePublicKey(string(text))
		if err != nil {
			t.Fatal(err)
		}
		v, err := NewVerifier(WithPublicKey(pub), WithFingerprint(testFingerprint), WithClock(clock.Func(fixedClock(now))))
		if err != nil {
			t.Fatal(err)
		}
		f, err := v.Verify(cert)
		if err != nil || !strings.HasPrefix(f.License.Key, "DSK-") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
