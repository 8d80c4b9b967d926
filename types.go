package licentric

import "github.com/licentric/licentric-go/internal/wire"

// License statuses.
const (
	StatusActive    = wire.StatusActive
	StatusSuspended = wire.StatusSuspended
	StatusExpired   = wire.StatusExpired
	StatusRevoked   = wire.StatusRevoked
	StatusBanned    = wire.StatusBanned
)

// Machine statuses.
const (
	MachineActive = wire.MachineActive
	MachineDead   = wire.MachineDead
)

// Expiration strategies of a policy.
const (
	StrategyRestrictAccess = wire.StrategyRestrictAccess
	StrategyAllowAccess    = wire.StrategyAllowAccess
	StrategyRevoke         = wire.StrategyRevoke
)

// Heartbeat cull strategies of a policy.
const (
	CullDeactivateDead = wire.CullDeactivateDead
	CullKeepDead       = wire.CullKeepDead
)

// Fingerprint uniqueness scopes of a policy.
const (
	UniquePerLicense = wire.UniquePerLicense
	UniquePerPolicy  = wire.UniquePerPolicy
	UniquePerAccount = wire.UniquePerAccount
)

// Machine platforms.
const (
	PlatformMacOS      = wire.PlatformMacOS
	PlatformWindows    = wire.PlatformWindows
	PlatformLinux      = wire.PlatformLinux
	PlatformDocker     = wire.PlatformDocker
	PlatformKubernetes = wire.PlatformKubernetes
)

// Rate-limit tiers, for (*Client).RateLimit.
const (
	TierValidation = wire.TierValidation
	TierActivation = wire.TierActivation
	TierManagement = wire.TierManagement
)

// API-key scopes (contract §11.3): GET needs <resource>:read, other methods
// <resource>:write; a key with no scopes has full access. Use them with
// keys made in the dashboard, or with licentrictest's NewAPIKey.
const (
	ScopeLicensesRead      = wire.ScopeLicensesRead
	ScopeLicensesWrite     = wire.ScopeLicensesWrite
	ScopeMachinesRead      = wire.ScopeMachinesRead
	ScopeMachinesWrite     = wire.ScopeMachinesWrite
	ScopeProductsRead      = wire.ScopeProductsRead
	ScopeProductsWrite     = wire.ScopeProductsWrite
	ScopePoliciesRead      = wire.ScopePoliciesRead
	ScopePoliciesWrite     = wire.ScopePoliciesWrite
	ScopeEntitlementsRead  = wire.ScopeEntitlementsRead
	ScopeEntitlementsWrite = wire.ScopeEntitlementsWrite
	ScopeWebhooksRead      = wire.ScopeWebhooksRead
	ScopeWebhooksWrite     = wire.ScopeWebhooksWrite
	ScopeAnalyticsRead     = wire.ScopeAnalyticsRead
	ScopeAgentsRead        = wire.ScopeAgentsRead
	ScopeAgentsWrite       = wire.ScopeAgentsWrite
	// ScopeMCPInvoke is the scope agent tokens usually carry
	// (Agents.Authorize), never an API key's.
	ScopeMCPInvoke = wire.ScopeMCPInvoke
)
