package licentric_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
)

// invFixture is a server with two licenses, A and B, each with a machine,
// and a client whose cache holds a result of each.
type invFixture struct {
	srv        *licentrictest.Server
	c          *licentric.Client
	a, b       *licentrictest.Fixture
	machA      *licentric.Machine
	policyID   string
	productID  string
	entID      string
	webhookID  string
	fpA, fpNew string
}

func newInvFixture(t *testing.T) *invFixture {
	t.Helper()
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits(), licentrictest.WithFrozenClock(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)))
	t.Cleanup(srv.Close)
	c, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithHTTPClient(srv.Client()),
		licentric.WithAPIKey(srv.TestAPIKey()), licentric.WithClock(srv.Clock()))
	require.NoError(t, err)
	pol := licentric.PolicyRequest{RequireFingerprint: licentric.Value(false), OfflineAllowed: licentric.Value(true),
		RequireHeartbeat: licentric.Value(true), HeartbeatIntervalMinutes: licentric.Value(10), MaxMachines: licentric.Value(5),
		DurationDays: licentric.Value(30)}
	a, err := srv.Seed(licentrictest.Seed{Policy: pol})
	require.NoError(t, err)
	b, err := srv.Seed(licentrictest.Seed{Policy: pol})
	require.NoError(t, err)
	f := &invFixture{srv: srv, c: c, a: a, b: b, fpA: "fingerprint-aaaa-0001", fpNew: "fingerprint-new-0002",
		policyID: a.Policy.ID, productID: a.Product.ID}
	f.machA, err = c.Activate(t.Context(), a.License.Key, licentric.ActivateParams{Fingerprint: f.fpA})
	require.NoError(t, err)
	ent, err := c.Entitlements.Create(t.Context(), &licentric.EntitlementRequest{Code: licentric.Value("pdf-export"), Name: licentric.Value("PDF")})
	require.NoError(t, err)
	f.entID = ent.ID
	wh, err := c.Webhooks.Create(t.Context(), &licentric.WebhookRequest{URL: licentric.Value("http://127.0.0.1:1/hook")})
	require.NoError(t, err)
	f.webhookID = wh.ID
	return f
}

// prime caches a result of A and of B.
func (f *invFixture) prime(t *testing.T) {
	t.Helper()
	for _, k := range []string{f.a.License.Key, f.b.License.Key} {
		_, err := f.c.Validate(t.Context(), k)
		require.NoError(t, err)
		v, err := f.c.Validate(t.Context(), k)
		require.NoError(t, err)
		require.True(t, v.FromCache, "result not cached")
	}
}

// cached reports whether the next validation of key comes from the cache.
func (f *invFixture) cached(t *testing.T, key string) bool {
	t.Helper()
	v, err := f.c.Validate(t.Context(), key)
	require.NoError(t, err)
	return v.FromCache
}

