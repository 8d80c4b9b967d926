package wire

import (
	"net/url"
	"strings"
)

// APIPrefix is the version prefix under which every endpoint sits.
const APIPrefix = "/api/v1"

// DefaultBaseURL is the service's production origin; the client appends APIPrefix.
const DefaultBaseURL = "https://licentric.com"

// Endpoint paths, relative to <base>/api/v1. Paths that name a resource are
// built by the functions below, which escape the identifier.
const (
	PathValidateKey  = "/licenses/validate-key"
	PathLicenses     = "/licenses"
	PathMachines     = "/machines"
	PathProducts     = "/products"
	PathPolicies     = "/policies"
	PathEntitlements = "/entitlements"
	PathWebhooks     = "/webhooks"
	PathSigningKey   = "/keys/signing"
	PathAnalytics    = "/analytics"
	PathAgents       = "/mcp/agents"
	PathAuthorize    = "/mcp/authorize"
	PathVerify       = "/mcp/verify"
	// PathOpenAPI is the OpenAPI 3.1 document of every operation under
	// APIPrefix, as the test server (licentrictest) serves it.
	PathOpenAPI = "/openapi.json"
)

// License lifecycle actions, the last segment of POST /licenses/{id}/{action}.
const (
	ActionSuspend   = "suspend"
	ActionReinstate = "reinstate"
	ActionRevoke    = "revoke"
	ActionRenew     = "renew"
)

// Sub-resource path segments.
const (
	SegmentHeartbeat    = "heartbeat"
	SegmentCheckout     = "checkout"
	SegmentEntitlements = "entitlements"
	SegmentByKey        = "by-key"
	SegmentMeters       = "meters"
)

// Query parameter names.
const (
	QueryCursor    = "cursor"
	QueryLimit     = "limit"
	QueryLicenseID = "licenseId"
	QueryProductID = "productId"
	QueryPolicyID  = "policyId"
	QueryStatus    = "status"
)

// Page size bounds for list endpoints.
const (
	DefaultPageLimit = 25
	MaxPageLimit     = 100
)

// ResourcePath returns collection + "/" + id with id path-escaped,
// e.g. ResourcePath(PathMachines, id) is "/machines/{id}".
func ResourcePath(collection, id string) string {
	return collection + "/" + EscapeSegment(id)
}

// EscapeSegment path-escapes s as one path segment. Unlike url.PathEscape
// it also escapes the segments "." and ".." (as %2E), which a server would
// otherwise resolve away, so every license key survives the trip.
func EscapeSegment(s string) string {
	if s == "." || s == ".." {
		return strings.Repeat("%2E", len(s))
	}
	return url.PathEscape(s)
}

// SubPath returns collection/{id}/{segment}, e.g. "/machines/{id}/heartbeat".
func SubPath(collection, id, segment string) string {
	return ResourcePath(collection, id) + "/" + segment
}

// LicenseByKeyPath returns "/licenses/by-key/{key}".
func LicenseByKeyPath(key string) string {
	return PathLicenses + "/" + SegmentByKey + "/" + EscapeSegment(key)
}
