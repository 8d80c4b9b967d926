package resource

// Request bodies of the management API (the root package names them too:
// licentric.PolicyRequest is resource.PolicyRequest). Every optional field
// is a Nullable: leave it zero to leave it out, set it with
// licentric.Value(v) (licentric.Date(t) for a date), or clear it with
// licentric.Null where the field takes null (MaxMachines: unlimited;
// ExpiresAt: never). Leaving unset
// fields out lets the same type serve create (POST) and partial update
// (PATCH).

// ProductRequest creates or updates a product.
type ProductRequest struct {
	// Name is the display name (required on create).
	Name Nullable[string] `json:"name,omitzero"`
	// Code is the unique short code (required on create).
	Code Nullable[string] `json:"code,omitzero"`
	// Description is free text.
	Description Nullable[string] `json:"description,omitzero"`
	// KeyPrefix starts generated license keys (default LIC).
	KeyPrefix Nullable[string] `json:"keyPrefix,omitzero"`
	// Metadata is stored as given.
	Metadata Metadata `json:"metadata,omitempty"`
}

// PolicyRequest creates or updates a policy.
type PolicyRequest struct {
	// ProductID is the product the policy belongs to (required on create).
	ProductID Nullable[string] `json:"productId,omitzero"`
	// Name is the policy's name.
	Name Nullable[string] `json:"name,omitzero"`
	// Template is trial, perpetual, subscription, floating, node-locked or
	// custom (the default); it fills the values it defines.
	Template Nullable[string] `json:"template,omitzero"`
	// MaxMachines limits activations; Null (with
	// AllowUnlimitedActivations) means unlimited.
	MaxMachines Nullable[int] `json:"maxMachines,omitzero"`
	// AllowUnlimitedActivations confirms a null MaxMachines.
	AllowUnlimitedActivations Nullable[bool] `json:"allowUnlimitedActivations,omitzero"`
	// MaxUses limits validations; Null: unlimited.
	MaxUses Nullable[int] `json:"maxUses,omitzero"`
	// Floating lets machines come and go within MaxMachines.
	Floating Nullable[bool] `json:"floating,omitzero"`
	// DurationDays is how long a license lasts; Null: forever.
	DurationDays Nullable[int] `json:"durationDays,omitzero"`
	// ExpirationStrategy is StrategyRestrictAccess, StrategyAllowAccess or
	// StrategyRevoke.
	ExpirationStrategy Nullable[string] `json:"expirationStrategy,omitzero"`
	// RequireHeartbeat makes machines send heartbeats or die.
	RequireHeartbeat Nullable[bool] `json:"requireHeartbeat,omitzero"`
	// HeartbeatIntervalMinutes is how often a machine must send one.
	HeartbeatIntervalMinutes Nullable[int] `json:"heartbeatIntervalMinutes,omitzero"`
	// HeartbeatCullStrategy is CullDeactivateDead or CullKeepDead.
	HeartbeatCullStrategy Nullable[string] `json:"heartbeatCullStrategy,omitzero"`
	// RequireFingerprint makes validation insist on a fingerprint.
	RequireFingerprint Nullable[bool] `json:"requireFingerprint,omitzero"`
	// FingerprintUniqueness is UniquePerLicense, UniquePerPolicy or
	// UniquePerAccount.
	FingerprintUniqueness Nullable[string] `json:"fingerprintUniqueness,omitzero"`
	// OfflineAllowed permits license files.
	OfflineAllowed Nullable[bool] `json:"offlineAllowed,omitzero"`
	// OfflineMaxDays is the longest license-file TTL.
	OfflineMaxDays Nullable[int] `json:"offlineMaxDays,omitzero"`
	// AllowMachineTransfer lets a fingerprint move between licenses.
	AllowMachineTransfer Nullable[bool] `json:"allowMachineTransfer,omitzero"`
	// IsTrial marks a trial policy.
	IsTrial Nullable[bool] `json:"isTrial,omitzero"`
	// TrialDurationDays is the trial's length; Null: none.
	TrialDurationDays Nullable[int] `json:"trialDurationDays,omitzero"`
	// Overridable lets licenses override MaxMachines and MaxUses.
	Overridable Nullable[bool] `json:"overridable,omitzero"`
	// Metadata is stored as given.
	Metadata Metadata `json:"metadata,omitempty"`
}

// LicenseRequest creates or updates a license.
type LicenseRequest struct {
	// ProductID is the license's product (required on create).
	ProductID Nullable[string] `json:"productId,omitzero"`
	// PolicyID is the license's policy (required on create).
	PolicyID Nullable[string] `json:"policyId,omitzero"`
	// Key sets a custom license key on create (1 to 16,384 characters,
	// kept byte-exact: migrations); unset, the service generates one.
	Key Nullable[string] `json:"key,omitzero"`
	// Name is the vendor's label.
	Name Nullable[string] `json:"name,omitzero"`
	// ExpiresAt sets the expiry; Null: never.
	ExpiresAt Nullable[Timestamp] `json:"expiresAt,omitzero"`
	// MaxMachinesOverride replaces the policy's limit (overridable
	// policies); Null removes the override.
	MaxMachinesOverride Nullable[int] `json:"maxMachinesOverride,omitzero"`
	// MaxUsesOverride replaces the policy's use limit likewise.
	MaxUsesOverride Nullable[int] `json:"maxUsesOverride,omitzero"`
	// UserEmail is the licensee's email.
	UserEmail Nullable[string] `json:"userEmail,omitzero"`
	// UserName is the licensee's name.
	UserName Nullable[string] `json:"userName,omitzero"`
	// EntitlementIDs grants entitlements on create.
	EntitlementIDs []string `json:"entitlementIds,omitempty"`
	// Metadata is stored as given (up to 64 KiB).
	Metadata Metadata `json:"metadata,omitempty"`
}

// EntitlementRequest creates or updates an entitlement.
type EntitlementRequest struct {
	// Code is the unique code validations name (required on create).
	Code Nullable[string] `json:"code,omitzero"`
	// Name is the display name.
	Name Nullable[string] `json:"name,omitzero"`
	// Metadata is stored as given.
	Metadata Metadata `json:"metadata,omitempty"`
}

// WebhookRequest registers or updates a webhook.
type WebhookRequest struct {
	// URL receives the deliveries (https; http only to loopback in tests).
	URL Nullable[string] `json:"url,omitzero"`
	// Events is the event types to deliver (see package webhook; "*" for all, the default).
	Events []string `json:"events,omitempty"`
}
