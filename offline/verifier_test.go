package offline

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licentric/licentric-go/clock"
	"github.com/licentric/licentric-go/internal/wire"
)

func TestVerifyValidFile(t *testing.T) {
	v := newTestVerifier(t)
	f, err := v.Verify(validFile(t, nil))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	p := testPayload()
	if !reflect.DeepEqual(f.License, p.License) {
		t.Errorf("License = %+v\nwant %+v", f.License, p.License)
	}
	if !reflect.DeepEqual(f.Machine, p.Machine) {
		t.Errorf("Machine = %+v\nwant %+v", f.Machine, p.Machine)
	}
	if f.Fingerprint != testFingerprint || f.Env != "live" || f.KeyID != testSigner(t, testSeed).KeyID() {
		t.Errorf("Fingerprint, Env, KeyID = %q, %q, %q", f.Fingerprint, f.Env, f.KeyID)
	}
	if !f.IssuedAt.Equal(issued) || !f.ExpiresAt.Equal(issued.Add(14*24*time.Hour)) || f.TTL != 14*24*time.Hour {
		t.Errorf("IssuedAt, ExpiresAt, TTL = %v, %v, %v", f.IssuedAt, f.ExpiresAt, f.TTL)
	}
	if !reflect.DeepEqual(f.Entitlements, []string{"export", "sso"}) || !f.HasEntitlement("sso") || f.HasEntitlement("admin") {
		t.Errorf("Entitlements = %v", f.Entitlements)
	}
	if f.LicenseExpired {
		t.Error("LicenseExpired is true for an active license")
	}
	if got := f.Remaining(now); got != 14*24*time.Hour-time.Hour {
		t.Errorf("Remaining = %v", got)
	}
	if got := f.Remaining(f.ExpiresAt.Add(time.Hour)); got != 0 {
		t.Errorf("Remaining after expiry = %v, want 0", got)
	}
	if f.RefreshDue(now, 24*time.Hour) || !f.RefreshDue(f.ExpiresAt.Add(-time.Hour), 24*time.Hour) {
		t.Error("RefreshDue is wrong")
	}
	if f.ExpirationStrategy() != wire.StrategyRestrictAccess {
		t.Errorf("ExpirationStrategy = %q", f.ExpirationStrategy())
	}
}

// wrap breaks s into lines of n characters joined by sep.
func wrap(s string, n int, sep string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += n {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s[i:min(i+n, len(s))])
	}
	return b.String()
}

func TestVerifyToleratesLayout(t *testing.T) {
	v := newTestVerifier(t)
	cert := string(validFile(t, nil))
	forms := map[string]string{
		"surrounding whitespace": "\n\t  " + cert + " \r\n\n",
		"LF wrapped at 64":       wrap(cert, 64, "\n") + "\n",
		"CRLF wrapped at 76":     wrap(cert, 76, "\r\n") + "\r\n",
		"armoured":               ArmorBegin + "\n" + wrap(cert, 64, "\n") + "\n" + ArmorEnd + "\n",
		"armoured CRLF":          ArmorBegin + "\r\n" + wrap(cert, 64, "\r\n") + "\r\n" + ArmorEnd + "\r\n",
		"armoured, indented":     "  " + ArmorBegin + "\n  " + wrap(cert, 64, "\n  ") + "\n  " + ArmorEnd + "  ",
		"trailing spaces":        wrap(cert, 64, " \r\n"),
		"armoured one line":      ArmorBegin + "\n" + cert + "\n" + ArmorEnd,
	}
	for name, form := range forms {
		t.Run(name, func(t *testing.T) {
			f, err := v.Verify([]byte(form))
			if err != nil || f.License.ID != testPayload().License.ID {
				t.Fatalf("Verify = %v, %v", f, err)
			}
		})
	}
}

