package resource

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Metadata is the free-form JSON object most resources carry.
type Metadata map[string]any

// TimeLayout is the wire form of every timestamp: RFC 3339, UTC, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Timestamp is a time on the wire. It encodes as TimeLayout in UTC and as
// JSON null when zero, and decodes any RFC 3339 string (years 0 to 9999) or
// null. It embeds time.Time, so Before, IsZero and the rest work directly.
type Timestamp struct {
	time.Time
}

// NewTimestamp returns t as a Timestamp truncated to the wire's milliseconds.
func NewTimestamp(t time.Time) Timestamp {
	if t.IsZero() {
		return Timestamp{}
	}
	return Timestamp{t.UTC().Truncate(time.Millisecond)}
}

// String formats the timestamp as on the wire, or "null" when zero.
func (t Timestamp) String() string {
	if t.IsZero() {
		return "null"
	}
	return t.UTC().Format(TimeLayout)
}

// MarshalJSON implements json.Marshaler.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Timestamp) UnmarshalJSON(data []byte) error {
	if bytes.Equal(data, []byte("null")) {
		*t = Timestamp{}
		return nil
	}
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return errors.New("timestamp is not a JSON string")
	}
	parsed, err := time.Parse(time.RFC3339Nano, string(data[1:len(data)-1]))
	if err != nil {
		return errors.New("timestamp is not RFC 3339")
	}
	parsed = parsed.UTC()
	if y := parsed.Year(); y < 0 || y > 9999 {
		return errors.New("timestamp is out of range")
	}
	t.Time = parsed
	return nil
}

// License is a license key and its state, with a snapshot of its policy
// (docs/wire-protocol.md §3).
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

// Policy is the set of rules licenses are issued under (docs/wire-protocol.md §3).
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

// Format prints the license with its key cut to a short prefix, for every
// verb of package fmt, so that a %v in a log line does not leak the key.
func (l License) Format(f fmt.State, verb rune) {
	type plain License // the same fields, without this method
	p := plain(l)
	if n := min(len(p.Key)*2/5, 9); p.Key != "" {
		for n > 0 && !utf8.RuneStart(p.Key[n]) {
			n--
		}
		p.Key = p.Key[:n] + "…"
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), p)
}

// Event is a webhook delivery's body as the service sends it: Data is the
// License for license.* and validation.* events and the Machine for
// machine.* events (package webhook verifies and parses deliveries).
type Event struct {
	// ID is the event's id (evt_…); deliveries of one event share it.
	ID string `json:"id"`
	// Type is the event's type, such as "license.suspended".
	Type string `json:"type"`
	// CreatedAt is when the event happened.
	CreatedAt Timestamp `json:"createdAt"`
	// Data is the resource the event is about, as JSON.
	Data json.RawMessage `json:"data"`
}

// Agent is an AI-agent identity (an MCP client the vendor has registered).
type Agent struct {
	// ID is the agent's id (agt_…).
	ID string `json:"id"`
	// Name is the vendor's label for the agent.
	Name string `json:"name"`
	// Metadata is the vendor's free-form data.
	Metadata Metadata `json:"metadata"`
	// CreatedAt is when the agent was created.
	CreatedAt Timestamp `json:"createdAt"`
	// UpdatedAt is when the agent last changed.
	UpdatedAt Timestamp `json:"updatedAt"`
}
