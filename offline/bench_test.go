package offline

import (
	"crypto/ed25519"
	"testing"
)

// The three benchmarks run on the same file (testPayload, about 1 KB of
// payload JSON) so their ratios can be compared:
//
//	go test -run xxx -bench . -benchmem -count 5 ./offline/

func benchFile(b *testing.B) (*Verifier, []byte) {
	v := newTestVerifier(b)
	cert := validFile(b, nil)
	if _, err := v.Verify(cert); err != nil {
		b.Fatal(err)
	}
	return v, cert
}

// BenchmarkVerify verifies the file from scratch every time (the cache of
// the last input is defeated by alternating two identical-content copies
// that differ in layout).
func BenchmarkVerify(b *testing.B) {
	v, cert := benchFile(b)
	other := append(append([]byte{}, cert...), '\n')
	inputs := [2][]byte{cert, other}
	b.SetBytes(int64(len(cert)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := v.Verify(inputs[i&1]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkEd25519Verify is the floor: a bare ed25519.Verify of the same
// signed message.
func BenchmarkEd25519Verify(b *testing.B) {
	_, cert := benchFile(b)
	m := envelopeFields(b, cert)
	msg := SignedMessage(m["payload"].(string))
	sig := decodeB64(b, m["sig"].(string))
	pub := testSigner(b, testSeed).PublicKey()
	b.SetBytes(int64(len(cert)))
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("signature does not verify")
		}
	}
}

// BenchmarkVerifySameBytes re-verifies the very same bytes, as an
// application that checks its file on every request does.
func BenchmarkVerifySameBytes(b *testing.B) {
	v, cert := benchFile(b)
	b.SetBytes(int64(len(cert)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(cert); err != nil {
			b.Fatal(err)
		}
	}
}

func decodeB64(b *testing.B, s string) []byte {
	out, err := strict.DecodeString(s)
	if err != nil {
		b.Fatal(err)
	}
	return out
}
