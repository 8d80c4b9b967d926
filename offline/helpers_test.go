package offline

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/licentric/licentric-go/clock"
	"github.com/licentric/licentric-go/internal/wire"
)

// The test keys are fixed so that golden files are reproducible:
// ed25519.NewKeyFromSeed of these 32-byte ASCII seeds. They are test keys
// only and sign nothing outside this package's tests.
var (
	testSeed  = []byte("licentric-go offline test key #1")
	otherSeed = []byte("licentric-go offline test key #2")
)

const testFingerprint = "3f2a9c1e7b8d4f6a0c5e9b2d1a7f3c8e"

var (
	// issued is when test files are checked out; now is the clock of the
	// test verifiers, one hour later.
	issued = time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
	now    = issued.Add(time.Hour)
)

func testSigner(t testing.TB, seed []byte) *Signer {
	t.Helper()
	s, err := NewSigner(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func intp(n int) *int { return &n }

func ts(t time.Time) wire.Timestamp { return wire.NewTimestamp(t) }

// testPayload returns a realistic payload of about 1.7 KB of JSON (about
// 1 KB without the policy snapshot's zero-valued fields).
func testPayload() *Payload {
	created := time.Date(2025, 12, 1, 9, 0, 0, 0, time.UTC)
	return &Payload{
		V:           FormatVersion,
		Env:         wire.EnvLive,
		IssuedAt:    ts(issued),
		ExpiresAt:   ts(issued.Add(14 * 24 * time.Hour)),
		TTL:         14 * 24 * 3600,
		Fingerprint: testFingerprint,
		License: wire.License{
			ID:           "8c1f6a52-3d0e-4b7a-9e21-5f4c7d8a9b10",
			Key:          "DSK-A1B2-C3D4-E5F6-G7H8",
			Name:         "Acme Corp",
			Status:       wire.StatusActive,
			ProductID:    "1b7e2c94-6a3f-4d58-8e0b-2c9d4f1a7e63",
			PolicyID:     "5d2a8f3c-9b1e-4c7d-a6e0-3f8b2d9c1a54",
			UserEmail:    "it@acme.example",
			UserName:     "Acme IT",
			ExpiresAt:    ts(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)),
			UsesCount:    42,
			MachineCount: 1,
			Entitlements: []string{"export"},
			Metadata:     wire.Metadata{"seats": 25.0, "plan": "pro"},
			CreatedAt:    ts(created),
			UpdatedAt:    ts(created),
			Policy: &wire.Policy{
				ID:                       "5d2a8f3c-9b1e-4c7d-a6e0-3f8b2d9c1a54",
				ProductID:                "1b7e2c94-6a3f-4d58-8e0b-2c9d4f1a7e63",
				Name:                     "Desktop",
				Template:                 wire.TemplateDesktopApp,
				MaxMachines:              intp(2),
				ExpirationStrategy:       wire.StrategyRestrictAccess,
				HeartbeatIntervalMinutes: 60,
				HeartbeatCullStrategy:    wire.CullDeactivateDead,
				RequireFingerprint:       true,
				FingerprintUniqueness:    wire.UniquePerLicense,
				OfflineAllowed:           true,
				OfflineMaxDays:           14,
				Entitlements:             []string{"sso"},
				CreatedAt:                ts(created),
				UpdatedAt:                ts(created),
			},
		},
		Machine: wire.Machine{
			ID:          "e4b9c2d7-1f3a-4e8b-b5c6-7a0d9e2f4b31",
			LicenseID:   "8c1f6a52-3d0e-4b7a-9e21-5f4c7d8a9b10",
			Fingerprint: testFingerprint,
			Name:        "build-01",
			Platform:    wire.PlatformLinux,
			Hostname:    "build-01.acme.example",
			Cores:       8,
			Status:      wire.MachineActive,
			CreatedAt:   ts(created),
			UpdatedAt:   ts(created),
		},
		Entitlements: []string{"export", "sso"},
	}
}

func signPayload(t testing.TB, s *Signer, p *Payload) []byte {
	t.Helper()
	cert, err := s.Sign(p)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// validFile returns a file signed with the test key over testPayload
// changed by edit.
func validFile(t testing.TB, edit func(*Payload)) []byte {
	t.Helper()
	p := testPayload()
	if edit != nil {
		edit(p)
	}
	return signPayload(t, testSigner(t, testSeed), p)
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// newTestVerifier returns a verifier holding the test key, bound to
// testFingerprint, with the clock at now.
func newTestVerifier(t testing.TB, opts ...Option) *Verifier {
	t.Helper()
	base := []Option{
		WithPublicKey(testSigner(t, testSeed).PublicKey()),
		WithFingerprint(testFingerprint),
		WithClock(clock.Func(fixedClock(now))),
	}
	v, err := NewVerifier(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// envelopeFields decodes a certificate's envelope into a generic map.
func envelopeFields(t testing.TB, cert []byte) map[string]any {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(string(cert))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// encodeEnvelope base64-encodes raw envelope JSON as a certificate.
func encodeEnvelope(raw string) []byte {
	return []byte(base64.StdEncoding.EncodeToString([]byte(raw)))
}

// signedEnvelopeJSON returns the envelope pieces of a correctly signed
// payload, for tests that assemble envelopes by hand.
func signedPieces(t testing.TB, p *Payload) (kid, payload, sig string) {
	t.Helper()
	m := envelopeFields(t, signPayload(t, testSigner(t, testSeed), p))
	return m["kid"].(string), m["payload"].(string), m["sig"].(string)
}

func wantErr(t *testing.T, f *File, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
	if f != nil {
		t.Fatalf("a File was returned with error %v", err)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
