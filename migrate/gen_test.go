package migrate

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
)

// genKeygen writes a Keygen export of n licenses under dir, in pages of
// 100: two products, three policies, licenses with every status (a tenth
// suspended, a tenth expired, one in 25 of a banned owner, some of them
// both suspended and expired), every fifth with a machine, and one in
// seven with a signed key/... key, a key with '/', '%' and spaces, or a
// non-ASCII key.
func genKeygen(t testing.TB, dir string, n int) { genKeygenMachines(t, dir, n, 5) }

// genKeygenMachines is genKeygen with a machine on every machineEvery-th
// license (none when 0).
func genKeygenMachines(t testing.TB, dir string, n, machineEvery int) {
	t.Helper()
	write := func(name string, typ string, items []map[string]any) {
		for i := 0; i*100 < len(items) || i == 0; i++ {
			hi := min(len(items), (i+1)*100)
			page := map[string]any{"data": items[i*100 : hi], "links": map[string]any{"self": "/v1/accounts/gen/" + typ, "next": nil}}
			b, err := json.Marshal(page)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%04d.json", name, i)), b, 0o600))
		}
	}
	res := func(typ, id string, attrs map[string]any, rels map[string]any) map[string]any {
		return map[string]any{"id": id, "type": typ, "attributes": attrs, "relationships": rels}
	}
	rel := func(typ, id string) map[string]any {
		return map[string]any{"data": map[string]any{"type": typ, "id": id}}
	}
	write("products", "products", []map[string]any{
		res("products", "g-prod-1", map[string]any{"name": "Gen One", "code": "gen-one"}, nil),
		res("products", "g-prod-2", map[string]any{"name": "Gen Two", "code": nil}, nil),
	})
	write("entitlements", "entitlements", []map[string]any{
		res("entitlements", "g-ent-1", map[string]any{"name": "Feature", "code": "feature"}, nil),
	})
	write("policies", "policies", []map[string]any{
		res("policies", "g-pol-1", map[string]any{"name": "Node", "floating": false, "maxMachines": 1, "duration": 86400 * 30,
			"requireFingerprintScope": true}, map[string]any{"product": rel("products", "g-prod-1")}),
		res("policies", "g-pol-2", map[string]any{"name": "Float", "floating": true, "maxMachines": 3, "expirationStrategy": "ALLOW_ACCESS",
			"machineUniquenessStrategy": "UNIQUE_PER_POLICY"}, map[string]any{"product": rel("products", "g-prod-1")}),
		res("policies", "g-pol-3", map[string]any{"name": "Open", "floating": true, "maxMachines": nil},
			map[string]any{"product": rel("products", "g-prod-2")}),
	})
	users := []map[string]any{
		res("users", "g-user-1", map[string]any{"email": "one@example.com", "firstName": "One", "lastName": "User", "role": "user", "status": "ACTIVE"}, nil),
		res("users", "g-user-2", map[string]any{"email": "two@example.com", "firstName": "Two", "lastName": "User", "role": "user", "status": "BANNED"}, nil),
	}
	write("users", "users", users)
	var lics, machines []map[string]any
	for i := range n {
		id := fmt.Sprintf("g-lic-%05d", i)
		key := fmt.Sprintf("GEN-%05d-ABCD-EFGH", i)
		switch i % 7 {
		case 3:
			key = fmt.Sprintf("key/%s%05d.MEUCIQD-sig_%05d", strings.Repeat("eyJ2IjoxfQ", 32), i, i)
		case 5:
			key = fmt.Sprintf("legacy/%05d%%20with space", i)
		case 6:
			key = fmt.Sprintf("ÜNICODE-✓-%05d", i)
		}
		pol := []string{"g-pol-1", "g-pol-2", "g-pol-3"}[i%3]
		prod := "g-prod-1"
		if pol == "g-pol-3" {
			prod = "g-prod-2"
		}
		attrs := map[string]any{"key": key, "name": fmt.Sprintf("License %d", i), "suspended": i%10 == 1,
			"metadata": map[string]any{"n": i}}
		switch {
		case i%10 == 2 || i%20 == 1: // expired; some of them suspended too
			attrs["expiry"] = "2020-01-01T00:00:00.000Z"
		case i%2 == 0:
			attrs["expiry"] = "2031-06-01T00:00:00.000Z"
		}
		switch pol {
		case "g-pol-1":
			attrs["maxMachines"] = 1
		case "g-pol-2":
			attrs["maxMachines"] = 3
		}
		owner := "g-user-1"
		if i%25 == 4 {
			owner = "g-user-2"
		}
		lics = append(lics, res("licenses", id, attrs, map[string]any{"policy": rel("policies", pol), "product": rel("products", prod),
			"owner": rel("users", owner)}))
		if machineEvery > 0 && i%machineEvery == 0 {
			machines = append(machines, res("machines", fmt.Sprintf("g-mach-%05d", i),
				map[string]any{"fingerprint": fmt.Sprintf("gen-fingerprint-%05d", i), "name": fmt.Sprintf("Machine %d", i), "platform": "Linux", "cores": 2},
				map[string]any{"license": rel("licenses", id)}))
		}
	}
	write("licenses", "licenses", lics)
	write("machines", "machines", machines)
}

