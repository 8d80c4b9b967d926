package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLicensesGet(t *testing.T) {
	f := newFixture(t)
	f.onlineEnv()
	key := f.fx.License.Key
	m := f.machine(t, testFP)

	code, stdout, stderr := f.run(t, "licenses", "get", f.fx.License.ID)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	assert.Empty(t, stderr)
	assert.True(t, hasRow(stdout, "License", f.fx.License.ID), stdout)
	assert.True(t, hasRow(stdout, "Key", redactKey(key)), stdout)
	assert.True(t, hasRow(stdout, "Status", "active"), stdout)
	assert.True(t, hasRow(stdout, "Product", f.fx.Product.ID), stdout)
	assert.True(t, hasRow(stdout, "Policy", f.fx.Policy.ID+" (Test Policy)"), stdout)
	assert.True(t, hasRow(stdout, "Expires", "never"), stdout)
	assert.True(t, hasRow(stdout, "Machines", "1 of unlimited"), stdout)
	assert.True(t, hasRow(stdout, "Entitlements", "pro"), stdout)
	assert.Regexp(t, `(?m)^`+m.ID+` +active +`+testFP+` .* air-gapped box$`, stdout, "the machines table")
	assert.NotContains(t, stdout, key)

	// By key, with the key shown.
	code, stdout, stderr = f.run(t, "licenses", "get", "--license-key", key, "--show-key")
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	assert.True(t, hasRow(stdout, "Key", key), stdout)
	assert.Equal(t, 1, f.srv.CountRequests(http.MethodGet, "/licenses/by-key/"+key))

	// JSON: the API's license, key redacted, machines included.
	code, stdout, stderr = f.run(t, "licenses", "get", f.fx.License.ID, "--json")
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	var doc struct {
		License licentric.License `json:"license"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
	assert.Equal(t, f.fx.License.ID, doc.License.ID)
	assert.Equal(t, redactKey(key), doc.License.Key)
	assert.Equal(t, "active", doc.License.Status)
	require.NotNil(t, doc.License.Policy)
	assert.Equal(t, f.fx.Policy.ID, doc.License.Policy.ID)
	require.Len(t, doc.License.Machines, 1)
	assert.Equal(t, m.ID, doc.License.Machines[0].ID)
	assert.NotContains(t, stdout, key)

	// Not found.
	code, stdout, stderr = f.run(t, "licenses", "get", "00000000-0000-4000-8000-000000000000")
	assert.Equal(t, exitFailed, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "looking up the license failed")
	assert.Contains(t, stderr, "NOT_FOUND")
}

func TestLicensesGetShowsLimitsAndExpiry(t *testing.T) {
	f := newFixture(t)
	f.onlineEnv()
	ctx := context.Background()
	exp := f.srv.Now().Add(30 * 24 * time.Hour).Truncate(time.Second)
	_, err := f.client.Licenses.Update(ctx, f.fx.License.ID, &licentric.LicenseRequest{
		ExpiresAt:           licentric.Date(exp),
		Name:                licentric.Value("Acme seat"),
		UserEmail:           licentric.Value("ops@example.com"),
		MaxMachinesOverride: licentric.Value(5),
	})
	require.NoError(t, err)
	code, stdout, stderr := f.run(t, "licenses", "get", f.fx.License.ID)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	assert.True(t, hasRow(stdout, "License", f.fx.License.ID+" (Acme seat)"), stdout)
	assert.True(t, hasRow(stdout, "User", "<ops@example.com>"), stdout)
	assert.True(t, hasRow(stdout, "Expires", exp.UTC().Format(time.RFC3339)), stdout)
	assert.True(t, hasRow(stdout, "Machines", "1 of 5 (override)"), stdout)
}

func TestLicensesSuspendReinstate(t *testing.T) {
	f := newFixture(t)
	f.onlineEnv()
	ctx := context.Background()
	id := f.fx.License.ID

	code, stdout, stderr := f.run(t, "licenses", "suspend", id)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	assert.Contains(t, stdout, "License "+id+" suspended.\n")
	assert.True(t, hasRow(stdout, "Status", "suspended"), stdout)
	v, err := f.client.Validate(ctx, f.fx.License.Key)
	require.NoError(t, err)
	assert.Equal(t, licentric.CodeSuspended, v.Code)

	// Suspending twice is the service's CONFLICT.
	code, stdout, stderr = f.run(t, "licenses", "suspend", id, "--json")
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, stderr, "suspend failed")
	assert.Contains(t, stderr, "CONFLICT")
	var e jsonError
	require.NoError(t, json.Unmarshal([]byte(stdout), &e), stdout)
	assert.Equal(t, "CONFLICT", e.Error.Code)
	assert.Equal(t, http.StatusConflict, e.Error.Status)
	assert.Equal(t, exitFailed, e.Error.ExitCode)

	code, stdout, stderr = f.run(t, "licenses", "reinstate", id, "--json")
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	var doc struct {
		License licentric.License `json:"license"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
	assert.Equal(t, "active", doc.License.Status)
	assert.Equal(t, redactKey(f.fx.License.Key), doc.License.Key)
	v, err = f.client.Validate(ctx, f.fx.License.Key, licentric.WithFingerprint(testFP), licentric.WithFreshValidation())
	require.NoError(t, err)
	assert.True(t, v.Valid, "code %s", v.Code)

	code, _, stderr = f.run(t, "licenses", "reinstate", id)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, stderr, "CONFLICT")
}

func TestLicensesUsageErrors(t *testing.T) {
	f := newFixture(t)
	f.onlineEnv()
	for name, args := range map[string][]string{
		"get nothing":       {"licenses", "get"},
		"get id and key":    {"licenses", "get", "id", "--license-key", "LIC-AAAA-BBBB-CCCC"},
		"get two ids":       {"licenses", "get", "a", "b"},
		"get --key (gone)":  {"licenses", "get", "--key", "LIC-AAAA-BBBB-CCCC"},
		"suspend nothing":   {"licenses", "suspend"},
		"reinstate two ids": {"licenses", "reinstate", "a", "b"},
		"bad flag":          {"licenses", "suspend", "a", "--nope"},
		"no subcommand":     {"licenses"},
		"bad subcommand":    {"licenses", "revoke", "a"},
	} {
		f.srv.ResetRequests()
		code, stdout, stderr := f.run(t, args...)
		assert.Equal(t, exitUsage, code, "%s: stderr %q", name, stderr)
		assert.Empty(t, stdout, name)
		assert.Contains(t, stderr, "--help' for usage.", name)
		assert.Empty(t, f.srv.Requests(), "%s: a usage error sent a request", name)
	}
}
