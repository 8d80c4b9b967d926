package licentric_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/licentrictest"
)

// Helpers of the management API tests (prefixed mgmt so they don't meet
// the other test files' helpers).

// mgmtServer starts a test server without rate limits (these tests make
// many calls) unless opts say otherwise.
func mgmtServer(t *testing.T, opts ...licentrictest.Option) *licentrictest.Server {
	t.Helper()
	srv := licentrictest.NewServer(append([]licentrictest.Option{licentrictest.WithoutRateLimits(), licentrictest.WithFrozenClock(time.Now())}, opts...)...)
	t.Cleanup(srv.Close)
	return srv
}

// mgmtClient returns a client of srv with API key key ("" for none).
func mgmtClient(t *testing.T, srv *licentrictest.Server, key string) *licentric.Client {
	t.Helper()
	opts := []licentric.Option{
		licentric.WithBaseURL(srv.URL),
		licentric.WithHTTPClient(srv.Client()),
		licentric.WithRetry(testkit.Retries(2)),
	}
	if key != "" {
		opts = append(opts, licentric.WithAPIKey(key))
	}
	c, err := licentric.NewClient(opts...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

// mgmtSeed seeds a product, policy and license in the test environment.
func mgmtSeed(t *testing.T, srv *licentrictest.Server, spec licentrictest.Seed) *licentrictest.Fixture {
	t.Helper()
	fx, err := srv.Seed(spec)
	if err != nil {
		t.Fatalf("Seed: %v", err)
	}
	return fx
}

// rawData GETs path with key straight over HTTP, bypassing the client,
// and returns the "data" object as generic JSON: what the server stored,
// with null and absent kept apart.
func rawData(t *testing.T, srv *licentrictest.Server, key, path string) map[string]any {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/v1"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	var env struct {
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return env.Data
}

// collect drains seq, failing the test on an error.
func collect[T any](t *testing.T, seq iter.Seq2[*T, error]) []*T {
	t.Helper()
	var out []*T
	for v, err := range seq {
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		out = append(out, v)
	}
	return out
}

// seedLicenses returns a fixture plus n-1 more licenses under its policy:
// n licenses in all, oldest first.
func seedLicenses(t *testing.T, srv *licentrictest.Server, n int) (*licentrictest.Fixture, []string) {
	t.Helper()
	fx := mgmtSeed(t, srv, licentrictest.Seed{})
	ids := []string{fx.License.ID}
	for i := 1; i < n; i++ {
		l, err := srv.AddLicense(licentrictest.EnvTest, fx.Policy.ID, licentric.LicenseRequest{Name: licentric.Value(fmt.Sprint("license ", i))})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, l.ID)
	}
	return fx, ids
}

func TestListWalksEveryPageOnce(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	_, ids := seedLicenses(t, srv, 130)
	srv.ResetRequests()

	got := collect(t, c.Licenses.List(t.Context(), nil))
	if len(got) != 130 {
		t.Fatalf("listed %d licenses, want 130", len(got))
	}
	for i, l := range got {
		if l.ID != ids[i] {
			t.Fatalf("item %d is %s, want %s (oldest first, each once)", i, l.ID, ids[i])
		}
	}
	if n := srv.CountRequests(http.MethodGet, "/licenses"); n != 6 {
		t.Errorf("%d page requests, want 6 (130 at the default 25 a page)", n)
	}
	// Each page after the first starts at the previous page's last id.
	reqs := srv.Requests()
	for i, r := range reqs {
		q, _ := url.ParseQuery(r.Query)
		want := ""
		if i > 0 {
			want = ids[25*i-1]
		}
		if q.Get("cursor") != want || q.Has("limit") {
			t.Errorf("page %d query %q, want cursor %q and no limit", i+1, r.Query, want)
		}
		if r.Scheme != "Bearer" {
			t.Errorf("page %d scheme %q", i+1, r.Scheme)
		}
	}
}

func TestListBreakStopsPaging(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	seedLicenses(t, srv, 130)
	for _, stopAt := range []int{1, 25, 26, 40} {
		srv.ResetRequests()
		n := 0
		for l, err := range c.Licenses.List(t.Context(), nil) {
			if err != nil || l == nil {
				t.Fatalf("list: %v", err)
			}
			n++
			if n == stopAt {
				break
			}
		}
		want := (stopAt + 24) / 25
		if got := srv.CountRequests(http.MethodGet, "/licenses"); got != want {
			t.Errorf("break after %d: %d page requests, want %d", stopAt, got, want)
		}
	}
}

func TestListStopsOnCancelledContext(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	seedLicenses(t, srv, 60)
	srv.ResetRequests()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	items, errs := 0, 0
	for l, err := range c.Licenses.List(ctx, nil) {
		if err != nil {
			errs++
			if !errors.Is(err, context.Canceled) || l != nil {
				t.Errorf("error %v with item %v, want context.Canceled and nil", err, l)
			}
			continue // the iterator must end by itself
		}
		items++
		if items == 5 {
			cancel()
		}
	}
	if items != 5 || errs != 1 {
		t.Errorf("%d items and %d errors after cancelling at 5, want 5 and 1", items, errs)
	}
	if n := srv.CountRequests(http.MethodGet, "/licenses"); n != 1 {
		t.Errorf("%d page requests, want 1", n)
	}

	// Already cancelled: one error, no request.
	srv.ResetRequests()
	for l, err := range c.Products.List(ctx, nil) {
		if !errors.Is(err, context.Canceled) || l != nil {
			t.Errorf("cancelled: %v, %v", l, err)
		}
	}
	if len(srv.Requests()) != 0 {
		t.Errorf("cancelled context sent %d requests", len(srv.Requests()))
	}
}

func TestListPageAtATime(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	_, ids := seedLicenses(t, srv, 130)

	opts := &licentric.LicenseListOptions{ListOptions: licentric.ListOptions{Limit: 50}}
	var all []string
	pages := 0
	for {
		p, err := c.Licenses.ListPage(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, l := range p.Items {
			all = append(all, l.ID)
		}
		if !p.HasMore {
			if p.NextCursor != "" || len(p.Items) != 30 {
				t.Errorf("last page: cursor %q, %d items", p.NextCursor, len(p.Items))
			}
			break
		}
		if len(p.Items) != 50 || p.NextCursor != p.Items[49].ID {
			t.Fatalf("page %d: %d items, cursor %q", pages, len(p.Items), p.NextCursor)
		}
		opts.Cursor = p.NextCursor
	}
	if pages != 3 || strings.Join(all, ",") != strings.Join(ids, ",") {
		t.Errorf("%d pages, %d items", pages, len(all))
	}
	// A cursor in the middle resumes after that item.
	rest := collect(t, c.Licenses.List(t.Context(), &licentric.LicenseListOptions{ListOptions: licentric.ListOptions{Cursor: ids[99], Limit: 100}}))
	if len(rest) != 30 || rest[0].ID != ids[100] {
		t.Errorf("resume after item 100: %d items", len(rest))
	}
}

func TestListOptionsCheckedBeforeAnyRequest(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	for _, o := range []licentric.ListOptions{{Limit: -1}, {Limit: 101}, {Cursor: strings.Repeat("x", 300)}} {
		if _, err := c.Products.ListPage(t.Context(), &o); !errors.Is(err, licentric.ErrInvalidArgument) {
			t.Errorf("ListPage(%+v): %v", o, err)
		}
		n := 0
		for p, err := range c.Policies.List(t.Context(), &o) {
			n++
			if p != nil || !errors.Is(err, licentric.ErrInvalidArgument) {
				t.Errorf("List(%+v): %v, %v", o, p, err)
			}
		}
		if n != 1 {
			t.Errorf("List(%+v) yielded %d times, want 1", o, n)
		}
	}
	if _, err := c.Licenses.ListPage(t.Context(), &licentric.LicenseListOptions{Status: "paused"}); !errors.Is(err, licentric.ErrInvalidArgument) {
		t.Errorf("unknown status: %v", err)
	}
	for range c.Machines.List(t.Context(), &licentric.MachineListOptions{ListOptions: licentric.ListOptions{Limit: 1000}}) {
	}
	if len(srv.Requests()) != 0 {
		t.Errorf("invalid options sent %d requests", len(srv.Requests()))
	}
	// The bounds themselves are accepted.
	for _, limit := range []int{1, 100} {
		if _, err := c.Products.ListPage(t.Context(), &licentric.ListOptions{Limit: limit}); err != nil {
			t.Errorf("limit %d: %v", limit, err)
		}
	}
}

func TestListFilters(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	fx, ids := seedLicenses(t, srv, 5)
	other := mgmtSeed(t, srv, licentrictest.Seed{})
	for _, id := range ids[1:3] {
		if _, err := srv.SetLicenseStatus(licentrictest.EnvTest, id, "suspend"); err != nil {
			t.Fatal(err)
		}
	}
	count := func(o *licentric.LicenseListOptions) int { return len(collect(t, c.Licenses.List(t.Context(), o))) }
	if n := count(nil); n != 6 {
		t.Errorf("all: %d", n)
	}
	if n := count(&licentric.LicenseListOptions{Status: licentric.StatusSuspended}); n != 2 {
		t.Errorf("suspended: %d", n)
	}
	if n := count(&licentric.LicenseListOptions{Status: licentric.StatusActive, PolicyID: fx.Policy.ID}); n != 3 {
		t.Errorf("active under policy: %d", n)
	}
	if n := count(&licentric.LicenseListOptions{ProductID: other.Product.ID}); n != 1 {
		t.Errorf("other product: %d", n)
	}
	// Filters stay on every page.
	srv.ResetRequests()
	got := collect(t, c.Licenses.List(t.Context(), &licentric.LicenseListOptions{ListOptions: licentric.ListOptions{Limit: 1}, PolicyID: fx.Policy.ID}))
	if len(got) != 5 {
		t.Errorf("policy filter, 1 a page: %d", len(got))
	}
	for _, r := range srv.Requests() {
		if q, _ := url.ParseQuery(r.Query); q.Get("policyId") != fx.Policy.ID || q.Get("limit") != "1" {
			t.Errorf("query %q lost the filter", r.Query)
		}
	}
}

// A server whose cursor never advances must not make the iterator loop.
func TestListRepeatingCursorIsMalformed(t *testing.T) {
	var calls int
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":[{"id":"p1","name":"x","code":"x"}],"pagination":{"nextCursor":"p1","hasMore":true}}`)
	}))
	defer hs.Close()
	c, err := licentric.NewClient(licentric.WithBaseURL(hs.URL), licentric.WithAPIKey("lk_test_abc"), licentric.WithRetry(testkit.Retries(2)))
	if err != nil {
		t.Fatal(err)
	}
	n, last := 0, error(nil)
	for _, err := range c.Products.List(t.Context(), nil) {
		n++
		last = err
		if n > 10 {
			t.Fatal("iterator does not stop")
		}
	}
	if !errors.Is(last, licentric.ErrMalformedResponse) || calls != 2 {
		t.Errorf("last %v after %d calls", last, calls)
	}
}

