package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/offline"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// onlineEnv points the fixture's commands at its server with the test API key.
func (f *fixture) onlineEnv() {
	f.env["LICENTRIC_BASE_URL"] = f.srv.URL
	f.env["LICENTRIC_API_KEY"] = f.srv.TestAPIKey()
}

// A checkout whose file verifies but cannot be written says so,
// instead of "did not verify".
func TestCheckoutWriteFailureSaysWriteFailed(t *testing.T) {
	f := newFixture(t)
	f.onlineEnv()
	out := filepath.Join(f.dir, "missing-dir", "license.lic")
	code, stdout, stderr := f.run(t, "checkout", "--license-id", f.fx.License.ID, "--public-key", f.key,
		"--fingerprint", testFP, "--out", out)
	assert.Equal(t, exitFailed, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "verified, but writing it to "+out+" failed")
	assert.Contains(t, stderr, "nothing was written")
	assert.NotContains(t, stderr, "did not verify")
	_, err := os.Stat(filepath.Dir(out))
	assert.True(t, os.IsNotExist(err), "the directory was created: %v", err)
}

// Checkout with the license key alone looks the license id up by
// validating the key, then checks out with license-key auth.
func TestCheckoutWithLicenseKeyAlone(t *testing.T) {
	f := newFixture(t)
	f.env["LICENTRIC_BASE_URL"] = f.srv.URL
	f.env["LICENTRIC_LICENSE_KEY"] = f.fx.License.Key
	out := filepath.Join(f.dir, "license.lic")
	args := []string{"checkout", "--public-key", f.key, "--fingerprint", testFP, "--out", out}

	// No API key: validation looks in live, where this test license is not.
	f.srv.ResetRequests()
	code, stdout, stderr := f.run(t, args...)
	assert.Equal(t, exitFailed, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "no live license has this license key; for a test license set an lk_test_ API key too")
	assert.Zero(t, f.srv.CountRequests(http.MethodPost, "/licenses/"+f.fx.License.ID+"/checkout"))
	assert.NoFileExists(t, out)

	// With a test API key the lookup finds it; the checkout itself still
	// uses the license key.
	f.env["LICENTRIC_API_KEY"] = f.srv.TestAPIKey()
	f.srv.ResetRequests()
	code, stdout, stderr = f.run(t, args...)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	assert.Contains(t, stdout, "written to "+out)
	assert.True(t, hasRow(stdout, "License", f.fx.License.ID), stdout)
	assert.True(t, hasRow(stdout, "Environment", "test"), stdout)
	reqs := f.srv.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "/licenses/validate-key", reqs[0].Path)
	assert.Equal(t, "/licenses/"+f.fx.License.ID+"/checkout", reqs[1].Path)
	assert.Equal(t, "License", reqs[1].Scheme)
	assert.NotContains(t, stdout+stderr, f.fx.License.Key)

	// A live license needs no API key at all.
	ctx := context.Background()
	live, err := f.srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive, Policy: licentrictest.PolicyRequest{OfflineAllowed: licentric.Value(true)}})
	require.NoError(t, err)
	_, err = f.client.Activate(ctx, live.License.Key, licentric.ActivateParams{Fingerprint: testFP})
	require.NoError(t, err)
	delete(f.env, "LICENTRIC_API_KEY")
	f.env["LICENTRIC_LICENSE_KEY"] = live.License.Key
	code, stdout, stderr = f.run(t, args...)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	assert.True(t, hasRow(stdout, "License", live.License.ID), stdout)
	assert.True(t, hasRow(stdout, "Environment", "live"), stdout)

	// An unknown key is a failure that names no key.
	f.env["LICENTRIC_LICENSE_KEY"] = "LIC-UNKNOWN-KEY-0000-SECRET"
	code, _, stderr = f.run(t, args...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, stderr, "no live license has this license key")
	assert.NotContains(t, stderr, "UNKNOWN-KEY-0000")
}

// verify --public-key refuses a weak (small-order) key: the identity point
// verifies forged signatures. This needs offline.ParsePublicKey's
// small-order check.
func TestVerifyRefusesWeakPublicKey(t *testing.T) {
	f := newFixture(t)
	path := f.file(t, testFP, time.Hour)
	for _, weak := range []string{
		"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", // the identity point
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", // 32 zero bytes, small order
	} {
		code, stdout, stderr := f.run(t, "verify", "--public-key", weak, "--fingerprint", testFP, "--env", "test", path)
		assert.Equal(t, exitUsage, code, "%s: stderr %q", weak, stderr)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, "-public-key")
		assert.Contains(t, stderr, "not an Ed25519 public key")
	}
}