func TestVerifyMalformedInput(t *testing.T) {
	v := newTestVerifier(t)
	cert := string(validFile(t, nil))
	kid, payload, sig := signedPieces(t, testPayload())
	rawEnvelope := fmt.Sprintf(`{"v":1,"alg":"ed25519","kid":%q,"payload":%q,"sig":%q}`, kid, payload, sig)
	cases := map[string]string{
		"empty":                  "",
		"whitespace only":        " \r\n\t",
		"not base64":             "this is not a license file",
		"raw JSON envelope":      rawEnvelope,
		"base64url":              strings.NewReplacer("+", "-", "/", "_").Replace(cert) + "-_",
		"armour without end":     ArmorBegin + "\n" + cert + "\n",
		"end without armour":     cert + "\n" + ArmorEnd,
		"armour on one line":     ArmorBegin + cert + ArmorEnd,
		"armour only":            ArmorBegin + "\n" + ArmorEnd,
		"text before armour":     "license:\n" + ArmorBegin + "\n" + cert + "\n" + ArmorEnd,
		"base64 of non-JSON":     string(encodeEnvelope("hello")),
		"base64 of JSON array":   string(encodeEnvelope(`[1,2]`)),
		"two files concatenated": cert + cert,
	}
	// A certificate whose base64 needs padding, with the padding removed.
	for i := 0; ; i++ {
		padded := string(validFile(t, func(p *Payload) { p.License.Name = strings.Repeat("x", i) }))
		if strings.HasSuffix(padded, "=") {
			cases["missing padding"] = strings.TrimRight(padded, "=")
			break
		}
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			f, err := v.Verify([]byte(in))
			wantErr(t, f, err, ErrMalformed)
		})
	}
}

func TestVerifySizeCap(t *testing.T) {
	v := newTestVerifier(t)
	cert := validFile(t, nil)
	// Whitespace counts: a valid file padded to exactly MaxFileSize verifies,
	// one byte more is refused before decoding.
	padded := append(bytes.Repeat([]byte("\n"), MaxFileSize-len(cert)), cert...)
	if f, err := v.Verify(padded); err != nil || f == nil {
		t.Fatalf("file of exactly MaxFileSize: %v", err)
	}
	f, err := v.Verify(append([]byte{' '}, padded...))
	wantErr(t, f, err, ErrTooLarge)
	if !errors.Is(err, ErrMalformed) {
		t.Error("ErrTooLarge does not match ErrMalformed")
	}
}

