package migrate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
)

const (
	cxPolicyDesktop   = "policy:cp-desktop:node-locked:validity=31536000"
	cxPolicyOnPrem    = "policy:cp-desktop:on-premise-floating:validity=2592000"
	cxPolicyCloudFree = "policy:cp-cloud:hosted-floating:interval=P1M:unlimited"
	cxPolicyCloud10   = "policy:cp-cloud:hosted-floating:interval=P1M"
	cxPolicyTrial     = "trial:cp-desktop"
)

// TestCryptlexPlanIssues: the hostile rows (empty key, duplicate key,
// malformed date, unknown status, unknown product and type, a short row)
// are rejected with their row and line; a BOM, CRLF and a quoted field
// with a comma and a newline are read.
func TestCryptlexPlanIssues(t *testing.T) {
	p, err := NewPlan(context.Background(), cryptlexFixture(), nil, nil)
	require.NoError(t, err)
	want := map[string][]string{
		"product:cp-desktop":          {"metadata_repeated", "public_key_dropped"},
		"product:cp-cloud":            {"code_changed"},
		"policy:" + cxPolicyDesktop:   {},
		"policy:" + cxPolicyOnPrem:    {"not_enforced", "on_premise_floating"},
		"policy:" + cxPolicyTrial:     {},
		"policy:" + cxPolicyCloudFree: {"approximate_duration"},
		"policy:" + cxPolicyCloud10:   {"approximate_duration"},
		"license:cl-1":                {},
		"license:cl-2":                {},
		"license:cl-3":                {"key_trimmed"},
		"license:cl-4":                {"rejected:empty_key"},
		"license:cl-5":                {"rejected:duplicate_key"},
		"license:cl-6":                {"rejected:malformed_date"},
		"license:cl-7":                {"rejected:unknown_status"},
		"license:cl-8":                {"invalid_email"},
		"license:cl-9":                {},
		"license:cl-10":               {"pending_expiry"},
		"license:cl-11":               {"rejected:unknown_product"},
		"license:cl-12":               {"rejected:unknown_type"},
		"license:cl-13":               {"rejected:malformed_row"},
		"license:cl-14":               {},
	}
	got := recordsByID(p)
	require.Len(t, got, len(want))
	for id, codes := range want {
		r := got[id]
		require.NotNil(t, r, id)
		if len(codes) == 0 {
			codes = nil
		}
		assert.Equal(t, codes, issueCodes(r), id)
	}
	// Rows after the quoted two-line field keep their line numbers right.
	assert.Equal(t, "licenses.csv row 1 (line 2)", got["license:cl-1"].Origin)
	assert.Equal(t, "licenses.csv row 2 (line 4)", got["license:cl-2"].Origin)
	assert.Equal(t, "licenses.csv row 13 (line 15)", got["license:cl-13"].Origin)
	assert.Contains(t, got["license:cl-5"].Rejection.Message, "cl-1")
	require.Len(t, p.Notes, 1)
	assert.Contains(t, p.Notes[0].Message, "customColumn")
}

