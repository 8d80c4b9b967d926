package licentric

import (
	"github.com/licentric/licentric-go/resource"
)

// The resources of the Licentric API. Each is defined once, in package
// resource (which the packages this one builds on, offline and webhook,
// and licentrictest share); this package names them, so that an
// application needs one import. go doc resource.License shows the fields.

// Timestamp is a time on the wire (RFC 3339 UTC, milliseconds); the zero
// value is JSON null. It embeds time.Time.
type Timestamp = resource.Timestamp

// Metadata is the free-form JSON object most resources carry.
type Metadata = resource.Metadata

// License is a license key and its state, with a snapshot of its policy;
// see resource.License for its fields. fmt prints it with its key cut
// short.
type License = resource.License

// Policy is the rules a license is issued under; see resource.Policy.
type Policy = resource.Policy

// Machine is a machine activated on a license; see resource.Machine.
type Machine = resource.Machine

// Product is a product licenses are issued for; see resource.Product.
type Product = resource.Product

// Entitlement is a feature a license or policy can grant; see
// resource.Entitlement.
type Entitlement = resource.Entitlement

// Webhook is an endpoint the service delivers events to; see
// resource.Webhook.
type Webhook = resource.Webhook