func TestEnvelopeMustBeComplete(t *testing.T) {
	v := newTestVerifier(t)
	kid, payload, sig := signedPieces(t, testPayload())
	// Each envelope carries a payload and signature that verify; only the
	// envelope's shape is wrong.
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	ok := `{"v":1,"alg":"ed25519","kid":` + q(kid) + `,"payload":` + q(payload) + `,"sig":` + q(sig) + `}`
	if f, err := v.Verify(encodeEnvelope(ok)); err != nil || f == nil {
		t.Fatalf("hand-built envelope: %v", err)
	}
	rest := `"kid":` + q(kid) + `,"payload":` + q(payload) + `,"sig":` + q(sig)
	cases := map[string]string{
		"v missing":           `{"alg":"ed25519",` + rest + `}`,
		"v string":            `{"v":"1","alg":"ed25519",` + rest + `}`,
		"v 2":                 `{"v":2,"alg":"ed25519",` + rest + `}`,
		"v 1.0":               `{"v":1.0,"alg":"ed25519",` + rest + `}`,
		"v null":              `{"v":null,"alg":"ed25519",` + rest + `}`,
		"v true":              `{"v":true,"alg":"ed25519",` + rest + `}`,
		"alg missing":         `{"v":1,` + rest + `}`,
		"alg Ed25519":         `{"v":1,"alg":"Ed25519",` + rest + `}`,
		"alg EdDSA":           `{"v":1,"alg":"EdDSA",` + rest + `}`,
		"alg number":          `{"v":1,"alg":1,` + rest + `}`,
		"kid missing":         `{"v":1,"alg":"ed25519","payload":` + q(payload) + `,"sig":` + q(sig) + `}`,
		"kid empty":           `{"v":1,"alg":"ed25519","kid":"","payload":` + q(payload) + `,"sig":` + q(sig) + `}`,
		"kid null":            `{"v":1,"alg":"ed25519","kid":null,"payload":` + q(payload) + `,"sig":` + q(sig) + `}`,
		"payload missing":     `{"v":1,"alg":"ed25519","kid":` + q(kid) + `,"sig":` + q(sig) + `}`,
		"payload object":      `{"v":1,"alg":"ed25519","kid":` + q(kid) + `,"payload":{},"sig":` + q(sig) + `}`,
		"sig missing":         `{"v":1,"alg":"ed25519","kid":` + q(kid) + `,"payload":` + q(payload) + `}`,
		"sig not base64":      `{"v":1,"alg":"ed25519","kid":` + q(kid) + `,"payload":` + q(payload) + `,"sig":"***"}`,
		"sig short":           `{"v":1,"alg":"ed25519","kid":` + q(kid) + `,"payload":` + q(payload) + `,"sig":` + q(sig[:84]) + `}`,
		"sig array":           `{"v":1,"alg":"ed25519","kid":` + q(kid) + `,"payload":` + q(payload) + `,"sig":[1]}`,
		"payload repeated":    `{"v":1,"alg":"ed25519",` + rest + `,"payload":` + q(payload) + `}`,
		"v repeated":          `{"v":1,"v":1,"alg":"ed25519",` + rest + `}`,
		"trailing data":       ok + `{}`,
		"trailing comma":      strings.TrimSuffix(ok, "}") + `,}`,
		"unterminated":        strings.TrimSuffix(ok, "}"),
		"not an object":       `"` + payload + `"`,
		"single quotes":       strings.ReplaceAll(ok, `"`, `'`),
		"control char in kid": `{"v":1,"alg":"ed25519","kid":"a` + "\x01" + `b","payload":` + q(payload) + `,"sig":` + q(sig) + `}`,
	}
	for name, env := range cases {
		t.Run(name, func(t *testing.T) {
			f, err := v.Verify(encodeEnvelope(env))
			wantErr(t, f, err, ErrMalformed)
		})
	}
	// Unknown fields and insignificant whitespace are accepted.
	for _, env := range []string{
		`{"v":1,"alg":"ed25519",` + rest + `,"note":{"a":[1,2,null]}}`,
		"{ \"v\" : 1 ,\n\"alg\":\"ed25519\", " + rest + " }\n",
		`{"sig":` + q(sig) + `,"payload":` + q(payload) + `,"kid":` + q(kid) + `,"alg":"ed25519","v":1}`,
	} {
		if f, err := v.Verify(encodeEnvelope(env)); err != nil || f == nil {
			t.Errorf("Verify(%.40s...) = %v", env, err)
		}
	}
}

func TestUnknownKeyAndRotation(t *testing.T) {
	one, two := testSigner(t, testSeed), testSigner(t, otherSeed)
	fileOne := signPayload(t, one, testPayload())
	fileTwo := signPayload(t, two, testPayload())

	onlyOne := newTestVerifier(t)
	f, err := onlyOne.Verify(fileTwo)
	wantErr(t, f, err, ErrUnknownKey)
	if !strings.Contains(err.Error(), two.KeyID()) {
		t.Errorf("error %q does not name the key id", err)
	}

	both := newTestVerifier(t, WithPublicKey(two.PublicKey()), WithPublicKey(one.PublicKey()))
	if got := both.KeyIDs(); len(got) != 2 {
		t.Fatalf("KeyIDs = %v, want two (duplicates merge)", got)
	}
	for _, tc := range []struct {
		file []byte
		kid  string
	}{{fileOne, one.KeyID()}, {fileTwo, two.KeyID()}} {
		f, err := both.Verify(tc.file)
		if err != nil || f.KeyID != tc.kid {
			t.Fatalf("Verify = %v, %v; want key %s", f, err, tc.kid)
		}
	}

	// A kid naming a held key selects that key only: a file signed by key two
	// but labelled with key one's id is a bad signature, not a retry.
	_, payload, sig := signedPieces(t, testPayload())
	_ = payload
	m := envelopeFields(t, fileTwo)
	relabelled := fmt.Sprintf(`{"v":1,"alg":"ed25519","kid":%q,"payload":%q,"sig":%q}`, one.KeyID(), m["payload"], m["sig"])
	f, err = both.Verify(encodeEnvelope(relabelled))
	wantErr(t, f, err, ErrSignature)
	// And the reverse: key one's signature under key two's id.
	relabelled = fmt.Sprintf(`{"v":1,"alg":"ed25519","kid":%q,"payload":%q,"sig":%q}`, two.KeyID(), m["payload"], sig)
	f, err = both.Verify(encodeEnvelope(relabelled))
	wantErr(t, f, err, ErrSignature)
}