// TestEveryWriteSaysWhatItDrops lists every write of the client and what it
// invalidates: the results of license A (the one written), of every
// license, or nothing.
func TestEveryWriteSaysWhatItDrops(t *testing.T) {
	type drops int
	const (
		none drops = iota
		licenseA
		all
	)
	ctx := context.Background()
	cases := []struct {
		name  string
		write func(t *testing.T, f *invFixture) error
		want  drops
	}{
		{"Activate", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Activate(ctx, f.a.License.Key, licentric.ActivateParams{Fingerprint: f.fpNew})
			return err
		}, licenseA},
		{"Deactivate", func(t *testing.T, f *invFixture) error { return f.c.Deactivate(ctx, f.a.License.Key, f.machA.ID) }, licenseA},
		{"Heartbeat", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Heartbeat(ctx, f.a.License.Key, f.machA.ID)
			return err
		}, licenseA},
		{"Heartbeat of a culled machine (404)", func(t *testing.T, f *invFixture) error {
			f.srv.Advance(11 * time.Minute) // the machine dies and is culled
			f.prime(t)
			_, err := f.c.Heartbeat(ctx, f.a.License.Key, f.machA.ID)
			if assert.ErrorIs(t, err, licentric.ErrNotFound) {
				return nil
			}
			return err
		}, licenseA},
		{"Checkout", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Checkout(ctx, f.a.License.ID, licentric.CheckoutParams{Fingerprint: f.fpA})
			return err
		}, none},
		{"Licenses.Create", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Licenses.Create(ctx, &licentric.LicenseRequest{ProductID: licentric.Value(f.productID), PolicyID: licentric.Value(f.policyID)})
			return err
		}, none},
		{"Licenses.Update", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Licenses.Update(ctx, f.a.License.ID, &licentric.LicenseRequest{Name: licentric.Value("renamed")})
			return err
		}, licenseA},
		{"Licenses.Suspend", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Licenses.Suspend(ctx, f.a.License.ID)
			return err
		}, licenseA},
		{"Licenses.Reinstate", func(t *testing.T, f *invFixture) error {
			_, err := f.srv.SetLicenseStatus(f.a.Env, f.a.License.ID, "suspend")
			require.NoError(t, err)
			_, err = f.c.Licenses.Reinstate(ctx, f.a.License.ID)
			return err
		}, licenseA},
		{"Licenses.Revoke", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Licenses.Revoke(ctx, f.a.License.ID)
			return err
		}, licenseA},
		{"Licenses.Renew", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Licenses.Renew(ctx, f.a.License.ID)
			return err
		}, licenseA},
		{"Licenses.AttachEntitlements", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Licenses.AttachEntitlements(ctx, f.a.License.ID, "pdf-export")
			return err
		}, licenseA},
		{"Licenses.DetachEntitlements", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Licenses.DetachEntitlements(ctx, f.a.License.ID, "pdf-export")
			return err
		}, licenseA},
		{"Licenses.Delete", func(t *testing.T, f *invFixture) error { return f.c.Licenses.Delete(ctx, f.a.License.ID) }, licenseA},
		{"Machines.Create", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Machines.Create(ctx, &licentric.MachineRequest{LicenseID: f.a.License.ID, Fingerprint: f.fpNew})
			return err
		}, licenseA},
		{"Machines.Delete", func(t *testing.T, f *invFixture) error { return f.c.Machines.Delete(ctx, f.machA.ID) }, all},
		{"Policies.Create", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Policies.Create(ctx, &licentric.PolicyRequest{ProductID: licentric.Value(f.productID), Name: licentric.Value("p2"), MaxMachines: licentric.Value(1)})
			return err
		}, none},
		{"Policies.Update", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Policies.Update(ctx, f.policyID, &licentric.PolicyRequest{Name: licentric.Value("renamed")})
			return err
		}, all},
		{"Policies.AttachEntitlements", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Policies.AttachEntitlements(ctx, f.policyID, "pdf-export")
			return err
		}, all},
		{"Policies.DetachEntitlements", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Policies.DetachEntitlements(ctx, f.policyID, "pdf-export")
			return err
		}, all},
		{"Policies.Delete", func(t *testing.T, f *invFixture) error { return f.c.Policies.Delete(ctx, f.b.Policy.ID) }, all},
		{"Products.Create", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Products.Create(ctx, &licentric.ProductRequest{Name: licentric.Value("P2"), Code: licentric.Value("p2")})
			return err
		}, none},
		{"Products.Update", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Products.Update(ctx, f.productID, &licentric.ProductRequest{Name: licentric.Value("renamed")})
			return err
		}, all},
		{"Products.Delete", func(t *testing.T, f *invFixture) error { return f.c.Products.Delete(ctx, f.b.Product.ID) }, all},
		{"Entitlements.Create", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Entitlements.Create(ctx, &licentric.EntitlementRequest{Code: licentric.Value("other"), Name: licentric.Value("Other")})
			return err
		}, none},
		{"Entitlements.Update", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Entitlements.Update(ctx, f.entID, &licentric.EntitlementRequest{Name: licentric.Value("renamed")})
			return err
		}, all},
		{"Entitlements.Delete", func(t *testing.T, f *invFixture) error { return f.c.Entitlements.Delete(ctx, f.entID) }, all},
		{"Webhooks.Create", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Webhooks.Create(ctx, &licentric.WebhookRequest{URL: licentric.Value("http://127.0.0.1:1/other")})
			return err
		}, none},
		{"Webhooks.Update", func(t *testing.T, f *invFixture) error {
			_, err := f.c.Webhooks.Update(ctx, f.webhookID, &licentric.WebhookRequest{Events: []string{"license.created"}})
			return err
		}, none},
		{"Webhooks.Delete", func(t *testing.T, f *invFixture) error { return f.c.Webhooks.Delete(ctx, f.webhookID) }, none},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newInvFixture(t)
			f.prime(t)
			require.NoError(t, tc.write(t, f))
			wantA := tc.want == none
			wantB := tc.want != all
			assert.Equal(t, wantA, f.cached(t, f.a.License.Key), "license A's result cached after the write")
			assert.Equal(t, wantB, f.cached(t, f.b.License.Key), "license B's result cached after the write")
		})
	}
}

