package licentrictest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go/internal/wire"
)

// Contract §3: GET /licenses/{id} and by-key carry the live machines,
// oldest first; no other response carries "machines".
func TestLicenseGetIncludesMachinesOthersDoNot(t *testing.T) {
	s := start(t)
	api := bearer(s.TestAPIKey())
	fx := s.seed(Seed{Policy: PolicyRequest{RequireFingerprint: wire.Value(false)}})
	id := fx.License.ID

	for _, path := range []string{"/licenses/" + id, wire.LicenseByKeyPath(fx.License.Key)} {
		d := s.ok(200, "GET", path, api, nil)
		require.Contains(t, d, "machines", path)
		assert.Empty(t, d["machines"], path)
	}

	m1 := s.activate(fx.License.Key, "machine-fp-1")
	m2 := s.activate(fx.License.Key, "machine-fp-2")
	m3 := s.activate(fx.License.Key, "machine-fp-3")
	s.ok(204, "DELETE", "/machines/"+m2["id"].(string), api, nil)

	for _, path := range []string{"/licenses/" + id, wire.LicenseByKeyPath(fx.License.Key)} {
		d := s.ok(200, "GET", path, api, nil)
		ms, _ := d["machines"].([]any)
		require.Len(t, ms, 2, path)
		assert.Equal(t, m1["id"], ms[0].(map[string]any)["id"], "oldest first")
		assert.Equal(t, m3["id"], ms[1].(map[string]any)["id"])
		assert.Equal(t, "machine-fp-1", ms[0].(map[string]any)["fingerprint"])
		assert.Equal(t, 2.0, d["machineCount"])
		assert.NotNil(t, d["policy"], "still carries the policy snapshot")
	}

	// Lists, validation results, writes and webhook payloads carry none.
	_, _, list := s.do("GET", "/licenses", api, nil)
	for _, l := range list["data"].([]any) {
		assert.NotContains(t, l, "machines", "list")
	}
	v := s.validate(api, map[string]any{"key": fx.License.Key})
	assert.NotContains(t, v["license"], "machines", "validation")
	assert.NotContains(t, s.ok(200, "PATCH", "/licenses/"+id, api, map[string]any{"name": "n"}), "machines", "PATCH")
	assert.NotContains(t, s.ok(200, "POST", "/licenses/"+id+"/suspend", api, nil), "machines", "suspend")
	created := s.ok(201, "POST", "/licenses", api, map[string]any{"productId": fx.Product.ID, "policyId": fx.Policy.ID})
	assert.NotContains(t, created, "machines", "create")
	for _, ev := range s.Events(EnvTest) {
		assert.NotContains(t, string(ev.Data), `"machines"`, ev.Type)
	}
}