func TestSwappedPayload(t *testing.T) {
	v := newTestVerifier(t)
	kidA, payloadA, sigA := signedPieces(t, testPayload())
	_, payloadB, sigB := signedPieces(t, func() *Payload { p := testPayload(); p.License.ID = "other"; return p }())
	for name, env := range map[string]string{
		"payload of B, signature of A": fmt.Sprintf(`{"v":1,"alg":"ed25519","kid":%q,"payload":%q,"sig":%q}`, kidA, payloadB, sigA),
		"payload of A, signature of B": fmt.Sprintf(`{"v":1,"alg":"ed25519","kid":%q,"payload":%q,"sig":%q}`, kidA, payloadA, sigB),
	} {
		t.Run(name, func(t *testing.T) {
			f, err := v.Verify(encodeEnvelope(env))
			wantErr(t, f, err, ErrSignature)
		})
	}
}

// smallFile is a short valid file, for exhaustive mutation loops.
func smallFile(t testing.TB) []byte {
	return signPayload(t, testSigner(t, testSeed), &Payload{
		V: 1, Env: "live", IssuedAt: ts(issued), ExpiresAt: ts(issued.Add(24 * time.Hour)), TTL: 86400,
		Fingerprint: testFingerprint, License: wire.License{ID: "l", Status: "active"},
	})
}

func TestEveryFlippedBitIsRefused(t *testing.T) {
	v := newTestVerifier(t)
	cert := smallFile(t)
	if _, err := v.Verify(cert); err != nil {
		t.Fatal(err)
	}
	counts := map[error]int{}
	for i := range cert {
		for bit := range 8 {
			mut := bytes.Clone(cert)
			mut[i] ^= 1 << bit
			f, err := v.Verify(mut)
			if err == nil || f != nil {
				t.Fatalf("flipping bit %d of byte %d: accepted", bit, i)
			}
			for _, s := range []error{ErrMalformed, ErrUnknownKey, ErrSignature} {
				if errors.Is(err, s) {
					counts[s]++
				}
			}
		}
	}
	if total := counts[ErrMalformed] + counts[ErrUnknownKey] + counts[ErrSignature]; total != 8*len(cert) {
		t.Errorf("some flips failed a later check than the signature: %v of %d", counts, 8*len(cert))
	}
	if counts[ErrSignature] == 0 {
		t.Error("no flip reached the signature check")
	}
}

func TestTruncatedFilesAreRefused(t *testing.T) {
	v := newTestVerifier(t)
	cert := smallFile(t)
	for n := range len(cert) {
		f, err := v.Verify(cert[:n])
		if err == nil || f != nil {
			t.Fatalf("file truncated to %d bytes: accepted", n)
		}
	}
}

