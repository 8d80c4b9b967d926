package licentric_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
)

func TestMachineManagementLifecycle(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	ctx := t.Context()
	fx := mgmtSeed(t, srv, licentrictest.Seed{Policy: licentric.PolicyRequest{MaxMachines: licentric.Value(2)}})
	other, err := srv.AddLicense(licentrictest.EnvTest, fx.Policy.ID, licentric.LicenseRequest{})
	if err != nil {
		t.Fatal(err)
	}

	m, err := c.Machines.Create(ctx, &licentric.MachineRequest{
		LicenseID: fx.License.ID, Fingerprint: "fingerprint-aaaa", Name: "build agent", Platform: licentric.PlatformLinux, Cores: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.ID == "" || m.LicenseID != fx.License.ID || m.Fingerprint != "fingerprint-aaaa" || m.Platform != "linux" || m.Cores != 4 || m.Status != licentric.MachineActive {
		t.Errorf("created %+v", m)
	}
	if _, err := c.Machines.Create(ctx, &licentric.MachineRequest{LicenseID: fx.License.ID, Fingerprint: "fingerprint-bbbb"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Machines.Create(ctx, &licentric.MachineRequest{LicenseID: other.ID, Fingerprint: "fingerprint-cccc"}); err != nil {
		t.Fatal(err)
	}
	// The limit of 2 holds, and the same fingerprint twice is a conflict.
	if _, err := c.Machines.Create(ctx, &licentric.MachineRequest{LicenseID: fx.License.ID, Fingerprint: "fingerprint-dddd"}); !errors.Is(err, licentric.ErrMachineLimitExceeded) {
		t.Errorf("third machine: %v", err)
	}
	_, err = c.Machines.Create(ctx, &licentric.MachineRequest{LicenseID: fx.License.ID, Fingerprint: "fingerprint-aaaa"})
	var apiErr *licentric.APIError
	if !errors.Is(err, licentric.ErrFingerprintConflict) || !errors.As(err, &apiErr) || apiErr.MachineID() != m.ID {
		t.Errorf("same fingerprint: %v", err)
	}

	if got, err := c.Machines.Get(ctx, m.ID); err != nil || got.Name != "build agent" {
		t.Fatalf("Get: %+v, %v", got, err)
	}
	if n := len(collect(t, c.Machines.List(ctx, nil))); n != 3 {
		t.Errorf("all machines: %d", n)
	}
	mine := collect(t, c.Machines.List(ctx, &licentric.MachineListOptions{LicenseID: fx.License.ID}))
	if len(mine) != 2 || mine[0].ID != m.ID {
		t.Errorf("machines of the license: %d", len(mine))
	}
	if err := c.Machines.Delete(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Machines.Get(ctx, m.ID); !errors.Is(err, licentric.ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
	// The slot is free again.
	if _, err := c.Machines.Create(ctx, &licentric.MachineRequest{LicenseID: fx.License.ID, Fingerprint: "fingerprint-dddd"}); err != nil {
		t.Errorf("activation after delete: %v", err)
	}
	if l, _ := srv.License(licentrictest.EnvTest, fx.License.ID); l.MachineCount != 2 {
		t.Errorf("machineCount %d", l.MachineCount)
	}
}

func TestMachineCreateChecksArguments(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	for name, req := range map[string]*licentric.MachineRequest{
		"nil":               nil,
		"no license":        {Fingerprint: "fingerprint-aaaa"},
		"short fingerprint": {LicenseID: "x", Fingerprint: "short"},
		"negative cores":    {LicenseID: "x", Fingerprint: "fingerprint-aaaa", Cores: -1},
	} {
		if _, err := c.Machines.Create(t.Context(), req); !errors.Is(err, licentric.ErrInvalidArgument) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := c.Machines.ListPage(t.Context(), &licentric.MachineListOptions{LicenseID: string(make([]byte, 300))}); !errors.Is(err, licentric.ErrInvalidArgument) {
		t.Errorf("oversized license filter: %v", err)
	}
	if len(srv.Requests()) != 0 {
		t.Error("refused arguments reached the server")
	}
}

// An activation whose response was lost is retried, and the retry's
// FINGERPRINT_CONFLICT recovers the machine the first attempt created.
func TestMachineCreateRecoversLostResponse(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	fx := mgmtSeed(t, srv, licentrictest.Seed{Policy: licentric.PolicyRequest{MaxMachines: licentric.Value(1)}})
	srv.InjectFault(licentrictest.Fault{Method: http.MethodPost, Path: "/machines", DropResponse: true})
	m, err := c.Machines.Create(t.Context(), &licentric.MachineRequest{LicenseID: fx.License.ID, Fingerprint: "fingerprint-aaaa"})
	if err != nil {
		t.Fatalf("Create after a lost response: %v", err)
	}
	list := collect(t, c.Machines.List(t.Context(), &licentric.MachineListOptions{LicenseID: fx.License.ID}))
	if len(list) != 1 || list[0].ID != m.ID {
		t.Errorf("machines %v, want exactly the recovered one", list)
	}
	if n := srv.CountRequests(http.MethodPost, "/machines"); n != 2 {
		t.Errorf("%d activation attempts, want 2", n)
	}
}
