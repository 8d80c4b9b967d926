package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/fingerprint"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/offline"
)

// offFP is the air-gapped machine of these tests: not yet activated.
const offFP = "offline-fingerprint-0123456789ab"

// tripwire returns the URL of a loopback listener and a function that
// reports how many connections it accepted: a command pointed at it that
// tries the network is caught.
func tripwire(t *testing.T) (string, func() int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var accepted atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			_ = conn.Close()
		}
	}()
	t.Cleanup(func() { _ = l.Close(); wg.Wait() })
	return "http://" + l.Addr().String(), accepted.Load
}

// seed adds a license under a policy of its own to the fixture's server.
func (f *fixture) seed(t *testing.T, env string, p licentrictest.PolicyRequest) *licentrictest.Fixture {
	t.Helper()
	fx, err := f.srv.Seed(licentrictest.Seed{Env: env, Policy: p})
	require.NoError(t, err)
	return fx
}

// offlinePolicy allows offline files of up to 30 days on one machine.
func offlinePolicy() licentrictest.PolicyRequest {
	return licentrictest.PolicyRequest{
		OfflineAllowed: licentric.Value(true), OfflineMaxDays: licentric.Value(30), MaxMachines: licentric.Value(1),
	}
}

// request writes an activation request for fp holding key (none when
// empty) with the CLI and returns its path.
func (f *fixture) request(t *testing.T, fp, key string) string {
	t.Helper()
	path := filepath.Join(f.dir, "request-"+time.Now().Format("150405.000000000")+".json")
	args := []string{"offline", "request", "--fingerprint", fp, "--name", "lab-7", "--out", path}
	if key != "" {
		args = append(args, "--license-key", key)
	}
	code, _, stderr := f.run(t, args...)
	require.Equal(t, exitOK, code, "offline request: %s", stderr)
	return path
}

// machineCount is the license's live machines, from the server itself.
func (f *fixture) machineCount(t *testing.T, fx *licentrictest.Fixture) int {
	t.Helper()
	l, err := f.srv.License(fx.Env, fx.License.ID)
	require.NoError(t, err)
	return l.MachineCount
}

// TestOfflineRequestOpensNoNetwork: the request is made on the air-gapped
// machine. Pointed at a service that records every connection, with every
// credential set, it connects to nothing.
func TestOfflineRequestOpensNoNetwork(t *testing.T) {
	f := newFixture(t)
	url, accepted := tripwire(t)
	f.env["LICENTRIC_BASE_URL"] = url
	f.env["LICENTRIC_API_KEY"] = f.srv.TestAPIKey()
	f.env["LICENTRIC_LICENSE_KEY"] = f.fx.License.Key
	stateDir := filepath.Join(f.dir, "state")
	out := filepath.Join(f.dir, "request.json")
	f.srv.ResetRequests()

	code, stdout, stderr := f.run(t, "offline", "request", "--app-id", "com.example.lab", "--state-dir", stateDir,
		"--name", "lab-7", "--out", out)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	assert.Empty(t, stderr)
	assert.Zero(t, accepted(), "offline request connected to the service")
	assert.Empty(t, f.srv.Requests())

	st, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	req, err := offline.LoadRequest(out)
	require.NoError(t, err)
	fp, err := fingerprint.Compute("com.example.lab", fingerprint.WithStateDir(stateDir))
	require.NoError(t, err)
	host, _ := os.Hostname()
	assert.Equal(t, offline.Request{
		Fingerprint: fp, AppID: "com.example.lab", Name: "lab-7", Hostname: host,
		Platform: fingerprint.Platform(), Cores: runtime.NumCPU(), LicenseKey: f.fx.License.Key,
	}, *req)
	assert.Contains(t, stdout, "Activation request written to "+out+" (mode 0600)")
	assert.Contains(t, stdout, fp)
	assert.Contains(t, stdout, redactKey(f.fx.License.Key))
	assert.NotContains(t, stdout, f.fx.License.Key)
	assert.Contains(t, stdout, "licentric offline fulfill --public-key KEY --out license.lic request.json")

	// --fingerprint and --json; no license key.
	delete(f.env, "LICENTRIC_LICENSE_KEY")
	out2 := filepath.Join(f.dir, "request2.json")
	code, stdout, stderr = f.run(t, "offline", "request", "--fingerprint", offFP, "--out", out2, "--json")
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
	assert.Equal(t, out2, doc["path"])
	assert.Equal(t, offFP, doc["fingerprint"])
	assert.Equal(t, float64(runtime.NumCPU()), doc["cores"])
	assert.NotContains(t, doc, "licenseKey")
	req, err = offline.LoadRequest(out2)
	require.NoError(t, err)
	assert.Empty(t, req.LicenseKey)
	assert.Empty(t, req.AppID)
	assert.Zero(t, accepted())
}

