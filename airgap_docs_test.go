package licentric_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go/clock"
	"github.com/licentric/licentric-go/offline"
)

// docVectorErrs maps the error names docs/license-file.md uses to the
// errors they stand for.
var docVectorErrs = map[string]error{
	"ErrMalformed":           offline.ErrMalformed,
	"ErrUnknownKey":          offline.ErrUnknownKey,
	"ErrSignature":           offline.ErrSignature,
	"ErrEnvironment":         offline.ErrEnvironment,
	"ErrFingerprintMismatch": offline.ErrFingerprintMismatch,
	"ErrFileExpired":         offline.ErrFileExpired,
	"ErrNotYetValid":         offline.ErrNotYetValid,
}

// TestLicenseFileDocVectors checks what docs/license-file.md says about the
// golden files in offline/testdata, so that another language's verifier
// can trust the page: each row of the vector table (outcome and SHA-256 of
// the signed bytes), the key ids, the test keys' seeds, the verification
// settings, the boundary times and the example activation request.
func TestLicenseFileDocVectors(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("docs", "license-file.md"))
	require.NoError(t, err)
	text := string(doc)
	data := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("offline", "testdata", name))
		require.NoError(t, err)
		return b
	}

	// Section 4: the key, its kid, and the seeds of section 7.
	pubText := strings.TrimSpace(string(data("public-key.b64")))
	require.Contains(t, text, "The test key `"+pubText+"` has the kid `de6bed56f9d679e9`.")
	pub, err := offline.ParsePublicKey(pubText)
	require.NoError(t, err)
	assert.Equal(t, "de6bed56f9d679e9", offline.KeyID(pub))
	for _, form := range []string{"public-key.hex", "public-key.pem"} {
		k, err := offline.ParsePublicKey(string(data(form)))
		require.NoError(t, err, form)
		assert.True(t, pub.Equal(k), form)
	}
	require.Contains(t, text, "`licentric-go offline test key #1`")
	require.Contains(t, text, "`licentric-go offline test key #2`; kid\n`9fac7722f4289ebb`")
	assert.True(t, pub.Equal(ed25519.NewKeyFromSeed([]byte("licentric-go offline test key #1")).Public()))
	other, _ := ed25519.NewKeyFromSeed([]byte("licentric-go offline test key #2")).Public().(ed25519.PublicKey)
	assert.Equal(t, "9fac7722f4289ebb", offline.KeyID(other))
	require.Contains(t, text, "the 26-byte prefix `licentric-license-file/v1:`")
	assert.Len(t, offline.SignaturePrefix, 26)
	assert.Equal(t, "licentric-license-file/v1:", offline.SignaturePrefix)

	// Section 7's settings.
	const fp = "3f2a9c1e7b8d4f6a0c5e9b2d1a7f3c8e"
	at := time.Date(2026, 1, 15, 11, 30, 0, 0, time.UTC)
	require.Contains(t, text, "this machine's fingerprint `"+fp+"`")
	require.Contains(t, text, "the clock at **2026-01-15T11:30:00Z**")
	verifier := func(now time.Time) *offline.Verifier {
		v, err := offline.NewVerifier(offline.WithPublicKey(pub), offline.WithFingerprint(fp), offline.WithEnvironment("live"),
			offline.WithClock(clock.Func(func() time.Time { return now })))
		require.NoError(t, err)
		return v
	}

	// Section 7's table: every row, and every file of testdata in it.
	row := regexp.MustCompile("(?m)^\\| `([a-z-]+\\.lic)` \\| (.+?) \\| (`[0-9a-f]{64}`|—) \\|$")
	rows := row.FindAllStringSubmatch(text, -1)
	lics, err := filepath.Glob(filepath.Join("offline", "testdata", "*.lic"))
	require.NoError(t, err)
	require.Len(t, rows, len(lics), "the table has a row for each .lic file")
	for _, r := range rows {
		name, outcome, sum := r[1], r[2], strings.Trim(r[3], "`")
		cert := data(name)
		f, err := verifier(at).Verify(cert)
		if strings.HasPrefix(outcome, "verifies") {
			require.NoError(t, err, name)
			assert.Equal(t, strings.Contains(outcome, "reported as expired"), f.LicenseExpired, name)
		} else {
			errName := regexp.MustCompile("^`(Err[A-Za-z]+)`").FindStringSubmatch(outcome)
			require.NotNil(t, errName, "%s: outcome %q names no error", name, outcome)
			assert.ErrorIs(t, err, docVectorErrs[errName[1]], name)
		}
		if sum == "—" {
			continue
		}
		env := envelopeOf(t, cert)
		got := sha256.Sum256(offline.SignedMessage(env["payload"].(string)))
		assert.Equal(t, sum, hex.EncodeToString(got[:]), "%s: SHA-256 of the signed bytes", name)
	}
	// The claims of valid.lic's row, and of the armoured copy.
	f, err := verifier(at).Verify(data("valid.lic"))
	require.NoError(t, err)
	assert.Equal(t, "DSK-A1B2-C3D4-E5F6-G7H8", f.License.Key)
	assert.Equal(t, time.Date(2026, 1, 29, 10, 30, 0, 0, time.UTC), f.ExpiresAt.UTC())
	assert.Equal(t, []string{"export", "sso"}, f.Entitlements)
	assert.Equal(t, "9fac7722f4289ebb", envelopeOf(t, data("unknown-key.lic"))["kid"])
	assert.Equal(t, envelopeOf(t, data("valid.lic")), envelopeOf(t, data("armored-crlf.lic")))
	assert.True(t, bytes.Contains(data("armored-crlf.lic"), []byte("\r\n")))

	// The boundaries.
	require.Contains(t, text, "At the clock 2026-01-29T10:30:00Z, `valid.lic` is `ErrFileExpired`")
	_, err = verifier(time.Date(2026, 1, 29, 10, 30, 0, 0, time.UTC)).Verify(data("valid.lic"))
	assert.ErrorIs(t, err, offline.ErrFileExpired)
	_, err = verifier(time.Date(2026, 1, 29, 10, 29, 59, 0, time.UTC)).Verify(data("valid.lic"))
	assert.NoError(t, err)
	require.Contains(t, text, "at\n2026-01-15T10:24:59Z it is `ErrNotYetValid`")
	_, err = verifier(time.Date(2026, 1, 15, 10, 24, 59, 0, time.UTC)).Verify(data("valid.lic"))
	assert.ErrorIs(t, err, offline.ErrNotYetValid)
	_, err = verifier(time.Date(2026, 1, 15, 10, 25, 0, 0, time.UTC)).Verify(data("valid.lic"))
	assert.NoError(t, err)

	// Section 8's example request parses, as written.
	m := regexp.MustCompile("(?s)```json\n(\\{\"v\":1,\"type\":\"licentric-activation-request\".*?)\n```").FindStringSubmatch(text)
	require.NotNil(t, m, "section 8's request")
	req, err := offline.ParseRequest([]byte(m[1]))
	require.NoError(t, err)
	assert.Equal(t, fp, req.Fingerprint)
	assert.Equal(t, "DSK-A1B2-C3D4-E5F6-G7H8", req.LicenseKey)
}

// envelopeOf decodes a license file's envelope the way section 1 says:
// armour and whitespace removed, base64, JSON.
func envelopeOf(t *testing.T, cert []byte) map[string]any {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(string(cert), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "-----") {
			b.WriteString(line)
		}
	}
	raw, err := base64.StdEncoding.DecodeString(b.String())
	require.NoError(t, err)
	var env map[string]any
	require.NoError(t, json.Unmarshal(raw, &env))
	return env
}

// TestLicenseFileDocPython runs docs/license-file-vectors.py, a verifier
// written in Python from docs/license-file.md alone, over the vectors: the
// page is enough to implement the format in another language. Skipped
// where python3 is not installed.
func TestLicenseFileDocPython(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	out, err := exec.CommandContext(t.Context(), python, filepath.Join("docs", "license-file-vectors.py")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("%s", bytes.TrimSpace(out))
}
