package migrate

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
)

// Source ids of the Keygen fixture (testdata/keygen).
func kgID(n int) string { return fmt.Sprintf("9a7c6e10-4b2d-4c1e-8f00-%012d", n) }

var (
	kgP1, kgP2           = kgID(101), kgID(102)
	kgE1, kgE2, kgE3     = kgID(201), kgID(202), kgID(203)
	kgPol1, kgPol2, kgP3 = kgID(301), kgID(302), kgID(303)
)

func kgLicense(n int) string { return kgID(500 + n) }
func kgMachine(n int) string { return kgID(600 + n) }

const kgCreated = "2025-03-01T09:30:00.000Z"

// kgSignedKey is the fixture's signed license key (key/<payload>.<sig>),
// read from the fixture so the test compares byte for byte.
func kgSignedKey(t *testing.T) string {
	t.Helper()
	p := planKeygen(t)
	for _, l := range p.Licenses {
		if l.SourceID == kgLicense(2) {
			return string(l.Key)
		}
	}
	t.Fatal("no license 2 in the fixture")
	return ""
}

func planKeygen(t *testing.T) *Plan {
	t.Helper()
	p, err := NewPlan(context.Background(), keygenFixture(), nil, nil)
	require.NoError(t, err)
	return p
}

// issueCodes lists a record's rejection (as "rejected:<code>") and warning
// codes.
func issueCodes(r *Record) []string {
	var out []string
	if r.Rejection != nil {
		out = append(out, "rejected:"+r.Rejection.Code)
	}
	for _, w := range r.Warnings {
		out = append(out, w.Code)
	}
	sort.Strings(out)
	return out
}

func recordsByID(p *Plan) map[string]*Record {
	out := map[string]*Record{}
	for _, k := range Kinds {
		p.each(k, func(r *Record) { out[string(k)+":"+r.SourceID] = r })
	}
	return out
}

// TestKeygenPlanIssues: every record of the hostile fixture is accepted or
// rejected for the documented reason, with the documented warnings.
func TestKeygenPlanIssues(t *testing.T) {
	p := planKeygen(t)
	want := map[string][]string{
		"product:" + kgP1:          {},
		"product:" + kgP2:          {},
		"entitlement:" + kgE1:      {},
		"entitlement:" + kgE2:      {"code_changed"},
		"entitlement:" + kgE3:      {},
		"policy:" + kgPol1:         {"duration_rounded", "lossy_expiration", "overage"},
		"policy:" + kgPol2:         {"keep_dead", "resurrection", "uniqueness_loosened"},
		"policy:" + kgP3:           {},
		"license:" + kgLicense(1):  {"over_limit", "uses_not_carried"},
		"license:" + kgLicense(2):  {},
		"license:" + kgLicense(3):  {"banned_as_suspended"},
		"license:" + kgLicense(4):  {},
		"license:" + kgLicense(5):  {"rejected:no_key"},
		"license:" + kgLicense(6):  {"rejected:empty_key"},
		"license:" + kgLicense(7):  {"rejected:duplicate_key"},
		"license:" + kgLicense(8):  {"rejected:malformed_date"},
		"license:" + kgLicense(9):  {"additional_users", "pending_expiry"},
		"license:" + kgLicense(10): {"over_limit"},
		"license:" + kgLicense(11): {"rejected:unknown_policy"},
		"machine:" + kgMachine(1):  {},
		"machine:" + kgMachine(2):  {},
		"machine:" + kgMachine(3):  {},
		"machine:" + kgMachine(4):  {},
		"machine:" + kgMachine(5):  {},
		"machine:" + kgMachine(6):  {"rejected:invalid_fingerprint"},
		"machine:" + kgMachine(7):  {"rejected:parent_rejected"},
		"machine:" + kgMachine(8):  {},
		"machine:" + kgMachine(10): {"rejected:fingerprint_conflict"},
		"machine:" + kgMachine(11): {"unknown_platform"},
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
		assert.NotEmpty(t, r.Origin, id)
	}
	assert.Equal(t, "licenses-2.json record 2", got["license:"+kgLicense(7)].Origin)
	assert.Equal(t, "v1.5/licenses.json record 1", got["license:"+kgLicense(9)].Origin)

	var notes []string
	for _, n := range p.Notes {
		notes = append(notes, n.Code)
	}
	assert.ElementsMatch(t, []string{"unmapped_type", "users"}, notes)
	assert.Contains(t, p.Notes[len(p.Notes)-1].Message, "5 user(s): 3 folded")
	assert.Contains(t, p.Notes[len(p.Notes)-1].Message, "1 with another role than user and 1 without a license")
}

