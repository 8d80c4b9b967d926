package licentric_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/fingerprint"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/offline"
)

const agFP = "ag-fingerprint-0123456789abcdef"

// agServer starts a server on a frozen clock whose seeded license (in env)
// allows offline files of up to maxDays (0: offline not allowed) on at
// most machines machines.
func agServer(t *testing.T, env string, maxDays, machines int) (*licentrictest.Server, *licentrictest.Fixture) {
	t.Helper()
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits(), licentrictest.WithFrozenClock(time.Now()))
	t.Cleanup(srv.Close)
	pol := licentrictest.PolicyRequest{
		OfflineAllowed: licentric.Value(maxDays > 0),
		MaxMachines:    licentric.Value(machines),
	}
	if maxDays > 0 {
		pol.OfflineMaxDays = licentric.Value(maxDays)
	}
	fx, err := srv.Seed(licentrictest.Seed{Env: env, Policy: pol})
	require.NoError(t, err)
	return srv, fx
}

// agRequest is what an air-gapped machine writes, with the license key.
func agRequest(key string) *offline.Request {
	return &offline.Request{
		Fingerprint: agFP, AppID: "com.example.lab", Name: "lab-7", Hostname: "lab-7.acme.example",
		Platform: licentric.PlatformLinux, Cores: 8, LicenseKey: key,
	}
}

// pinned is the server's signing key as an application pins it.
func pinned(srv *licentrictest.Server) []string {
	return []string{offline.MarshalPublicKey(srv.PublicKey())}
}

// liveMachines returns the license's machines, read with the server's own
// accessors.
func liveMachineCount(t *testing.T, srv *licentrictest.Server, fx *licentrictest.Fixture) int {
	t.Helper()
	l, err := srv.License(fx.Env, fx.License.ID)
	require.NoError(t, err)
	return l.MachineCount
}

// noDialClient is a client whose every connection attempt fails the test.
func noDialClient(t *testing.T, opts ...licentric.Option) *licentric.Client {
	t.Helper()
	tr := &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		t.Error("a connection was attempted")
		return nil, errors.New("no network here")
	}}
	c, err := licentric.NewClient(append([]licentric.Option{licentric.WithHTTPClient(&http.Client{Transport: tr})}, opts...)...)
	require.NoError(t, err)
	return c
}

func TestNewOfflineRequestOpensNoSocket(t *testing.T) {
	c := noDialClient(t, licentric.WithFingerprinter(func() (string, error) { return agFP, nil }))
	req, err := c.NewOfflineRequest("DSK-A1B2-C3D4-E5F6-G7H8", licentric.ActivateParams{Name: "lab-7"})
	require.NoError(t, err)
	host, _ := os.Hostname()
	assert.Equal(t, offline.Request{
		Fingerprint: agFP, Name: "lab-7", Hostname: host, Platform: fingerprint.Platform(),
		Cores: runtime.NumCPU(), LicenseKey: "DSK-A1B2-C3D4-E5F6-G7H8",
	}, *req)
	require.NoError(t, req.Validate())

	// Given facts are kept; no license key is fine.
	req, err = c.NewOfflineRequest("", licentric.ActivateParams{Fingerprint: "given-fingerprint-01", Hostname: "h", Platform: "docker", Cores: 2})
	require.NoError(t, err)
	assert.Equal(t, offline.Request{Fingerprint: "given-fingerprint-01", Hostname: "h", Platform: "docker", Cores: 2}, *req)

	for name, tc := range map[string]struct {
		key  string
		p    licentric.ActivateParams
		want error
	}{
		"metadata":        {"", licentric.ActivateParams{Metadata: licentric.Metadata{"a": 1}}, licentric.ErrInvalidArgument},
		"bad key":         {" padded-key ", licentric.ActivateParams{}, licentric.ErrInvalidArgument},
		"short print":     {"", licentric.ActivateParams{Fingerprint: "abc"}, licentric.ErrInvalidArgument},
		"unknown platfrm": {"", licentric.ActivateParams{Platform: "plan9"}, offline.ErrMalformedRequest},
		"long name":       {"", licentric.ActivateParams{Name: strings.Repeat("n", 300)}, licentric.ErrInvalidArgument},
		"negative cores":  {"", licentric.ActivateParams{Cores: -1}, licentric.ErrInvalidArgument},
	} {
		req, err := c.NewOfflineRequest(tc.key, tc.p)
		assert.Nil(t, req, name)
		assert.ErrorIs(t, err, tc.want, name)
	}
	noSource := noDialClient(t)
	_, err = noSource.NewOfflineRequest("", licentric.ActivateParams{})
	assert.ErrorIs(t, err, licentric.ErrNoFingerprinter)
}

