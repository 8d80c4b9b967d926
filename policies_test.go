package licentric_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
)

// newProduct creates a product through the API and returns its id.
func newProduct(t *testing.T, c *licentric.Client, code string) string {
	t.Helper()
	p, err := c.Products.Create(t.Context(), &licentric.ProductRequest{Name: licentric.Value("Product " + code), Code: licentric.Value(code)})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func TestPolicyLifecycle(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	ctx := t.Context()
	prod := newProduct(t, c, "app")

	p, err := c.Policies.Create(ctx, &licentric.PolicyRequest{
		ProductID:          licentric.Value(prod),
		Name:               licentric.Value("Yearly"),
		MaxMachines:        licentric.Value(3),
		DurationDays:       licentric.Value(365),
		ExpirationStrategy: licentric.Value(licentric.StrategyAllowAccess),
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Template != "custom" || p.ProductID != prod || *p.MaxMachines != 3 || *p.DurationDays != 365 || p.ExpirationStrategy != licentric.StrategyAllowAccess {
		t.Errorf("created %+v", p)
	}
	if got, err := c.Policies.Get(ctx, p.ID); err != nil || got.Name != "Yearly" {
		t.Fatalf("Get: %+v, %v", got, err)
	}
	if !slices.ContainsFunc(collect(t, c.Policies.List(ctx, nil)), func(x *licentric.Policy) bool { return x.ID == p.ID }) {
		t.Error("List lacks the policy")
	}
	upd, err := c.Policies.Update(ctx, p.ID, &licentric.PolicyRequest{Name: licentric.Value("Yearly v2"), DurationDays: licentric.Null[int]()})
	if err != nil || upd.Name != "Yearly v2" || upd.DurationDays != nil || upd.MaxMachines == nil || *upd.MaxMachines != 3 {
		t.Fatalf("Update: %+v, %v", upd, err)
	}
	if err := c.Policies.Delete(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Policies.Get(ctx, p.ID); !errors.Is(err, licentric.ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
}

func intOf(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestPolicyTemplateDefaults(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	prod := newProduct(t, c, "tpl")
	type want struct {
		maxMachines, durationDays    any
		requireFingerprint, offline  bool
		offlineMaxDays               int
		heartbeat, floating, isTrial bool
		heartbeatIntervalMinutes     int
	}
	cases := map[licentric.PolicyTemplate]want{
		licentric.PolicyTemplateDesktopApp: {2, nil, true, true, 14, false, false, false, 60},
		licentric.PolicyTemplateCLITool:    {3, nil, true, true, 7, false, false, false, 60},
		licentric.PolicyTemplateSaaS:       {nil, 30, false, false, 14, true, true, false, 1440},
		licentric.PolicyTemplateTrial:      {1, nil, true, false, 14, false, false, true, 60},
	}
	for tpl, w := range cases {
		req := &licentric.PolicyRequest{ProductID: licentric.Value(prod), Name: licentric.Value(string(tpl))}
		p, err := c.Policies.CreateFromTemplate(t.Context(), tpl, req)
		if err != nil {
			t.Fatalf("%s: %v", tpl, err)
		}
		if !req.Template.IsZero() {
			t.Errorf("%s: CreateFromTemplate modified the request", tpl)
		}
		got := want{intOf(p.MaxMachines), intOf(p.DurationDays), p.RequireFingerprint, p.OfflineAllowed, p.OfflineMaxDays,
			p.RequireHeartbeat, p.Floating, p.IsTrial, p.HeartbeatIntervalMinutes}
		if got != w || p.Template != string(tpl) {
			t.Errorf("%s: got %+v, want %+v", tpl, got, w)
		}
	}
	// A field the request sets wins over the template.
	p, err := c.Policies.CreateFromTemplate(t.Context(), licentric.PolicyTemplateDesktopApp, &licentric.PolicyRequest{
		ProductID: licentric.Value(prod), Name: licentric.Value("big desktop"), MaxMachines: licentric.Value(10), OfflineAllowed: licentric.Value(false),
	})
	if err != nil || *p.MaxMachines != 10 || p.OfflineAllowed || !p.RequireFingerprint {
		t.Errorf("override: %+v, %v", p, err)
	}
	// Custom has no maxMachines default: the field is required.
	_, err = c.Policies.CreateFromTemplate(t.Context(), licentric.PolicyTemplateCustom, &licentric.PolicyRequest{ProductID: licentric.Value(prod), Name: licentric.Value("c")})
	if fe := fieldErrors(err); !errors.Is(err, licentric.ErrInvalidRequest) || len(fe) != 1 || fe[0].Field != "maxMachines" {
		t.Errorf("custom without maxMachines: %v %v", err, fe)
	}
	srv.ResetRequests()
	if _, err := c.Policies.CreateFromTemplate(t.Context(), "enterprise", &licentric.PolicyRequest{}); !errors.Is(err, licentric.ErrInvalidArgument) {
		t.Errorf("unknown template: %v", err)
	}
	if _, err := c.Policies.CreateFromTemplate(t.Context(), licentric.PolicyTemplateTrial, nil); !errors.Is(err, licentric.ErrInvalidArgument) {
		t.Errorf("nil request: %v", err)
	}
	if len(srv.Requests()) != 0 {
		t.Error("refused template arguments reached the server")
	}
}

func fieldErrors(err error) []licentric.FieldError {
	var apiErr *licentric.APIError
	if !errors.As(err, &apiErr) {
		return nil
	}
	return apiErr.FieldErrors()
}

// maxMachines: 0 (no machines) and null (no limit) are different policies,
// and leaving the field out of a PATCH keeps what is stored.
func TestPolicyMaxMachinesZeroIsNotUnlimited(t *testing.T) {
	srv := mgmtServer(t)
	key := srv.TestAPIKey()
	c := mgmtClient(t, srv, key)
	ctx := t.Context()
	prod := newProduct(t, c, "zero")

	zero, err := c.Policies.Create(ctx, &licentric.PolicyRequest{ProductID: licentric.Value(prod), Name: licentric.Value("none"), MaxMachines: licentric.Value(0)})
	if err != nil {
		t.Fatal(err)
	}
	unlimited, err := c.Policies.Create(ctx, &licentric.PolicyRequest{
		ProductID: licentric.Value(prod), Name: licentric.Value("any"), MaxMachines: licentric.Null[int](), AllowUnlimitedActivations: licentric.Value(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	stored := func(id string) any {
		d := rawData(t, srv, key, "/policies/"+id)
		v, ok := d["maxMachines"]
		if !ok {
			t.Fatalf("policy %s has no maxMachines member", id)
		}
		return v
	}
	if v := stored(zero.ID); v != float64(0) {
		t.Errorf("Value(0) stored %v, want 0", v)
	}
	if v := stored(unlimited.ID); v != nil {
		t.Errorf("Null() stored %v, want null", v)
	}
	// Null without the flag is refused, and names the field.
	_, err = c.Policies.Create(ctx, &licentric.PolicyRequest{ProductID: licentric.Value(prod), Name: licentric.Value("x"), MaxMachines: licentric.Null[int]()})
	if fe := fieldErrors(err); len(fe) != 1 || fe[0].Field != "maxMachines" {
		t.Errorf("null without allowUnlimitedActivations: %v", err)
	}
	// A PATCH that leaves MaxMachines unset keeps 0; Value(5) changes it;
	// Null clears it.
	if _, err := c.Policies.Update(ctx, zero.ID, &licentric.PolicyRequest{Name: licentric.Value("renamed")}); err != nil {
		t.Fatal(err)
	}
	if v := stored(zero.ID); v != float64(0) {
		t.Errorf("unset in PATCH changed maxMachines to %v", v)
	}
	if _, err := c.Policies.Update(ctx, zero.ID, &licentric.PolicyRequest{MaxMachines: licentric.Value(5)}); err != nil {
		t.Fatal(err)
	}
	if v := stored(zero.ID); v != float64(5) {
		t.Errorf("Value(5) stored %v", v)
	}
	if _, err := c.Policies.Update(ctx, zero.ID, &licentric.PolicyRequest{MaxMachines: licentric.Null[int](), AllowUnlimitedActivations: licentric.Value(true)}); err != nil {
		t.Fatal(err)
	}
	if v := stored(zero.ID); v != nil {
		t.Errorf("Null() in PATCH stored %v", v)
	}
	// The difference is what a user notices: a license under the
	// zero-machine policy can't activate; one under the unlimited can.
	zero2, err := c.Policies.Create(ctx, &licentric.PolicyRequest{ProductID: licentric.Value(prod), Name: licentric.Value("none2"), MaxMachines: licentric.Value(0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		policy string
		want   error
	}{{zero2.ID, licentric.ErrMachineLimitExceeded}, {unlimited.ID, nil}} {
		l, err := c.Licenses.Create(ctx, &licentric.LicenseRequest{ProductID: licentric.Value(prod), PolicyID: licentric.Value(tc.policy)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Machines.Create(ctx, &licentric.MachineRequest{LicenseID: l.ID, Fingerprint: "fingerprint-0001"})
		if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
			t.Errorf("activation under policy %s: %v, want %v", tc.policy, err, tc.want)
		}
	}
}

func TestPolicyEntitlements(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	ctx := t.Context()
	fx := mgmtSeed(t, srv, licentrictest.Seed{})
	for _, code := range []string{"sso", "audit-log", "api"} {
		if _, err := c.Entitlements.Create(ctx, &licentric.EntitlementRequest{Code: licentric.Value(code), Name: licentric.Value(code)}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := c.Policies.AttachEntitlements(ctx, fx.Policy.ID, "sso", "audit-log")
	if err != nil || !slices.Equal(sorted(p.Entitlements), []string{"audit-log", "sso"}) {
		t.Fatalf("attach: %v, %v", p, err)
	}
	// Every license under the policy now carries them (in its snapshot).
	l, err := c.Licenses.Get(ctx, fx.License.ID)
	if err != nil || l.Policy == nil || !slices.Equal(sorted(l.Policy.Entitlements), []string{"audit-log", "sso"}) {
		t.Errorf("license snapshot: %+v, %v", l, err)
	}
	// Attaching again changes nothing.
	if p, err = c.Policies.AttachEntitlements(ctx, fx.Policy.ID, "sso"); err != nil || len(p.Entitlements) != 2 {
		t.Errorf("attach again: %v, %v", p, err)
	}
	if p, err = c.Policies.DetachEntitlements(ctx, fx.Policy.ID, "sso", "api"); err != nil || !slices.Equal(p.Entitlements, []string{"audit-log"}) {
		t.Errorf("detach: %v, %v", p, err)
	}
	if _, err := c.Policies.AttachEntitlements(ctx, fx.Policy.ID, "no-such"); !errors.Is(err, licentric.ErrNotFound) {
		t.Errorf("unknown code: %v", err)
	}
	srv.ResetRequests()
	if _, err := c.Policies.AttachEntitlements(ctx, fx.Policy.ID); !errors.Is(err, licentric.ErrInvalidArgument) {
		t.Errorf("no codes: %v", err)
	}
	if _, err := c.Policies.DetachEntitlements(ctx, fx.Policy.ID, ""); !errors.Is(err, licentric.ErrInvalidArgument) {
		t.Errorf("empty code: %v", err)
	}
	if len(srv.Requests()) != 0 {
		t.Error("refused codes reached the server")
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
