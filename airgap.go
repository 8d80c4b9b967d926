package licentric

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/offline"
)

// Air-gapped sites. A machine that can never reach the service is licensed
// in four steps, with a file carried each way:
//
//  1. On the machine: NewOfflineRequest (or `licentric offline request`)
//     describes it in an offline.Request, saved with offline.SaveRequest.
//     No socket is opened.
//  2. On a connected computer: FulfillOfflineRequest (or `licentric offline
//     fulfill`) activates the machine on the license, once, checks out a
//     license file for it and verifies the file with the pinned keys.
//  3. On the machine: the application verifies the file with package
//     offline (or a Guard) and runs offline until the file expires.
//     Fulfilling the same request again is the renewal: a new file, never a
//     second machine.
//  4. When the machine is retired: ReleaseOfflineRequest (or `licentric
//     offline release`) deactivates it, freeing its seat.
//
// Every step but the lookup of a license runs with the license key alone
// (Authorization: License), so the customer's operator needs no API key.

// NewOfflineRequest returns the activation request of the machine this
// code runs on, to be carried to a computer that can reach the service (see
// FulfillOfflineRequest). p's empty fields are filled as Activate fills
// them: the fingerprint from the client's fingerprint source (WithAppID or
// WithFingerprinter), platform, hostname and core count from the running
// machine. licenseKey may be empty when whoever fulfils the request gives
// it. The request does not record the application ID: set its AppID to
// show the operator which application asks.
//
// It opens no socket. Invalid input (a malformed license key, a request
// that would not pass offline.Request.Validate, or p.Metadata, which a
// request does not carry) is an error matching ErrInvalidArgument; no
// fingerprint and no fingerprint source is ErrNoFingerprinter.
func (c *Client) NewOfflineRequest(licenseKey string, p ActivateParams) (*offline.Request, error) {
	if licenseKey != "" {
		if err := checkLicenseKey(licenseKey); err != nil {
			return nil, err
		}
	}
	if p.Metadata != nil {
		return nil, fmt.Errorf("%w: an offline request carries no metadata", ErrInvalidArgument)
	}
	if err := c.fillFromThisMachine(&p); err != nil {
		return nil, err
	}
	req := &offline.Request{
		Fingerprint: p.Fingerprint,
		Name:        p.Name,
		Hostname:    p.Hostname,
		Platform:    p.Platform,
		Cores:       p.Cores,
		LicenseKey:  licenseKey,
	}
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	return req, nil
}

