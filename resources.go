package licentric

import (
	"fmt"

	"github.com/licentric/licentric-go/resource"
)

// The resources of the Licentric API. They have the fields and JSON shape
// of the types of the same names in package resource, which the packages
// that cannot import this one use (offline, webhook, licentrictest); a test
// keeps the two in step, and FromResource converts.

// Timestamp is a time on the wire (RFC 3339 UTC, milliseconds); the zero
// value is JSON null. It embeds time.Time.
type Timestamp = resource.Timestamp

// Metadata is the free-form JSON object most resources carry.
type Metadata = resource.Metadata

// License is a license key and its state, with a snapshot of its policy
// (contract §3).
type License struct {
	// ID is the license's id (lic_…).
	ID string `json:"id"`
	// Key is the license key users enter, e.g. "DSK-A1B2-C3D4-E5F6-G7H8".
	Key string `json:"key"`
	// Name is the vendor's label for the license.
	Name string `json:"name"`
	// Status is active, suspended, expired, revoked or banned.
	Status string `json:"status"`
	// ProductID is the product the license is for.
	ProductID string `json:"productId"`
	// PolicyID is the policy the license is issued under.
	PolicyID string `json:"policyId"`
	// UserEmail is the licensee's email address, if recorded.
	UserEmail string `json:"userEmail"`
	// UserName is the licensee's name, if recorded.
	UserName string `json:"userName"`
	// ExpiresAt is when the license expires; zero (JSON null): never.
	ExpiresAt Timestamp `json:"expiresAt"`
	// MaxMachinesOverride replaces the policy's MaxMachines for this
	// license when the policy is overridable; nil: no override.
	MaxMachinesOverride *int `json:"maxMachinesOverride"`
	// MaxUsesOverride replaces the policy's MaxUses likewise.
	MaxUsesOverride *int `json:"maxUsesOverride"`
	// UsesCount is how many validations the license has counted.
	UsesCount int `json:"usesCount"`
	// MachineCount is how many machines are activated on the license.
	MachineCount int `json:"machineCount"`
	// Entitlements is the license's own entitlement codes (the policy's
	// come on top; see Policy.Entitlements).
	Entitlements []string `json:"entitlements"`
	// Metadata is the vendor's free-form data.
	Metadata Metadata `json:"metadata"`
	// CreatedAt is when the license was created.
	CreatedAt Timestamp `json:"createdAt"`
	// UpdatedAt is when the license last changed.
	UpdatedAt Timestamp `json:"updatedAt"`
	// DeletedAt is when the license was soft-deleted; zero while it exists.
	DeletedAt Timestamp `json:"deletedAt"`
	// Policy is a snapshot of the governing policy; nil when not sent.
	Policy *Policy `json:"policy"`
	// Machines lists the machines activated on the license. Only
	// GET /licenses/{id} and GET /licenses/by-key/{key} send it; elsewhere
	// it is nil.
	Machines []Machine `json:"machines,omitempty"`
}