// checkAgainstPlan checks that the target holds exactly one record per
// accepted record of the plan, with every mapped field as the plan says,
// and, when journal is not empty, that the journal names each of them.
func checkAgainstPlan(t testing.TB, c *licentric.Client, p *Plan, journalPath string) {
	t.Helper()
	st := readTarget(t, c)
	bySource := func(md licentric.Metadata) string {
		s, id, ok := sourceOf(md)
		if !ok || s != p.System {
			return ""
		}
		return id
	}
	var j *Journal
	if journalPath != "" {
		var err error
		j, err = ReadJournal(journalPath)
		require.NoError(t, err)
	}
	journaled := func(k Kind, src, id string) {
		if j == nil {
			return
		}
		e, ok := j.Lookup(k, src)
		if assert.True(t, ok, "%s %s is not journaled", k, src) {
			assert.Equal(t, StateDone, e.State, "%s %s", k, src)
			assert.Equal(t, id, e.ID, "%s %s: journal and target disagree", k, src)
		}
	}
	products := map[string]*licentric.Product{}
	for _, pr := range st.products {
		src := bySource(pr.Metadata)
		require.NotContains(t, products, src, "product %s twice", src)
		products[src] = pr
	}
	n := 0
	for _, want := range p.Products {
		if !want.Accepted() {
			continue
		}
		n++
		got := products[want.SourceID]
		require.NotNil(t, got, "product %s", want.SourceID)
		assert.Equal(t, want.Name, got.Name)
		assert.Equal(t, want.Code, got.Code)
		assert.Equal(t, jsonOf(t, want.Metadata), jsonOf(t, got.Metadata))
		journaled(KindProduct, want.SourceID, got.ID)
	}
	assert.Len(t, products, n)
	policies := map[string]*licentric.Policy{}
	for _, pol := range st.policies {
		src := bySource(pol.Metadata)
		require.NotContains(t, policies, src, "policy %s twice", src)
		policies[src] = pol
	}
	n = 0
	for _, want := range p.Policies {
		if !want.Accepted() {
			continue
		}
		n++
		got := policies[want.SourceID]
		require.NotNil(t, got, "policy %s", want.SourceID)
		assert.Equal(t, products[want.ProductSource].ID, got.ProductID)
		assert.Equal(t, want.Name, got.Name)
		assert.Equal(t, want.MaxMachines, got.MaxMachines)
		assert.Equal(t, want.DurationDays, got.DurationDays)
		assert.Equal(t, want.ExpirationStrategy, got.ExpirationStrategy)
		assert.Equal(t, want.FingerprintUniqueness, got.FingerprintUniqueness)
		assert.ElementsMatch(t, want.Entitlements, got.Entitlements)
		assert.Equal(t, jsonOf(t, want.Metadata), jsonOf(t, got.Metadata))
		journaled(KindPolicy, want.SourceID, got.ID)
	}
	assert.Len(t, policies, n)
	licenses := map[string]*licentric.License{}
	for _, l := range st.licenseList {
		src := bySource(l.Metadata)
		require.NotContains(t, licenses, src, "license %s twice", src)
		licenses[src] = l
	}
	n = 0
	for _, want := range p.Licenses {
		if !want.Accepted() {
			continue
		}
		n++
		got := licenses[want.SourceID]
		require.NotNil(t, got, "license %s", want.SourceID)
		assert.Equal(t, string(want.Key), got.Key, want.SourceID)
		assert.Equal(t, want.Name, got.Name, want.SourceID)
		assert.Equal(t, wantStatus(want, time.Now()), got.Status, want.SourceID)
		assert.True(t, sameTime(want.ExpiresAt, got.ExpiresAt.Time), "%s: expires %v, want %v", want.SourceID, got.ExpiresAt, want.ExpiresAt)
		assert.Equal(t, policies[want.PolicySource].ID, got.PolicyID, want.SourceID)
		assert.Equal(t, want.UserEmail, got.UserEmail, want.SourceID)
		assert.Equal(t, want.UserName, got.UserName, want.SourceID)
		assert.Equal(t, want.MaxMachinesOverride, got.MaxMachinesOverride, want.SourceID)
		assert.Equal(t, want.MaxUsesOverride, got.MaxUsesOverride, want.SourceID)
		assert.ElementsMatch(t, want.Entitlements, got.Entitlements, want.SourceID)
		assert.Equal(t, jsonOf(t, want.Metadata), jsonOf(t, got.Metadata), want.SourceID)
		journaled(KindLicense, want.SourceID, got.ID)
	}
	assert.Len(t, licenses, n, "one license per accepted source record")
	machines := map[string]*licentric.Machine{}
	for _, m := range st.machineList {
		src := bySource(m.Metadata)
		require.NotContains(t, machines, src, "machine %s twice", src)
		machines[src] = m
	}
	n = 0
	for _, want := range p.Machines {
		if !want.Accepted() {
			continue
		}
		n++
		got := machines[want.SourceID]
		require.NotNil(t, got, "machine %s", want.SourceID)
		assert.Equal(t, licenses[want.LicenseSource].ID, got.LicenseID)
		assert.Equal(t, want.Fingerprint, got.Fingerprint)
		assert.Equal(t, want.Name, got.Name)
		assert.Equal(t, want.Platform, got.Platform)
		assert.Equal(t, want.Cores, got.Cores)
		assert.Equal(t, jsonOf(t, want.Metadata), jsonOf(t, got.Metadata))
		journaled(KindMachine, want.SourceID, got.ID)
	}
	assert.Len(t, machines, n)
}

