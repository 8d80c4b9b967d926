package wire

// HTTP header names.
const (
	HeaderAuthorization      = "Authorization"
	HeaderContentType        = "Content-Type"
	HeaderAccept             = "Accept"
	HeaderUserAgent          = "User-Agent"
	HeaderRequestID          = "X-Request-Id"
	HeaderRateLimitLimit     = "X-RateLimit-Limit"
	HeaderRateLimitRemaining = "X-RateLimit-Remaining"
	HeaderRateLimitReset     = "X-RateLimit-Reset"
	HeaderRetryAfter         = "Retry-After"

	HeaderWebhookSignature = "X-Webhook-Signature"
	HeaderWebhookID        = "X-Webhook-Id"
	HeaderWebhookEvent     = "X-Webhook-Event"
)

// ContentTypeJSON is the media type of every request and response body.
const ContentTypeJSON = "application/json"

// Authorization schemes. Scheme names match case-insensitively.
const (
	SchemeBearer  = "Bearer"  // API keys: "Bearer lk_live_…" / "Bearer lk_test_…"
	SchemeLicense = "License" // license keys: "License DSK-A1B2-…"
)

// API key prefixes; the prefix names the key's environment.
const (
	LiveKeyPrefix = "lk_live_"
	TestKeyPrefix = "lk_test_"
)

// Environments. Every resource lives in exactly one.
const (
	EnvLive = "live"
	EnvTest = "test"
)

// WebhookSecretPrefix starts every webhook signing secret.
const WebhookSecretPrefix = "whsec_"

// MaxBodyBytes caps request and response bodies (1 MiB).
const MaxBodyBytes = 1 << 20

// MaxLicenseKeyLen is the longest license key, in characters (docs/wire-protocol.md
// §13.1): custom keys imported from other services run to 16 KB.
const MaxLicenseKeyLen = 16384

// MaxMetadataBytes caps a resource's metadata, serialized (docs/wire-protocol.md §13.2).
const MaxMetadataBytes = 64 << 10

// Rate-limit tiers (docs/wire-protocol.md §9).
const (
	TierValidation = "VALIDATION" // POST /licenses/validate-key, 60/min per IP
	TierActivation = "ACTIVATION" // POST /machines, 10/min per IP
	TierManagement = "MANAGEMENT" // everything else, 120/min per API key
)

// Default per-minute limits of each tier.
const (
	LimitValidation = 60
	LimitActivation = 10
	LimitManagement = 120
)

// Scopes an API key may carry. A key with no scopes has full access.
const (
	ScopeLicensesRead      = "licenses:read"
	ScopeLicensesWrite     = "licenses:write"
	ScopeMachinesRead      = "machines:read"
	ScopeMachinesWrite     = "machines:write"
	ScopeProductsRead      = "products:read"
	ScopeProductsWrite     = "products:write"
	ScopePoliciesRead      = "policies:read"
	ScopePoliciesWrite     = "policies:write"
	ScopeEntitlementsRead  = "entitlements:read"
	ScopeEntitlementsWrite = "entitlements:write"
	ScopeWebhooksRead      = "webhooks:read"
	ScopeWebhooksWrite     = "webhooks:write"
	ScopeAnalyticsRead     = "analytics:read"
	ScopeAgentsRead        = "agents:read"
	ScopeAgentsWrite       = "agents:write"
)

// ScopeMCPInvoke is the scope agent tokens are usually granted (never API
// keys).
const ScopeMCPInvoke = "mcp:invoke"

// Scopes lists every scope an API key may carry.
func Scopes() []string {
	return []string{
		ScopeLicensesRead, ScopeLicensesWrite, ScopeMachinesRead, ScopeMachinesWrite,
		ScopeProductsRead, ScopeProductsWrite, ScopePoliciesRead, ScopePoliciesWrite,
		ScopeEntitlementsRead, ScopeEntitlementsWrite, ScopeWebhooksRead, ScopeWebhooksWrite,
		ScopeAnalyticsRead, ScopeAgentsRead, ScopeAgentsWrite,
	}
}

// Validation result codes (docs/wire-protocol.md §4), in the order the checks run.
const (
	CodeValid                = "VALID"
	CodeNotFound             = "NOT_FOUND"
	CodeBanned               = "BANNED"
	CodeRevoked              = "REVOKED"
	CodeSuspended            = "SUSPENDED"
	CodeExpired              = "EXPIRED"
	CodeUsesExceeded         = "USES_EXCEEDED"
	CodeFingerprintNotFound  = "FINGERPRINT_NOT_FOUND"
	CodeHeartbeatRequired    = "HEARTBEAT_REQUIRED"
	CodeEntitlementsMissing  = "ENTITLEMENTS_MISSING"
	CodeMachineLimitExceeded = "MACHINE_LIMIT_EXCEEDED"
)

