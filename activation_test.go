package licentric

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/licentric/licentric-go/internal/wire"
)

const conflictBody = `{"error":"Fingerprint already activated","code":"FINGERPRINT_CONFLICT","status":409,"details":{"machineId":"m_1"}}`

func TestActivateRecoversLostResponse(t *testing.T) {
	c, mt := mockClient(t)
	mt.RegisterResponder(http.MethodPost, apiURL(wire.PathMachines),
		sequence(httpmock.NewErrorResponder(io.ErrUnexpectedEOF), respond(409, conflictBody)))
	mt.RegisterResponder(http.MethodGet, apiURL("/machines/m_1"), respond(200, machineBody))
	m, err := c.Activate(t.Context(), testLicenseKey, ActivateParams{Fingerprint: testFP})
	if err != nil || m.ID != "m_1" {
		t.Fatalf("Activate = %+v, %v", m, err)
	}
	info := mt.GetCallCountInfo()
	if info["POST "+apiURL(wire.PathMachines)] != 2 || info["GET "+apiURL("/machines/m_1")] != 1 {
		t.Errorf("calls = %v", info)
	}
}

func TestActivateFirstAttemptConflictIsAnError(t *testing.T) {
	c, mt := mockClient(t)
	mt.RegisterResponder(http.MethodPost, apiURL(wire.PathMachines), respond(409, conflictBody))
	_, err := c.Activate(t.Context(), testLicenseKey, ActivateParams{Fingerprint: testFP})
	var apiErr *APIError
	if !errors.Is(err, ErrFingerprintConflict) || !errors.As(err, &apiErr) || apiErr.MachineID() != "m_1" {
		t.Fatalf("err = %v", err)
	}
	// A retry after a 429 (which the server did not act on) is no reason to
	// hide a conflict either.
	c, mt = mockClient(t)
	mt.RegisterResponder(http.MethodPost, apiURL(wire.PathMachines),
		sequence(respond(429, `{"error":"slow","code":"RATE_LIMITED"}`), respond(409, conflictBody)))
	if _, err := c.Activate(t.Context(), testLicenseKey, ActivateParams{Fingerprint: testFP}); !errors.Is(err, ErrFingerprintConflict) {
		t.Fatalf("after 429: err = %v", err)
	}
}

func TestActivateFillsDefaults(t *testing.T) {
	var sent wire.ActivateRequest
	c, mt := mockClient(t, WithFingerprinter(func() (string, error) { return testFP, nil }))
	mt.RegisterResponder(http.MethodPost, apiURL(wire.PathMachines), func(req *http.Request) (*http.Response, error) {
		_ = json.NewDecoder(req.Body).Decode(&sent)
		return respond(201, machineBody)(req)
	})
	if _, err := c.Activate(t.Context(), testLicenseKey, ActivateParams{Metadata: Metadata{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if sent.Fingerprint != testFP || sent.Cores != runtime.NumCPU() || sent.Platform == "" || sent.Metadata["k"] != "v" {
		t.Errorf("sent %+v", sent)
	}
}

func TestDeactivateAndHeartbeat(t *testing.T) {
	c, mt := mockClient(t)
	mt.RegisterResponder(http.MethodDelete, apiURL("/machines/m_1"), respond(204, ""))
	mt.RegisterResponder(http.MethodPost, apiURL("/machines/m_1/heartbeat"), respond(200, machineBody))
	if err := c.Deactivate(t.Context(), testLicenseKey, "m_1"); err != nil {
		t.Fatal(err)
	}
	m, err := c.Heartbeat(t.Context(), testLicenseKey, "m_1")
	if err != nil || m.LastHeartbeatAt.IsZero() {
		t.Fatalf("Heartbeat = %+v, %v", m, err)
	}
	// A lost DELETE response followed by 404 means the first attempt worked.
	mt.RegisterResponder(http.MethodDelete, apiURL("/machines/m_2"),
		sequence(httpmock.NewErrorResponder(io.ErrUnexpectedEOF), respond(404, `{"error":"gone","code":"NOT_FOUND"}`)))
	if err := c.Deactivate(t.Context(), testLicenseKey, "m_2"); err != nil {
		t.Errorf("Deactivate after lost response: %v", err)
	}
	mt.RegisterResponder(http.MethodDelete, apiURL("/machines/m_3"), respond(404, `{"error":"gone","code":"NOT_FOUND"}`))
	if err := c.Deactivate(t.Context(), testLicenseKey, "m_3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Deactivate of unknown machine: %v", err)
	}
	// IDs are escaped into the path.
	mt.RegisterResponder(http.MethodGet, apiURL("/machines/a%2Fb"), respond(200, machineBody))
	if _, err := c.GetMachine(t.Context(), testLicenseKey, "a/b"); err != nil {
		t.Errorf("escaped id: %v", err)
	}
}
