package licentric

import (
	"context"
	"fmt"
	"iter"
	"net/url"

	"github.com/licentric/licentric-go/internal/wire"
)

// MachinesService manages machines with the API key: POST, GET and DELETE
// /machines. Reach it as Client.Machines. Client applications use
// Client.Activate, Deactivate and Heartbeat with the license key instead.
type MachinesService service

// MachineRequest activates a machine on a license with the API key
// (MachinesService.Create). LicenseID and Fingerprint are required; empty
// fields are left out.
type MachineRequest struct {
	// LicenseID is the license to activate the machine on.
	LicenseID string `json:"licenseId,omitempty"`
	// Fingerprint identifies the machine (8 to 256 characters).
	Fingerprint string `json:"fingerprint"`
	// Name labels the machine.
	Name string `json:"name,omitempty"`
	// Platform is macos, windows, linux, docker or kubernetes.
	Platform string `json:"platform,omitempty"`
	// Hostname is the machine's host name.
	Hostname string `json:"hostname,omitempty"`
	// Cores is its CPU core count.
	Cores int `json:"cores,omitempty"`
	// Metadata is stored as given.
	Metadata Metadata `json:"metadata,omitempty"`
}

// MachineListOptions selects and pages the machines List yields.
type MachineListOptions struct {
	ListOptions
	LicenseID string // only machines of this license; empty for all
}

func checkMachineResource(m *Machine) error { return needID("machine", m.ID) }

// Create activates a machine on license req.LicenseID and returns it. It is
// refused with errors matching ErrMachineLimitExceeded,
// ErrFingerprintConflict or ErrLicenseNotActive as Client.Activate is.
//
// Like Activate it is safe to retry: when an earlier attempt may have
// created the machine and the retry meets FINGERPRINT_CONFLICT for it, the
// existing machine is fetched and returned.
func (s *MachinesService) Create(ctx context.Context, req *MachineRequest) (*Machine, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: nil request", ErrInvalidArgument)
	}
	if err := checkID("license ID", req.LicenseID); err != nil {
		return nil, err
	}
	if err := checkFingerprint(req.Fingerprint); err != nil {
		return nil, err
	}
	if req.Cores < 0 {
		return nil, fmt.Errorf("%w: negative core count", ErrInvalidArgument)
	}
	return s.client.activate(ctx, &request{body: req, auth: authAPIKey, drops: dropsLicenseID(req.LicenseID)}, s.Get)
}

// Get returns machine id, or an error matching ErrNotFound once it is
// deactivated (or culled after missing its heartbeats).
func (s *MachinesService) Get(ctx context.Context, id string) (*Machine, error) {
	if err := checkID("machine ID", id); err != nil {
		return nil, err
	}
	return getResource(ctx, s.client, wire.ResourcePath(wire.PathMachines, id), checkMachineResource)
}

// Delete deactivates machine id, freeing its slot at once.
func (s *MachinesService) Delete(ctx context.Context, id string) error {
	if err := checkID("machine ID", id); err != nil {
		return err
	}
	return deleteResource(ctx, s.client, wire.ResourcePath(wire.PathMachines, id), dropsAll()) // the machine's license is not known here
}

// List yields every machine the options select, oldest first; see
// ListOptions.
func (s *MachinesService) List(ctx context.Context, opts *MachineListOptions) iter.Seq2[*Machine, error] {
	return s.lister(opts).all(ctx)
}

// ListPage returns one page of the machines the options select.
func (s *MachinesService) ListPage(ctx context.Context, opts *MachineListOptions) (*Page[Machine], error) {
	return s.lister(opts).first(ctx)
}

func (s *MachinesService) lister(opts *MachineListOptions) *lister[Machine] {
	if opts == nil {
		return newLister(s.client, wire.PathMachines, nil, nil, checkMachineResource)
	}
	if err := checkOptionalID("license ID", opts.LicenseID); err != nil {
		return failedLister[Machine](err)
	}
	f := url.Values{}
	f.Set(wire.QueryLicenseID, opts.LicenseID)
	return newLister(s.client, wire.PathMachines, &opts.ListOptions, f, checkMachineResource)
}