// TestFulfillWithLicenseKey: the customer's operator holds the license key
// only. The first fulfilment activates the machine with the request's facts
// as given; the second is a renewal: a new file, the same machine.
func TestFulfillWithLicenseKey(t *testing.T) {
	srv, fx := agServer(t, licentrictest.EnvTest, 30, 1)
	c := coClient(t, srv.URL, srv)
	ctx := context.Background()
	req := agRequest(fx.License.Key)

	got, err := c.FulfillOfflineRequest(ctx, req, licentric.FulfillParams{PublicKeys: pinned(srv), TTL: 10 * coDay})
	require.NoError(t, err)
	assert.True(t, got.Activated)
	assert.Equal(t, fx.License.ID, got.Machine.LicenseID)
	assert.Equal(t, agFP, got.File.Fingerprint)
	assert.Equal(t, got.Machine.ID, got.File.Machine.ID)
	assert.Equal(t, 10*coDay, got.File.TTL)
	assert.Equal(t, "test", got.File.Env)
	m, err := srv.Machine(licentrictest.EnvTest, got.Machine.ID)
	require.NoError(t, err)
	assert.Equal(t, []any{"lab-7", "lab-7.acme.example", "linux", 8}, []any{m.Name, m.Hostname, m.Platform, m.Cores},
		"the request's facts, not this computer's")
	for _, r := range srv.Requests() {
		assert.Equal(t, "License", r.Scheme, "%s %s", r.Method, r.Path)
	}
	// What the air-gapped machine does with it.
	v, err := offline.NewVerifier(offline.WithPublicKey(srv.PublicKey()), offline.WithFingerprint(agFP),
		offline.WithEnvironment("test"), offline.WithClock(srv.Clock()))
	require.NoError(t, err)
	_, err = v.Verify(got.Certificate)
	require.NoError(t, err)

	// A week later: the renewal.
	srv.Advance(7 * coDay)
	again, err := c.FulfillOfflineRequest(ctx, req, licentric.FulfillParams{PublicKeys: pinned(srv)})
	require.NoError(t, err)
	assert.False(t, again.Activated, "a renewal activates nothing")
	assert.Equal(t, got.Machine.ID, again.Machine.ID)
	assert.NotEqual(t, got.Certificate, again.Certificate)
	assert.True(t, again.File.ExpiresAt.After(got.File.ExpiresAt))
	assert.Equal(t, licentric.DefaultCheckoutTTL, again.File.TTL)
	assert.Equal(t, 1, liveMachineCount(t, srv, fx), "one seat, whatever the number of fulfilments")
}

// TestFulfillWithAPIKey: with an API key the license is looked up first, so
// a renewal sends no activation, and the TTL follows the policy.
func TestFulfillWithAPIKey(t *testing.T) {
	srv, fx := agServer(t, licentrictest.EnvTest, 7, 2)
	c := coClient(t, srv.URL, srv, licentric.WithAPIKey(srv.NewAPIKey(licentrictest.EnvTest, "licenses:read")))
	ctx := context.Background()
	req := agRequest("")

	got, err := c.FulfillOfflineRequest(ctx, req, licentric.FulfillParams{LicenseKey: fx.License.Key, PublicKeys: pinned(srv)})
	require.NoError(t, err)
	assert.True(t, got.Activated)
	assert.Equal(t, 7*coDay, got.File.TTL, "the policy's offlineMaxDays, not the 14-day default it would refuse")

	srv.ResetRequests()
	again, err := c.FulfillOfflineRequest(ctx, req, licentric.FulfillParams{LicenseKey: fx.License.Key, PublicKeys: pinned(srv)})
	require.NoError(t, err)
	assert.False(t, again.Activated)
	assert.Zero(t, srv.CountRequests(http.MethodPost, "/machines"), "no activation for an active machine")
	assert.Equal(t, 1, liveMachineCount(t, srv, fx))

	// An API key of the other environment does not see the license.
	live := coClient(t, srv.URL, srv, licentric.WithAPIKey(srv.LiveAPIKey()))
	_, err = live.FulfillOfflineRequest(ctx, req, licentric.FulfillParams{LicenseKey: fx.License.Key, PublicKeys: pinned(srv)})
	assert.ErrorIs(t, err, licentric.ErrNotFound)
}

