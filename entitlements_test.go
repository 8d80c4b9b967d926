package licentric_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/licentric/licentric-go"
)

func TestEntitlementLifecycle(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	ctx := t.Context()

	e, err := c.Entitlements.Create(ctx, &licentric.EntitlementRequest{Code: licentric.Value("export-pdf"), Name: licentric.Value("PDF export")})
	if err != nil {
		t.Fatal(err)
	}
	if e.ID == "" || e.Code != "export-pdf" || e.Name != "PDF export" {
		t.Errorf("created %+v", e)
	}
	if got, err := c.Entitlements.Get(ctx, e.ID); err != nil || got.Code != "export-pdf" {
		t.Fatalf("Get: %+v, %v", got, err)
	}
	listed := collect(t, c.Entitlements.List(ctx, nil))
	if !slices.ContainsFunc(listed, func(x *licentric.Entitlement) bool { return x.ID == e.ID }) {
		t.Error("List lacks the entitlement")
	}
	if upd, err := c.Entitlements.Update(ctx, e.ID, &licentric.EntitlementRequest{Name: licentric.Value("Export to PDF")}); err != nil || upd.Name != "Export to PDF" || upd.Code != "export-pdf" {
		t.Fatalf("Update: %+v, %v", upd, err)
	}
	if _, err := c.Entitlements.Create(ctx, &licentric.EntitlementRequest{Code: licentric.Value("export-pdf"), Name: licentric.Value("again")}); !errors.Is(err, licentric.ErrConflict) {
		t.Errorf("duplicate code: %v", err)
	}
	if _, err := c.Entitlements.Create(ctx, &licentric.EntitlementRequest{Code: licentric.Value("Upper"), Name: licentric.Value("x")}); !errors.Is(err, licentric.ErrInvalidRequest) {
		t.Errorf("uppercase code: %v", err)
	}
	if err := c.Entitlements.Delete(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Entitlements.Get(ctx, e.ID); !errors.Is(err, licentric.ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
	if len(collect(t, c.Entitlements.List(ctx, nil))) != 0 {
		t.Error("List still has the deleted entitlement")
	}
}
