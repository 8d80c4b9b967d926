package licentric

import "github.com/licentric/licentric-go/resource"

// Request bodies of the management API. Unset fields (nil pointers, zero
// Nullables, nil slices and maps) are left out, so the same type serves
// create (POST) and partial update (PATCH).

// Nullable is an optional request field that can also be sent as JSON null:
// the zero value leaves the field out, Null sends null (for example
// "unlimited" for maxMachines) and Value sends a value.
type Nullable[T any] = resource.Nullable[T]

// Value returns a Nullable that sends v.
func Value[T any](v T) Nullable[T] { return resource.Value(v) }

// Null returns a Nullable that sends JSON null.
func Null[T any]() Nullable[T] { return resource.Null[T]() }

// Ptr returns a pointer to v, for the optional fields of request types
// (Name: licentric.Ptr("Pro")).
func Ptr[T any](v T) *T { return &v }

// Request bodies of the management API; their fields are documented in
// package resource, which the test server shares.
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