// TestFulfillRefusals: each refusal names its code, and a failed fulfilment
// leaves no machine behind.
func TestFulfillRefusals(t *testing.T) {
	ctx := context.Background()
	otherPub := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // a valid point, not the server's key
	for name, tc := range map[string]struct {
		maxDays, machines int
		setup             func(t *testing.T, srv *licentrictest.Server, fx *licentrictest.Fixture)
		params            func(srv *licentrictest.Server) licentric.FulfillParams
		want              error
		seats             int
	}{
		"offline not allowed": {maxDays: 0, machines: 1, want: licentric.ErrOfflineNotAllowed},
		"policy allows less":  {maxDays: 7, machines: 1, want: licentric.ErrOfflineTTLExceeded},
		"ttl above policy": {maxDays: 30, machines: 1, want: licentric.ErrOfflineTTLExceeded,
			params: func(srv *licentrictest.Server) licentric.FulfillParams {
				return licentric.FulfillParams{PublicKeys: pinned(srv), TTL: 31 * coDay}
			}},
		"license full": {maxDays: 30, machines: 1, want: licentric.ErrMachineLimitExceeded, seats: 1,
			setup: func(t *testing.T, srv *licentrictest.Server, fx *licentrictest.Fixture) {
				c := coClient(t, srv.URL, srv)
				_, err := c.Activate(ctx, fx.License.Key, licentric.ActivateParams{Fingerprint: "another-machine-0001"})
				require.NoError(t, err)
			}},
		"license suspended": {maxDays: 30, machines: 1, want: licentric.ErrLicenseNotActive,
			setup: func(t *testing.T, srv *licentrictest.Server, fx *licentrictest.Fixture) {
				_, err := srv.SetLicenseStatus(fx.Env, fx.License.ID, "suspend")
				require.NoError(t, err)
			}},
		"key not the account's": {maxDays: 30, machines: 1, want: offline.ErrUnknownKey,
			params: func(*licentrictest.Server) licentric.FulfillParams {
				return licentric.FulfillParams{PublicKeys: []string{otherPub}}
			}},
	} {
		t.Run(name, func(t *testing.T) {
			srv, fx := agServer(t, licentrictest.EnvTest, tc.maxDays, tc.machines)
			if tc.setup != nil {
				tc.setup(t, srv, fx)
			}
			p := licentric.FulfillParams{PublicKeys: pinned(srv)}
			if tc.params != nil {
				p = tc.params(srv)
			}
			got, err := coClient(t, srv.URL, srv).FulfillOfflineRequest(ctx, agRequest(fx.License.Key), p)
			assert.Nil(t, got)
			require.ErrorIs(t, err, tc.want)
			assert.Equal(t, tc.seats, liveMachineCount(t, srv, fx), "a failed fulfilment takes no seat")
			assert.NotContains(t, err.Error(), fx.License.Key)
		})
	}
}

// TestFulfillRollbackFails: when the machine this call activated cannot be
// deactivated again, the error says so and still names the refusal.
func TestFulfillRollbackFails(t *testing.T) {
	srv, fx := agServer(t, licentrictest.EnvTest, 0, 1)
	srv.InjectFault(licentrictest.Fault{Method: http.MethodDelete, Status: http.StatusForbidden})
	_, err := coClient(t, srv.URL, srv).FulfillOfflineRequest(context.Background(), agRequest(fx.License.Key),
		licentric.FulfillParams{PublicKeys: pinned(srv)})
	require.ErrorIs(t, err, licentric.ErrOfflineNotAllowed)
	assert.ErrorIs(t, err, licentric.ErrForbidden)
	assert.Contains(t, err.Error(), "this call activated is still active")
	assert.Equal(t, 1, liveMachineCount(t, srv, fx))
}

// TestFulfillLostActivationResponse: the activation's answer is lost and
// the retry meets the machine it created: that is this call's activation,
// and it is rolled back like one.
func TestFulfillLostActivationResponse(t *testing.T) {
	srv, fx := agServer(t, licentrictest.EnvTest, 0, 1)
	srv.InjectFault(licentrictest.Fault{Method: http.MethodPost, Path: "/machines", DropResponse: true})
	_, err := coClient(t, srv.URL, srv).FulfillOfflineRequest(context.Background(), agRequest(fx.License.Key),
		licentric.FulfillParams{PublicKeys: pinned(srv)})
	require.ErrorIs(t, err, licentric.ErrOfflineNotAllowed)
	assert.Equal(t, 0, liveMachineCount(t, srv, fx), "the machine the lost attempt created was rolled back")
}

