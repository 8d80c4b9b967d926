package licentrictest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go/internal/wire"
)

// Contract §12: billable = total - expired; suspended, revoked and banned
// licenses count toward plan limits, deleted ones not at all.
func TestAnalyticsBillable(t *testing.T) {
	s := start(t)
	api := bearer(s.TestAPIKey())
	fx := s.seed(Seed{Policy: PolicyRequest{DurationDays: wire.Value(30)}})
	add := func(req LicenseRequest) string {
		l, err := s.AddLicense(EnvTest, fx.Policy.ID, req)
		require.NoError(t, err)
		return l.ID
	}
	past := wire.Value(wire.NewTimestamp(s.Now().Add(-time.Hour)))
	add(LicenseRequest{})                                                   // active (+ fx.License)
	add(LicenseRequest{ExpiresAt: past})                                    // expired
	add(LicenseRequest{ExpiresAt: past})                                    // expired
	_, err := s.SetLicenseStatus(EnvTest, add(LicenseRequest{}), "suspend") // suspended
	require.NoError(t, err)
	_, err = s.SetLicenseStatus(EnvTest, add(LicenseRequest{}), "revoke") // revoked
	require.NoError(t, err)
	require.NoError(t, s.BanLicense(EnvTest, add(LicenseRequest{})))  // banned
	s.ok(204, "DELETE", "/licenses/"+add(LicenseRequest{}), api, nil) // deleted: not counted
	_, err = s.Seed(Seed{Env: EnvLive})                               // the other environment: not counted
	require.NoError(t, err)

	a := s.ok(200, "GET", "/analytics", api, nil)
	assert.Equal(t, map[string]any{
		"total": 7.0, "active": 2.0, "expired": 2.0, "suspended": 1.0, "revoked": 1.0, "banned": 1.0, "billable": 5.0,
	}, a["licenses"])
	for _, k := range []string{"machines", "activations", "validations"} {
		assert.Contains(t, a, k, "docs-facts §2.7 shape")
	}
}