// Policy is the set of rules licenses are issued under (contract §3).
type Policy struct {
	// ID is the policy's id (pol_…).
	ID string `json:"id"`
	// ProductID is the product the policy belongs to.
	ProductID string `json:"productId"`
	// Name is the policy's name.
	Name string `json:"name"`
	// Template names the template the policy was created from, if any.
	Template string `json:"template"`
	// MaxMachines is how many machines a license may activate; nil:
	// unlimited.
	MaxMachines *int `json:"maxMachines"`
	// MaxUses is how many validations a license may count; nil: unlimited.
	MaxUses *int `json:"maxUses"`
	// Floating lets machines come and go within MaxMachines.
	Floating bool `json:"floating"`
	// DurationDays is how long a new license lasts; nil: forever.
	DurationDays *int `json:"durationDays"`
	// ExpirationStrategy is RESTRICT_ACCESS, ALLOW_ACCESS or REVOKE.
	ExpirationStrategy string `json:"expirationStrategy"`
	// RequireHeartbeat makes machines send heartbeats or die.
	RequireHeartbeat bool `json:"requireHeartbeat"`
	// HeartbeatIntervalMinutes is how often a machine must send one.
	HeartbeatIntervalMinutes int `json:"heartbeatIntervalMinutes"`
	// HeartbeatCullStrategy is DEACTIVATE_DEAD or KEEP_DEAD.
	HeartbeatCullStrategy string `json:"heartbeatCullStrategy"`
	// RequireFingerprint makes validation insist on a fingerprint.
	RequireFingerprint bool `json:"requireFingerprint"`
	// FingerprintUniqueness is UNIQUE_PER_LICENSE, UNIQUE_PER_POLICY or
	// UNIQUE_PER_ACCOUNT.
	FingerprintUniqueness string `json:"fingerprintUniqueness"`
	// OfflineAllowed permits offline license files (checkout).
	OfflineAllowed bool `json:"offlineAllowed"`
	// OfflineMaxDays is the longest TTL a license file may have.
	OfflineMaxDays int `json:"offlineMaxDays"`
	// AllowMachineTransfer lets a fingerprint move between licenses.
	AllowMachineTransfer bool `json:"allowMachineTransfer"`
	// IsTrial marks a trial policy.
	IsTrial bool `json:"isTrial"`
	// TrialDurationDays is the trial's length; nil when not a trial.
	TrialDurationDays *int `json:"trialDurationDays"`
	// Overridable lets licenses override MaxMachines and MaxUses.
	Overridable bool `json:"overridable"`
	// Entitlements is the entitlement codes every license of the policy has.
	Entitlements []string `json:"entitlements"`
	// Metadata is the vendor's free-form data.
	Metadata Metadata `json:"metadata"`
	// CreatedAt is when the policy was created.
	CreatedAt Timestamp `json:"createdAt"`
	// UpdatedAt is when the policy last changed.
	UpdatedAt Timestamp `json:"updatedAt"`
	// DeletedAt is when the policy was soft-deleted; zero while it exists.
	DeletedAt Timestamp `json:"deletedAt"`
}

// Machine is a device activated on a license.
type Machine struct {
	// ID is the machine's id (mach_…).
	ID string `json:"id"`
	// LicenseID is the license the machine is activated on.
	LicenseID string `json:"licenseId"`
	// Fingerprint identifies the device (see package fingerprint).
	Fingerprint string `json:"fingerprint"`
	// Name is a label for the machine.
	Name string `json:"name"`
	// Platform is macos, windows, linux, docker or kubernetes.
	Platform string `json:"platform"`
	// Hostname is the device's host name.
	Hostname string `json:"hostname"`
	// Cores is the device's CPU core count.
	Cores int `json:"cores"`
	// Status is active or dead (missed its heartbeats).
	Status string `json:"status"`
	// LastHeartbeatAt is the last heartbeat; zero when none was sent.
	LastHeartbeatAt Timestamp `json:"lastHeartbeatAt"`
	// CreatedAt is when the machine was activated.
	CreatedAt Timestamp `json:"createdAt"`
	// UpdatedAt is when the machine last changed.
	UpdatedAt Timestamp `json:"updatedAt"`
	// DeletedAt is when the machine was deactivated; zero while active.
	DeletedAt Timestamp `json:"deletedAt"`
	// Metadata is the vendor's free-form data.
	Metadata Metadata `json:"metadata"`
}

// Product is something a vendor sells licenses for.
type Product struct {
	// ID is the product's id (prod_…).
	ID string `json:"id"`
	// Name is the product's display name.
	Name string `json:"name"`
	// Code is the product's unique short code.
	Code string `json:"code"`
	// Description is free text.
	Description string `json:"description"`
	// KeyPrefix starts the keys of the product's licenses.
	KeyPrefix string `json:"keyPrefix"`
	// AccountID is the vendor account that owns the product.
	AccountID string `json:"accountId"`
	// LicensesCount is how many licenses the product has.
	LicensesCount int `json:"licensesCount"`
	// CreatedAt is when the product was created.
	CreatedAt Timestamp `json:"createdAt"`
	// UpdatedAt is when the product last changed.
	UpdatedAt Timestamp `json:"updatedAt"`
	// DeletedAt is when the product was soft-deleted; zero while it exists.
	DeletedAt Timestamp `json:"deletedAt"`
	// Metadata is the vendor's free-form data.
	Metadata Metadata `json:"metadata"`
}