// TestCryptlexImportEveryField imports the Cryptlex fixture into
// licentrictest and checks every mapped field of every record.
func TestCryptlexImportEveryField(t *testing.T) {
	_, c := newTarget(t)
	_, res := runImport(t, c, cryptlexFixture(), filepath.Join(t.TempDir(), "journal"))
	require.Zero(t, res.Failed(), "%+v", res.Outcomes)
	st := readTarget(t, c)

	require.Len(t, st.products, 2)
	prod := map[string]*licentric.Product{}
	for _, p := range st.products {
		_, src := withoutSource(p.Metadata)
		prod[src["id"].(string)] = p
	}
	desktop, cloud := prod["cp-desktop"], prod["cp-cloud"]
	require.NotNil(t, desktop)
	require.NotNil(t, cloud)
	assert.Equal(t, "Desktop App", desktop.Name)
	assert.Equal(t, "desktop-app", desktop.Code)
	assert.Equal(t, "The desktop app", desktop.Description)
	assert.Equal(t, jsonOf(t, map[string]any{"tier": "platinum", "region": "eu",
		SourceKey: map[string]any{"system": "cryptlex", "id": "cp-desktop", "name": "desktop-app"}}), jsonOf(t, desktop.Metadata))
	assert.Equal(t, "Cloud Service ☁", cloud.Name)
	assert.Equal(t, "cloud-service", cloud.Code)
	assert.Empty(t, cloud.Description)
	assert.Equal(t, jsonOf(t, map[string]any{SourceKey: map[string]any{"system": "cryptlex", "id": "cp-cloud", "name": "Cloud Service ☁"}}),
		jsonOf(t, cloud.Metadata))
	assert.Empty(t, st.entitlements)

	require.Len(t, st.policies, 5)
	pol := map[string]*licentric.Policy{}
	for _, p := range st.policies {
		_, src := withoutSource(p.Metadata)
		pol[src["id"].(string)] = p
	}
	type wantPolicy struct {
		product, name                      string
		maxMachines, durationDays, trialDs *int
		floating, heartbeat, fingerprint   bool
		interval                           int
		offline                            bool
		offlineDays                        int
		trial, overridable                 bool
		source                             map[string]any
	}
	for id, w := range map[string]wantPolicy{
		cxPolicyDesktop: {product: desktop.ID, name: "Desktop App: node-locked, 365 days", maxMachines: intPtr(2),
			durationDays: intPtr(365), fingerprint: true, interval: 60, offline: true, offlineDays: 14, overridable: true,
			source: map[string]any{"synthesised": true, "type": "node-locked", "validity": float64(31536000),
				"expirationStrategy": "immediate", "fingerprintMatchingStrategy": "fuzzy", "serverSyncGracePeriod": "1209600"}},
		cxPolicyOnPrem: {product: desktop.ID, name: "Desktop App: on-premise-floating, 30 days", maxMachines: intPtr(3),
			durationDays: intPtr(30), floating: true, interval: 60, offline: true, offlineDays: 14,
			source: map[string]any{"type": "on-premise-floating", "allowVmActivation": "false"}},
		cxPolicyTrial: {product: desktop.ID, name: "Desktop App: trial", maxMachines: intPtr(1), durationDays: intPtr(14),
			trialDs: intPtr(14), fingerprint: true, interval: 60, offlineDays: 14, trial: true,
			source: map[string]any{"synthesised": true, "type": "node-locked"}},
		cxPolicyCloudFree: {product: cloud.ID, name: "Cloud Service ☁: hosted-floating, P1M, unlimited activations",
			durationDays: intPtr(30), floating: true, heartbeat: true, interval: 15, offlineDays: 14, overridable: true,
			source: map[string]any{"subscriptionInterval": "P1M"}},
		cxPolicyCloud10: {product: cloud.ID, name: "Cloud Service ☁: hosted-floating, P1M", maxMachines: intPtr(10),
			durationDays: intPtr(30), floating: true, heartbeat: true, interval: 60, offlineDays: 14},
	} {
		p := pol[id]
		require.NotNil(t, p, id)
		assert.Equal(t, w.product, p.ProductID, id)
		assert.Equal(t, w.name, p.Name, id)
		assert.Equal(t, w.maxMachines, p.MaxMachines, id)
		assert.Nil(t, p.MaxUses, id)
		assert.Equal(t, w.durationDays, p.DurationDays, id)
		assert.Equal(t, w.floating, p.Floating, id)
		assert.Equal(t, "RESTRICT_ACCESS", p.ExpirationStrategy, id)
		assert.Equal(t, w.heartbeat, p.RequireHeartbeat, id)
		assert.Equal(t, w.interval, p.HeartbeatIntervalMinutes, id)
		assert.Equal(t, "DEACTIVATE_DEAD", p.HeartbeatCullStrategy, id)
		assert.Equal(t, w.fingerprint, p.RequireFingerprint, id)
		assert.Equal(t, "PER_LICENSE", p.FingerprintUniqueness, id)
		assert.Equal(t, w.offline, p.OfflineAllowed, id)
		assert.Equal(t, w.offlineDays, p.OfflineMaxDays, id)
		assert.Equal(t, w.trial, p.IsTrial, id)
		assert.Equal(t, w.trialDs, p.TrialDurationDays, id)
		assert.Equal(t, w.overridable, p.Overridable, id)
		assert.Empty(t, p.Entitlements, id)
		rest, src := withoutSource(p.Metadata)
		assert.Empty(t, rest, id)
		assert.Equal(t, "cryptlex", src["system"], id)
		for k, v := range w.source {
			assert.Equal(t, v, src[k], "%s: _source.%s", id, k)
		}
	}

	type wantLicense struct {
		id, policy, status, email, userName, expires string
		maxMachines, maxUses                         *int
		metadata, source                             map[string]any
	}
	wants := map[string]wantLicense{
		"CX-AAAA-0001": {id: "cl-1", policy: cxPolicyDesktop, status: "active", email: "ada@example.com", userName: "Ada Lovelace",
			expires:  "2030-05-01T10:00:00.123Z",
			metadata: map[string]any{"seats": "2", "plan": "pro", "company": "Analytical Engines, Ltd."},
			source: map[string]any{"totalActivations": "3", "createdAt": "2025-01-01T00:00:00Z",
				"notes": "line one\nline two, with a comma"}},
		"CX-AAAA-0002": {id: "cl-2", policy: cxPolicyDesktop, status: "suspended", email: "Grace@Example.com", userName: "Grace Hopper",
			expires: "2031-01-01T00:00:00Z", maxMachines: intPtr(5), metadata: map[string]any{}},
		"CX-AAAA-0003": {id: "cl-3", policy: cxPolicyDesktop, status: "revoked", expires: "2020-01-01T00:00:00Z", metadata: map[string]any{}},
		"CX-CLOUD-0008": {id: "cl-8", policy: cxPolicyCloudFree, status: "active", userName: "Zoë Ångström", maxUses: intPtr(500),
			metadata: map[string]any{}, source: map[string]any{"userEmail": "not-an-email",
				"meterAttributes": []any{map[string]any{"name": "api", "allowedUses": float64(500), "totalUses": float64(12)}}}},
		"CX-CLOUD-0009": {id: "cl-9", policy: cxPolicyCloud10, status: "active", expires: "2029-12-31T23:59:59Z", metadata: map[string]any{}},
		"CX-AAAA-0010": {id: "cl-10", policy: cxPolicyDesktop, status: "active", metadata: map[string]any{},
			source: map[string]any{"pendingDurationDays": float64(365)}},
		"CX-UNICODE-ß-0014": {id: "cl-14", policy: cxPolicyOnPrem, status: "active", userName: "Jürgen Groß",
			expires: "2032-02-29T10:00:00.123Z", metadata: map[string]any{"名前": "ユーザー"}},
	}
	require.Len(t, st.licenseList, len(wants))
	for key, w := range wants {
		l := st.licenses[key]
		require.NotNil(t, l, "license %s is not in the target under its exact key", w.id)
		assert.Equal(t, key, l.Key)
		assert.Empty(t, l.Name, w.id)
		assert.Equal(t, w.status, l.Status, w.id)
		assert.Equal(t, pol[w.policy].ID, l.PolicyID, w.id)
		assert.Equal(t, pol[w.policy].ProductID, l.ProductID, w.id)
		assert.Equal(t, w.email, l.UserEmail, w.id)
		assert.Equal(t, w.userName, l.UserName, w.id)
		if w.expires == "" {
			assert.True(t, l.ExpiresAt.IsZero(), "%s: %v", w.id, l.ExpiresAt)
		} else {
			assert.True(t, rfc(t, w.expires).Equal(l.ExpiresAt.Time), "%s: %v", w.id, l.ExpiresAt)
		}
		assert.Equal(t, w.maxMachines, l.MaxMachinesOverride, w.id)
		assert.Equal(t, w.maxUses, l.MaxUsesOverride, w.id)
		assert.Empty(t, l.Entitlements, w.id)
		rest, src := withoutSource(l.Metadata)
		assert.Equal(t, jsonOf(t, w.metadata), jsonOf(t, rest), w.id)
		assert.Equal(t, "cryptlex", src["system"], w.id)
		assert.Equal(t, w.id, src["id"], w.id)
		for k, v := range w.source {
			assert.Equal(t, v, src[k], "%s: _source.%s", w.id, k)
		}
	}
	assert.Empty(t, st.machineList, "Cryptlex activations are not imported")
}