// planOf plans src with no target.
func planOf(t testing.TB, src Source) *Plan {
	t.Helper()
	p, err := NewPlan(context.Background(), src, nil, nil)
	require.NoError(t, err)
	return p
}

// realisticKeygenLicense is a Keygen license as the API sends it, with
// every attribute and relationship (about 1.7 KB of JSON).
func realisticKeygenLicense(i int) map[string]any {
	link := func(p string) map[string]any { return map[string]any{"related": "/v1/accounts/0b0b/licenses/" + p} }
	rel := func(typ, id string) map[string]any {
		return map[string]any{"links": link(typ), "data": map[string]any{"type": typ, "id": id}}
	}
	return map[string]any{
		"id": fmt.Sprintf("9a7c6e10-4b2d-4c1e-8f00-%012d", i), "type": "licenses",
		"attributes": map[string]any{
			"name": fmt.Sprintf("License %d", i), "key": fmt.Sprintf("A1B2C3-D4E5F6-A7B8C9-D0E1F2-%06d-V3", i),
			"expiry": "2031-06-01T00:00:00.000Z", "status": "ACTIVE", "uses": 0, "suspended": false, "scheme": nil,
			"encrypted": false, "strict": false, "floating": false, "protected": false, "version": "1.0",
			"maxMachines": 1, "maxProcesses": nil, "maxUsers": nil, "maxCores": nil, "maxUses": nil,
			"requireHeartbeat": false, "requireCheckIn": false, "lastValidated": "2025-03-01T09:30:00.000Z",
			"lastCheckIn": nil, "nextCheckIn": nil, "lastCheckOut": nil,
			"permissions": []string{"license.read", "license.validate", "machine.create", "machine.read"},
			"metadata":    map[string]any{"customerId": fmt.Sprintf("cus_%08d", i), "plan": "pro"},
			"created":     "2025-03-01T09:30:00.000Z", "updated": "2025-03-01T09:30:00.000Z",
		},
		"relationships": map[string]any{
			"account": rel("accounts", "0b0b"), "environment": map[string]any{"links": nil, "data": nil},
			"product": rel("products", "g-prod-1"), "policy": rel("policies", "g-pol-1"),
			"group":        map[string]any{"links": link("group"), "data": nil},
			"owner":        rel("users", "g-user-1"),
			"users":        map[string]any{"links": link("users"), "meta": map[string]any{"count": 0}},
			"machines":     map[string]any{"links": link("machines"), "meta": map[string]any{"cores": 0, "count": 0}},
			"tokens":       map[string]any{"links": link("tokens")},
			"entitlements": map[string]any{"links": link("entitlements")},
		},
		"links": map[string]any{"self": "/v1/accounts/0b0b/licenses/x"},
	}
}