// EnsureActivated activates the machine req describes on the license with
// key key (Authorization: License), unless a machine of that license
// already has req.Fingerprint: then it returns that machine with activated
// false and activates nothing, so calling it again never takes a second
// seat. req's fields are sent as given; nothing is filled from the running
// machine, which may be another one (an air-gapped machine, a machine an
// operator activates for a customer). req.LicenseID may be left empty.
//
// Refusals are errors matching ErrMachineLimitExceeded (the license is
// full), ErrLicenseNotActive, and ErrFingerprintConflict (the fingerprint
// is activated on another license and the policy's fingerprintUniqueness
// forbids sharing it). Like Activate it is safe to retry.
func (c *Client) EnsureActivated(ctx context.Context, key string, req *MachineRequest) (m *Machine, activated bool, err error) {
	if req == nil {
		return nil, false, fmt.Errorf("%w: nil request", ErrInvalidArgument)
	}
	if err := checkLicenseKey(key); err != nil {
		return nil, false, err
	}
	if err := checkFingerprint(req.Fingerprint); err != nil {
		return nil, false, err
	}
	if err := checkOptionalID("license ID", req.LicenseID); err != nil {
		return nil, false, err
	}
	if req.Cores < 0 {
		return nil, false, fmt.Errorf("%w: negative core count", ErrInvalidArgument)
	}
	get := func(ctx context.Context, id string) (*Machine, error) { return c.GetMachine(ctx, key, id) }
	m, err = c.activate(ctx, &request{auth: authLicense, licenseKey: key, drops: dropsLicenseKey(key), body: req}, get)
	if err == nil {
		return m, true, nil
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != wire.ErrCodeFingerprintConflict || apiErr.MachineID() == "" {
		return nil, false, err
	}
	// Active on this license already (on another one the conflict names no
	// machine).
	if m, err = get(ctx, apiErr.MachineID()); err != nil {
		return nil, false, err
	}
	return m, false, nil
}

// errNoMachine reports a fingerprint no live machine of the license has.
var errNoMachine = fmt.Errorf("%w: no machine of the license has this fingerprint", ErrFingerprintNotFound)

// DeactivateFingerprint deactivates the machine with fingerprint fp of the
// license with key key, freeing its seat at once, and returns the machine
// as it was. It needs only the license key: for an operator who holds the
// customer's license key, not the vendor's API key.
//
// The machine is found by the license's machines when the client has an
// API key (GET /licenses/by-key/{key}, scope licenses:read; no use of the
// license is counted), and otherwise by a fresh validation of key with fp,
// which names the matched machine and counts one use of the license.
// Without an API key a validation sees live licenses only; a license it
// does not find (a test license) is asked, with the license key, to
// activate fp, which names the machine when the license has it (and when
// it has not, the machine that activation makes is deactivated at once). A
// suspended, revoked, banned or used-up license names no machine to either:
// deactivate its machine with the API key then (Machines.Delete).
//
// The deactivation itself is made with the license key. When no machine of
// the license has fp (or it went away meanwhile) the error matches
// ErrFingerprintNotFound.
func (c *Client) DeactivateFingerprint(ctx context.Context, key, fp string) (*Machine, error) {
	if err := checkLicenseKey(key); err != nil {
		return nil, err
	}
	if err := checkFingerprint(fp); err != nil {
		return nil, err
	}
	m, err := c.machineByFingerprint(ctx, key, fp)
	if err != nil {
		return nil, err
	}
	if err := c.Deactivate(ctx, key, m.ID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, errNoMachine // deactivated by someone else meanwhile
		}
		return nil, err
	}
	return m, nil
}

// machineByFingerprint finds the machine of the license with key key that
// has fingerprint fp, as DeactivateFingerprint describes.
func (c *Client) machineByFingerprint(ctx context.Context, key, fp string) (*Machine, error) {
	if c.cfg.apiKey != "" {
		l, err := c.Licenses.GetByKey(ctx, key)
		if err != nil {
			return nil, err
		}
		if m := machineOf(l, fp); m != nil {
			return m, nil
		}
		return nil, errNoMachine
	}
	v, err := c.Validate(ctx, key, WithFingerprint(fp), WithFreshValidation())
	switch {
	case err != nil:
		return nil, err
	case v.Stale:
		return nil, fmt.Errorf("licentric: validation to find the machine: %w", v.StaleReason)
	case v.Machine != nil:
		return v.Machine, nil
	case v.Code == CodeFingerprintNotFound:
		return nil, errNoMachine
	case v.Code == CodeNotFound:
		// Without an API key a validation sees live licenses only.
		return c.machineByActivation(ctx, key, fp)
	}
	return nil, fmt.Errorf("licentric: the validation names no machine of this license (%w); deactivate it with the API key", v.Err())
}

// machineByActivation finds the machine of the license with key key that
// has fingerprint fp by asking, with the license key, to activate fp: a
// license that has it answers FINGERPRINT_CONFLICT naming the machine
// (EnsureActivated), in either environment. A license that has not either
// refuses (full: MACHINE_LIMIT_EXCEEDED; the fingerprint on another
// license: FINGERPRINT_CONFLICT) or activates it, and that machine is
// deactivated at once. For the licenses a validation without an API key
// cannot see: test licenses.
func (c *Client) machineByActivation(ctx context.Context, key, fp string) (*Machine, error) {
	m, activated, err := c.EnsureActivated(ctx, key, &MachineRequest{Fingerprint: fp})
	switch {
	case errors.Is(err, ErrMachineLimitExceeded), errors.Is(err, ErrFingerprintConflict):
		return nil, errNoMachine
	case errors.Is(err, ErrUnauthorized), errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("%w: no license has this key", ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("licentric: finding the machine: %w", err)
	case !activated:
		return m, nil
	}
	if err := c.Deactivate(ctx, key, m.ID); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("licentric: no machine of the license had this fingerprint, but the machine %s activated to find out is still active: deactivating it failed: %w",
			sanitize(m.ID, 64), err)
	}
	return nil, errNoMachine
}