// TestKeygenImportEveryField imports the Keygen fixture into licentrictest
// and checks every mapped field of every record as the API returns it.
func TestKeygenImportEveryField(t *testing.T) {
	_, c := newTarget(t)
	plan, res := runImport(t, c, keygenFixture(), filepath.Join(t.TempDir(), "journal"))
	require.Zero(t, res.Failed(), "failures: %+v", res.Outcomes)
	assert.Equal(t, ResultCounts{Created: 6}, res.Counts(KindLicense))
	assert.Equal(t, ResultCounts{Created: 7}, res.Counts(KindMachine))
	signed := kgSignedKey(t)
	require.Greater(t, len(signed), 300)
	require.True(t, strings.HasPrefix(signed, "key/"))

	st := readTarget(t, c)
	// Products.
	require.Len(t, st.products, 2)
	prod := map[string]*licentric.Product{} // by source id
	for _, p := range st.products {
		_, src := withoutSource(p.Metadata)
		prod[src["id"].(string)] = p
	}
	p1, p2 := prod[kgP1], prod[kgP2]
	require.NotNil(t, p1)
	require.NotNil(t, p2)
	assert.Equal(t, "Desktop Pro", p1.Name)
	assert.Equal(t, "desktop-pro", p1.Code)
	assert.Equal(t, jsonOf(t, map[string]any{
		"tier": "gold", "url": "https://example.com/desktop", "platforms": []string{"macOS", "Windows"},
		"distributionStrategy": "LICENSED",
		SourceKey:              map[string]any{"system": "keygen", "id": kgP1, "created": kgCreated},
	}), jsonOf(t, p1.Metadata))
	assert.Equal(t, "Ünïcode Studio ✨", p2.Name)
	assert.Equal(t, "unicode-studio", p2.Code, "a null code becomes the slug of the name")
	assert.Equal(t, jsonOf(t, map[string]any{
		"distributionStrategy": "OPEN",
		SourceKey:              map[string]any{"system": "keygen", "id": kgP2, "created": kgCreated},
	}), jsonOf(t, p2.Metadata))

	// Entitlements.
	require.Len(t, st.entitlements, 3)
	for code, want := range map[string]struct{ name, id string }{
		"pdf-export": {"PDF export", kgE1}, "cloud_sync": {"Cloud sync", kgE2}, "priority-support": {"Priority support", kgE3},
	} {
		e := st.entitlements[code]
		require.NotNil(t, e, code)
		assert.Equal(t, want.name, e.Name)
		rest, src := withoutSource(e.Metadata)
		assert.Equal(t, want.id, src["id"])
		assert.Equal(t, "keygen", src["system"])
		if code == "cloud_sync" {
			assert.Equal(t, "CLOUD_SYNC", src["code"], "the original code is kept")
			assert.Equal(t, map[string]any{"beta": true}, rest)
		} else {
			assert.Empty(t, rest)
		}
	}

	// Policies.
	require.Len(t, st.policies, 3)
	pol := map[string]*licentric.Policy{}
	for _, p := range st.policies {
		_, src := withoutSource(p.Metadata)
		pol[src["id"].(string)] = p
	}
	type wantPolicy struct {
		product                            string
		name                               string
		maxMachines, maxUses, durationDays *int
		floating                           bool
		strategy                           string
		heartbeat                          bool
		interval                           int
		cull                               string
		fingerprint                        bool
		uniqueness                         string
		offline                            bool
		offlineDays                        int
		trial                              bool
		trialDays                          *int
		overridable                        bool
		entitlements                       []string
		metadata                           map[string]any
		source                             map[string]any
	}
	for id, w := range map[string]wantPolicy{
		kgPol1: {product: p1.ID, name: "Desktop Yearly", maxMachines: intPtr(1), durationDays: intPtr(366),
			strategy: "ALLOW_ACCESS", interval: 10, cull: "DEACTIVATE_DEAD", fingerprint: true, uniqueness: "PER_LICENSE",
			offline: true, offlineDays: 14, overridable: true, metadata: map[string]any{},
			source: map[string]any{"expirationBasis": "FROM_CREATION", "overageStrategy": "ALLOW_1_25X", "scheme": "ED25519_SIGN",
				"checkInInterval": "week", "checkInIntervalCount": float64(2), "created": kgCreated}},
		kgPol2: {product: p1.ID, name: "Floating Team", maxMachines: intPtr(5), maxUses: intPtr(1000), floating: true,
			strategy: "REVOKE", heartbeat: true, interval: 60, cull: "KEEP_DEAD", uniqueness: "PER_POLICY",
			offlineDays: 14, overridable: true, entitlements: []string{"cloud_sync", "pdf-export"}, metadata: map[string]any{},
			source: map[string]any{"heartbeatResurrectionStrategy": "ALWAYS_REVIVE"}},
		kgP3: {product: p2.ID, name: "Studio Trial 14 days", durationDays: intPtr(14), floating: true,
			strategy: "RESTRICT_ACCESS", interval: 10, cull: "DEACTIVATE_DEAD", uniqueness: "PER_ACCOUNT",
			offlineDays: 14, trial: true, trialDays: intPtr(14),
			metadata: map[string]any{"trial": true, "legacy_key": "x"},
			source:   map[string]any{"expirationBasis": "FROM_FIRST_ACTIVATION"}},
	} {
		p := pol[id]
		require.NotNil(t, p, id)
		assert.Equal(t, w.product, p.ProductID, id)
		assert.Equal(t, w.name, p.Name, id)
		assert.Equal(t, w.maxMachines, p.MaxMachines, id)
		assert.Equal(t, w.maxUses, p.MaxUses, id)
		assert.Equal(t, w.durationDays, p.DurationDays, id)
		assert.Equal(t, w.floating, p.Floating, id)
		assert.Equal(t, w.strategy, p.ExpirationStrategy, id)
		assert.Equal(t, w.heartbeat, p.RequireHeartbeat, id)
		assert.Equal(t, w.interval, p.HeartbeatIntervalMinutes, id)
		assert.Equal(t, w.cull, p.HeartbeatCullStrategy, id)
		assert.Equal(t, w.fingerprint, p.RequireFingerprint, id)
		assert.Equal(t, w.uniqueness, p.FingerprintUniqueness, id)
		assert.Equal(t, w.offline, p.OfflineAllowed, id)
		assert.Equal(t, w.offlineDays, p.OfflineMaxDays, id)
		assert.Equal(t, w.trial, p.IsTrial, id)
		assert.Equal(t, w.trialDays, p.TrialDurationDays, id)
		assert.Equal(t, w.overridable, p.Overridable, id)
		assert.ElementsMatch(t, w.entitlements, p.Entitlements, id)
		rest, src := withoutSource(p.Metadata)
		assert.Equal(t, w.metadata, rest, id)
		assert.Equal(t, "keygen", src["system"], id)
		for k, v := range w.source {
			assert.Equal(t, v, src[k], "%s: _source.%s", id, k)
		}
	}

	// Licenses, with their machines.
	require.Len(t, st.licenseList, 6)
	type wantMachine struct {
		id, name, platform, hostname string
		cores                        int
		metadata                     map[string]any
		source                       map[string]any
	}
	type wantLicense struct {
		id, name, status, policy, email, userName string
		expires                                   string
		maxMachines, maxUses                      *int
		entitlements                              []string
		metadata, source                          map[string]any
		machines                                  map[string]wantMachine // by fingerprint
	}
	wants := map[string]wantLicense{
		"A1B2C3-D4E5F6-A7B8C9-D0E1F2-A3B4C5-V3": {id: kgLicense(1), name: "Ada's desktop", status: "active", policy: kgPol1,
			email: "ada@example.com", userName: "Ada Lovelace", expires: "2030-01-01T00:00:00Z", maxMachines: intPtr(2),
			metadata: map[string]any{"orderId": "ORD-1", "nested": map[string]any{"snake_case_key": float64(1)}},
			source: map[string]any{"created": kgCreated, "lastValidated": "2025-06-01T10:00:00.000Z", "groupId": kgID(901),
				"uses": float64(42), "status": "ACTIVE", "ownerId": kgID(401)},
			machines: map[string]wantMachine{
				"fp-ada-macbook-0001": {id: kgMachine(1), name: "Ada's MacBook", platform: "macos", hostname: "ada-mbp.local", cores: 8,
					metadata: map[string]any{"os": "14.4"},
					source:   map[string]any{"memory": float64(17179869184), "ip": "192.0.2.10", "heartbeatStatus": "NOT_STARTED", "ownerId": kgID(401)}},
				"fp-ada-old-0008": {id: kgMachine(8), name: "Ada's old PC", platform: "windows", metadata: map[string]any{},
					source: map[string]any{"heartbeatStatus": "DEAD"}},
			}},
		signed: {id: kgLicense(2), name: "Team license", status: "suspended", policy: kgPol2,
			email: "Grace.Hopper@Example.com", maxMachines: intPtr(7), entitlements: []string{"priority-support"},
			metadata: map[string]any{}, source: map[string]any{"status": "SUSPENDED", "scheme": "ED25519_SIGN"},
			machines: map[string]wantMachine{
				"fp-team-0002": {id: kgMachine(2), name: "Build agent 1", platform: "linux", hostname: "ci-1", cores: 16, metadata: map[string]any{},
					source: map[string]any{"heartbeatStatus": "ALIVE", "lastHeartbeat": "2025-06-01T10:00:00.000Z"}},
				"fp-team-0003": {id: kgMachine(3), name: "Build agent 2", platform: "windows", hostname: "ci-2", cores: 4, metadata: map[string]any{}},
			}},
		"legacy/key%20with spaces ünïcode": {id: kgLicense(3), name: "Mallory", status: "suspended", policy: kgPol2,
			email: "mallory@example.com", userName: "Mallory Banned", expires: "2020-06-01T00:00:00Z",
			metadata: map[string]any{}, source: map[string]any{"status": "BANNED"},
			machines: map[string]wantMachine{
				"fp-mallory-0011": {id: kgMachine(11), name: "Mallory's box", hostname: "m.example", metadata: map[string]any{},
					source: map[string]any{"platform": "FreeBSD"}},
			}},
		"EXPIRED-0001": {id: kgLicense(4), name: "Lapsed", status: "expired", policy: kgPol1, expires: "2021-01-01T12:00:00Z",
			metadata: map[string]any{"email": "meta@example.com"}, source: map[string]any{"status": "EXPIRED"}},
		"TRIAL-ÜNICODE-✓-0009": {id: kgLicense(9), name: "Ünïcode trial – 試用", status: "active", policy: kgP3,
			email: "ada@example.com", userName: "Ada Lovelace", metadata: map[string]any{},
			source: map[string]any{"pendingDurationDays": float64(14), "usersCount": float64(2), "ownerId": kgID(401)}},
		"OVERAGE-0010": {id: kgLicense(10), name: "Over the limit", status: "active", policy: kgPol1,
			email: "ada@example.com", userName: "Ada Lovelace", maxMachines: intPtr(2), metadata: map[string]any{},
			machines: map[string]wantMachine{
				"fp-over-0004": {id: kgMachine(4), name: "Over 1", platform: "windows", metadata: map[string]any{}},
				"fp-over-0005": {id: kgMachine(5), name: "Over 2", platform: "macos", metadata: map[string]any{}},
			}},
	}
	ctx := context.Background()
	for key, w := range wants {
		l := st.licenses[key]
		require.NotNil(t, l, "license %s is not in the target under its exact key", w.id)
		assert.Equal(t, key, l.Key, w.id)
		assert.Equal(t, w.name, l.Name, w.id)
		assert.Equal(t, w.status, l.Status, w.id)
		assert.Equal(t, pol[w.policy].ID, l.PolicyID, w.id)
		assert.Equal(t, pol[w.policy].ProductID, l.ProductID, w.id)
		assert.Equal(t, w.email, l.UserEmail, w.id)
		assert.Equal(t, w.userName, l.UserName, w.id)
		if w.expires == "" {
			assert.True(t, l.ExpiresAt.IsZero(), "%s expires %v", w.id, l.ExpiresAt)
		} else {
			assert.True(t, rfc(t, w.expires).Equal(l.ExpiresAt.Time), "%s expires %v", w.id, l.ExpiresAt)
		}
		assert.Equal(t, w.maxMachines, l.MaxMachinesOverride, w.id)
		assert.Equal(t, w.maxUses, l.MaxUsesOverride, w.id)
		assert.ElementsMatch(t, w.entitlements, l.Entitlements, w.id)
		rest, src := withoutSource(l.Metadata)
		assert.Equal(t, jsonOf(t, w.metadata), jsonOf(t, rest), w.id)
		assert.Equal(t, "keygen", src["system"], w.id)
		assert.Equal(t, w.id, src["id"], w.id)
		assert.NotContains(t, src, "key", "the key is not copied into metadata")
		for k, v := range w.source {
			assert.Equal(t, v, src[k], "%s: _source.%s", w.id, k)
		}
		full, err := c.Licenses.Get(ctx, l.ID)
		require.NoError(t, err)
		require.Len(t, full.Machines, len(w.machines), w.id)
		for _, m := range full.Machines {
			wm, ok := w.machines[m.Fingerprint]
			require.True(t, ok, "unexpected machine %s on %s", m.Fingerprint, w.id)
			assert.Equal(t, wm.name, m.Name)
			assert.Equal(t, wm.platform, m.Platform)
			assert.Equal(t, wm.hostname, m.Hostname)
			assert.Equal(t, wm.cores, m.Cores)
			mrest, msrc := withoutSource(m.Metadata)
			assert.Equal(t, jsonOf(t, wm.metadata), jsonOf(t, mrest), wm.id)
			assert.Equal(t, wm.id, msrc["id"])
			for k, v := range wm.source {
				assert.Equal(t, v, msrc[k], "%s: _source.%s", wm.id, k)
			}
		}
	}
	assert.Len(t, st.machineList, 7)
	assert.Equal(t, 21, plan.ToImport())
}