func writeCSV(t *testing.T, dir, body string) *Cryptlex {
	t.Helper()
	products := `[{"id":"p1","name":"app","displayName":"App"}]`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "products.json"), []byte(products), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "licenses.csv"), []byte(body), 0o600))
	return &Cryptlex{LicensesCSV: filepath.Join(dir, "licenses.csv"), ProductsJSON: filepath.Join(dir, "products.json")}
}

// TestCryptlexColumnsByName: columns are found by name in any order and
// case; the productId column may be left out with a single product.
func TestCryptlexColumnsByName(t *testing.T) {
	src := writeCSV(t, t.TempDir(), "SUSPENDED,Type,AllowedActivations,KEY\ntrue,node-locked,3,K-1\n")
	p, err := NewPlan(context.Background(), src, nil, nil)
	require.NoError(t, err)
	require.Len(t, p.Licenses, 1)
	l := p.Licenses[0]
	require.True(t, l.Accepted(), "%+v", l.Rejection)
	assert.Equal(t, "K-1", string(l.Key))
	assert.Equal(t, licentric.StatusSuspended, l.Status)
	assert.Equal(t, "p1", l.ProductSource)
	assert.True(t, strings.HasPrefix(l.SourceID, "key-sha256:"), "no id column: the key's hash is the source id")
	assert.NotContains(t, l.SourceID, "K-1")
}