// TestDefaultCapsFitAnOrdinaryMachine: at either default cap (records or
// bytes) the heap a plan needs while it is built (the source's records and
// the plan, both alive) stays under 3 GiB, measured on realistic Keygen
// licenses. (The process's resident size is about 1.7 times that: 3.5 GB
// for 300,000 such licenses in one measured run.)
func TestDefaultCapsFitAnOrdinaryMachine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plan of 3,000 licenses")
	}
	const n = 3000
	dir := t.TempDir()
	genKeygenMachines(t, dir, 3, 0) // products, policies and users
	var jsonBytes int
	for p := 0; p*100 < n; p++ {
		items := make([]any, 0, 100)
		for i := p * 100; i < (p+1)*100; i++ {
			items = append(items, realisticKeygenLicense(i))
		}
		b, err := json.Marshal(map[string]any{"data": items})
		require.NoError(t, err)
		jsonBytes += len(b)
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("real-%04d.json", p)), b, 0o600))
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b := newBuilder(SystemKeygen, time.Now(), nil)
	kg := newKeygenData(b.limits)
	require.NoError(t, kg.readDir(context.Background(), dir))
	kg.mapAll(b, &Keygen{})
	b.finish()
	runtime.GC()
	runtime.ReadMemStats(&after)
	require.Equal(t, n+3, b.plan.Counts(KindLicense).Accepted) // and genKeygen's three
	heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	perRecord, perByte := heap/n, heap/float64(jsonBytes)
	const budget = 3 << 30
	t.Logf("%.0f bytes of heap per license, %.2f per byte of JSON: %.2f GiB at %d records, %.2f GiB at %d bytes",
		perRecord, perByte, perRecord*DefaultMaxRecords/(1<<30), DefaultMaxRecords, perByte*DefaultMaxSourceBytes/(1<<30), DefaultMaxSourceBytes)
	assert.Less(t, perRecord*DefaultMaxRecords, float64(budget))
	assert.Less(t, perByte*DefaultMaxSourceBytes, float64(budget))
	runtime.KeepAlive(kg)
}
