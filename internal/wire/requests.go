package wire

// ValidateRequest is the body of POST /licenses/validate-key.
type ValidateRequest struct {
	Key          string   `json:"key"`
	Fingerprint  string   `json:"fingerprint,omitempty"`
	Entitlements []string `json:"entitlements,omitempty"`
}

// ActivateRequest is the body of POST /machines. LicenseID is sent only with
// API-key auth; with license-key auth the key names the license.
type ActivateRequest struct {
	LicenseID   string   `json:"licenseId,omitempty"`
	Fingerprint string   `json:"fingerprint"`
	Name        string   `json:"name,omitempty"`
	Platform    string   `json:"platform,omitempty"`
	Hostname    string   `json:"hostname,omitempty"`
	Cores       int      `json:"cores,omitempty"`
	Metadata    Metadata `json:"metadata,omitempty"`
}

// CheckoutRequest is the body of POST /licenses/{id}/checkout. TTL is in
// seconds; zero leaves it out and the server uses DefaultCheckoutTTL.
type CheckoutRequest struct {
	Fingerprint string `json:"fingerprint"`
	TTL         int    `json:"ttl,omitempty"`
}

// EntitlementCodesRequest attaches or detaches entitlements by code.
type EntitlementCodesRequest struct {
	EntitlementCodes []string `json:"entitlementCodes"`
}

// ProductRequest creates (POST) or updates (PATCH) a product. Unset fields
// are left out of the body.
type ProductRequest struct {
	Name        *string  `json:"name,omitempty"`
	Code        *string  `json:"code,omitempty"`
	Description *string  `json:"description,omitempty"`
	KeyPrefix   *string  `json:"keyPrefix,omitempty"`
	Metadata    Metadata `json:"metadata,omitempty"`
}

// PolicyRequest creates or updates a policy. Nullable fields distinguish
// "unset" from an explicit null (unlimited / never).
type PolicyRequest struct {
	ProductID                 *string       `json:"productId,omitempty"`
	Name                      *string       `json:"name,omitempty"`
	Template                  *string       `json:"template,omitempty"`
	MaxMachines               Nullable[int] `json:"maxMachines,omitzero"`
	AllowUnlimitedActivations *bool         `json:"allowUnlimitedActivations,omitempty"`
	MaxUses                   Nullable[int] `json:"maxUses,omitzero"`
	Floating                  *bool         `json:"floating,omitempty"`
	DurationDays              Nullable[int] `json:"durationDays,omitzero"`
	ExpirationStrategy        *string       `json:"expirationStrategy,omitempty"`
	RequireHeartbeat          *bool         `json:"requireHeartbeat,omitempty"`
	HeartbeatIntervalMinutes  *int          `json:"heartbeatIntervalMinutes,omitempty"`
	HeartbeatCullStrategy     *string       `json:"heartbeatCullStrategy,omitempty"`
	RequireFingerprint        *bool         `json:"requireFingerprint,omitempty"`
	FingerprintUniqueness     *string       `json:"fingerprintUniqueness,omitempty"`
	OfflineAllowed            *bool         `json:"offlineAllowed,omitempty"`
	OfflineMaxDays            *int          `json:"offlineMaxDays,omitempty"`
	AllowMachineTransfer      *bool         `json:"allowMachineTransfer,omitempty"`
	IsTrial                   *bool         `json:"isTrial,omitempty"`
	TrialDurationDays         Nullable[int] `json:"trialDurationDays,omitzero"`
	Overridable               *bool         `json:"overridable,omitempty"`
	Metadata                  Metadata      `json:"metadata,omitempty"`
}

// LicenseRequest creates or updates a license. Key sets a custom license key
// on create (migrations from other services).
type LicenseRequest struct {
	ProductID           *string             `json:"productId,omitempty"`
	PolicyID            *string             `json:"policyId,omitempty"`
	Key                 *string             `json:"key,omitempty"`
	Name                *string             `json:"name,omitempty"`
	ExpiresAt           Nullable[Timestamp] `json:"expiresAt,omitzero"`
	MaxMachinesOverride Nullable[int]       `json:"maxMachinesOverride,omitzero"`
	MaxUsesOverride     Nullable[int]       `json:"maxUsesOverride,omitzero"`
	UserEmail           *string             `json:"userEmail,omitempty"`
	UserName            *string             `json:"userName,omitempty"`
	EntitlementIDs      []string            `json:"entitlementIds,omitempty"`
	Metadata            Metadata            `json:"metadata,omitempty"`
}

// EntitlementRequest creates or updates an entitlement.
type EntitlementRequest struct {
	Code     *string  `json:"code,omitempty"`
	Name     *string  `json:"name,omitempty"`
	Metadata Metadata `json:"metadata,omitempty"`
}

// WebhookRequest registers or updates a webhook. Events default to ["*"].
type WebhookRequest struct {
	URL    *string  `json:"url,omitempty"`
	Events []string `json:"events,omitempty"`
}