func TestOfflineRequestUsage(t *testing.T) {
	f := newFixture(t)
	out := filepath.Join(f.dir, "request.json")
	for name, tc := range map[string]struct {
		args []string
		msg  string
	}{
		"no out":            {[]string{"--fingerprint", offFP}, "--out is required"},
		"no machine":        {[]string{"--out", out}, "one of --fingerprint or --app-id is required"},
		"both machines":     {[]string{"--fingerprint", offFP, "--app-id", "x", "--out", out}, "only one"},
		"state dir alone":   {[]string{"--fingerprint", offFP, "--state-dir", f.dir, "--out", out}, "--state-dir needs --app-id"},
		"short fingerprint": {[]string{"--fingerprint", "abc", "--out", out}, "fingerprint"},
		"bad license key":   {[]string{"--fingerprint", offFP, "--license-key", "bad\tkey", "--out", out}, "license key"},
		"long name":         {[]string{"--fingerprint", offFP, "--name", strings.Repeat("n", 256), "--out", out}, "name is longer than 255 bytes"},
		"positional":        {[]string{"--fingerprint", offFP, "--out", out, "extra"}, `unexpected argument "extra"`},
	} {
		code, stdout, stderr := f.run(t, append([]string{"offline", "request"}, tc.args...)...)
		assert.Equal(t, exitUsage, code, "%s: stderr %q", name, stderr)
		assert.Contains(t, stderr, tc.msg, name)
		assert.Contains(t, stderr, "Run 'licentric offline request --help' for usage.", name)
		assert.Empty(t, stdout, name)
		assert.NoFileExists(t, out, name)
	}
	// A directory that does not exist: a failure, nothing written.
	code, _, stderr := f.run(t, "offline", "request", "--fingerprint", offFP, "--out", filepath.Join(f.dir, "none", "r.json"))
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, stderr, "nothing was written")
}

// TestOfflineFulfillAndRenew: the whole online half with the license key
// from the request and no API key: fulfil, fulfil again a day later (a new
// file, the same machine), and the file verifies where it is carried.
func TestOfflineFulfillAndRenew(t *testing.T) {
	f := newFixture(t)
	fx := f.seed(t, licentrictest.EnvTest, offlinePolicy())
	reqPath := f.request(t, offFP, fx.License.Key)
	f.env["LICENTRIC_BASE_URL"] = f.srv.URL
	out := filepath.Join(f.dir, "license.lic")
	f.srv.ResetRequests()

	code, stdout, stderr := f.run(t, "offline", "fulfill", "--public-key", f.key, "--ttl", "10d", "--out", out, reqPath)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	assert.Empty(t, stderr)
	assert.Regexp(t, `^Machine \S+ activated on license `+fx.License.ID+`\.\n`, stdout)
	assert.Contains(t, stdout, "written to "+out+" (mode 0600)")
	assert.Contains(t, stdout, "(10 days left)")
	assert.NotContains(t, stdout, fx.License.Key)
	st, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	assert.Equal(t, 1, f.machineCount(t, fx))
	for _, r := range f.srv.Requests() {
		assert.Equal(t, "License", r.Scheme, "%s %s", r.Method, r.Path)
	}
	// On the air-gapped machine.
	code, _, stderr = f.run(t, "verify", "--public-key", f.key, "--fingerprint", offFP, "--env", "test", out)
	require.Equal(t, exitOK, code, "verify: %s", stderr)
	first, err := os.ReadFile(out)
	require.NoError(t, err)

	// The renewal, a day later, as JSON.
	f.srv.Advance(24 * time.Hour)
	code, stdout, stderr = f.run(t, "offline", "fulfill", "--public-key", f.key, "--out", out, "--json", reqPath)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	var doc fulfilledJSON
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
	assert.False(t, doc.Activated)
	assert.Equal(t, out, doc.Path)
	assert.Equal(t, offFP, doc.Fingerprint)
	assert.Equal(t, int64(14*24*3600), doc.TTLSeconds)
	assert.Equal(t, fx.License.ID, doc.License.ID)
	second, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.NotEqual(t, first, second, "a new file")
	assert.Equal(t, 1, f.machineCount(t, fx), "no second machine")

	// Text form of a renewal.
	code, stdout, _ = f.run(t, "offline", "fulfill", "--public-key", f.key, "--out", out, reqPath)
	require.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "was already active on license "+fx.License.ID+": a renewal, no new seat taken.")
}