func TestFulfillArguments(t *testing.T) {
	srv, fx := agServer(t, licentrictest.EnvTest, 30, 1)
	c := coClient(t, srv.URL, srv)
	key := fx.License.Key
	for name, tc := range map[string]struct {
		req *offline.Request
		p   licentric.FulfillParams
	}{
		"nil request":       {nil, licentric.FulfillParams{PublicKeys: pinned(srv)}},
		"invalid request":   {&offline.Request{Fingerprint: "short"}, licentric.FulfillParams{LicenseKey: key, PublicKeys: pinned(srv)}},
		"no key anywhere":   {agRequest(""), licentric.FulfillParams{PublicKeys: pinned(srv)}},
		"two keys differ":   {agRequest(key), licentric.FulfillParams{LicenseKey: key + "X", PublicKeys: pinned(srv)}},
		"no public key":     {agRequest(key), licentric.FulfillParams{}},
		"malformed key":     {agRequest(key), licentric.FulfillParams{PublicKeys: []string{"not a key"}}},
		"weak key":          {agRequest(key), licentric.FulfillParams{PublicKeys: []string{"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}},
		"ttl below minimum": {agRequest(key), licentric.FulfillParams{PublicKeys: pinned(srv), TTL: time.Minute}},
	} {
		_, err := c.FulfillOfflineRequest(context.Background(), tc.req, tc.p)
		assert.ErrorIs(t, err, licentric.ErrInvalidArgument, name)
	}
	// The same key given twice is fine.
	_, err := c.FulfillOfflineRequest(context.Background(), agRequest(key), licentric.FulfillParams{LicenseKey: key, PublicKeys: pinned(srv)})
	require.NoError(t, err)
	assert.Len(t, srv.Requests(), 2, "argument errors send nothing")
}

func TestEnsureActivated(t *testing.T) {
	srv, fx := agServer(t, licentrictest.EnvTest, 30, 2)
	c := coClient(t, srv.URL, srv)
	ctx := context.Background()
	m, activated, err := c.EnsureActivated(ctx, fx.License.Key, &licentric.MachineRequest{Fingerprint: agFP, Name: "box"})
	require.NoError(t, err)
	assert.True(t, activated)
	assert.Equal(t, "box", m.Name)
	assert.Empty(t, m.Hostname, "nothing is filled from the running machine")
	assert.Zero(t, m.Cores)

	again, activated, err := c.EnsureActivated(ctx, fx.License.Key, &licentric.MachineRequest{Fingerprint: agFP, Name: "other name"})
	require.NoError(t, err)
	assert.False(t, activated)
	assert.Equal(t, m.ID, again.ID)
	assert.Equal(t, "box", again.Name, "the existing machine, unchanged")
	assert.Equal(t, 1, liveMachineCount(t, srv, fx))

	// The license id may be given; another license's is refused.
	_, _, err = c.EnsureActivated(ctx, fx.License.Key, &licentric.MachineRequest{LicenseID: fx.License.ID, Fingerprint: agFP + "-2"})
	require.NoError(t, err)
	_, _, err = c.EnsureActivated(ctx, fx.License.Key, &licentric.MachineRequest{Fingerprint: agFP + "-3"})
	assert.ErrorIs(t, err, licentric.ErrMachineLimitExceeded)

	// Under PER_POLICY uniqueness a fingerprint on another license conflicts.
	srv2 := licentrictest.NewServer(licentrictest.WithoutRateLimits())
	defer srv2.Close()
	one, err := srv2.Seed(licentrictest.Seed{Policy: licentrictest.PolicyRequest{FingerprintUniqueness: licentric.Value(licentric.UniquePerPolicy)}})
	require.NoError(t, err)
	two, err := srv2.AddLicense(one.Env, one.Policy.ID, licentrictest.LicenseRequest{})
	require.NoError(t, err)
	c2 := coClient(t, srv2.URL, srv2)
	_, _, err = c2.EnsureActivated(ctx, one.License.Key, &licentric.MachineRequest{Fingerprint: agFP})
	require.NoError(t, err)
	_, _, err = c2.EnsureActivated(ctx, two.Key, &licentric.MachineRequest{Fingerprint: agFP})
	assert.ErrorIs(t, err, licentric.ErrFingerprintConflict)

	for name, tc := range map[string]struct {
		key string
		req *licentric.MachineRequest
	}{
		"nil":            {fx.License.Key, nil},
		"no key":         {"", &licentric.MachineRequest{Fingerprint: agFP}},
		"short print":    {fx.License.Key, &licentric.MachineRequest{Fingerprint: "x"}},
		"negative cores": {fx.License.Key, &licentric.MachineRequest{Fingerprint: agFP, Cores: -1}},
	} {
		_, _, err := c.EnsureActivated(ctx, tc.key, tc.req)
		assert.ErrorIs(t, err, licentric.ErrInvalidArgument, name)
	}
}

// TestReleaseWithLicenseKey: a live license, the license key alone: the
// machine is found by a validation (one use) and deactivated with the key;
// releasing again is success.
func TestReleaseWithLicenseKey(t *testing.T) {
	srv, fx := agServer(t, licentrictest.EnvLive, 30, 1)
	c := coClient(t, srv.URL, srv)
	ctx := context.Background()
	req := agRequest(fx.License.Key)
	got, err := c.FulfillOfflineRequest(ctx, req, licentric.FulfillParams{PublicKeys: pinned(srv)})
	require.NoError(t, err)
	before, err := srv.License(fx.Env, fx.License.ID)
	require.NoError(t, err)

	srv.ResetRequests()
	m, err := c.ReleaseOfflineRequest(ctx, req, "")
	require.NoError(t, err)
	require.NotNil(t, m)
	assert.Equal(t, got.Machine.ID, m.ID)
	assert.Equal(t, 0, liveMachineCount(t, srv, fx), "the seat is free")
	after, err := srv.License(fx.Env, fx.License.ID)
	require.NoError(t, err)
	assert.Equal(t, before.UsesCount+1, after.UsesCount, "the validation counted one use")
	for _, r := range srv.Requests() {
		assert.NotEqual(t, "Bearer", r.Scheme, "%s %s used an API key", r.Method, r.Path)
	}
	assert.Equal(t, 1, srv.CountRequests(http.MethodDelete, "/machines/"+m.ID))

	m, err = c.ReleaseOfflineRequest(ctx, req, "")
	require.NoError(t, err, "a machine already gone is success")
	assert.Nil(t, m)

	// The seat can be taken by a replacement machine now.
	_, err = c.FulfillOfflineRequest(ctx, &offline.Request{Fingerprint: "replacement-machine-01", LicenseKey: fx.License.Key},
		licentric.FulfillParams{PublicKeys: pinned(srv)})
	require.NoError(t, err)
}

// TestReleaseWithAPIKey: with an API key the license's machines are read,
// no validation is made and no use is counted.
func TestReleaseWithAPIKey(t *testing.T) {
	srv, fx := agServer(t, licentrictest.EnvTest, 30, 1)
	c := coClient(t, srv.URL, srv, licentric.WithAPIKey(srv.NewAPIKey(licentrictest.EnvTest, "licenses:read")))
	ctx := context.Background()
	req := agRequest(fx.License.Key)
	_, err := c.FulfillOfflineRequest(ctx, req, licentric.FulfillParams{PublicKeys: pinned(srv)})
	require.NoError(t, err)
	// Suspended: a validation would name no machine; the license's
	// machines still do.
	_, err = srv.SetLicenseStatus(fx.Env, fx.License.ID, "suspend")
	require.NoError(t, err)
	before, err := srv.License(fx.Env, fx.License.ID)
	require.NoError(t, err)

	m, err := c.ReleaseOfflineRequest(ctx, req, fx.License.Key)
	require.NoError(t, err)
	require.NotNil(t, m)
	assert.Equal(t, agFP, m.Fingerprint)
	assert.Zero(t, srv.CountRequests(http.MethodPost, "/licenses/validate-key"))
	after, err := srv.License(fx.Env, fx.License.ID)
	require.NoError(t, err)
	assert.Equal(t, before.UsesCount, after.UsesCount)
	assert.Equal(t, 0, after.MachineCount)

	m, err = c.ReleaseOfflineRequest(ctx, req, "")
	require.NoError(t, err)
	assert.Nil(t, m)
}

func TestDeactivateFingerprint(t *testing.T) {
	ctx := context.Background()
	t.Run("unknown fingerprint", func(t *testing.T) {
		srv, fx := agServer(t, licentrictest.EnvLive, 30, 1)
		_, err := coClient(t, srv.URL, srv).DeactivateFingerprint(ctx, fx.License.Key, agFP)
		assert.ErrorIs(t, err, licentric.ErrFingerprintNotFound)
	})
	t.Run("test license without an API key", func(t *testing.T) {
		// A validation without an API key does not see a test license: the
		// machine is found by an activation's conflict, with the license key.
		srv, fx := agServer(t, licentrictest.EnvTest, 30, 2)
		c := coClient(t, srv.URL, srv)
		m, _, err := c.EnsureActivated(ctx, fx.License.Key, &licentric.MachineRequest{Fingerprint: agFP})
		require.NoError(t, err)
		srv.ResetRequests()
		got, err := c.DeactivateFingerprint(ctx, fx.License.Key, agFP)
		require.NoError(t, err)
		assert.Equal(t, m.ID, got.ID)
		assert.Equal(t, 0, liveMachineCount(t, srv, fx))
		for _, r := range srv.Requests() {
			assert.NotEqual(t, "Bearer", r.Scheme, "%s %s", r.Method, r.Path)
		}

		// Gone: the activation that finds that out is undone, so no seat is
		// taken; on a full license it is refused, and nothing changes.
		_, err = c.DeactivateFingerprint(ctx, fx.License.Key, agFP)
		require.ErrorIs(t, err, licentric.ErrFingerprintNotFound)
		assert.Equal(t, 0, liveMachineCount(t, srv, fx), "the probe's machine was left active")
		rel, err := c.ReleaseOfflineRequest(ctx, agRequest(fx.License.Key), "")
		require.NoError(t, err)
		assert.Nil(t, rel)
		for _, fp := range []string{"another-machine-0001", "another-machine-0002"} {
			_, _, err = c.EnsureActivated(ctx, fx.License.Key, &licentric.MachineRequest{Fingerprint: fp})
			require.NoError(t, err)
		}
		_, err = c.DeactivateFingerprint(ctx, fx.License.Key, agFP)
		require.ErrorIs(t, err, licentric.ErrFingerprintNotFound)
		assert.Equal(t, 2, liveMachineCount(t, srv, fx))

		// No license has the key.
		_, err = c.DeactivateFingerprint(ctx, "DSK-NONE-0000-0000-0000", agFP)
		require.ErrorIs(t, err, licentric.ErrNotFound)
		assert.NotErrorIs(t, err, licentric.ErrFingerprintNotFound)
		assert.NotContains(t, err.Error(), "DSK-NONE")
	})
	t.Run("suspended without an API key", func(t *testing.T) {
		srv, fx := agServer(t, licentrictest.EnvLive, 30, 1)
		c := coClient(t, srv.URL, srv)
		_, _, err := c.EnsureActivated(ctx, fx.License.Key, &licentric.MachineRequest{Fingerprint: agFP})
		require.NoError(t, err)
		_, err = srv.SetLicenseStatus(fx.Env, fx.License.ID, "suspend")
		require.NoError(t, err)
		_, err = c.DeactivateFingerprint(ctx, fx.License.Key, agFP)
		require.ErrorIs(t, err, licentric.ErrSuspended)
		assert.Contains(t, err.Error(), "deactivate it with the API key")
	})
	t.Run("gone meanwhile", func(t *testing.T) {
		srv, fx := agServer(t, licentrictest.EnvLive, 30, 1)
		c := coClient(t, srv.URL, srv)
		_, _, err := c.EnsureActivated(ctx, fx.License.Key, &licentric.MachineRequest{Fingerprint: agFP})
		require.NoError(t, err)
		srv.InjectFault(licentrictest.Fault{Method: http.MethodDelete, Status: http.StatusNotFound})
		_, err = c.DeactivateFingerprint(ctx, fx.License.Key, agFP)
		assert.ErrorIs(t, err, licentric.ErrFingerprintNotFound)
	})
	t.Run("arguments", func(t *testing.T) {
		c := noDialClient(t)
		_, err := c.DeactivateFingerprint(ctx, "", agFP)
		assert.ErrorIs(t, err, licentric.ErrInvalidArgument)
		_, err = c.DeactivateFingerprint(ctx, "DSK-A1B2-C3D4-E5F6-G7H8", "short")
		assert.ErrorIs(t, err, licentric.ErrInvalidArgument)
		_, err = c.ReleaseOfflineRequest(ctx, agRequest(""), "")
		assert.ErrorIs(t, err, licentric.ErrInvalidArgument)
	})
}
