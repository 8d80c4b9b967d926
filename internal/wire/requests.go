package wire

import "github.com/licentric/licentric-go/resource"

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

// ProductRequest is resource.ProductRequest.
type ProductRequest = resource.ProductRequest

// PolicyRequest is resource.PolicyRequest.
type PolicyRequest = resource.PolicyRequest

// LicenseRequest is resource.LicenseRequest.
type LicenseRequest = resource.LicenseRequest

// EntitlementRequest is resource.EntitlementRequest.
type EntitlementRequest = resource.EntitlementRequest

// WebhookRequest is resource.WebhookRequest.
type WebhookRequest = resource.WebhookRequest
