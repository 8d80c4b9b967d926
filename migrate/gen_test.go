package migrate

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