// Error codes of the error envelope (docs/wire-protocol.md §10). NOT_FOUND,
// MACHINE_LIMIT_EXCEEDED and FINGERPRINT_NOT_FOUND are shared with the
// validation codes above.
const (
	ErrCodeValidation          = "VALIDATION_ERROR"
	ErrCodeUnauthorized        = "UNAUTHORIZED"
	ErrCodeForbidden           = "FORBIDDEN"
	ErrCodeNotFound            = CodeNotFound
	ErrCodeConflict            = "CONFLICT"
	ErrCodeFingerprintConflict = "FINGERPRINT_CONFLICT"
	ErrCodeMachineLimit        = CodeMachineLimitExceeded
	ErrCodeLicenseNotActive    = "LICENSE_NOT_ACTIVE"
	ErrCodeOfflineNotAllowed   = "OFFLINE_NOT_ALLOWED"
	ErrCodeOfflineTTLExceeded  = "OFFLINE_TTL_EXCEEDED"
	ErrCodeFingerprintNotFound = CodeFingerprintNotFound
	ErrCodeRateLimited         = "RATE_LIMITED"
	ErrCodeInternal            = "INTERNAL_ERROR"
)

// License statuses.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
	StatusExpired   = "expired"
	StatusRevoked   = "revoked"
	StatusBanned    = "banned"
)

// Machine statuses.
const (
	MachineActive = "active"
	MachineDead   = "dead"
)

// Expiration strategies of a policy.
const (
	StrategyRestrictAccess = "RESTRICT_ACCESS"
	StrategyAllowAccess    = "ALLOW_ACCESS"
	StrategyRevoke         = "REVOKE"
)

// Heartbeat cull strategies of a policy.
const (
	CullDeactivateDead = "DEACTIVATE_DEAD"
	CullKeepDead       = "KEEP_DEAD"
)

// Fingerprint uniqueness scopes of a policy.
const (
	UniquePerLicense = "PER_LICENSE"
	UniquePerPolicy  = "PER_POLICY"
	UniquePerAccount = "PER_ACCOUNT"
)

// Policy templates.
const (
	TemplateDesktopApp = "desktop_app"
	TemplateCLITool    = "cli_tool"
	TemplateSaaS       = "saas"
	TemplateTrial      = "trial"
	TemplateCustom     = "custom"
)

// Machine platforms.
const (
	PlatformMacOS      = "macos"
	PlatformWindows    = "windows"
	PlatformLinux      = "linux"
	PlatformDocker     = "docker"
	PlatformKubernetes = "kubernetes"
)

// Fingerprint length bounds.
const (
	MinFingerprintLen = 8
	MaxFingerprintLen = 256
)

// Offline checkout TTL bounds and default, in seconds.
const (
	MinCheckoutTTL     = 3600
	MaxCheckoutTTL     = 7776000
	DefaultCheckoutTTL = 1209600
)

// Webhook event types (docs-facts §7).
const (
	EventLicenseCreated      = "license.created"
	EventLicenseActivated    = "license.activated"
	EventLicenseUpdated      = "license.updated"
	EventLicenseSuspended    = "license.suspended"
	EventLicenseReinstated   = "license.reinstated"
	EventLicenseRevoked      = "license.revoked"
	EventLicenseRenewed      = "license.renewed"
	EventLicenseExpired      = "license.expired"
	EventLicenseDeleted      = "license.deleted"
	EventLicenseLimitReached = "license.limit_reached"
	EventMachineActivated    = "machine.activated"
	EventMachineDeactivated  = "machine.deactivated"
	EventMachineHeartbeat    = "machine.heartbeat"
	EventMachineDead         = "machine.dead"
	EventValidationSuccess   = "validation.success"
	EventValidationFailed    = "validation.failed"
	EventAll                 = "*"
)

// EventTypes lists every event type, in the docs' order.
func EventTypes() []string {
	return []string{
		EventLicenseCreated, EventLicenseActivated, EventLicenseUpdated, EventLicenseSuspended,
		EventLicenseReinstated, EventLicenseRevoked, EventLicenseRenewed, EventLicenseExpired,
		EventLicenseDeleted, EventLicenseLimitReached, EventMachineActivated, EventMachineDeactivated,
		EventMachineHeartbeat, EventMachineDead, EventValidationSuccess, EventValidationFailed,
	}
}

// TierOf returns the rate-limit tier of a request (docs/wire-protocol.md §9): the
// client's budget and the server's limiter both read it, so they never
// disagree. path is relative to APIPrefix.
func TierOf(method, path string) string {
	switch {
	case method == "POST" && path == PathValidateKey:
		return TierValidation
	case method == "POST" && path == PathMachines:
		return TierActivation
	}
	return TierManagement
}
