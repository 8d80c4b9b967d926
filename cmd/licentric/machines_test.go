package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// machine returns the fixture license's machine with fingerprint fp.
func (f *fixture) machine(t *testing.T, fp string) *licentric.Machine {
	t.Helper()
	for m, err := range f.client.Machines.List(context.Background(), &licentric.MachineListOptions{LicenseID: f.fx.License.ID}) {
		require.NoError(t, err)
		if m.Fingerprint == fp {
			return m
		}
	}
	t.Fatalf("no machine with fingerprint %q", fp)
	return nil
}

func TestMachinesList(t *testing.T) {
	f := newFixture(t)
	f.onlineEnv()
	ctx := context.Background()
	second := testFP + "-second"
	_, err := f.client.Activate(ctx, f.fx.License.Key, licentric.ActivateParams{Fingerprint: second, Name: "laptop"})
	require.NoError(t, err)
	first := f.machine(t, testFP)

	code, stdout, stderr := f.run(t, "machines", "list", "--license-id", f.fx.License.ID)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	assert.Empty(t, stderr)
	assert.Regexp(t, `(?m)^MACHINE +STATUS +FINGERPRINT +LAST HEARTBEAT +ACTIVATED +NAME$`, stdout)
	assert.Regexp(t, `(?m)^`+first.ID+` +active +`+testFP+` +\S+ +\S+ +air-gapped box$`, stdout)
	assert.Contains(t, stdout, second)
	assert.Less(t, strings.Index(stdout, testFP+" "), strings.Index(stdout, second), "oldest first")

	// By license key, as JSON.
	code, stdout, stderr = f.run(t, "machines", "list", "--license-key", f.fx.License.Key, "--json")
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	var doc machinesJSON
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
	require.Len(t, doc.Machines, 2)
	assert.False(t, doc.Truncated)
	assert.Equal(t, first.ID, doc.Machines[0].ID)
	assert.Equal(t, f.fx.License.ID, doc.Machines[0].LicenseID)
	assert.Equal(t, "laptop", doc.Machines[1].Name)
	assert.NotContains(t, stdout+stderr, f.fx.License.Key)

	// The whole environment has a LICENSE column; --limit cuts the list.
	code, stdout, _ = f.run(t, "machines", "list", "--limit", "1")
	require.Equal(t, exitOK, code)
	assert.Regexp(t, `(?m)^LICENSE +MACHINE`, stdout)
	assert.Contains(t, stdout, "(only the first 1; raise --limit for more)")
	assert.NotContains(t, stdout, second)
	code, stdout, _ = f.run(t, "machines", "list", "--limit", "1", "--json")
	require.Equal(t, exitOK, code)
	doc = machinesJSON{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc))
	assert.Len(t, doc.Machines, 1)
	assert.True(t, doc.Truncated)

	// A license without machines; an empty list is [] in JSON.
	empty, err := f.srv.Seed(licentrictest.Seed{})
	require.NoError(t, err)
	code, stdout, _ = f.run(t, "machines", "list", "--license-id", empty.License.ID)
	require.Equal(t, exitOK, code)
	assert.Equal(t, "No machines.\n", stdout)
	code, stdout, _ = f.run(t, "machines", "list", "--license-id", empty.License.ID, "--json")
	require.Equal(t, exitOK, code)
	assert.JSONEq(t, `{"machines": [], "truncated": false}`, stdout)
}