// TestKeygenJournalMatchesTarget: after an import every accepted record has
// a done journal entry naming the Licentric record that carries its source.
func TestKeygenJournalMatchesTarget(t *testing.T) {
	_, c := newTarget(t)
	path := filepath.Join(t.TempDir(), "journal")
	plan, _ := runImport(t, c, keygenFixture(), path)
	j, err := ReadJournal(path)
	require.NoError(t, err)
	st := readTarget(t, c)
	check := func(k Kind, r *Record, md licentric.Metadata, ok bool) {
		t.Helper()
		require.True(t, ok, "%s %s not in the target", k, r.SourceID)
		assert.True(t, ours(md, SystemKeygen, r.SourceID), "%s %s", k, r.SourceID)
	}
	n := 0
	for _, k := range Kinds {
		plan.each(k, func(r *Record) {
			e, ok := j.Lookup(k, r.SourceID)
			if !r.Accepted() {
				assert.False(t, ok, "rejected %s %s is journaled", k, r.SourceID)
				return
			}
			n++
			require.True(t, ok, "%s %s is not journaled", k, r.SourceID)
			assert.Equal(t, StateDone, e.State)
			switch k {
			case KindProduct:
				p, ok := st.products[e.ID]
				check(k, r, p.Metadata, ok)
			case KindPolicy:
				p, ok := st.policies[e.ID]
				check(k, r, p.Metadata, ok)
			case KindEntitlement:
				found := false
				for _, ent := range st.entitlements {
					if ent.ID == e.ID {
						check(k, r, ent.Metadata, true)
						found = true
					}
				}
				assert.True(t, found)
			case KindLicense:
				l, err := c.Licenses.Get(context.Background(), e.ID)
				require.NoError(t, err)
				check(k, r, l.Metadata, true)
			case KindMachine:
				m, err := c.Machines.Get(context.Background(), e.ID)
				require.NoError(t, err)
				check(k, r, m.Metadata, true)
			}
		})
	}
	assert.Equal(t, n, j.Len())
}

