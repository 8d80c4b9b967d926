package licentric

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

// Machine platforms.
const (
	PlatformMacOS      = "macos"
	PlatformWindows    = "windows"
	PlatformLinux      = "linux"
	PlatformDocker     = "docker"
	PlatformKubernetes = "kubernetes"
)

// Tier is one of the service's rate-limit tiers: each has its own limit
// and window (see WithRateBudget and (*Client).RateLimit).
type Tier string

// The service's rate-limit tiers.
const (
	TierValidation Tier = "VALIDATION" // POST /licenses/validate-key: 60 a minute per IP address
	TierActivation Tier = "ACTIVATION" // POST /machines: 10 a minute per IP address
	TierManagement Tier = "MANAGEMENT" // everything else: 120 a minute per API key
)

// API-key scopes (docs/wire-protocol.md §11.3): GET needs <resource>:read, other methods
// <resource>:write; a key with no scopes has full access. Use them with
// keys made in the dashboard, or with licentrictest's NewAPIKey.
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
	// ScopeMCPInvoke is the scope agent tokens usually carry
	// (Agents.Authorize), never an API key's.
	ScopeMCPInvoke = "mcp:invoke"
)