// TestOfflineFulfillWithAPIKey: the request holds no key; it comes from
// --license-key, and the API key finds the license first.
func TestOfflineFulfillWithAPIKey(t *testing.T) {
	f := newFixture(t)
	policy := offlinePolicy()
	policy.OfflineMaxDays = licentric.Value(7)
	fx := f.seed(t, licentrictest.EnvTest, policy)
	reqPath := f.request(t, offFP, "")
	f.onlineEnv()
	out := filepath.Join(f.dir, "license.lic")

	code, stdout, stderr := f.run(t, "offline", "fulfill", "--public-key", f.key, "--license-key", fx.License.Key, "--out", out, reqPath)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	assert.Contains(t, stdout, "(7 days left)", "the policy's maximum, not the 14-day default")
	f.srv.ResetRequests()
	code, _, stderr = f.run(t, "offline", "fulfill", "--public-key", f.key, "--license-key", fx.License.Key, "--out", out, reqPath)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	assert.Zero(t, f.srv.CountRequests(http.MethodPost, "/machines"), "a renewal sends no activation")
	assert.Equal(t, 1, f.machineCount(t, fx))

	// The key may come from the environment, when the request has none.
	f.env["LICENTRIC_LICENSE_KEY"] = fx.License.Key
	code, _, stderr = f.run(t, "offline", "fulfill", "--public-key", f.key, "--out", out, reqPath)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
}

// TestOfflineFulfillRefusals: each refusal exits 1 naming its code, writes
// nothing (an existing file stays) and leaves no machine behind.
func TestOfflineFulfillRefusals(t *testing.T) {
	f := newFixture(t)
	f.env["LICENTRIC_BASE_URL"] = f.srv.URL
	out := filepath.Join(f.dir, "license.lic")
	previous := []byte("the previous file")
	require.NoError(t, os.WriteFile(out, previous, 0o600))
	other := offline.MarshalPublicKey(mustKey(t))

	full := f.seed(t, licentrictest.EnvTest, offlinePolicy())
	_, err := f.client.Activate(context.Background(), full.License.Key, licentric.ActivateParams{Fingerprint: "the-other-machine-01"})
	require.NoError(t, err)
	noOffline := f.seed(t, licentrictest.EnvTest, licentrictest.PolicyRequest{OfflineAllowed: licentric.Value(false), MaxMachines: licentric.Value(1)})
	suspended := f.seed(t, licentrictest.EnvTest, offlinePolicy())
	_, err = f.client.Licenses.Suspend(context.Background(), suspended.License.ID)
	require.NoError(t, err)
	short := licentrictest.PolicyRequest{OfflineAllowed: licentric.Value(true), OfflineMaxDays: licentric.Value(7), MaxMachines: licentric.Value(1)}
	shortPolicy := f.seed(t, licentrictest.EnvTest, short)
	good := f.seed(t, licentrictest.EnvTest, offlinePolicy())

	for name, tc := range map[string]struct {
		fx    *licentrictest.Fixture
		extra []string
		code  string // in stderr and in the --json error
		msg   string
		seats int
	}{
		"a full license":         {full, nil, "MACHINE_LIMIT_EXCEEDED", "", 1},
		"offline not allowed":    {noOffline, nil, "OFFLINE_NOT_ALLOWED", "", 0},
		"license not active":     {suspended, nil, "LICENSE_NOT_ACTIVE", "", 0},
		"policy allows 7 days":   {shortPolicy, nil, "OFFLINE_TTL_EXCEEDED", "give --ttl within the policy's offlineMaxDays", 0},
		"ttl above the policy":   {good, []string{"--ttl", "31d"}, "OFFLINE_TTL_EXCEEDED", "", 0},
		"key not the account's":  {good, []string{"--public-key", other}, "", "unknown key", 0},
		"key not the account's2": {good, []string{"--public-key", other, "--json"}, "", "pass the key that signed it", 0},
	} {
		f.srv.ResetRequests()
		reqPath := f.request(t, offFP, tc.fx.License.Key)
		args := []string{"offline", "fulfill", "--out", out}
		if !strings.Contains(strings.Join(tc.extra, " "), "--public-key") {
			args = append(args, "--public-key", f.key)
		}
		args = append(append(args, tc.extra...), reqPath, "--json")
		code, stdout, stderr := f.run(t, args...)
		assert.Equal(t, exitFailed, code, "%s: stderr %q", name, stderr)
		assert.Contains(t, stderr, tc.code, name)
		assert.Contains(t, stderr, tc.msg, name)
		assert.Contains(t, stderr, "nothing was written to "+out, name)
		assert.NotContains(t, stderr+stdout, tc.fx.License.Key, name)
		var doc jsonError
		require.NoError(t, json.Unmarshal([]byte(stdout), &doc), "%s: %s", name, stdout)
		assert.Equal(t, tc.code, doc.Error.Code, name)
		assert.Equal(t, exitFailed, doc.Error.ExitCode, name)
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		assert.Equal(t, previous, b, "%s: the existing file was replaced", name)
		assert.Equal(t, tc.seats, f.machineCount(t, tc.fx), "%s: a failed run took a seat", name)
	}
}

