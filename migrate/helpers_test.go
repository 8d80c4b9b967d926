package migrate

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
)

// keygenFixture is the Keygen export under testdata: API 1.8 pages and, in
// v1.5/, older shapes.
func keygenFixture() *Keygen { return &Keygen{Dir: filepath.Join("testdata", "keygen")} }

func cryptlexFixture() *Cryptlex {
	return &Cryptlex{
		LicensesCSV:  filepath.Join("testdata", "cryptlex", "licenses.csv"),
		ProductsJSON: filepath.Join("testdata", "cryptlex", "products.json"),
	}
}

// fastRetry keeps Apply's own retry waits short in tests.
func fastRetry() ApplyOption { return WithRetry(20, time.Millisecond, 5*time.Millisecond) }

// newTarget starts a server without rate limits and a client for its test
// environment (with no client-side budget either: the budget is tested
// against real limits in TestRateStaysInBudget).
func newTarget(t testing.TB, opts ...licentrictest.Option) (*licentrictest.Server, *licentric.Client) {
	t.Helper()
	if len(opts) == 0 {
		opts = []licentrictest.Option{licentrictest.WithoutRateLimits()}
	}
	srv := licentrictest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv, newClient(t, srv.URL, srv.TestAPIKey(), licentric.WithoutRateBudget())
}

func newClient(t testing.TB, base, key string, extra ...licentric.Option) *licentric.Client {
	t.Helper()
	opts := append([]licentric.Option{
		licentric.WithBaseURL(base), licentric.WithAPIKey(key),
		licentric.WithRetry(licentric.RetryPolicy{MaxRetries: 3, MinWait: time.Millisecond, MaxWait: 10 * time.Millisecond}),
	}, extra...)
	c, err := licentric.NewClient(opts...)
	require.NoError(t, err)
	return c
}

func openJournal(t testing.TB, path string) *Journal {
	t.Helper()
	j, err := OpenJournal(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	return j
}

// runImport plans src against c and applies it with a journal at path.
func runImport(t testing.TB, c *licentric.Client, src Source, path string, opts ...ApplyOption) (*Plan, *Result) {
	t.Helper()
	ctx := context.Background()
	j := openJournal(t, path)
	p, err := NewPlan(ctx, src, c, &PlanOptions{Journal: j})
	require.NoError(t, err)
	res, err := Apply(ctx, c, p, j, append([]ApplyOption{fastRetry()}, opts...)...)
	require.NoError(t, err)
	require.NoError(t, j.Close())
	return p, res
}

// targetState is everything in the target environment, read back through
// the API.
type targetState struct {
	products     map[string]*licentric.Product     // by id
	entitlements map[string]*licentric.Entitlement // by code
	policies     map[string]*licentric.Policy      // by id
	licenses     map[string]*licentric.License     // by key, with machines
	licenseList  []*licentric.License
	machines     map[string]*licentric.Machine // by fingerprint
	machineList  []*licentric.Machine
}

func readTarget(t testing.TB, c *licentric.Client) *targetState {
	t.Helper()
	ctx := context.Background()
	st := &targetState{
		products: map[string]*licentric.Product{}, entitlements: map[string]*licentric.Entitlement{},
		policies: map[string]*licentric.Policy{}, licenses: map[string]*licentric.License{},
		machines: map[string]*licentric.Machine{},
	}
	lo := &licentric.ListOptions{Limit: 100}
	for p, err := range c.Products.List(ctx, lo) {
		require.NoError(t, err)
		st.products[p.ID] = p
	}
	for e, err := range c.Entitlements.List(ctx, lo) {
		require.NoError(t, err)
		st.entitlements[e.Code] = e
	}
	for p, err := range c.Policies.List(ctx, lo) {
		require.NoError(t, err)
		st.policies[p.ID] = p
	}
	for l, err := range c.Licenses.List(ctx, &licentric.LicenseListOptions{ListOptions: *lo}) {
		require.NoError(t, err)
		st.licenseList = append(st.licenseList, l)
		st.licenses[l.Key] = l
	}
	for m, err := range c.Machines.List(ctx, &licentric.MachineListOptions{ListOptions: *lo}) {
		require.NoError(t, err)
		st.machineList = append(st.machineList, m)
		st.machines[m.Fingerprint] = m
	}
	return st
}

// jsonOf round-trips v through JSON, so values built in Go compare with
// values decoded from the wire (numbers become float64).
func jsonOf(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// withoutSource returns md without its _source member, and _source.
func withoutSource(md licentric.Metadata) (map[string]any, map[string]any) {
	rest := map[string]any{}
	var src map[string]any
	for k, v := range md {
		if k == SourceKey {
			src, _ = v.(map[string]any)
			continue
		}
		rest[k] = v
	}
	return rest, src
}

func writeJSONBody(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(b)
}

// rfc parses an RFC 3339 time for expectations.
func rfc(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return v
}
