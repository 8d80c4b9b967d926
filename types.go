package licentric

import "github.com/licentric/licentric-go/internal/wire"

// Resources of the Licentric API. They are the wire types themselves, so a
// value decoded by the client, by the test server (licentrictest) or from an
// offline license file is the same Go type.
type (
	// License is a license key and its state, with a snapshot of its policy.
	License = wire.License
	// Machine is a device activated on a license.
	Machine = wire.Machine
	// Policy is the set of rules licenses are issued under.
	Policy = wire.Policy
	// Product is something a vendor sells licenses for.
	Product = wire.Product
	// Entitlement is a named feature a license or policy can grant.
	Entitlement = wire.Entitlement
	// Webhook is a registered webhook endpoint.
	Webhook = wire.Webhook
	// Timestamp is a time on the wire (RFC 3339 UTC, milliseconds); the
	// zero value is JSON null.
	Timestamp = wire.Timestamp
	// Metadata is the free-form JSON object most resources carry.
	Metadata = wire.Metadata
	// Pagination tells how to fetch the next page of a list.
	Pagination = wire.Pagination
)

// Request bodies of the management API. Unset fields are left out, so the
// same type serves create (POST) and partial update (PATCH).
type (
	// ProductRequest creates or updates a product.
	ProductRequest = wire.ProductRequest
	// PolicyRequest creates or updates a policy.
	PolicyRequest = wire.PolicyRequest
	// LicenseRequest creates or updates a license.
	LicenseRequest = wire.LicenseRequest
	// EntitlementRequest creates or updates an entitlement.
	EntitlementRequest = wire.EntitlementRequest
	// WebhookRequest registers or updates a webhook.
	WebhookRequest = wire.WebhookRequest
)

// Nullable is an optional request field that can also be sent as JSON null:
// the zero value leaves the field out, Null sends null (for example
// "unlimited" for maxMachines) and Value sends a value.
type Nullable[T any] = wire.Nullable[T]

// Value returns a Nullable that sends v.
func Value[T any](v T) Nullable[T] { return wire.Value(v) }

// Null returns a Nullable that sends JSON null.
func Null[T any]() Nullable[T] { return wire.Null[T]() }

// Ptr returns a pointer to v, for the optional fields of request types
// (Name: licentric.Ptr("Pro")).
func Ptr[T any](v T) *T { return &v }

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
