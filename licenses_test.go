package licentric_test

import (
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
)

func TestLicenseLifecycle(t *testing.T) {
	srv := mgmtServer(t)
	key := srv.TestAPIKey()
	c := mgmtClient(t, srv, key)
	ctx := t.Context()
	fx := mgmtSeed(t, srv, licentrictest.Seed{
		Product: licentric.ProductRequest{KeyPrefix: licentric.Value("DSK")},
		Policy:  licentric.PolicyRequest{DurationDays: licentric.Value(30), MaxMachines: licentric.Value(2)},
	})

	l, err := c.Licenses.Create(ctx, &licentric.LicenseRequest{
		ProductID: licentric.Value(fx.Product.ID), PolicyID: licentric.Value(fx.Policy.ID),
		Name: licentric.Value("Ada"), UserEmail: licentric.Value("ada@example.com"),
		MaxMachinesOverride: licentric.Value(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^DSK(-[A-Z0-9]{4}){4}$`).MatchString(l.Key) || l.Status != licentric.StatusActive {
		t.Errorf("created key %q status %q", l.Key, l.Status)
	}
	if want := srv.Now().Add(30 * 24 * time.Hour); !l.ExpiresAt.Equal(want) {
		t.Errorf("expiresAt %v, want creation + 30 days %v", l.ExpiresAt, want)
	}
	if l.MaxMachinesOverride == nil || *l.MaxMachinesOverride != 0 || l.Policy == nil || l.Policy.ID != fx.Policy.ID {
		t.Errorf("override %v, policy snapshot %v", l.MaxMachinesOverride, l.Policy)
	}
	if got, err := c.Licenses.Get(ctx, l.ID); err != nil || got.Key != l.Key || got.UserEmail != "ada@example.com" {
		t.Fatalf("Get: %+v, %v", got, err)
	}
	if got, err := c.Licenses.GetByKey(ctx, l.Key); err != nil || got.ID != l.ID {
		t.Fatalf("GetByKey: %+v, %v", got, err)
	}
	if !slices.ContainsFunc(collect(t, c.Licenses.List(ctx, nil)), func(x *licentric.License) bool { return x.ID == l.ID }) {
		t.Error("List lacks the license")
	}
	// Update: a set field changes, Null clears, unset fields stay.
	upd, err := c.Licenses.Update(ctx, l.ID, &licentric.LicenseRequest{UserName: licentric.Value("Ada L."), MaxMachinesOverride: licentric.Null[int](), ExpiresAt: licentric.Null[licentric.Timestamp]()})
	if err != nil || upd.UserName != "Ada L." || upd.Name != "Ada" || upd.MaxMachinesOverride != nil || !upd.ExpiresAt.IsZero() {
		t.Fatalf("Update: %+v, %v", upd, err)
	}
	d := rawData(t, srv, key, "/licenses/"+l.ID)
	if v, ok := d["maxMachinesOverride"]; !ok || v != nil {
		t.Errorf("stored maxMachinesOverride %v (present %v), want null", v, ok)
	}
	if err := c.Licenses.Delete(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Licenses.Get(ctx, l.ID); !errors.Is(err, licentric.ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
	if _, err := c.Licenses.GetByKey(ctx, l.Key); !errors.Is(err, licentric.ErrNotFound) {
		t.Errorf("GetByKey after Delete: %v", err)
	}
	if _, err := c.Licenses.Suspend(ctx, l.ID); !errors.Is(err, licentric.ErrNotFound) {
		t.Errorf("Suspend after Delete: %v", err)
	}
}

// TestLicenseDate: licentric.Date sets a date field (stored to the
// millisecond, in UTC) and Date of the zero time sends null (never expires),
// as the README's rule for optional fields says.
func TestLicenseDate(t *testing.T) {
	srv := mgmtServer(t)
	key := srv.TestAPIKey()
	c := mgmtClient(t, srv, key)
	ctx := t.Context()
	fx := mgmtSeed(t, srv, licentrictest.Seed{Policy: licentric.PolicyRequest{DurationDays: licentric.Value(30)}})
	renewal := srv.Now().In(time.FixedZone("UTC+2", 2*3600)).Add(90*24*time.Hour + 1234567*time.Nanosecond)
	l, err := c.Licenses.Create(ctx, &licentric.LicenseRequest{
		ProductID: licentric.Value(fx.Product.ID), PolicyID: licentric.Value(fx.Policy.ID), ExpiresAt: licentric.Date(renewal),
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := renewal.Truncate(time.Millisecond); !l.ExpiresAt.Equal(want) {
		t.Errorf("expiresAt %v, want %v", l.ExpiresAt, want)
	}
	if d := rawData(t, srv, key, "/licenses/"+l.ID); d["expiresAt"] != renewal.UTC().Format("2006-01-02T15:04:05.000Z") {
		t.Errorf("stored expiresAt %v", d["expiresAt"])
	}
	upd, err := c.Licenses.Update(ctx, l.ID, &licentric.LicenseRequest{ExpiresAt: licentric.Date(time.Time{})})
	if err != nil || !upd.ExpiresAt.IsZero() {
		t.Fatalf("Update with Date(zero): expiresAt %v, %v; want never", upd.ExpiresAt, err)
	}
	if d := rawData(t, srv, key, "/licenses/"+l.ID); d["expiresAt"] != nil {
		t.Errorf("stored expiresAt %v, want null", d["expiresAt"])
	}
}

func TestLicenseCustomKey(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	fx := mgmtSeed(t, srv, licentrictest.Seed{})
	req := &licentric.LicenseRequest{ProductID: licentric.Value(fx.Product.ID), PolicyID: licentric.Value(fx.Policy.ID), Key: licentric.Value("LEGACY-0001-XYZ")}
	l, err := c.Licenses.Create(t.Context(), req)
	if err != nil || l.Key != "LEGACY-0001-XYZ" {
		t.Fatalf("custom key: %v, %v", l, err)
	}
	if _, err := c.Licenses.Create(t.Context(), req); !errors.Is(err, licentric.ErrConflict) {
		t.Errorf("taken key: %v", err)
	}
	// A policy of another product is a validation error naming policyId.
	other := mgmtSeed(t, srv, licentrictest.Seed{})
	_, err = c.Licenses.Create(t.Context(), &licentric.LicenseRequest{ProductID: licentric.Value(fx.Product.ID), PolicyID: licentric.Value(other.Policy.ID)})
	if fe := fieldErrors(err); !errors.Is(err, licentric.ErrInvalidRequest) || len(fe) != 1 || fe[0].Field != "policyId" {
		t.Errorf("policy of another product: %v", err)
	}
}

// Every lifecycle action from every status: allowed ones move the status,
// refused ones are ErrConflict and change nothing.
func TestLicenseTransitions(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	ctx := t.Context()
	fx := mgmtSeed(t, srv, licentrictest.Seed{Policy: licentric.PolicyRequest{DurationDays: licentric.Value(10)}})

	// fresh returns a license with status from.
	fresh := func(from string) string {
		l, err := srv.AddLicense(licentrictest.EnvTest, fx.Policy.ID, licentric.LicenseRequest{})
		if err != nil {
			t.Fatal(err)
		}
		switch from {
		case licentric.StatusSuspended:
			_, err = srv.SetLicenseStatus(licentrictest.EnvTest, l.ID, "suspend")
		case licentric.StatusRevoked:
			_, err = srv.SetLicenseStatus(licentrictest.EnvTest, l.ID, "revoke")
		case licentric.StatusBanned:
			err = srv.BanLicense(licentrictest.EnvTest, l.ID)
		case licentric.StatusExpired:
			_, err = c.Licenses.Update(ctx, l.ID, &licentric.LicenseRequest{ExpiresAt: licentric.Date(srv.Now().Add(-time.Hour))})
		}
		if err != nil {
			t.Fatal(err)
		}
		return l.ID
	}
	actions := map[string]func(id string) (*licentric.License, error){
		"suspend":   func(id string) (*licentric.License, error) { return c.Licenses.Suspend(ctx, id) },
		"reinstate": func(id string) (*licentric.License, error) { return c.Licenses.Reinstate(ctx, id) },
		"revoke":    func(id string) (*licentric.License, error) { return c.Licenses.Revoke(ctx, id) },
		"renew":     func(id string) (*licentric.License, error) { return c.Licenses.Renew(ctx, id) },
	}
	refused := ""
	cases := []struct {
		from   string
		action string
		to     string // refused: ErrConflict
	}{
		{licentric.StatusActive, "suspend", licentric.StatusSuspended},
		{licentric.StatusActive, "reinstate", refused},
		{licentric.StatusActive, "revoke", licentric.StatusRevoked},
		{licentric.StatusActive, "renew", licentric.StatusActive},
		{licentric.StatusSuspended, "suspend", refused},
		{licentric.StatusSuspended, "reinstate", licentric.StatusActive},
		{licentric.StatusSuspended, "revoke", licentric.StatusRevoked},
		{licentric.StatusSuspended, "renew", licentric.StatusSuspended},
		{licentric.StatusRevoked, "suspend", refused},
		{licentric.StatusRevoked, "reinstate", refused},
		{licentric.StatusRevoked, "revoke", refused},
		{licentric.StatusRevoked, "renew", refused},
		{licentric.StatusExpired, "suspend", refused},
		{licentric.StatusExpired, "reinstate", refused},
		{licentric.StatusExpired, "revoke", refused},
		{licentric.StatusExpired, "renew", licentric.StatusActive},
		{licentric.StatusBanned, "suspend", refused},
		{licentric.StatusBanned, "reinstate", refused},
		{licentric.StatusBanned, "revoke", refused},
		{licentric.StatusBanned, "renew", refused},
	}
	for _, tc := range cases {
		id := fresh(tc.from)
		l, err := actions[tc.action](id)
		now, gerr := c.Licenses.Get(ctx, id)
		if gerr != nil {
			t.Fatal(gerr)
		}
		if tc.to == refused {
			if !errors.Is(err, licentric.ErrConflict) || l != nil {
				t.Errorf("%s %s: %v, want ErrConflict", tc.action, tc.from, err)
			}
			if now.Status != tc.from {
				t.Errorf("%s %s refused but status became %s", tc.action, tc.from, now.Status)
			}
			continue
		}
		if err != nil || l.Status != tc.to || now.Status != tc.to {
			t.Errorf("%s %s: %v, %v; want status %s", tc.action, tc.from, l, err, tc.to)
		}
	}
}

func TestLicenseRenew(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	ctx := t.Context()
	fx := mgmtSeed(t, srv, licentrictest.Seed{Policy: licentric.PolicyRequest{DurationDays: licentric.Value(30)}})
	day := 24 * time.Hour
	start := fx.License.ExpiresAt.Time

	// Before expiry: extends from the expiry.
	l, err := c.Licenses.Renew(ctx, fx.License.ID)
	if err != nil || !l.ExpiresAt.Equal(start.Add(30*day)) {
		t.Fatalf("renew before expiry: %v, %v; want %v", l, err, start.Add(30*day))
	}
	// After expiry: extends from now and reactivates.
	srv.Advance(100 * day)
	if got, _ := c.Licenses.Get(ctx, fx.License.ID); got.Status != licentric.StatusExpired {
		t.Fatalf("status %s after 100 days", got.Status)
	}
	l, err = c.Licenses.Renew(ctx, fx.License.ID)
	if err != nil || l.Status != licentric.StatusActive || !l.ExpiresAt.Equal(srv.Now().Add(30*day)) {
		t.Fatalf("renew after expiry: %v, %v", l, err)
	}
	// Renew is not idempotent: a 5xx is not retried (it may have renewed).
	srv.ResetRequests()
	srv.InjectFault(licentrictest.Fault{Method: http.MethodPost, Path: "/licenses/" + fx.License.ID + "/renew", DropResponse: true})
	if _, err := c.Licenses.Renew(ctx, fx.License.ID); err == nil {
		t.Error("lost renew response: no error")
	}
	if n := srv.CountRequests(http.MethodPost, "/licenses/"+fx.License.ID+"/renew"); n != 1 {
		t.Errorf("renew sent %d times after a lost response, want 1", n)
	}
	// Without durationDays there is nothing to renew by.
	never := mgmtSeed(t, srv, licentrictest.Seed{})
	if _, err := c.Licenses.Renew(ctx, never.License.ID); !errors.Is(err, licentric.ErrInvalidRequest) {
		t.Errorf("renew without durationDays: %v", err)
	}
}

// Suspend is retried after a lost response; the retry's 409 is recognised
// as the first attempt's success.
func TestLicenseSuspendRecoversLostResponse(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	fx := mgmtSeed(t, srv, licentrictest.Seed{})
	path := "/licenses/" + fx.License.ID + "/suspend"
	srv.InjectFault(licentrictest.Fault{Method: http.MethodPost, Path: path, DropResponse: true})
	l, err := c.Licenses.Suspend(t.Context(), fx.License.ID)
	if err != nil || l.Status != licentric.StatusSuspended {
		t.Fatalf("Suspend after a lost response: %v, %v", l, err)
	}
	if n := srv.CountRequests(http.MethodPost, path); n != 2 {
		t.Errorf("%d suspend attempts, want 2", n)
	}
	// Without a lost response, a second suspend is a plain conflict.
	if _, err := c.Licenses.Suspend(t.Context(), fx.License.ID); !errors.Is(err, licentric.ErrConflict) {
		t.Errorf("suspend a suspended license: %v", err)
	}
}

func TestLicenseEntitlements(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	ctx := t.Context()
	fx := mgmtSeed(t, srv, licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	for _, code := range []string{"pro", "beta"} {
		if _, err := c.Entitlements.Create(ctx, &licentric.EntitlementRequest{Code: licentric.Value(code), Name: licentric.Value(code)}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := c.Licenses.AttachEntitlements(ctx, fx.License.ID, "pro", "beta")
	if err != nil || !slices.Equal(sorted(l.Entitlements), []string{"beta", "pro"}) {
		t.Fatalf("attach: %v, %v", l, err)
	}
	// What a user notices: validation now grants the entitlement.
	if v, err := c.Validate(ctx, fx.License.Key, licentric.WithEntitlements("pro")); err != nil || !v.Valid {
		t.Errorf("validate with pro: %+v, %v", v, err)
	}
	if l, err = c.Licenses.DetachEntitlements(ctx, fx.License.ID, "pro"); err != nil || !slices.Equal(l.Entitlements, []string{"beta"}) {
		t.Fatalf("detach: %v, %v", l, err)
	}
	if v, err := c.Validate(ctx, fx.License.Key, licentric.WithEntitlements("pro")); err != nil || v.Valid || !errors.Is(v.Err(), licentric.ErrEntitlementsMissing) {
		t.Errorf("validate after detach: %+v, %v", v, err)
	}
	if _, err := c.Licenses.AttachEntitlements(ctx, fx.License.ID, "gold"); !errors.Is(err, licentric.ErrNotFound) {
		t.Errorf("unknown code: %v", err)
	}
}

func TestLicenseScopedKeyIsReadOnly(t *testing.T) {
	srv := mgmtServer(t)
	fx := mgmtSeed(t, srv, licentrictest.Seed{Policy: licentric.PolicyRequest{DurationDays: licentric.Value(5)}})
	ro := mgmtClient(t, srv, srv.NewAPIKey(licentrictest.EnvTest, "licenses:read"))
	ctx := t.Context()
	if _, err := ro.Licenses.Get(ctx, fx.License.ID); err != nil {
		t.Fatalf("read-only Get: %v", err)
	}
	if got := collect(t, ro.Licenses.List(ctx, nil)); len(got) != 1 {
		t.Errorf("read-only List: %d", len(got))
	}
	writes := map[string]func() error{
		"Create": func() error {
			_, err := ro.Licenses.Create(ctx, &licentric.LicenseRequest{ProductID: licentric.Value(fx.Product.ID), PolicyID: licentric.Value(fx.Policy.ID)})
			return err
		},
		"Update": func() error {
			_, err := ro.Licenses.Update(ctx, fx.License.ID, &licentric.LicenseRequest{Name: licentric.Value("x")})
			return err
		},
		"Suspend": func() error { _, err := ro.Licenses.Suspend(ctx, fx.License.ID); return err },
		"Revoke":  func() error { _, err := ro.Licenses.Revoke(ctx, fx.License.ID); return err },
		"Renew":   func() error { _, err := ro.Licenses.Renew(ctx, fx.License.ID); return err },
		"Attach":  func() error { _, err := ro.Licenses.AttachEntitlements(ctx, fx.License.ID, "x"); return err },
		"Delete":  func() error { return ro.Licenses.Delete(ctx, fx.License.ID) },
		"Products.List": func() error {
			_, err := ro.Products.ListPage(ctx, nil)
			return err
		},
	}
	for name, w := range writes {
		err := w()
		var apiErr *licentric.APIError
		if !errors.Is(err, licentric.ErrForbidden) || !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden {
			t.Errorf("%s with licenses:read: %v, want ErrForbidden", name, err)
		}
	}
	l, err := srv.License(licentrictest.EnvTest, fx.License.ID)
	if err != nil || l.Status != licentric.StatusActive || l.Name != fx.License.Name || !l.ExpiresAt.Equal(fx.License.ExpiresAt.Time) {
		t.Errorf("refused writes changed the license: %+v, %v", l, err)
	}
}

func TestLicenseEnvironmentsNeverMix(t *testing.T) {
	srv := mgmtServer(t)
	test := mgmtSeed(t, srv, licentrictest.Seed{Env: licentrictest.EnvTest})
	live := mgmtSeed(t, srv, licentrictest.Seed{Env: licentrictest.EnvLive})
	lc := mgmtClient(t, srv, srv.LiveAPIKey())
	tc := mgmtClient(t, srv, srv.TestAPIKey())
	ctx := t.Context()
	if _, err := lc.Licenses.Get(ctx, test.License.ID); !errors.Is(err, licentric.ErrNotFound) {
		t.Errorf("live client, test license: %v", err)
	}
	if _, err := lc.Licenses.GetByKey(ctx, test.License.Key); !errors.Is(err, licentric.ErrNotFound) {
		t.Errorf("live client, test key: %v", err)
	}
	if _, err := tc.Licenses.Suspend(ctx, live.License.ID); !errors.Is(err, licentric.ErrNotFound) {
		t.Errorf("test client suspends a live license: %v", err)
	}
	if _, err := tc.Products.Get(ctx, live.Product.ID); !errors.Is(err, licentric.ErrNotFound) {
		t.Errorf("test client, live product: %v", err)
	}
	for _, x := range []struct {
		c    *licentric.Client
		want string
	}{{lc, live.License.ID}, {tc, test.License.ID}} {
		got := collect(t, x.c.Licenses.List(ctx, nil))
		if len(got) != 1 || got[0].ID != x.want {
			t.Errorf("%s list: %d licenses", x.c.Environment(), len(got))
		}
	}
	if l, err := srv.License(licentrictest.EnvLive, live.License.ID); err != nil || l.Status != licentric.StatusActive {
		t.Errorf("live license touched: %v, %v", l, err)
	}
}

func TestLicenseKeyNotInErrors(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	key := "SECRET-AAAA-BBBB-CCCC-DDDD"
	srv.InjectFault(licentrictest.Fault{Path: "/licenses/by-key/" + key, Drop: true, Times: 5})
	_, err := c.Licenses.GetByKey(t.Context(), key)
	if err == nil || strings.Contains(err.Error(), key) {
		t.Errorf("GetByKey error %q shows the key", err)
	}
	if _, err := c.Licenses.GetByKey(t.Context(), "bad key\n"); !errors.Is(err, licentric.ErrInvalidArgument) {
		t.Errorf("key with a control character: %v", err)
	}
}