// Entitlement is a named feature a license or policy can grant.
type Entitlement struct {
	// ID is the entitlement's id (ent_…).
	ID string `json:"id"`
	// Code is what validations and license files name, e.g. "pdf-export".
	Code string `json:"code"`
	// Name is the display name.
	Name string `json:"name"`
	// AccountID is the vendor account that owns it.
	AccountID string `json:"accountId"`
	// CreatedAt is when the entitlement was created.
	CreatedAt Timestamp `json:"createdAt"`
	// UpdatedAt is when the entitlement last changed.
	UpdatedAt Timestamp `json:"updatedAt"`
	// DeletedAt is when the entitlement was soft-deleted.
	DeletedAt Timestamp `json:"deletedAt"`
	// Metadata is the vendor's free-form data.
	Metadata Metadata `json:"metadata"`
}

// Webhook is a registered delivery endpoint.
type Webhook struct {
	// ID is the webhook's id.
	ID string `json:"id"`
	// URL receives the deliveries.
	URL string `json:"url"`
	// Events is the event types delivered; empty: all.
	Events []string `json:"events"`
	// AccountID is the vendor account that owns it.
	AccountID string `json:"accountId,omitempty"`
	// Secret signs the deliveries (whsec_…). Only create returns it.
	Secret string `json:"secret,omitempty"`
	// CreatedAt is when the webhook was registered.
	CreatedAt Timestamp `json:"createdAt"`
	// UpdatedAt is when it last changed.
	UpdatedAt Timestamp `json:"updatedAt"`
	// DeletedAt is when it was removed.
	DeletedAt Timestamp `json:"deletedAt"`
}

// PolicyFrom converts a policy of package resource (as offline, webhook and
// licentrictest give it) to this package's Policy; nil stays nil. The
// result shares slices and maps with r.
func PolicyFrom(r *resource.Policy) *Policy {
	if r == nil {
		return nil
	}
	p := Policy(*r)
	return &p
}

// MachineFrom converts a machine of package resource to this package's
// Machine; nil stays nil. The result shares its metadata with r.
func MachineFrom(r *resource.Machine) *Machine {
	if r == nil {
		return nil
	}
	m := Machine(*r)
	return &m
}

// LicenseFrom converts a license of package resource (for example the
// License of an offline.File) to this package's License, with its policy
// snapshot and machines; nil stays nil. The result shares slices and maps
// with r.
func LicenseFrom(r *resource.License) *License {
	if r == nil {
		return nil
	}
	l := &License{
		ID:                  r.ID,
		Key:                 r.Key,
		Name:                r.Name,
		Status:              r.Status,
		ProductID:           r.ProductID,
		PolicyID:            r.PolicyID,
		UserEmail:           r.UserEmail,
		UserName:            r.UserName,
		ExpiresAt:           r.ExpiresAt,
		MaxMachinesOverride: r.MaxMachinesOverride,
		MaxUsesOverride:     r.MaxUsesOverride,
		UsesCount:           r.UsesCount,
		MachineCount:        r.MachineCount,
		Entitlements:        r.Entitlements,
		Metadata:            r.Metadata,
		CreatedAt:           r.CreatedAt,
		UpdatedAt:           r.UpdatedAt,
		DeletedAt:           r.DeletedAt,
		Policy:              PolicyFrom(r.Policy),
	}
	if r.Machines != nil {
		l.Machines = make([]Machine, len(r.Machines))
		for i := range r.Machines {
			l.Machines[i] = Machine(r.Machines[i])
		}
	}
	return l
}

// Format prints the license with its key cut to a short prefix, for every
// verb of package fmt, so that a %v in a log line does not leak the key.
func (l License) Format(f fmt.State, verb rune) {
	type plain License // the same fields, without this method
	p := plain(l)
	if p.Key != "" {
		p.Key = redactKey(p.Key)
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), p)
}