// TestKeygenEmailFromMetadata: the opt-in flag takes an email from license
// metadata when the license has no owner.
func TestKeygenEmailFromMetadata(t *testing.T) {
	src := keygenFixture()
	src.EmailMetadataKey = "email"
	p, err := NewPlan(context.Background(), src, nil, nil)
	require.NoError(t, err)
	for _, l := range p.Licenses {
		if l.SourceID == kgLicense(4) {
			assert.Equal(t, "meta@example.com", l.UserEmail)
			return
		}
	}
	t.Fatal("license 4 missing")
}

// TestKeygenSkipDeadMachines leaves DEAD machines out when asked.
func TestKeygenSkipDeadMachines(t *testing.T) {
	src := keygenFixture()
	src.SkipDeadMachines = true
	p, err := NewPlan(context.Background(), src, nil, nil)
	require.NoError(t, err)
	for _, m := range p.Machines {
		assert.NotEqual(t, kgMachine(8), m.SourceID)
	}
	found := false
	for _, n := range p.Notes {
		found = found || n.Code == "dead_machines_skipped"
	}
	assert.True(t, found)
	for _, l := range p.Licenses {
		if l.SourceID == kgLicense(1) {
			assert.Nil(t, l.MaxMachinesOverride, "one machine left: no raise over the limit")
		}
	}
}