// TestResultsAreValues: a caller that modifies what Validate returned
// changes nothing for later callers, cached or not.
func TestResultsAreValues(t *testing.T) {
	f := newInvFixture(t)
	_, err := f.c.Licenses.AttachEntitlements(t.Context(), f.a.License.ID, "pdf-export")
	require.NoError(t, err)
	key := f.a.License.Key
	v, err := f.c.Validate(t.Context(), key, licentric.WithFingerprint(f.fpA))
	require.NoError(t, err)
	require.NotNil(t, v.License)
	require.NotNil(t, v.License.Policy)
	require.NotNil(t, v.Machine)
	want, err := f.c.Validate(t.Context(), key, licentric.WithFingerprint(f.fpA))
	require.NoError(t, err)

	for i := 0; i < 3; i++ { // the first result, then two cached ones
		v.License.Entitlements = append(v.License.Entitlements, "stolen")
		if len(v.License.Entitlements) > 1 {
			v.License.Entitlements[0] = "overwritten"
		}
		v.Entitlements = append(v.Entitlements, "stolen")
		v.Entitlements[0] = "overwritten"
		v.License.Status = licentric.StatusBanned
		v.License.Policy.MaxMachines = new(int)
		*v.License.Policy.MaxMachines = 9999
		v.License.Policy.Entitlements = append(v.License.Policy.Entitlements, "stolen")
		v.License.Metadata = licentric.Metadata{"x": 1}
		v.Machine.Fingerprint = "changed"
		v.Valid = false

		got, err := f.c.Validate(t.Context(), key, licentric.WithFingerprint(f.fpA))
		require.NoError(t, err)
		require.True(t, got.FromCache)
		got.FromCache, got.Age, want.FromCache, want.Age = false, 0, false, 0
		assert.Equal(t, want, got, "a later caller sees another caller's changes")
		v = got
	}
}

// TestLicenseGetCarriesMachines: the full license of Get and GetByKey lists
// its activated machines (docs/wire-protocol.md §3).
func TestLicenseGetCarriesMachines(t *testing.T) {
	f := newInvFixture(t)
	l, err := f.c.Licenses.Get(t.Context(), f.a.License.ID)
	require.NoError(t, err)
	require.Len(t, l.Machines, 1)
	assert.Equal(t, f.machA.ID, l.Machines[0].ID)
	assert.Equal(t, f.fpA, l.Machines[0].Fingerprint)
	l, err = f.c.Licenses.GetByKey(t.Context(), f.b.License.Key)
	require.NoError(t, err)
	assert.NotNil(t, l.Machines, "by-key lookup has no machines list")
	assert.Empty(t, l.Machines)
	_ = http.MethodGet
}
