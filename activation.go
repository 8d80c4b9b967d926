package licentric

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"

	"github.com/licentric/licentric-go/fingerprint"
	"github.com/licentric/licentric-go/internal/wire"
)

// ActivateParams describes the machine to activate. Empty fields are filled
// from the running machine: Fingerprint from the client's fingerprint source
// (WithAppID or WithFingerprinter), Platform from fingerprint.Platform,
// Hostname from os.Hostname and Cores from runtime.NumCPU. Name and Metadata
// are sent only when set.
type ActivateParams struct {
	Fingerprint string
	Name        string
	Platform    string // macos, windows, linux, docker or kubernetes
	Hostname    string
	Cores       int
	Metadata    Metadata
}

// Activate registers this machine on the license with license key key and
// returns the new machine.
//
// Activation is safe to retry: when an attempt's response was lost (a
// transport error or 5xx) and the retry meets FINGERPRINT_CONFLICT for a
// machine of the same license, the client fetches that machine and returns
// it. A conflict on the first attempt is an error matching
// ErrFingerprintConflict whose (*APIError).MachineID names the existing
// machine. Other refusals match ErrMachineLimitExceeded or
// ErrLicenseNotActive.
func (c *Client) Activate(ctx context.Context, key string, p ActivateParams) (*Machine, error) {
	if err := checkLicenseKey(key); err != nil {
		return nil, err
	}
	if err := c.fillFromThisMachine(&p); err != nil {
		return nil, err
	}
	return c.activate(ctx, &request{
		auth:       authLicense,
		licenseKey: key,
		drops:      dropsOwnMachine(key),
		body: &wire.ActivateRequest{
			Fingerprint: p.Fingerprint,
			Name:        p.Name,
			Platform:    p.Platform,
			Hostname:    p.Hostname,
			Cores:       p.Cores,
			Metadata:    p.Metadata,
		},
	}, func(ctx context.Context, id string) (*Machine, error) { return c.GetMachine(ctx, key, id) })
}

// fillFromThisMachine fills p's empty fields from the running machine, as
// ActivateParams documents (NewOfflineRequest fills a request the same
// way), and checks the fingerprint's length and the core count.
func (c *Client) fillFromThisMachine(p *ActivateParams) error {
	fp, err := c.fingerprintOrDefault(p.Fingerprint)
	if err != nil {
		return err
	}
	p.Fingerprint = fp
	if p.Cores < 0 {
		return fmt.Errorf("%w: negative core count", ErrInvalidArgument)
	}
	if p.Platform == "" {
		p.Platform = fingerprint.Platform()
	}
	if p.Hostname == "" {
		if h, err := os.Hostname(); err == nil {
			p.Hostname = h
		}
	}
	if p.Cores == 0 {
		p.Cores = runtime.NumCPU()
	}
	return nil
}

// activate sends r, an activation (POST /machines) whose auth and body the
// caller has set. It is retried like an idempotent request because it is
// recoverable: when an earlier attempt may have created the machine (a
// transport error or 5xx) and a retry meets FINGERPRINT_CONFLICT naming a
// machine of the same license, that machine is fetched with get and
// returned, and the cached results the activation changed are dropped as
// after a plain success.
func (c *Client) activate(ctx context.Context, r *request, get func(ctx context.Context, id string) (*Machine, error)) (*Machine, error) {
	r.method, r.path, r.idempotent = http.MethodPost, wire.PathMachines, true
	m, res, err := callData[Machine](ctx, c, r)
	if err != nil {
		var apiErr *APIError
		if res == nil || res.Attempts < 2 || !res.Ambiguous || !errors.As(err, &apiErr) ||
			apiErr.Code != wire.ErrCodeFingerprintConflict || apiErr.MachineID() == "" {
			return nil, err
		}
		c.cfg.logger.DebugContext(ctx, "licentric: recovering activation after a lost response",
			"machine_id", apiErr.MachineID(), "attempts", res.Attempts)
		if m, err = get(ctx, apiErr.MachineID()); err != nil {
			return nil, err
		}
		c.recovered(r, m)
		return m, nil
	}
	if err := checkMachine(m); err != nil {
		return nil, fmt.Errorf("licentric: POST %s: %w", r.path, err)
	}
	return m, nil
}

// fingerprintOrDefault returns fp after checking its length, or, when fp is
// empty, the fingerprint of the client's source (ErrNoFingerprinter without
// one).
func (c *Client) fingerprintOrDefault(fp string) (string, error) {
	if fp == "" {
		return c.Fingerprint()
	}
	if err := checkFingerprint(fp); err != nil {
		return "", err
	}
	return fp, nil
}

// Deactivate removes machine machineID from the license with key key,
// freeing its slot at once. A machine already gone is an error matching
// ErrNotFound, unless an earlier attempt of this call may have deleted it.
func (c *Client) Deactivate(ctx context.Context, key, machineID string) error {
	if err := checkLicenseKey(key); err != nil {
		return err
	}
	if err := checkID("machine ID", machineID); err != nil {
		return err
	}
	r := &request{
		method:     http.MethodDelete,
		path:       wire.ResourcePath(wire.PathMachines, machineID),
		auth:       authLicense,
		licenseKey: key,
		drops:      dropsLicenseKey(key),
	}
	res, err := c.call(ctx, r, nil)
	if err != nil {
		if res != nil && res.Ambiguous && errors.Is(err, ErrNotFound) {
			c.recovered(r, nil) // our lost first attempt deleted it
			return nil
		}
		return err
	}
	return nil
}

// Heartbeat reports that machine machineID is alive and returns it with a
// fresh LastHeartbeatAt. A machine that was culled is an error matching
// ErrNotFound: activate again. Either way the license's cached validation
// results are dropped: a beat revives a dead machine, and a culled one is
// no longer what a cached VALID names.
func (c *Client) Heartbeat(ctx context.Context, key, machineID string) (*Machine, error) {
	if err := checkLicenseKey(key); err != nil {
		return nil, err
	}
	if err := checkID("machine ID", machineID); err != nil {
		return nil, err
	}
	r := &request{
		method:     http.MethodPost,
		path:       wire.SubPath(wire.PathMachines, machineID, wire.SegmentHeartbeat),
		auth:       authLicense,
		licenseKey: key,
		idempotent: true,
		drops:      dropsOwnMachine(key),
	}
	m, _, err := callData[Machine](ctx, c, r)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			c.recovered(r, nil) // culled: what the cache says of it is wrong
		}
		return nil, err
	}
	if err := checkMachine(m); err != nil {
		return nil, err
	}
	return m, nil
}

// GetMachine returns machine machineID of the license with key key.
func (c *Client) GetMachine(ctx context.Context, key, machineID string) (*Machine, error) {
	if err := checkLicenseKey(key); err != nil {
		return nil, err
	}
	if err := checkID("machine ID", machineID); err != nil {
		return nil, err
	}
	m, _, err := callData[Machine](ctx, c, &request{
		method:     http.MethodGet,
		path:       wire.ResourcePath(wire.PathMachines, machineID),
		auth:       authLicense,
		licenseKey: key,
	})
	if err != nil {
		return nil, err
	}
	if err := checkMachine(m); err != nil {
		return nil, err
	}
	return m, nil
}

func checkMachine(m *Machine) error {
	if m == nil || m.ID == "" {
		return fmt.Errorf(`%w: machine has no "id"`, ErrMalformedResponse)
	}
	return nil
}