func TestListRetriesServerErrors(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	seedLicenses(t, srv, 30)
	srv.InjectFault(licentrictest.Fault{Method: http.MethodGet, Path: "/licenses", Status: http.StatusServiceUnavailable})
	if got := collect(t, c.Licenses.List(t.Context(), nil)); len(got) != 30 {
		t.Errorf("listed %d after a 503, want 30", len(got))
	}
}

func TestManagementNeedsAPIKey(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, "")
	ctx := t.Context()
	calls := map[string]func() error{
		"Products.Create": func() error {
			_, err := c.Products.Create(ctx, &licentric.ProductRequest{Name: licentric.Value("x"), Code: licentric.Value("x")})
			return err
		},
		"Products.ListPage": func() error { _, err := c.Products.ListPage(ctx, nil); return err },
		"Policies.Get":      func() error { _, err := c.Policies.Get(ctx, "id"); return err },
		"Licenses.Suspend":  func() error { _, err := c.Licenses.Suspend(ctx, "id"); return err },
		"Licenses.Renew":    func() error { _, err := c.Licenses.Renew(ctx, "id"); return err },
		"Licenses.GetByKey": func() error { _, err := c.Licenses.GetByKey(ctx, "LIC-AAAA-BBBB"); return err },
		"Licenses.List": func() error {
			for _, err := range c.Licenses.List(ctx, nil) {
				return err
			}
			return nil
		},
		"Machines.Delete":    func() error { return c.Machines.Delete(ctx, "id") },
		"Entitlements.Get":   func() error { _, err := c.Entitlements.Get(ctx, "id"); return err },
		"Webhooks.Delete":    func() error { return c.Webhooks.Delete(ctx, "id") },
		"Keys.GetSigningKey": func() error { _, err := c.Keys.GetSigningKey(ctx); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, licentric.ErrNoAPIKey) {
			t.Errorf("%s: %v, want ErrNoAPIKey", name, err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent without an API key", n)
	}
}

func TestEmptyIDsRefusedBeforeAnyRequest(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	ctx := t.Context()
	one := func(_ any, err error) error { return err }
	calls := map[string]error{
		"Products.Get":                 one(c.Products.Get(ctx, "")),
		"Products.Update":              one(c.Products.Update(ctx, "", &licentric.ProductRequest{})),
		"Products.Delete":              c.Products.Delete(ctx, ""),
		"Policies.Get":                 one(c.Policies.Get(ctx, "")),
		"Policies.Update":              one(c.Policies.Update(ctx, "", &licentric.PolicyRequest{})),
		"Policies.Delete":              c.Policies.Delete(ctx, ""),
		"Policies.AttachEntitlements":  one(c.Policies.AttachEntitlements(ctx, "", "a")),
		"Entitlements.Get":             one(c.Entitlements.Get(ctx, "")),
		"Entitlements.Update":          one(c.Entitlements.Update(ctx, "", &licentric.EntitlementRequest{})),
		"Entitlements.Delete":          c.Entitlements.Delete(ctx, ""),
		"Licenses.Get":                 one(c.Licenses.Get(ctx, "")),
		"Licenses.GetByKey":            one(c.Licenses.GetByKey(ctx, "")),
		"Licenses.Update":              one(c.Licenses.Update(ctx, "", &licentric.LicenseRequest{})),
		"Licenses.Delete":              c.Licenses.Delete(ctx, ""),
		"Licenses.Suspend":             one(c.Licenses.Suspend(ctx, "")),
		"Licenses.Reinstate":           one(c.Licenses.Reinstate(ctx, "")),
		"Licenses.Revoke":              one(c.Licenses.Revoke(ctx, "")),
		"Licenses.Renew":               one(c.Licenses.Renew(ctx, "")),
		"Licenses.DetachEntitlements":  one(c.Licenses.DetachEntitlements(ctx, "", "a")),
		"Licenses.AttachEntitlements0": one(c.Licenses.AttachEntitlements(ctx, "id")),
		"Licenses.ListPage":            one(c.Licenses.ListPage(ctx, &licentric.LicenseListOptions{PolicyID: strings.Repeat("p", 300)})),
		"Machines.Get":                 one(c.Machines.Get(ctx, "")),
		"Machines.Delete":              c.Machines.Delete(ctx, ""),
		"Webhooks.Get":                 one(c.Webhooks.Get(ctx, "")),
		"Webhooks.Update":              one(c.Webhooks.Update(ctx, "", &licentric.WebhookRequest{})),
		"Webhooks.Delete":              c.Webhooks.Delete(ctx, ""),
		"Webhooks.Create":              one(c.Webhooks.Create(ctx, nil)),
		"Entitlements.Create":          one(c.Entitlements.Create(ctx, nil)),
		"Policies.Create":              one(c.Policies.Create(ctx, nil)),
		"Licenses.Create":              one(c.Licenses.Create(ctx, nil)),
	}
	for _, seq := range []iter.Seq2[*licentric.License, error]{
		c.Licenses.List(ctx, &licentric.LicenseListOptions{Status: "gone"}),
		c.Licenses.List(ctx, &licentric.LicenseListOptions{ProductID: strings.Repeat("p", 300)}),
	} {
		for _, err := range seq {
			calls["Licenses.List"] = err
		}
	}
	for m, err := range c.Machines.List(ctx, &licentric.MachineListOptions{LicenseID: strings.Repeat("l", 300)}) {
		if m != nil {
			t.Error("item with an error")
		}
		calls["Machines.List"] = err
	}
	for name, err := range calls {
		if !errors.Is(err, licentric.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests for refused arguments", n)
	}
}

// A success body whose resource has no id is malformed, single or listed.
func TestResourceWithoutIDIsMalformed(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet && !strings.Contains(r.URL.Path[len("/api/v1/"):], "/") {
			_, _ = io.WriteString(w, `{"data":[{"id":"a"},{"name":"no id"}],"pagination":{"nextCursor":null,"hasMore":false}}`)
			return
		}
		_, _ = io.WriteString(w, `{"data":{"name":"no id"}}`)
	}))
	defer hs.Close()
	c, err := licentric.NewClient(licentric.WithBaseURL(hs.URL), licentric.WithAPIKey("lk_test_abc"), licentric.WithRetry(testkit.Retries(2)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	one := func(_ any, err error) error { return err }
	for name, err := range map[string]error{
		"Products.Get":       one(c.Products.Get(ctx, "x")),
		"Policies.Update":    one(c.Policies.Update(ctx, "x", &licentric.PolicyRequest{})),
		"Licenses.Suspend":   one(c.Licenses.Suspend(ctx, "x")),
		"Licenses.Renew":     one(c.Licenses.Renew(ctx, "x")),
		"Machines.Create":    one(c.Machines.Create(ctx, &licentric.MachineRequest{LicenseID: "l", Fingerprint: "fingerprint-1"})),
		"Webhooks.Create":    one(c.Webhooks.Create(ctx, &licentric.WebhookRequest{})),
		"Entitlements.Page":  one(c.Entitlements.ListPage(ctx, nil)),
		"Policies.ListPage":  one(c.Policies.ListPage(ctx, nil)),
		"Webhooks.ListPage":  one(c.Webhooks.ListPage(ctx, nil)),
		"Machines.ListPage":  one(c.Machines.ListPage(ctx, nil)),
		"Products.ListPage":  one(c.Products.ListPage(ctx, nil)),
		"Licenses.ListPage":  one(c.Licenses.ListPage(ctx, nil)),
		"Entitlements.Get":   one(c.Entitlements.Get(ctx, "x")),
		"Licenses.GetByKey":  one(c.Licenses.GetByKey(ctx, "KEY-1")),
		"Webhooks.Get":       one(c.Webhooks.Get(ctx, "x")),
		"Policies.AttachEnt": one(c.Policies.AttachEntitlements(ctx, "x", "a")),
	} {
		if !errors.Is(err, licentric.ErrMalformedResponse) {
			t.Errorf("%s: %v, want ErrMalformedResponse", name, err)
		}
	}
}