// fakeKeygen serves the fixture's pages as a Keygen API: each list in
// pages of two, linked by relative links.next with percent-encoded
// brackets, after checking the token and the Keygen-Version header.
type fakeKeygen struct {
	t        *testing.T
	srv      *httptest.Server
	byType   map[string][]*kgResource
	subLists map[string][]*kgResource // "policies/<id>" or "licenses/<id>"
	requests atomic.Int64
	fail503  atomic.Int64 // answer this many requests with 503 first
	badNext  string       // a links.next to send instead of the real one
}

const fakeToken = "admin-0123456789abcdef"

func newFakeKeygen(t *testing.T) *fakeKeygen {
	t.Helper()
	kg := newKeygenData(nil)
	require.NoError(t, kg.readDir(context.Background(), filepath.Join("testdata", "keygen")))
	f := &fakeKeygen{t: t, byType: kg.byType, subLists: map[string][]*kgResource{}}
	for id, ents := range kg.policyEnts {
		for _, e := range ents {
			f.subLists["policies/"+id] = append(f.subLists["policies/"+id], kg.index["entitlements/"+e])
		}
	}
	for id, ents := range kg.licenseEnt {
		for _, e := range ents {
			f.subLists["licenses/"+id] = append(f.subLists["licenses/"+id], kg.index["entitlements/"+e])
		}
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeKeygen) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if f.fail503.Add(-1) >= 0 {
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+fakeToken {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"errors":[{"title":"Unauthorized","detail":"must be authenticated","code":"TOKEN_INVALID"}]}`))
		return
	}
	if r.Header.Get("Keygen-Version") != KeygenVersion || r.Header.Get("Accept") != "application/vnd.api+json" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	const prefix = "/v1/accounts/acct-1f2e/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, prefix)
	var items []*kgResource
	if typ, ok := strings.CutSuffix(rest, "/entitlements"); ok {
		items = f.subLists[typ]
	} else {
		items = f.byType[rest]
	}
	q := r.URL.Query()
	if q.Get("page[size]") != "100" && q.Get("page[size]") != "2" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	num := 1
	fmt.Sscanf(q.Get("page[number]"), "%d", &num)
	const size = 2
	lo := min((num-1)*size, len(items))
	hi := min(lo+size, len(items))
	page := make([]map[string]any, 0, hi-lo)
	for _, it := range items[lo:hi] {
		page = append(page, map[string]any{"id": it.ID, "type": it.Type, "attributes": it.Attributes, "relationships": it.Relationships})
	}
	var next any
	if hi < len(items) {
		next = fmt.Sprintf("%s?page%%5Bnumber%%5D=%d&page%%5Bsize%%5D=2", r.URL.Path, num+1)
		if f.badNext != "" {
			next = f.badNext
		}
	}
	w.Header().Set("Content-Type", "application/vnd.api+json")
	writeJSONBody(w, map[string]any{"data": page, "links": map[string]any{"self": r.URL.RequestURI(), "next": next}})
}

// TestKeygenAPIMatchesDirectory: reading the account through the API, paged
// by links.next, gives the same plan as the saved responses.
func TestKeygenAPIMatchesDirectory(t *testing.T) {
	f := newFakeKeygen(t)
	api := &Keygen{BaseURL: f.srv.URL, Account: "acct-1f2e", Token: fakeToken}
	got, err := NewPlan(context.Background(), api, nil, nil)
	require.NoError(t, err)
	want := planKeygen(t)
	for _, k := range Kinds {
		assert.Equal(t, want.Counts(k), got.Counts(k), k)
	}
	byID := recordsByID(got)
	for id, r := range recordsByID(want) {
		g := byID[id]
		require.NotNil(t, g, id)
		assert.Equal(t, issueCodes(r), issueCodes(g), id)
		assert.Equal(t, r.hash, g.hash, "%s maps the same way through the API", id)
		assert.True(t, strings.HasPrefix(g.Origin, "GET /v1/accounts/acct-1f2e/"), g.Origin)
	}
	assert.Greater(t, f.requests.Load(), int64(20), "pages of two were followed")
}

// TestKeygenAPIErrors: a bad token, a link to another host and a server
// that keeps failing are errors that name no secret.
func TestKeygenAPIErrors(t *testing.T) {
	ctx := context.Background()
	f := newFakeKeygen(t)
	_, err := NewPlan(ctx, &Keygen{BaseURL: f.srv.URL, Account: "acct-1f2e", Token: "wrong-token-secret"}, nil, nil)
	require.ErrorIs(t, err, ErrSource)
	assert.Contains(t, err.Error(), "refused the token")
	assert.NotContains(t, err.Error(), "wrong-token-secret")

	f.badNext = "https://evil.example/v1/accounts/acct-1f2e/licenses?page%5Bnumber%5D=2"
	_, err = NewPlan(ctx, &Keygen{BaseURL: f.srv.URL, Account: "acct-1f2e", Token: fakeToken}, nil, nil)
	require.ErrorIs(t, err, ErrSource)
	assert.Contains(t, err.Error(), "another host")
	f.badNext = ""

	f.fail503.Store(2) // retried, with Retry-After 0
	_, err = NewPlan(ctx, &Keygen{BaseURL: f.srv.URL, Account: "acct-1f2e", Token: fakeToken, Clock: instant{}}, nil, nil)
	require.NoError(t, err)

	_, err = NewPlan(ctx, &Keygen{BaseURL: "http://keygen.example.com", Account: "a", Token: "t"}, nil, nil)
	require.Error(t, err, "plain http off loopback is refused")
	_, err = NewPlan(ctx, &Keygen{Dir: t.TempDir()}, nil, nil)
	require.ErrorIs(t, err, ErrMalformedSource, "an empty directory")
}

// TestKeygenDirBadFile: a file that is not a JSON:API document fails the
// plan with the file's name.
func TestKeygenDirBadFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "licenses.json"), []byte(`{"errors":[{"title":"Not found"}]}`), 0o600))
	_, err := NewPlan(context.Background(), &Keygen{Dir: dir}, nil, nil)
	require.ErrorIs(t, err, ErrMalformedSource)
	assert.Contains(t, err.Error(), "licenses.json")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "licenses.json"), []byte(`not json`), 0o600))
	_, err = NewPlan(context.Background(), &Keygen{Dir: dir}, nil, nil)
	require.ErrorIs(t, err, ErrMalformedSource)
}

// instant is a clock whose waits end at once.
type instant struct{}

func (instant) Now() time.Time { return time.Now() }
func (instant) After(time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- time.Now()
	return ch
}

// TestKeygenAPIRedirectsStayOnOrigin: the token goes only where links.next
// may lead. A redirect to another port of the same host, or from https to
// plain http, is refused without sending the token (Go's client would keep
// Authorization on both, since the host name is the same) and without
// retrying; a redirect within the API's origin is followed.
func TestKeygenAPIRedirectsStayOnOrigin(t *testing.T) {
	ctx := context.Background()
	var leaked atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
		writeJSONBody(w, map[string]any{"data": []any{}})
	}))
	t.Cleanup(elsewhere.Close)

	f := newFakeKeygen(t)
	var redirects atomic.Int64
	redirectTo := func(target string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/licenses") {
				redirects.Add(1)
				http.Redirect(w, r, target+r.URL.RequestURI(), http.StatusFound)
				return
			}
			f.serve(w, r)
		})
	}
	for name, tc := range map[string]struct {
		tls bool
	}{
		"another port":  {tls: false},
		"https to http": {tls: true},
	} {
		t.Run(name, func(t *testing.T) {
			leaked.Store(0)
			redirects.Store(0)
			var api *httptest.Server
			if tc.tls {
				api = httptest.NewTLSServer(redirectTo(elsewhere.URL))
			} else {
				api = httptest.NewServer(redirectTo(elsewhere.URL))
			}
			t.Cleanup(api.Close)
			_, err := NewPlan(ctx, &Keygen{BaseURL: api.URL, Account: "acct-1f2e", Token: fakeToken, HTTPClient: api.Client(), Clock: instant{}}, nil, nil)
			require.ErrorIs(t, err, ErrSource)
			assert.Contains(t, err.Error(), "redirect")
			assert.NotContains(t, err.Error(), fakeToken)
			assert.Zero(t, leaked.Load(), "the token reached another origin")
			assert.Equal(t, int64(1), redirects.Load(), "a refused redirect is not retried")
		})
	}

	// Within the origin a redirect is followed, token and all.
	same := httptest.NewServer(nil)
	t.Cleanup(same.Close)
	same.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, "/old"); ok {
			http.Redirect(w, r, rest+"?"+r.URL.RawQuery, http.StatusMovedPermanently)
			return
		}
		f.serve(w, r)
	})
	got, err := NewPlan(ctx, &Keygen{BaseURL: same.URL + "/old", Account: "acct-1f2e", Token: fakeToken}, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, planKeygen(t).Counts(KindLicense), got.Counts(KindLicense))

	// A redirect loop within the origin ends after a few hops, unretried.
	var hops atomic.Int64
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hops.Add(1)
		http.Redirect(w, r, r.URL.RequestURI(), http.StatusFound)
	}))
	t.Cleanup(loop.Close)
	_, err = NewPlan(ctx, &Keygen{BaseURL: loop.URL, Account: "acct-1f2e", Token: fakeToken, Clock: instant{}}, nil, nil)
	require.ErrorIs(t, err, ErrSource)
	assert.Contains(t, err.Error(), "redirects")
	assert.Equal(t, int64(maxKeygenRedirects+1), hops.Load())
}

// endlessKeygen is a hostile Keygen API: every list has one more page, each
// of perPage new records of pad bytes, up to stopAt records in all (0: it
// never ends). It counts the bytes and records it served.
type endlessKeygen struct {
	srv              *httptest.Server
	perPage, stopAt  int
	pad              int
	served, recordsN atomic.Int64
}

func newEndlessKeygen(t *testing.T, perPage, stopAt, pad int) *endlessKeygen {
	t.Helper()
	e := &endlessKeygen{perPage: perPage, stopAt: stopAt, pad: pad}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(r.URL.Query().Get("page[number]"), "%d", &n)
		if !strings.HasSuffix(r.URL.Path, "/licenses") {
			writeJSONBody(w, map[string]any{"data": []any{}})
			return
		}
		var b strings.Builder
		b.WriteString(`{"data":[`)
		for i := range e.perPage {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"lic-%d-%d","type":"licenses","attributes":{"key":"K-%d-%d","metadata":{"pad":%q}}}`,
				n, i, n, i, strings.Repeat("x", e.pad))
		}
		next := fmt.Sprintf(`"%s?page%%5Bnumber%%5D=%d&page%%5Bsize%%5D=100"`, r.URL.Path, n+1)
		if e.stopAt > 0 && (n+1)*e.perPage >= e.stopAt {
			next = "null"
		}
		fmt.Fprintf(&b, `],"links":{"next":%s}}`, next)
		e.recordsN.Add(int64(e.perPage))
		e.served.Add(int64(b.Len()))
		_, _ = io.WriteString(w, b.String())
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// TestKeygenAPIEndlessPagesAreCapped: an API whose links.next never ends
// is read up to the record cap (by default DefaultMaxRecords, which fits an
// ordinary machine: see TestDefaultCapsFitAnOrdinaryMachine) or the byte
// cap, whichever comes first, and no further: the plan fails with
// ErrSourceTooLarge naming the cap.
func TestKeygenAPIEndlessPagesAreCapped(t *testing.T) {
	ctx := context.Background()
	src := func(e *endlessKeygen) *Keygen {
		return &Keygen{BaseURL: e.srv.URL, Account: "hostile", Token: fakeToken}
	}

	// The defaults: the API stops after 450,000 records, but the plan
	// stops at the default cap.
	e := newEndlessKeygen(t, 10_000, 450_000, 0)
	_, err := NewPlan(ctx, src(e), nil, nil)
	require.ErrorIs(t, err, ErrSourceTooLarge)
	assert.Contains(t, err.Error(), fmt.Sprint(DefaultMaxRecords))
	assert.LessOrEqual(t, e.recordsN.Load(), int64(DefaultMaxRecords+e.perPage))

	e = newEndlessKeygen(t, 100, 0, 0)
	_, err = NewPlan(ctx, src(e), nil, &PlanOptions{MaxRecords: 1000})
	require.ErrorIs(t, err, ErrSourceTooLarge)
	assert.Contains(t, err.Error(), "more than 1000 records")
	assert.LessOrEqual(t, e.recordsN.Load(), int64(1100))

	// Few records of many bytes: the byte cap ends it.
	e = newEndlessKeygen(t, 1, 0, 64<<10)
	_, err = NewPlan(ctx, src(e), nil, &PlanOptions{MaxSourceBytes: 1 << 20})
	require.ErrorIs(t, err, ErrSourceTooLarge)
	assert.Contains(t, err.Error(), "bytes")
	assert.LessOrEqual(t, e.served.Load(), int64(1<<20+70<<10))
}
