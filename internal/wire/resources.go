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