func TestMachinesDeactivate(t *testing.T) {
	f := newFixture(t)
	f.onlineEnv()
	ctx := context.Background()
	m := f.machine(t, testFP)

	code, stdout, stderr := f.run(t, "machines", "deactivate", m.ID)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	assert.Equal(t, "Machine "+m.ID+" deactivated: its seat on license "+f.fx.License.ID+" is free.\n", stdout)
	// The API key did it (DELETE /machines/{id}, Bearer).
	reqs := f.srv.Requests()
	last := reqs[len(reqs)-1]
	assert.Equal(t, http.MethodDelete, last.Method)
	assert.Equal(t, "/machines/"+m.ID, last.Path)
	assert.Equal(t, "Bearer", last.Scheme)
	_, err := f.client.Machines.Get(ctx, m.ID)
	assert.ErrorIs(t, err, licentric.ErrNotFound)
	l, err := f.client.Licenses.Get(ctx, f.fx.License.ID)
	require.NoError(t, err)
	assert.Zero(t, l.MachineCount, "the seat is free")

	// Again: it is gone.
	code, stdout, stderr = f.run(t, "machines", "deactivate", m.ID)
	assert.Equal(t, exitFailed, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "NOT_FOUND")

	// By license and fingerprint, as JSON.
	_, err = f.client.Activate(ctx, f.fx.License.Key, licentric.ActivateParams{Fingerprint: testFP, Name: "again"})
	require.NoError(t, err)
	m = f.machine(t, testFP)
	code, stdout, stderr = f.run(t, "machines", "deactivate", "--license-id", f.fx.License.ID, "--fingerprint", testFP, "--json")
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	var doc struct {
		Deactivated licentric.Machine `json:"deactivated"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
	assert.Equal(t, m.ID, doc.Deactivated.ID)
	assert.Equal(t, "again", doc.Deactivated.Name)
	_, err = f.client.Machines.Get(ctx, m.ID)
	assert.ErrorIs(t, err, licentric.ErrNotFound)

	// No machine with that fingerprint; an unknown license.
	code, _, stderr = f.run(t, "machines", "deactivate", "--license-id", f.fx.License.ID, "--fingerprint", testFP)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, stderr, "no machine of the license has this fingerprint")
	code, _, stderr = f.run(t, "machines", "deactivate", "--license-id", "00000000-0000-4000-8000-000000000000", "--fingerprint", testFP)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, stderr, "NOT_FOUND")

	// A read-only key may list but not deactivate.
	_, err = f.client.Activate(ctx, f.fx.License.Key, licentric.ActivateParams{Fingerprint: testFP})
	require.NoError(t, err)
	m = f.machine(t, testFP)
	f.env["LICENTRIC_API_KEY"] = f.srv.NewAPIKey(licentrictest.EnvTest, "machines:read")
	code, stdout, stderr = f.run(t, "machines", "deactivate", m.ID, "--json")
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, stderr, "FORBIDDEN")
	var e jsonError
	require.NoError(t, json.Unmarshal([]byte(stdout), &e), stdout)
	assert.Equal(t, "FORBIDDEN", e.Error.Code)
	_, err = f.client.Machines.Get(ctx, m.ID)
	assert.NoError(t, err, "the machine is still there")
}

func TestMachinesUsageErrors(t *testing.T) {
	f := newFixture(t)
	f.onlineEnv()
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		msg  string
	}{
		"deactivate nothing":       {[]string{"machines", "deactivate"}, nil, "give the machine's id, --license-id and --fingerprint, or --license-key and --fingerprint"},
		"deactivate both licenses": {[]string{"machines", "deactivate", "--license-id", "x", "--license-key", "LIC-AAAA-BBBB-CCCC", "--fingerprint", testFP}, nil, "only one of --license-id and --license-key"},
		"license key alone":        {[]string{"machines", "deactivate", "--license-key", "LIC-AAAA-BBBB-CCCC"}, nil, "--license-key and --fingerprint"},
		"activate no key":          {[]string{"machines", "activate", "--fingerprint", testFP}, nil, "--license-key is required (or set LICENTRIC_LICENSE_KEY)"},
		"activate no fingerprint":  {[]string{"machines", "activate", "--license-key", "LIC-AAAA-BBBB-CCCC"}, nil, "--fingerprint is required"},
		"activate short print":     {[]string{"machines", "activate", "--license-key", "LIC-AAAA-BBBB-CCCC", "--fingerprint", "abc"}, nil, "fingerprint must be 8 to 256 bytes"},
		"activate bad platform":    {[]string{"machines", "activate", "--license-key", "LIC-AAAA-BBBB-CCCC", "--fingerprint", testFP, "--platform", "beos"}, nil, "platform is not one of macos, windows, linux, docker, kubernetes"},
		"activate long hostname":   {[]string{"machines", "activate", "--license-key", "LIC-AAAA-BBBB-CCCC", "--fingerprint", testFP, "--hostname", strings.Repeat("h", 256)}, nil, "hostname is longer than 255 bytes"},
		"activate positional":      {[]string{"machines", "activate", "--license-key", "LIC-AAAA-BBBB-CCCC", "--fingerprint", testFP, "x"}, nil, `unexpected argument "x"`},
		"activate bad key":         {[]string{"machines", "activate", "--license-key", "LIC AAAA\tBBBB", "--fingerprint", testFP}, nil, "license key contains control characters"},
		"deactivate id and flags":  {[]string{"machines", "deactivate", "m1", "--fingerprint", testFP}, nil, "not both"},
		"deactivate two ids":       {[]string{"machines", "deactivate", "m1", "m2"}, nil, `unexpected argument "m2"`},
		"fingerprint alone":        {[]string{"machines", "deactivate", "--fingerprint", testFP}, nil, "--license-id and --fingerprint"},
		"list both filters":        {[]string{"machines", "list", "--license-id", "x", "--license-key", "LIC-AAAA-BBBB-CCCC"}, nil, "only one"},
		"list bad limit":           {[]string{"machines", "list", "--limit", "0"}, nil, "--limit must be 1 to"},
		"list positional":          {[]string{"machines", "list", "extra"}, nil, `unexpected argument "extra"`},
		"no API key":               {[]string{"machines", "list"}, map[string]string{"LICENTRIC_API_KEY": ""}, "no API key: set LICENTRIC_API_KEY"},
		"malformed API key":        {[]string{"machines", "list", "--api-key", "sk_secretvalue"}, nil, "API key"},
		"bad timeout":              {[]string{"machines", "list", "--timeout", "0s"}, nil, "--timeout must be positive"},
	} {
		saved := map[string]string{}
		for k, v := range tc.env {
			saved[k], f.env[k] = f.env[k], v
		}
		f.srv.ResetRequests()
		code, stdout, stderr := f.run(t, tc.args...)
		for k, v := range saved {
			f.env[k] = v
		}
		assert.Equal(t, exitUsage, code, "%s: stderr %q", name, stderr)
		assert.Contains(t, stderr, tc.msg, name)
		assert.Contains(t, stderr, "Run 'licentric "+tc.args[0]+" "+tc.args[1]+" --help' for usage.", name)
		assert.Empty(t, stdout, name)
		assert.NotContains(t, stderr, "sk_secretvalue", name)
		assert.Empty(t, f.srv.Requests(), "%s: a usage error sent a request", name)
	}
}

// TestMachinesActivate: an operator activates an air-gapped machine with
// the license key alone; again is success without a second machine.
func TestMachinesActivate(t *testing.T) {
	f := newFixture(t)
	fx := f.seed(t, licentrictest.EnvTest, offlinePolicy())
	f.env["LICENTRIC_BASE_URL"] = f.srv.URL
	f.srv.ResetRequests()

	code, stdout, stderr := f.run(t, "machines", "activate", "--license-key", fx.License.Key, "--fingerprint", offFP,
		"--name", "lab-7", "--platform", "linux", "--hostname", "lab-7.acme.example")
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	assert.Regexp(t, `^Machine \S+ activated on license `+fx.License.ID+` \(fingerprint `+offFP+`\)\.\n$`, stdout)
	assert.NotContains(t, stdout+stderr, fx.License.Key)
	reqs := f.srv.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "License", reqs[0].Scheme)
	m := (&fixture{srv: f.srv, fx: fx, client: f.client}).machine(t, offFP)
	assert.Equal(t, []any{"lab-7", "linux", "lab-7.acme.example", 0}, []any{m.Name, m.Platform, m.Hostname, m.Cores},
		"the facts given, nothing from this computer")

	// Again, from the environment, as JSON: already active.
	f.env["LICENTRIC_LICENSE_KEY"] = fx.License.Key
	code, stdout, stderr = f.run(t, "machines", "activate", "--fingerprint", offFP, "--json")
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	var doc struct {
		Machine   licentric.Machine `json:"machine"`
		Activated bool              `json:"activated"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
	assert.False(t, doc.Activated)
	assert.Equal(t, m.ID, doc.Machine.ID)
	code, stdout, _ = f.run(t, "machines", "activate", "--fingerprint", offFP)
	require.Equal(t, exitOK, code)
	assert.Equal(t, "Machine "+m.ID+" was already active on license "+fx.License.ID+
		" with this fingerprint: nothing changed (no second machine).\n", stdout)
	assert.Equal(t, 1, f.machineCount(t, fx))

	// The license is full now (one machine): another fingerprint is refused.
	code, stdout, stderr = f.run(t, "machines", "activate", "--fingerprint", offFP+"-2", "--json")
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, stderr, "MACHINE_LIMIT_EXCEEDED")
	var e jsonError
	require.NoError(t, json.Unmarshal([]byte(stdout), &e), stdout)
	assert.Equal(t, "MACHINE_LIMIT_EXCEEDED", e.Error.Code)
	assert.Equal(t, 1, f.machineCount(t, fx))

	// An unknown license key.
	code, _, stderr = f.run(t, "machines", "activate", "--license-key", "LIC-NOPE-NOPE-NOPE-NOPE", "--fingerprint", offFP)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, stderr, "UNAUTHORIZED")
	assert.NotContains(t, stderr, "LIC-NOPE-NOPE-NOPE-NOPE")
}