// machineOf returns l's live machine with fingerprint fp, or nil. Only
// GetByKey and Get fill l.Machines.
func machineOf(l *License, fp string) *Machine {
	for i := range l.Machines {
		if l.Machines[i].Fingerprint == fp {
			m := l.Machines[i]
			return &m
		}
	}
	return nil
}

// FulfillParams tunes FulfillOfflineRequest.
type FulfillParams struct {
	// LicenseKey is the license to activate the machine on, when the
	// request carries none. When both are set they must be equal.
	LicenseKey string
	// PublicKeys are the account's pinned signing keys, in any form
	// offline.ParsePublicKey takes (as `licentric pin-key` writes them);
	// at least one. The file is verified with them before it is returned.
	PublicKeys []string
	// TTL is the file's lifetime, as CheckoutParams.TTL. Zero means
	// DefaultCheckoutTTL, shortened to the policy's offlineMaxDays when the
	// client has an API key to read the policy with; without one, a policy
	// that allows less is refused with ErrOfflineTTLExceeded: give a TTL.
	TTL time.Duration
}

// Fulfillment is a fulfilled activation request: a verified license file
// for the request's machine.
type Fulfillment struct {
	// Certificate is the license file, to be carried to the machine and
	// saved there (offline.SaveFile; license.lic).
	Certificate []byte
	// File is Certificate verified: bound to the request's fingerprint,
	// signed by one of the pinned keys, within its lifetime.
	File *offline.File
	// Machine is the request's machine on the license.
	Machine *Machine
	// Activated reports that this call activated the machine. False means
	// it was active already: the fulfilment was a renewal.
	Activated bool
}

// FulfillOfflineRequest activates the machine req describes on the license,
// unless a machine of the license already has its fingerprint (see
// EnsureActivated), checks out a license file for it (CheckoutParams) and
// verifies the file with p.PublicKeys, bound to the request's fingerprint,
// on the client's clock (and, with an API key, to its environment).
// Fulfilling the same request again is a renewal: a new file, no second
// machine. The license key is req.LicenseKey or p.LicenseKey; every request
// is made with it (Authorization: License), and with an API key the
// license is first looked up (GET /licenses/by-key/{key}) to learn whether
// the machine is active and the policy's offlineMaxDays.
//
// The service's refusals are errors matching ErrMachineLimitExceeded,
// ErrLicenseNotActive, ErrFingerprintConflict, ErrOfflineNotAllowed or
// ErrOfflineTTLExceeded; a file that does not verify is the offline
// package's error (offline.ErrUnknownKey when the keys are not the
// account's). Whatever fails after this call activated the machine, it
// deactivates it again, so a failed fulfilment takes no seat (when that
// deactivation fails too, the error says so and the machine stays active:
// fulfil again, or release it).
//
// Arguments are checked before any request: a request that fails
// Validate, no license key or two different ones, no public key or a bad
// one, or a bad TTL is an error matching ErrInvalidArgument.
func (c *Client) FulfillOfflineRequest(ctx context.Context, req *offline.Request, p FulfillParams) (*Fulfillment, error) {
	key, err := requestKey(req, p.LicenseKey)
	if err != nil {
		return nil, err
	}
	if _, err := checkoutTTLSeconds(p.TTL); err != nil {
		return nil, err
	}
	v, err := c.requestVerifier(req.Fingerprint, p.PublicKeys)
	if err != nil {
		return nil, err
	}

	var lic *License
	var m *Machine
	if c.cfg.apiKey != "" {
		if lic, err = c.Licenses.GetByKey(ctx, key); err != nil {
			return nil, err
		}
		m = machineOf(lic, req.Fingerprint)
	}
	activated := false
	if m == nil {
		m, activated, err = c.EnsureActivated(ctx, key, &MachineRequest{
			Fingerprint: req.Fingerprint, Name: req.Name, Platform: req.Platform,
			Hostname: req.Hostname, Cores: req.Cores,
		})
		if err != nil {
			return nil, err
		}
	}
	ttl := p.TTL
	if ttl == 0 && lic != nil && lic.Policy != nil && lic.Policy.OfflineMaxDays > 0 {
		ttl = min(DefaultCheckoutTTL, time.Duration(lic.Policy.OfflineMaxDays)*24*time.Hour)
	}
	f, cert, err := c.checkOutVerified(ctx, m.LicenseID, key, req.Fingerprint, ttl, v)
	if err != nil {
		if activated {
			if derr := c.Deactivate(ctx, key, m.ID); derr != nil {
				return nil, fmt.Errorf("%w (the machine %s this call activated is still active: deactivating it failed: %w)",
					err, sanitize(m.ID, 64), derr)
			}
		}
		return nil, err
	}
	return &Fulfillment{Certificate: cert, File: f, Machine: m, Activated: activated}, nil
}

