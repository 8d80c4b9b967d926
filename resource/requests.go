package resource

// Request bodies of the management API (the root package names them too:
// licentric.PolicyRequest is resource.PolicyRequest). One rule for their
// optional fields: a zero field is left out; set a pointer field with
// licentric.Ptr(v), a Nullable field with licentric.Value(v) (or
// licentric.Null to send null, which clears it), and a date with
// licentric.Date(t). Leaving unset fields out lets the same type serve
// create (POST) and partial update (PATCH).

// ProductRequest creates or updates a product.
type ProductRequest struct {
	// Name is the display name (required on create).
	Name *string `json:"name,omitempty"`
	// Code is the unique short code (required on create).
	Code *string `json:"code,omitempty"`
	// Description is free text.
	Description *string `json:"description,omitempty"`
	// KeyPrefix starts generated license keys (default LIC).
	KeyPrefix *string `json:"keyPrefix,omitempty"`
	// Metadata is stored as given.
	Metadata Metadata `json:"metadata,omitempty"`
}

// PolicyRequest creates or updates a policy. Nullable fields tell "leave
// alone" (zero) from an explicit null (unlimited, never).
type PolicyRequest struct {
	// ProductID is the product the policy belongs to (required on create).
	ProductID *string `json:"productId,omitempty"`
	// Name is the policy's name.
	Name *string `json:"name,omitempty"`
	// Template is trial, perpetual, subscription, floating, node-locked or
	// custom (the default); it fills the values it defines.
	Template *string `json:"template,omitempty"`
	// MaxMachines limits activations; Null (with
	// AllowUnlimitedActivations) means unlimited.
	MaxMachines Nullable[int] `json:"maxMachines,omitzero"`
	// AllowUnlimitedActivations confirms a null MaxMachines.
	AllowUnlimitedActivations *bool `json:"allowUnlimitedActivations,omitempty"`
	// MaxUses limits validations; Null: unlimited.
	MaxUses Nullable[int] `json:"maxUses,omitzero"`
	// Floating lets machines come and go within MaxMachines.
	Floating *bool `json:"floating,omitempty"`
	// DurationDays is how long a license lasts; Null: forever.
	DurationDays Nullable[int] `json:"durationDays,omitzero"`
	// ExpirationStrategy is StrategyRestrictAccess, StrategyAllowAccess or
	// StrategyRevoke.
	ExpirationStrategy *string `json:"expirationStrategy,omitempty"`
	// RequireHeartbeat makes machines send heartbeats or die.
	RequireHeartbeat *bool `json:"requireHeartbeat,omitempty"`
	// HeartbeatIntervalMinutes is how often a machine must send one.
	HeartbeatIntervalMinutes *int `json:"heartbeatIntervalMinutes,omitempty"`
	// HeartbeatCullStrategy is CullDeactivateDead or CullKeepDead.
	HeartbeatCullStrategy *string `json:"heartbeatCullStrategy,omitempty"`
	// RequireFingerprint makes validation insist on a fingerprint.
	RequireFingerprint *bool `json:"requireFingerprint,omitempty"`
	// FingerprintUniqueness is UniquePerLicense, UniquePerPolicy or
	// UniquePerAccount.
	FingerprintUniqueness *string `json:"fingerprintUniqueness,omitempty"`
	// OfflineAllowed permits license files.
	OfflineAllowed *bool `json:"offlineAllowed,omitempty"`
	// OfflineMaxDays is the longest license-file TTL.
	OfflineMaxDays *int `json:"offlineMaxDays,omitempty"`
	// AllowMachineTransfer lets a fingerprint move between licenses.
	AllowMachineTransfer *bool `json:"allowMachineTransfer,omitempty"`
	// IsTrial marks a trial policy.
	IsTrial *bool `json:"isTrial,omitempty"`
	// TrialDurationDays is the trial's length; Null: none.
	TrialDurationDays Nullable[int] `json:"trialDurationDays,omitzero"`
	// Overridable lets licenses override MaxMachines and MaxUses.
	Overridable *bool `json:"overridable,omitempty"`
	// Metadata is stored as given.
	Metadata Metadata `json:"metadata,omitempty"`
}

// LicenseRequest creates or updates a license.
type LicenseRequest struct {
	// ProductID is the license's product (required on create).
	ProductID *string `json:"productId,omitempty"`
	// PolicyID is the license's policy (required on create).
	PolicyID *string `json:"policyId,omitempty"`
	// Key sets a custom license key on create (1 to 16,384 characters,
	// kept byte-exact: migrations); unset, the service generates one.
	Key *string `json:"key,omitempty"`
	// Name is the vendor's label.
	Name *string `json:"name,omitempty"`
	// ExpiresAt sets the expiry; Null: never.
	ExpiresAt Nullable[Timestamp] `json:"expiresAt,omitzero"`
	// MaxMachinesOverride replaces the policy's limit (overridable
	// policies); Null removes the override.
	MaxMachinesOverride Nullable[int] `json:"maxMachinesOverride,omitzero"`
	// MaxUsesOverride replaces the policy's use limit likewise.
	MaxUsesOverride Nullable[int] `json:"maxUsesOverride,omitzero"`
	// UserEmail is the licensee's email.
	UserEmail *string `json:"userEmail,omitempty"`
	// UserName is the licensee's name.
	UserName *string `json:"userName,omitempty"`
	// EntitlementIDs grants entitlements on create.
	EntitlementIDs []string `json:"entitlementIds,omitempty"`
	// Metadata is stored as given (up to 64 KiB).
	Metadata Metadata `json:"metadata,omitempty"`
}

// EntitlementRequest creates or updates an entitlement.
type EntitlementRequest struct {
	// Code is the unique code validations name (required on create).
	Code *string `json:"code,omitempty"`
	// Name is the display name.
	Name *string `json:"name,omitempty"`
	// Metadata is stored as given.
	Metadata Metadata `json:"metadata,omitempty"`
}

// WebhookRequest registers or updates a webhook.
type WebhookRequest struct {
	// URL receives the deliveries (https; http only to loopback in tests).
	URL *string `json:"url,omitempty"`
	// Events is the event types to deliver (see package webhook; "*" for all, the default).
	Events []string `json:"events,omitempty"`
}