// TestMachinesDeactivateWithLicenseKey: a customer's operator
// frees a seat with the license key alone.
func TestMachinesDeactivateWithLicenseKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.env["LICENTRIC_BASE_URL"] = f.srv.URL
	live := f.seed(t, licentrictest.EnvLive, offlinePolicy())
	liveClient, err := licentric.NewClient(licentric.WithBaseURL(f.srv.URL))
	require.NoError(t, err)
	m, err := liveClient.Activate(ctx, live.License.Key, licentric.ActivateParams{Fingerprint: offFP})
	require.NoError(t, err)
	uses := func() int {
		l, err := f.srv.License(live.Env, live.License.ID)
		require.NoError(t, err)
		return l.UsesCount
	}
	before := uses()

	f.srv.ResetRequests()
	code, stdout, stderr := f.run(t, "machines", "deactivate", "--license-key", live.License.Key, "--fingerprint", offFP)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	assert.Equal(t, "Machine "+m.ID+" deactivated: its seat on license "+live.License.ID+" is free.\n", stdout)
	assert.Equal(t, 0, f.machineCount(t, live))
	assert.Equal(t, before+1, uses(), "the validation that found the machine counted one use")
	for _, r := range f.srv.Requests() {
		assert.NotEqual(t, "Bearer", r.Scheme, "%s %s", r.Method, r.Path)
	}

	// Again: no such machine.
	code, _, stderr = f.run(t, "machines", "deactivate", "--license-key", live.License.Key, "--fingerprint", offFP)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, stderr, "no machine of the license has this fingerprint")

	// A test license, which a validation without an API key does not see:
	// found with the license key alone (from LICENTRIC_LICENSE_KEY) by an
	// activation's conflict; with an API key, by the license's machines (no
	// validation).
	tm, err := f.client.Activate(ctx, f.fx.License.Key, licentric.ActivateParams{Fingerprint: offFP})
	require.NoError(t, err)
	f.env["LICENTRIC_LICENSE_KEY"] = f.fx.License.Key
	f.srv.ResetRequests()
	code, stdout, stderr = f.run(t, "machines", "deactivate", "--fingerprint", offFP)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	assert.Equal(t, "Machine "+tm.ID+" deactivated: its seat on license "+f.fx.License.ID+" is free.\n", stdout)
	for _, r := range f.srv.Requests() {
		assert.NotEqual(t, "Bearer", r.Scheme, "%s %s", r.Method, r.Path)
	}
	_, err = f.client.Activate(ctx, f.fx.License.Key, licentric.ActivateParams{Fingerprint: offFP})
	require.NoError(t, err)
	f.env["LICENTRIC_API_KEY"] = f.srv.NewAPIKey(licentrictest.EnvTest, "licenses:read")
	f.srv.ResetRequests()
	code, stdout, stderr = f.run(t, "machines", "deactivate", "--fingerprint", offFP, "--json")
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	var doc struct {
		Deactivated licentric.Machine `json:"deactivated"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
	assert.Equal(t, offFP, doc.Deactivated.Fingerprint)
	assert.Zero(t, f.srv.CountRequests(http.MethodPost, "/licenses/validate-key"))
	reqs := f.srv.Requests()
	last := reqs[len(reqs)-1]
	assert.Equal(t, http.MethodDelete, last.Method)
	assert.Equal(t, "License", last.Scheme, "the license key deactivates; the API key (read-only) only looked")
	assert.NotContains(t, stdout+stderr, f.fx.License.Key)
}