// TestCryptlexSourceErrors: a CSV without a key column, an empty file, and
// products that are not JSON fail the plan.
func TestCryptlexSourceErrors(t *testing.T) {
	ctx := context.Background()
	_, err := NewPlan(ctx, writeCSV(t, t.TempDir(), "id,type\n1,node-locked\n"), nil, nil)
	require.ErrorIs(t, err, ErrMalformedSource)
	assert.Contains(t, err.Error(), "no key column")
	_, err = NewPlan(ctx, writeCSV(t, t.TempDir(), ""), nil, nil)
	require.ErrorIs(t, err, ErrMalformedSource)
	dir := t.TempDir()
	src := writeCSV(t, dir, "key\nK\n")
	require.NoError(t, os.WriteFile(src.ProductsJSON, []byte("{not json"), 0o600))
	_, err = NewPlan(ctx, src, nil, nil)
	require.ErrorIs(t, err, ErrMalformedSource)
	_, err = NewPlan(ctx, &Cryptlex{LicensesCSV: filepath.Join(dir, "missing.csv"), ProductsJSON: src.ProductsJSON}, nil, nil)
	require.Error(t, err)
}

// TestCryptlexIntoAccountWithProduct: a Cryptlex import into an account
// that has the product already (made by hand, as Licentric's migration
// guide says to) imports every license, under the product it has.
func TestCryptlexIntoAccountWithProduct(t *testing.T) {
	// The same import into an empty account, for comparison.
	_, fc := newTarget(t)
	wantPlan, want := runImport(t, fc, cryptlexFixture(), filepath.Join(t.TempDir(), "journal"))
	require.Zero(t, want.Failed())
	wantDesktop := 0
	for _, l := range readTarget(t, fc).licenseList {
		if l.ProductID == want.Outcomes[0].ID {
			wantDesktop++
		}
	}
	require.Positive(t, wantDesktop)

	_, c := newTarget(t)
	ctx := context.Background()
	mine, err := c.Products.Create(ctx, &licentric.ProductRequest{Name: licentric.Value("Desktop"), Code: licentric.Value("desktop-app")})
	require.NoError(t, err)
	p, res := runImport(t, c, cryptlexFixture(), filepath.Join(t.TempDir(), "journal"))
	assert.Equal(t, wantPlan.Counts(KindLicense), p.Counts(KindLicense), "no license rejected for the product")
	require.Zero(t, res.Failed(), "%+v", failures(res))
	assert.Equal(t, want.Counts(KindLicense).Created, res.Counts(KindLicense).Created, "all licenses in")
	got := recordsByID(p)["product:cp-desktop"]
	assert.Equal(t, mine.ID, got.Existing)
	assert.Contains(t, issueCodes(got), "product_reused")
	st := readTarget(t, c)
	assert.Len(t, st.products, 2, "one reused, one created")
	n := 0
	for _, l := range st.licenseList {
		if l.ProductID == mine.ID {
			n++
		}
	}
	assert.Equal(t, wantDesktop, n, "every desktop license is under the product made by hand")
}

