package licentric

import (
	"time"

	"github.com/licentric/licentric-go/resource"
)

// Nullable is an optional field of a request body. Every optional field is
// a Nullable: leave it zero to leave it out, set it with Value(v) (Date(t)
// for a date), or clear it with Null where the field takes null
// (MaxMachines: unlimited; ExpiresAt: never). Leaving unset fields out lets the same type serve create (POST)
// and partial update (PATCH).
type Nullable[T any] = resource.Nullable[T]

// Value returns a Nullable that sends v.
func Value[T any](v T) Nullable[T] { return resource.Value(v) }

// Null returns a Nullable that sends JSON null.
func Null[T any]() Nullable[T] { return resource.Null[T]() }

// Date returns what a request's date fields take: a Nullable that sends t
// (in UTC, to the millisecond, as on the wire), or null when t is zero
// (ExpiresAt: licentric.Date(time.Now().AddDate(1, 0, 0))).
func Date(t time.Time) Nullable[Timestamp] {
	if t.IsZero() {
		return Null[Timestamp]()
	}
	return Value(resource.NewTimestamp(t))
}

// Request bodies of the management API; their fields are documented in
// package resource, which the test server shares. Every optional field is a
// Nullable: leave it zero to leave it out, set it with Value(v) (Date(t) for
// a date), or clear it with Null where the field takes null.
type (
	// ProductRequest creates or updates a product.
	ProductRequest = resource.ProductRequest
	// PolicyRequest creates or updates a policy.
	PolicyRequest = resource.PolicyRequest
	// LicenseRequest creates or updates a license (Key: a custom key).
	LicenseRequest = resource.LicenseRequest
	// EntitlementRequest creates or updates an entitlement.
	EntitlementRequest = resource.EntitlementRequest
	// WebhookRequest registers or updates a webhook.
	WebhookRequest = resource.WebhookRequest
)

// Pagination tells how to fetch the next page of a list.
type Pagination struct {
	// NextCursor is the cursor of the next page; nil on the last.
	NextCursor *string `json:"nextCursor"`
	// HasMore reports that another page follows.
	HasMore bool `json:"hasMore"`
}
