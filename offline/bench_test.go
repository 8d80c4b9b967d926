package offline

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/licentric/licentric-go/clock"
)

// The file benchmarks run on the same files so their ratios to
// BenchmarkEd25519Verify can be compared:
//
//	go test -run xxx -bench . -benchmem -count 5 ./offline/
//
// Each has two sub-benchmarks: "1.2KB", testPayload without its policy
// snapshot, the one closest to the 1 KB file the performance targets are
// stated for, and "1.8KB", the full testPayload with the policy snapshot a
// server sends. BENCHMARKS.md gives
// the ratios, and how to check them with instruction counts.

func benchPayloads() []*Payload {
	small := testPayload()
	small.License.Policy = nil
	return []*Payload{small, testPayload()}
}

func benchName(b *testing.B, p *Payload) string {
	raw, err := json.Marshal(p)
	if err != nil {
		b.Fatal(err)
	}
	return fmt.Sprintf("%.1fKB", float64(len(raw))/1000)
}

// BenchmarkVerify verifies a file from scratch every time: it alternates
// two inputs that differ only in a trailing newline, so the same-bytes cache
// never engages.
func BenchmarkVerify(b *testing.B) {
	for _, p := range benchPayloads() {
		b.Run(benchName(b, p), func(b *testing.B) {
			v := newTestVerifier(b)
			cert := signPayload(b, testSigner(b, testSeed), p)
			inputs := [2][]byte{cert, append(append([]byte{}, cert...), '\n')}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := v.Verify(inputs[i&1]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkEd25519Verify is the floor: a bare ed25519.Verify of the same
// signed message.
func BenchmarkEd25519Verify(b *testing.B) {
	pub := testSigner(b, testSeed).PublicKey()
	for _, p := range benchPayloads() {
		b.Run(benchName(b, p), func(b *testing.B) {
			m := envelopeFields(b, signPayload(b, testSigner(b, testSeed), p))
			msg := SignedMessage(m["payload"].(string))
			sig, err := strict.DecodeString(m["sig"].(string))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if !ed25519.Verify(pub, msg, sig) {
					b.Fatal("signature does not verify")
				}
			}
		})
	}
}

// BenchmarkVerifySameBytes re-verifies the very same bytes, as an
// application that checks its file on every request does.
func BenchmarkVerifySameBytes(b *testing.B) {
	for _, p := range benchPayloads() {
		b.Run(benchName(b, p), func(b *testing.B) {
			v := newTestVerifier(b)
			cert := signPayload(b, testSigner(b, testSeed), p)
			for range 3 { // the second call caches, the third fills the template
				if _, err := v.Verify(cert); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(cert); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNewVerifierVerify is an application's start: build a Verifier
// from the pinned key (WithPublicKey checks it for small order) and verify
// one file. Compare it with BenchmarkEd25519Verify of the same payload.
func BenchmarkNewVerifierVerify(b *testing.B) {
	pub := testSigner(b, testSeed).PublicKey()
	clk := clock.Func(fixedClock(now))
	for _, p := range benchPayloads() {
		b.Run(benchName(b, p), func(b *testing.B) {
			cert := signPayload(b, testSigner(b, testSeed), p)
			b.ReportAllocs()
			for b.Loop() {
				v, err := NewVerifier(WithPublicKey(pub), WithFingerprint(testFingerprint), WithClockSource(clk))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := v.Verify(cert); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCheckPublicKey is the key check alone, which WithPublicKey and
// ParsePublicKey run once per key.
func BenchmarkCheckPublicKey(b *testing.B) {
	pub := testSigner(b, testSeed).PublicKey()
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckPublicKey(pub); err != nil {
			b.Fatal(err)
		}
	}
}