// TestCryptlexProductMap: after a Keygen import, a Cryptlex import maps
// its product to the Keygen one whose code differs (ProductMap); policies
// are created under it and every license is imported.
func TestCryptlexProductMap(t *testing.T) {
	_, c := newTarget(t)
	runImport(t, c, keygenFixture(), filepath.Join(t.TempDir(), "kg.journal"))
	var target *licentric.Product
	for pr, err := range c.Products.List(context.Background(), &licentric.ListOptions{Limit: 100}) {
		require.NoError(t, err)
		if pr.Code == "desktop-pro" {
			target = pr
		}
	}
	require.NotNil(t, target)

	ctx := context.Background()
	_, err := NewPlan(ctx, cryptlexFixture(), c, &PlanOptions{ProductMap: map[string]string{"no-such": target.ID}})
	require.ErrorIs(t, err, licentric.ErrInvalidArgument)

	path := filepath.Join(t.TempDir(), "cx.journal")
	j := openJournal(t, path)
	p, err := NewPlan(ctx, cryptlexFixture(), c, &PlanOptions{Journal: j, ProductMap: map[string]string{"desktop-app": target.ID}})
	require.NoError(t, err)
	desktop := recordsByID(p)["product:cp-desktop"]
	assert.Equal(t, target.ID, desktop.Existing)
	assert.Contains(t, issueCodes(desktop), "product_mapped")
	res, err := Apply(ctx, c, p, j, fastRetry())
	require.NoError(t, err)
	require.Zero(t, res.Failed(), "%+v", failures(res))
	assert.Equal(t, p.Counts(KindLicense).Accepted, res.Counts(KindLicense).Created)
	for _, pol := range readTarget(t, c).policies {
		if _, src := withoutSource(pol.Metadata); src["id"] == cxPolicyDesktop {
			assert.Equal(t, target.ID, pol.ProductID)
		}
	}

	// A map to a product the target does not have rejects the product.
	p, err = NewPlan(ctx, cryptlexFixture(), c, &PlanOptions{ProductMap: map[string]string{"cp-cloud": "prod_missing"}})
	require.NoError(t, err)
	cloud := recordsByID(p)["product:cp-cloud"]
	require.NotNil(t, cloud.Rejection)
	assert.Equal(t, "unknown_target_product", cloud.Rejection.Code)
}
