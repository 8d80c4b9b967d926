package wire

import (
	"encoding/json"

	"github.com/licentric/licentric-go/resource"
)

// The resources are defined, with their field docs, in the public package
// resource; these aliases keep wire the one place the contract is read from.
type (
	Metadata    = resource.Metadata
	License     = resource.License
	Policy      = resource.Policy
	Machine     = resource.Machine
	Product     = resource.Product
	Entitlement = resource.Entitlement
	Webhook     = resource.Webhook
)

// Validation is the body of a validate-key response (inside "data").
type Validation struct {
	Valid        bool     `json:"valid"`
	Code         string   `json:"code"`
	Detail       string   `json:"detail"`
	License      *License `json:"license"`
	Machine      *Machine `json:"machine"`
	Entitlements []string `json:"entitlements"`
}

// Checkout is the body of a checkout response (inside "data").
type Checkout struct {
	Certificate string    `json:"certificate"`
	IssuedAt    Timestamp `json:"issuedAt"`
	ExpiresAt   Timestamp `json:"expiresAt"`
	TTL         int       `json:"ttl"` // seconds
	KeyID       string    `json:"keyId"`
}

// SigningKey is the body of GET /keys/signing (inside "data").
type SigningKey struct {
	KeyID     string `json:"keyId"`
	Algorithm string `json:"algorithm"`
	PublicKey string `json:"publicKey"` // standard base64 of the 32 raw bytes
}

// Data is the envelope of every single-resource response: {"data": ...}.
type Data[T any] struct {
	Data T `json:"data"`
}

// List is the envelope of every list response.
type List[T any] struct {
	Data       []T        `json:"data"`
	Pagination Pagination `json:"pagination"`
}

// Pagination tells how to fetch the next page of a list.
type Pagination struct {
	NextCursor *string `json:"nextCursor"`
	HasMore    bool    `json:"hasMore"`
}

// ErrorBody is the error envelope. Both documented variants decode into it:
// the one with status, and the one with details and requestId.
type ErrorBody struct {
	Error     string          `json:"error"`
	Code      string          `json:"code"`
	Status    int             `json:"status,omitempty"`
	RequestID string          `json:"requestId,omitempty"`
	Details   json.RawMessage `json:"details,omitempty"`
}

// Event is a webhook delivery body (see resource.Event).
type Event = resource.Event

// Analytics is the body of GET /analytics (inside "data"), computed on
// every call (docs-facts §2.7).
type Analytics struct {
	Licenses    AnalyticsLicenses    `json:"licenses"`
	Machines    AnalyticsMachines    `json:"machines"`
	Activations AnalyticsActivations `json:"activations"`
	Validations AnalyticsValidations `json:"validations"`
}

// AnalyticsLicenses counts the environment's licenses that are not
// deleted, by reported status.
type AnalyticsLicenses struct {
	Total     int `json:"total"`
	Active    int `json:"active"`
	Expired   int `json:"expired"`
	Suspended int `json:"suspended"`
	Revoked   int `json:"revoked"`
	Banned    int `json:"banned"`
	// Billable counts toward plan limits: every license not deleted and
	// not expired (docs/wire-protocol.md §12: billable = total - expired).
	Billable int `json:"billable"`
}

// AnalyticsMachines counts the environment's machines that are not
// deleted, by status.
type AnalyticsMachines struct {
	Total  int `json:"total"`
	Active int `json:"active"`
	Dead   int `json:"dead"`
}

// AnalyticsActivations holds the activations per UTC day of the last
// seven days, oldest first.
type AnalyticsActivations struct {
	Trend []AnalyticsDay `json:"trend"`
}

// AnalyticsDay is one day of AnalyticsActivations.Trend.
type AnalyticsDay struct {
	Date  string `json:"date"` // YYYY-MM-DD, UTC
	Count int    `json:"count"`
}

// AnalyticsValidations counts the validate-key calls that found a license.
type AnalyticsValidations struct {
	Total      int `json:"total"`
	Successful int `json:"successful"`
	Failed     int `json:"failed"`
}