func TestOfflineFulfillUsage(t *testing.T) {
	f := newFixture(t)
	f.env["LICENTRIC_BASE_URL"] = f.srv.URL
	out := filepath.Join(f.dir, "license.lic")
	withKey := f.request(t, offFP, f.fx.License.Key)
	noKey := f.request(t, offFP, "")
	for name, tc := range map[string]struct {
		args []string
		code int
		msg  string
	}{
		"no public key":     {[]string{"--out", out, withKey}, exitUsage, "--public-key is required"},
		"no out":            {[]string{"--public-key", f.key, withKey}, exitUsage, "--out is required"},
		"no request":        {[]string{"--public-key", f.key, "--out", out}, exitUsage, "no request file given"},
		"two requests":      {[]string{"--public-key", f.key, "--out", out, withKey, noKey}, exitUsage, "give one request file"},
		"no license key":    {[]string{"--public-key", f.key, "--out", out, noKey}, exitUsage, "the request holds no license key"},
		"key differs":       {[]string{"--public-key", f.key, "--out", out, "--license-key", "LIC-OTHER-KEY-0000", withKey}, exitUsage, "differs from the license key in the request"},
		"bad ttl":           {[]string{"--public-key", f.key, "--out", out, "--ttl", "10m", withKey}, exitUsage, "TTL"},
		"bad public key":    {[]string{"--public-key", "nonsense", "--out", out, withKey}, exitUsage, "not an Ed25519 public key"},
		"missing request":   {[]string{"--public-key", f.key, "--out", out, filepath.Join(f.dir, "none.json")}, exitFailed, "none.json"},
		"license file":      {[]string{"--public-key", f.key, "--out", out, f.file(t, testFP, time.Hour)}, exitFailed, "this is a license file, not an activation request"},
		"out dir missing":   {[]string{"--public-key", f.key, "--out", filepath.Join(f.dir, "none", "l.lic"), withKey}, exitFailed, "its directory does not exist"},
		"plain http remote": {[]string{"--public-key", f.key, "--out", out, "--base-url", "http://example.com", withKey}, exitUsage, "base URL"},
	} {
		f.srv.ResetRequests()
		code, stdout, stderr := f.run(t, append([]string{"offline", "fulfill"}, tc.args...)...)
		assert.Equal(t, tc.code, code, "%s: stderr %q", name, stderr)
		assert.Contains(t, stderr, tc.msg, name)
		assert.Empty(t, stdout, name)
		assert.Empty(t, f.srv.Requests(), "%s: sent a request", name)
		assert.NoFileExists(t, out, name)
		assert.NotContains(t, stderr, f.fx.License.Key, name)
	}
}