func TestPayloadDecodingAfterSignature(t *testing.T) {
	v := newTestVerifier(t)
	s := testSigner(t, testSeed)
	// signRaw signs an arbitrary payload string, bypassing Payload.
	signRaw := func(encodedPayload string) []byte {
		sig := ed25519.Sign(ed25519.NewKeyFromSeed(testSeed), SignedMessage(encodedPayload))
		return encodeEnvelope(fmt.Sprintf(`{"v":1,"alg":"ed25519","kid":%q,"payload":%q,"sig":%q}`,
			s.KeyID(), encodedPayload, b64(sig)))
	}
	good := `"v":1,"env":"live","issuedAt":"2026-01-15T10:30:00.000Z","expiresAt":"2026-01-29T10:30:00.000Z","ttl":1209600,"fingerprint":"` + testFingerprint + `","license":{"id":"l","status":"active"}`
	if f, err := v.Verify(signRaw(b64([]byte("{" + good + "}")))); err != nil || f.License.ID != "l" {
		t.Fatalf("minimal payload: %v", err)
	}
	cases := map[string]string{
		"not base64":            "!!!!",
		"base64url":             strings.NewReplacer("+", "-", "/", "_").Replace(b64([]byte("{" + good + `,"x":"???>>>"}`))),
		"not JSON":              b64([]byte("hello")),
		"JSON array":            b64([]byte("[]")),
		"trailing data":         b64([]byte("{" + good + "} x")),
		"ttl string":            b64([]byte("{" + good + `,"ttl":"1"}`)),
		"ttl fraction":          b64([]byte("{" + good + `,"ttl":1.5}`)),
		"license array":         b64([]byte("{" + good + `,"license":[]}`)),
		"metadata array":        b64([]byte("{" + good + `,"license":{"status":"active","metadata":[]}}`)),
		"entitlements string":   b64([]byte("{" + good + `,"entitlements":"sso"}`)),
		"entitlements numbers":  b64([]byte("{" + good + `,"entitlements":[1]}`)),
		"bad timestamp":         b64([]byte("{" + good + `,"issuedAt":"yesterday"}`)),
		"v 2":                   b64([]byte("{" + good + `,"v":2}`)),
		"no issuedAt":           b64([]byte("{" + good + `,"issuedAt":null}`)),
		"no expiresAt":          b64([]byte("{" + good + `,"expiresAt":null}`)),
		"unknown status":        b64([]byte("{" + good + `,"license":{"status":"pending"}}`)),
		"deep nesting":          b64([]byte("{" + good + `,"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "}")),
		"bad escape":            b64([]byte("{" + good + `,"x":"\q"}`)),
		"int overflow":          b64([]byte("{" + good + `,"ttl":99999999999999999999}`)),
		"unterminated":          b64([]byte("{" + good)),
		"bool for string field": b64([]byte("{" + good + `,"env":true}`)),
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			f, err := v.Verify(signRaw(payload))
			wantErr(t, f, err, ErrMalformed)
		})
	}
}

func TestEnvironment(t *testing.T) {
	testFile := validFile(t, func(p *Payload) { p.Env = wire.EnvTest })
	liveFile := validFile(t, nil)

	// Without WithEnvironment both environments verify.
	for _, file := range [][]byte{testFile, liveFile} {
		if _, err := newTestVerifier(t).Verify(file); err != nil {
			t.Fatalf("verifier without an environment: %v", err)
		}
	}
	f, err := newTestVerifier(t, WithEnvironment("live")).Verify(testFile)
	wantErr(t, f, err, ErrEnvironment)
	f, err = newTestVerifier(t, WithEnvironment("test")).Verify(liveFile)
	wantErr(t, f, err, ErrEnvironment)
	if f, err := newTestVerifier(t, WithEnvironment("test")).Verify(testFile); err != nil || f.Env != "test" {
		t.Fatalf("test file under test verifier: %v", err)
	}
	for _, env := range []string{"", "Live", "staging"} {
		if _, err := NewVerifier(WithPublicKey(testSigner(t, testSeed).PublicKey()), WithoutFingerprintCheck(), WithEnvironment(env)); err == nil {
			t.Errorf("WithEnvironment(%q) accepted", env)
		}
	}
}

func TestLicenseStateAndStrategy(t *testing.T) {
	past := now.Add(-time.Hour)
	future := now.Add(time.Hour)
	cases := []struct {
		status    string
		strategy  string // "" = no policy snapshot
		expiresAt time.Time
		want      error
		expired   bool
	}{
		{"active", "RESTRICT_ACCESS", future, nil, false},
		{"active", "RESTRICT_ACCESS", time.Time{}, nil, false}, // never expires
		{"active", "RESTRICT_ACCESS", past, ErrLicenseExpired, false},
		{"active", "RESTRICT_ACCESS", now, ErrLicenseExpired, false}, // expiresAt == now is expired
		{"active", "RESTRICT_ACCESS", now.Add(time.Millisecond), nil, false},
		{"expired", "RESTRICT_ACCESS", past, ErrLicenseExpired, false},
		{"expired", "RESTRICT_ACCESS", future, ErrLicenseExpired, false}, // status alone decides
		{"active", "REVOKE", past, ErrLicenseRevoked, false},
		{"expired", "REVOKE", past, ErrLicenseRevoked, false},
		{"active", "ALLOW_ACCESS", past, nil, true},
		{"expired", "ALLOW_ACCESS", time.Time{}, nil, true},
		{"active", "ALLOW_ACCESS", future, nil, false},
		{"active", "", past, ErrLicenseExpired, false},              // no policy: RESTRICT_ACCESS
		{"active", "SOMETHING_NEW", past, ErrLicenseExpired, false}, // unknown: RESTRICT_ACCESS
		{"suspended", "ALLOW_ACCESS", future, ErrLicenseSuspended, false},
		{"suspended", "ALLOW_ACCESS", past, ErrLicenseSuspended, false}, // status before expiry
		{"revoked", "ALLOW_ACCESS", past, ErrLicenseRevoked, false},
		{"banned", "ALLOW_ACCESS", past, ErrLicenseBanned, false},
		{"banned", "REVOKE", future, ErrLicenseBanned, false},
	}
	v := newTestVerifier(t)
	for _, tc := range cases {
		name := fmt.Sprintf("%s/%s/%v", tc.status, tc.strategy, tc.expiresAt.Sub(now))
		t.Run(name, func(t *testing.T) {
			cert := validFile(t, func(p *Payload) {
				p.License.Status = tc.status
				p.License.ExpiresAt = ts(tc.expiresAt)
				if tc.strategy == "" {
					p.License.Policy = nil
				} else {
					p.License.Policy.ExpirationStrategy = tc.strategy
				}
			})
			f, err := v.Verify(cert)
			if tc.want != nil {
				wantErr(t, f, err, tc.want)
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if f.LicenseExpired != tc.expired {
				t.Errorf("LicenseExpired = %v, want %v", f.LicenseExpired, tc.expired)
			}
		})
	}
}

func TestClockSkewBoundaries(t *testing.T) {
	cert := validFile(t, nil)
	for _, tc := range []struct {
		skew time.Duration
		now  time.Time
		want error
	}{
		{DefaultClockSkew, issued.Add(-DefaultClockSkew), nil},
		{DefaultClockSkew, issued.Add(-DefaultClockSkew - time.Millisecond), ErrNotYetValid},
		{0, issued, nil},
		{0, issued.Add(-time.Millisecond), ErrNotYetValid},
		{time.Hour, issued.Add(-time.Hour), nil},
		{time.Hour, issued.Add(-time.Hour - time.Nanosecond), ErrNotYetValid},
	} {
		v := newTestVerifier(t, WithClockSkew(tc.skew), WithClock(clock.Func(fixedClock(tc.now))))
		f, err := v.Verify(cert)
		if tc.want != nil {
			wantErr(t, f, err, tc.want)
		} else if err != nil {
			t.Errorf("skew %v, now %v: %v", tc.skew, tc.now, err)
		}
	}
	if _, err := NewVerifier(WithPublicKey(testSigner(t, testSeed).PublicKey()), WithoutFingerprintCheck(), WithClockSkew(-time.Second)); err == nil {
		t.Error("negative skew accepted")
	}
}

func TestFileExpiryIsStrictWithoutSkew(t *testing.T) {
	cert := validFile(t, nil)
	expires := issued.Add(14 * 24 * time.Hour)
	v := newTestVerifier(t, WithClock(clock.Func(fixedClock(expires.Add(-time.Millisecond)))), WithClockSkew(time.Hour))
	if _, err := v.Verify(cert); err != nil {
		t.Fatalf("a millisecond before expiry: %v", err)
	}
	for _, at := range []time.Time{expires, expires.Add(time.Millisecond), expires.Add(30 * time.Minute)} {
		v := newTestVerifier(t, WithClock(clock.Func(fixedClock(at))), WithClockSkew(time.Hour))
		f, err := v.Verify(cert)
		wantErr(t, f, err, ErrFileExpired)
	}
}

func TestFingerprint(t *testing.T) {
	cert := validFile(t, nil)
	for _, fp := range []string{strings.ToUpper(testFingerprint), testFingerprint + " ", "another-machine"} {
		f, err := newTestVerifier(t, func(v *Verifier) error { v.fingerprint = fp; return nil }).Verify(cert)
		wantErr(t, f, err, ErrFingerprintMismatch)
	}
	key := WithPublicKey(testSigner(t, testSeed).PublicKey())
	v, err := NewVerifier(key, WithoutFingerprintCheck(), WithClock(clock.Func(fixedClock(now))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(validFile(t, func(p *Payload) { p.Fingerprint = "elsewhere" })); err != nil {
		t.Errorf("WithoutFingerprintCheck: %v", err)
	}
	unbound, err := NewVerifier(key, WithClock(clock.Func(fixedClock(now))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unbound.Verify(validFile(t, func(p *Payload) { p.Fingerprint = "elsewhere" })); err != nil {
		t.Errorf("verifier without WithFingerprint: %v", err)
	}
	if _, err := NewVerifier(key, WithFingerprint(testFingerprint), WithoutFingerprintCheck()); err == nil {
		t.Error("WithFingerprint with WithoutFingerprintCheck accepted")
	}
	if _, err := NewVerifier(key, WithFingerprint("")); err == nil {
		t.Error("empty fingerprint accepted")
	}
}

func TestEntitlements(t *testing.T) {
	cert := validFile(t, nil) // top level: export, sso
	for _, tc := range []struct {
		codes []string
		want  error
	}{
		{nil, nil},
		{[]string{"export"}, nil},
		{[]string{"sso", "export"}, nil},
		{[]string{"export", "admin"}, ErrEntitlementsMissing},
		{[]string{"EXPORT"}, ErrEntitlementsMissing},
	} {
		f, err := newTestVerifier(t, WithEntitlements(tc.codes...)).Verify(cert)
		if tc.want != nil {
			wantErr(t, f, err, tc.want)
		} else if err != nil {
			t.Errorf("WithEntitlements(%v): %v", tc.codes, err)
		}
	}
	// Only the top-level list counts, not the license's or policy's own.
	cert = validFile(t, func(p *Payload) { p.Entitlements = []string{"sso"} })
	f, err := newTestVerifier(t, WithEntitlements("export")).Verify(cert)
	wantErr(t, f, err, ErrEntitlementsMissing)
	if _, err := NewVerifier(WithEntitlements("")); err == nil {
		t.Error("empty entitlement code accepted")
	}
}

func TestNewVerifierValidates(t *testing.T) {
	pub := testSigner(t, testSeed).PublicKey()
	for name, opts := range map[string][]Option{
		"no key":        {WithoutFingerprintCheck()},
		"short key":     {WithPublicKey(pub[:31]), WithoutFingerprintCheck()},
		"long key":      {WithPublicKey(append(bytes.Clone(pub), 0)), WithoutFingerprintCheck()},
		"nil clock":     {WithPublicKey(pub), WithoutFingerprintCheck(), WithClock(nil)},
		"nil guard":     {WithPublicKey(pub), WithoutFingerprintCheck(), WithRollbackGuard(nil)},
		"negative skew": {WithPublicKey(pub), WithoutFingerprintCheck(), WithClockSkew(-1)},
	} {
		if v, err := NewVerifier(opts...); err == nil || v != nil {
			t.Errorf("%s: NewVerifier = %v, %v", name, v, err)
		}
	}
	// The verifier keeps its own copy of the key.
	key := bytes.Clone(pub)
	v, err := NewVerifier(WithPublicKey(key), WithFingerprint(testFingerprint), WithClock(clock.Func(fixedClock(now))))
	if err != nil {
		t.Fatal(err)
	}
	key[0] ^= 0xff
	if _, err := v.Verify(validFile(t, nil)); err != nil {
		t.Errorf("changing the caller's key slice affected the verifier: %v", err)
	}
}

func TestReverifySameBytes(t *testing.T) {
	at := now
	var mu sync.Mutex
	v := newTestVerifier(t, WithClock(clock.Func(func() time.Time { mu.Lock(); defer mu.Unlock(); return at })))
	cert := validFile(t, nil)
	first, err := v.Verify(cert)
	if err != nil {
		t.Fatal(err)
	}
	// A caller that modifies its File does not change later results.
	first.License.Metadata["plan"] = "free"
	first.License.Policy.Entitlements[0] = "tampered"
	*first.License.Policy.MaxMachines = 99
	first.Entitlements = append(first.Entitlements[:0], "admin")
	first.License.Status = "banned"
	want, _ := newTestVerifier(t).Verify(cert)
	// The second call caches the input, later ones are served from it.
	for i := range 4 {
		again, err := v.Verify(bytes.Clone(cert))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again, want) {
			t.Fatalf("call %d: re-verified File differs from a fresh one:\n%+v\n%+v", i+2, again, want)
		}
		again.License.Metadata["plan"] = "mutated"
		again.License.Policy.Metadata = map[string]any{"x": 1}
		again.Machine.ID = "mutated"
	}
	if last := v.last.Load(); last == nil || !bytes.Equal(last.input, cert) || last.tmpl.Load() == nil {
		t.Fatal("the same bytes verified five times are not cached")
	}
	// Checks that depend on the at run again on the same bytes.
	mu.Lock()
	at = issued.Add(14 * 24 * time.Hour)
	mu.Unlock()
	f, err := v.Verify(cert)
	wantErr(t, f, err, ErrFileExpired)
	// A changed input after a cached one is verified afresh.
	mut := bytes.Clone(cert)
	mut[len(mut)/2] ^= 1
	f, err = v.Verify(mut)
	if err == nil || f != nil {
		t.Fatal("a modified file was accepted after the original was cached")
	}
}

func TestConcurrentVerifyNeverMixesFiles(t *testing.T) {
	v := newTestVerifier(t)
	files := make([][]byte, 4)
	for i := range files {
		files[i] = validFile(t, func(p *Payload) { p.License.ID = fmt.Sprintf("license-%d", i) })
	}
	bad := bytes.Clone(files[0])
	bad[100] ^= 4
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 200 {
				i := (g + n) % len(files)
				if n%7 == 0 {
					if f, err := v.Verify(bad); err == nil || f != nil {
						t.Error("tampered file accepted")
						return
					}
					continue
				}
				f, err := v.Verify(files[i])
				if err != nil || f.License.ID != fmt.Sprintf("license-%d", i) {
					t.Errorf("file %d: got %v, %v", i, f, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestErrorsDoNotLeakInput(t *testing.T) {
	v := newTestVerifier(t)
	cert := validFile(t, nil)
	_, payload, sig := signedPieces(t, testPayload())
	hostile := fmt.Sprintf(`{"v":1,"alg":"ed25519","kid":"%s\n%s","payload":%q,"sig":%q}`,
		strings.Repeat("x", 100), "FAKE LOG LINE", payload, sig)
	inputs := [][]byte{cert[:len(cert)-8], encodeEnvelope(hostile), append([]byte("garbage "), cert...)}
	for _, in := range inputs {
		_, err := v.Verify(in)
		if err == nil {
			t.Fatal("accepted")
		}
		msg := err.Error()
		if len(msg) > 160 || strings.Contains(msg, "\n") || strings.Contains(msg, payload[:20]) || strings.Contains(msg, "FAKE") {
			t.Errorf("error message leaks input: %q", msg)
		}
	}
}

func TestCachedFilesDoNotShareNestedMetadata(t *testing.T) {
	v := newTestVerifier(t)
	cert := validFile(t, func(p *Payload) {
		p.Machine.Metadata = map[string]any{"rack": map[string]any{"slots": []any{1.0, map[string]any{"a": "b"}}}}
	})
	for i := range 5 {
		f, err := v.Verify(cert)
		if err != nil {
			t.Fatal(err)
		}
		rack := f.Machine.Metadata["rack"].(map[string]any)
		slots := rack["slots"].([]any)
		if slots[0] != 1.0 || slots[1].(map[string]any)["a"] != "b" || len(rack) != 1 {
			t.Fatalf("call %d: metadata changed by an earlier caller: %v", i, f.Machine.Metadata)
		}
		slots[0] = 2.0
		slots[1].(map[string]any)["a"] = "changed"
		rack["extra"] = true
	}
	if ErrTooLarge.Error() != "offline: license file exceeds 1 MiB" {
		t.Errorf("ErrTooLarge message = %q", ErrTooLarge)
	}
}