func TestVerifyAndCheckoutJSON(t *testing.T) {
	f := newFixture(t)
	f.onlineEnv()
	out := filepath.Join(f.dir, "license.lic")
	code, stdout, stderr := f.run(t, "checkout", "--license-id", f.fx.License.ID, "--public-key", f.key,
		"--fingerprint", testFP, "--ttl", "3d", "--out", out, "--json")
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	assert.Empty(t, stderr)
	var doc fileJSON
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
	assert.Equal(t, out, doc.Path)
	assert.Equal(t, "test", doc.Env)
	assert.Equal(t, offline.KeyID(f.srv.PublicKey()), doc.KeyID)
	assert.Equal(t, testFP, doc.Fingerprint)
	assert.Equal(t, int64(3*24*3600), doc.TTLSeconds)
	assert.Equal(t, int64(3*24*3600), doc.RemainingSeconds)
	assert.False(t, doc.RefreshDue)
	assert.True(t, doc.IssuedAt.Equal(f.srv.Now()), "issuedAt %v", doc.IssuedAt)
	assert.Equal(t, f.fx.License.ID, doc.License.ID)
	assert.Equal(t, redactKey(f.fx.License.Key), doc.License.Key)
	assert.Equal(t, "active", doc.License.Status)
	assert.Equal(t, f.fx.Policy.ID, doc.License.PolicyID)
	assert.Equal(t, "air-gapped box", doc.Machine.Name)
	assert.Equal(t, []string{"pro"}, doc.Entitlements)
	assert.NotContains(t, stdout, f.fx.License.Key)

	// The field names are stable.
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &raw))
	for _, k := range []string{"path", "env", "keyId", "fingerprint", "issuedAt", "expiresAt", "ttlSeconds",
		"remainingSeconds", "refreshDue", "license", "machine", "entitlements"} {
		assert.Contains(t, raw, k)
	}
	assert.Nil(t, raw["license"].(map[string]any)["expiresAt"], "a license without expiry has expiresAt null")

	f.srv.Advance(2 * 24 * time.Hour)
	code, stdout, stderr = f.run(t, "verify", "--public-key", f.key, "--fingerprint", testFP, "--env", "test", "--json", out)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	doc = fileJSON{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
	assert.Equal(t, int64(24*3600), doc.RemainingSeconds)
	assert.True(t, doc.RefreshDue)

	// A failure with --json is one JSON document too, and the message is on stderr.
	code, stdout, stderr = f.run(t, "verify", "--public-key", f.key, "--fingerprint", testFP+"-other", "--env", "test", "--json", out)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, stderr, "another machine")
	var e jsonError
	require.NoError(t, json.Unmarshal([]byte(stdout), &e), stdout)
	assert.Equal(t, exitFailed, e.Error.ExitCode)
	assert.Contains(t, e.Error.Message, "another machine")

	f.srv.Advance(2 * 24 * time.Hour)
	code, stdout, _ = f.run(t, "verify", "--public-key", f.key, "--fingerprint", testFP, "--env", "test", "--json", out)
	assert.Equal(t, exitExpired, code)
	e = jsonError{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &e), stdout)
	assert.Equal(t, exitExpired, e.Error.ExitCode)

	// An API refusal carries the service's code and status.
	code, stdout, _ = f.run(t, "checkout", "--license-id", f.fx.License.ID, "--public-key", f.key,
		"--fingerprint", testFP, "--ttl", "31d", "--out", out, "--json")
	assert.Equal(t, exitFailed, code)
	e = jsonError{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &e), stdout)
	assert.Equal(t, "OFFLINE_TTL_EXCEEDED", e.Error.Code)
	assert.Equal(t, http.StatusUnprocessableEntity, e.Error.Status)
	assert.NotEmpty(t, e.Error.RequestID)
}

func TestFingerprintJSON(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runPlain("fingerprint", "--app-id", "com.example.cli", "--state-dir", dir, "--json")
	require.Equal(t, exitOK, code, stderr)
	var doc map[string]string
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc))
	_, plain, _ := runPlain("fingerprint", "--app-id", "com.example.cli", "--state-dir", dir)
	assert.Equal(t, map[string]string{"fingerprint": strings.TrimSpace(plain), "appId": "com.example.cli"}, doc)

	code, stdout, _ = runPlain("version", "--json")
	require.Equal(t, exitOK, code)
	assert.JSONEq(t, `{"version":"`+licentric.Version+`"}`, stdout)
}

// Secrets read from flags or the environment never appear in a message,
// even when the service echoes them back.
func TestSecretsNeverPrinted(t *testing.T) {
	f := newFixture(t)
	f.onlineEnv()
	revoked := f.srv.NewAPIKey(licentrictest.EnvTest)
	f.srv.RevokeAPIKey(revoked)
	for name, args := range map[string][]string{
		"revoked API key flag": {"licenses", "get", f.fx.License.ID, "--api-key", revoked},
		"unknown key lookup":   {"licenses", "get", "--license-key", "LIC-NOPE-NOPE-NOPE-SECRET1", "--json"},
		"license key flag":     {"checkout", "--license-key", "LIC-NOPE-NOPE-NOPE-SECRET2", "--public-key", f.key, "--fingerprint", testFP, "--out", filepath.Join(f.dir, "x.lic")},
	} {
		code, stdout, stderr := f.run(t, args...)
		assert.Equal(t, exitFailed, code, "%s: stderr %q", name, stderr)
		for _, secret := range []string{revoked, "NOPE-NOPE-SECRET1", "NOPE-NOPE-SECRET2", f.srv.TestAPIKey()} {
			assert.NotContains(t, stdout+stderr, secret, name)
		}
	}
}