// TestOfflineRelease: release a test license's machine with the license
// key alone, again, then with an API key as well, and again; a live
// license's with the key alone.
func TestOfflineRelease(t *testing.T) {
	f := newFixture(t)
	fx := f.seed(t, licentrictest.EnvTest, offlinePolicy())
	reqPath := f.request(t, offFP, fx.License.Key)
	f.env["LICENTRIC_BASE_URL"] = f.srv.URL
	out := filepath.Join(f.dir, "license.lic")
	code, _, stderr := f.run(t, "offline", "fulfill", "--public-key", f.key, "--out", out, reqPath)
	require.Equal(t, exitOK, code, "stderr %q", stderr)

	// The license key alone finds a test license's machine too (by an
	// activation's conflict: a validation without an API key sees live
	// licenses only).
	f.srv.ResetRequests()
	code, stdout, stderr := f.run(t, "offline", "release", reqPath)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	assert.Regexp(t, `^Machine \S+ released: its seat on license `+fx.License.ID+` is free\.\n$`, stdout)
	assert.Equal(t, 0, f.machineCount(t, fx))
	for _, r := range f.srv.Requests() {
		assert.NotEqual(t, "Bearer", r.Scheme, "%s %s", r.Method, r.Path)
	}
	code, stdout, stderr = f.run(t, "offline", "release", reqPath)
	require.Equal(t, exitOK, code, "again: stderr %q", stderr)
	assert.Equal(t, "No machine of the license has the request's fingerprint: its seat is already free.\n", stdout)
	assert.Equal(t, 0, f.machineCount(t, fx), "finding out took a seat")

	// With an API key as well: found by the license's machines.
	code, _, stderr = f.run(t, "offline", "fulfill", "--public-key", f.key, "--out", out, reqPath)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	f.env["LICENTRIC_API_KEY"] = f.srv.NewAPIKey(licentrictest.EnvTest, "licenses:read")
	code, stdout, stderr = f.run(t, "offline", "release", reqPath)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	assert.Regexp(t, `^Machine \S+ released: its seat on license `+fx.License.ID+` is free\.\n$`, stdout)
	assert.Equal(t, 0, f.machineCount(t, fx))
	reqs := f.srv.Requests()
	last := reqs[len(reqs)-1]
	assert.Equal(t, http.MethodDelete, last.Method)
	assert.Equal(t, "License", last.Scheme, "the license key deactivates")

	code, stdout, stderr = f.run(t, "offline", "release", reqPath, "--json")
	require.Equal(t, exitOK, code, "again: stderr %q", stderr)
	assert.JSONEq(t, `{"released": null}`, stdout)
	code, stdout, _ = f.run(t, "offline", "release", reqPath)
	require.Equal(t, exitOK, code)
	assert.Equal(t, "No machine of the license has the request's fingerprint: its seat is already free.\n", stdout)

	// A live license, the license key alone: found by a validation.
	delete(f.env, "LICENTRIC_API_KEY")
	live := f.seed(t, licentrictest.EnvLive, offlinePolicy())
	liveReq := f.request(t, offFP, live.License.Key)
	code, _, stderr = f.run(t, "offline", "fulfill", "--public-key", f.key, "--out", out, liveReq)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	f.srv.ResetRequests()
	code, stdout, stderr = f.run(t, "offline", "release", liveReq, "--json")
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	var doc struct {
		Released *licentric.Machine `json:"released"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
	require.NotNil(t, doc.Released)
	assert.Equal(t, offFP, doc.Released.Fingerprint)
	assert.Equal(t, 0, f.machineCount(t, live))
	for _, r := range f.srv.Requests() {
		assert.NotEqual(t, "Bearer", r.Scheme)
	}

	// Usage.
	code, _, stderr = f.run(t, "offline", "release")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "no request file given")
	noKey := f.request(t, offFP, "")
	code, _, stderr = f.run(t, "offline", "release", noKey)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "holds no license key")
}

func mustKey(t *testing.T) []byte {
	t.Helper()
	s, err := offline.ParsePublicKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	require.NoError(t, err)
	return s
}