// checkOutVerified checks out a file of license licenseID for fp with the
// license key and verifies it with v.
func (c *Client) checkOutVerified(ctx context.Context, licenseID, key, fp string, ttl time.Duration, v *offline.Verifier) (*offline.File, []byte, error) {
	co, err := c.Checkout(ctx, licenseID, CheckoutParams{Fingerprint: fp, TTL: ttl, LicenseKey: key})
	if err != nil {
		return nil, nil, err
	}
	f, err := v.Verify(co.Certificate)
	if err != nil {
		return nil, nil, fmt.Errorf("licentric: the checked-out license file failed verification: %w", err)
	}
	if f.License.ID != licenseID {
		return nil, nil, fmt.Errorf("%w: checkout: the license file is for another license", ErrMalformedResponse)
	}
	return f, co.Certificate, nil
}

// requestVerifier returns the verifier of the files fulfilled for the
// machine with fingerprint fp: the pinned keys, that machine, the client's
// clock and, with an API key, its environment.
func (c *Client) requestVerifier(fp string, publicKeys []string) (*offline.Verifier, error) {
	if len(publicKeys) == 0 {
		return nil, fmt.Errorf("%w: no public key to verify the license file with", ErrInvalidArgument)
	}
	opts := []offline.Option{offline.WithFingerprint(fp), offline.WithClock(c.cfg.clock)}
	for _, text := range publicKeys {
		pub, err := offline.ParsePublicKey(text)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
		}
		opts = append(opts, offline.WithPublicKey(pub))
	}
	if c.cfg.env != EnvironmentNone {
		opts = append(opts, offline.WithEnvironment(c.cfg.env.String()))
	}
	v, err := offline.NewVerifier(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	return v, nil
}

// ReleaseOfflineRequest gives back the seat of the machine req describes,
// for a site that decommissions or replaces it: it deactivates the
// license's machine with the request's fingerprint (DeactivateFingerprint,
// which says how it is found) and returns it as it was. A machine already
// gone is success: nil Machine, nil error. The license key is
// req.LicenseKey or licenseKey (equal when both are set); invalid
// arguments are errors matching ErrInvalidArgument.
func (c *Client) ReleaseOfflineRequest(ctx context.Context, req *offline.Request, licenseKey string) (*Machine, error) {
	key, err := requestKey(req, licenseKey)
	if err != nil {
		return nil, err
	}
	m, err := c.DeactivateFingerprint(ctx, key, req.Fingerprint)
	if errors.Is(err, errNoMachine) {
		return nil, nil
	}
	return m, err
}

// requestKey checks req and returns the license key to act on: the
// request's, or given (equal when both are set).
func requestKey(req *offline.Request, given string) (string, error) {
	if req == nil {
		return "", fmt.Errorf("%w: nil offline request", ErrInvalidArgument)
	}
	if err := req.Validate(); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	key := req.LicenseKey
	switch {
	case key == "" && given == "":
		return "", fmt.Errorf("%w: no license key: the request carries none and none was given", ErrInvalidArgument)
	case key == "":
		key = given
	case given != "" && given != key:
		return "", fmt.Errorf("%w: the license key given differs from the request's", ErrInvalidArgument)
	}
	if err := checkLicenseKey(key); err != nil {
		return "", err
	}
	return key, nil
}
