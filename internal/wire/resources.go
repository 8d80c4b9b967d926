package wire

import "encoding/json"

// Metadata is the free-form JSON object most resources carry.
type Metadata map[string]any

// License is a license key and its state (contract §3).
type License struct {
	ID                  string    `json:"id"`
	Key                 string    `json:"key"`
	Name                string    `json:"name"`
	Status              string    `json:"status"` // active | suspended | expired | revoked | banned
	ProductID           string    `json:"productId"`
	PolicyID            string    `json:"policyId"`
	UserEmail           string    `json:"userEmail"`
	UserName            string    `json:"userName"`
	ExpiresAt           Timestamp `json:"expiresAt"` // zero (null): never expires
	MaxMachinesOverride *int      `json:"maxMachinesOverride"`
	MaxUsesOverride     *int      `json:"maxUsesOverride"`
	UsesCount           int       `json:"usesCount"`
	MachineCount        int       `json:"machineCount"`
	Entitlements        []string  `json:"entitlements"` // the license's own entitlement codes
	Metadata            Metadata  `json:"metadata"`
	CreatedAt           Timestamp `json:"createdAt"`
	UpdatedAt           Timestamp `json:"updatedAt"`
	DeletedAt           Timestamp `json:"deletedAt"`
	Policy              *Policy   `json:"policy"` // snapshot of the governing policy
}

// Policy is the set of rules licenses are issued under (contract §3,
// defaults in docs-facts §4).
type Policy struct {
	ID                       string    `json:"id"`
	ProductID                string    `json:"productId"`
	Name                     string    `json:"name"`
	Template                 string    `json:"template"`
	MaxMachines              *int      `json:"maxMachines"` // nil: unlimited
	MaxUses                  *int      `json:"maxUses"`     // nil: unlimited
	Floating                 bool      `json:"floating"`
	DurationDays             *int      `json:"durationDays"` // nil: never expires
	ExpirationStrategy       string    `json:"expirationStrategy"`
	RequireHeartbeat         bool      `json:"requireHeartbeat"`
	HeartbeatIntervalMinutes int       `json:"heartbeatIntervalMinutes"`
	HeartbeatCullStrategy    string    `json:"heartbeatCullStrategy"`
	RequireFingerprint       bool      `json:"requireFingerprint"`
	FingerprintUniqueness    string    `json:"fingerprintUniqueness"`
	OfflineAllowed           bool      `json:"offlineAllowed"`
	OfflineMaxDays           int       `json:"offlineMaxDays"`
	AllowMachineTransfer     bool      `json:"allowMachineTransfer"`
	IsTrial                  bool      `json:"isTrial"`
	TrialDurationDays        *int      `json:"trialDurationDays"`
	Overridable              bool      `json:"overridable"`
	Entitlements             []string  `json:"entitlements"`
	Metadata                 Metadata  `json:"metadata"`
	CreatedAt                Timestamp `json:"createdAt"`
	UpdatedAt                Timestamp `json:"updatedAt"`
	DeletedAt                Timestamp `json:"deletedAt"`
}

// Machine is a device activated on a license.
type Machine struct {
	ID              string    `json:"id"`
	LicenseID       string    `json:"licenseId"`
	Fingerprint     string    `json:"fingerprint"`
	Name            string    `json:"name"`
	Platform        string    `json:"platform"`
	Hostname        string    `json:"hostname"`
	Cores           int       `json:"cores"`
	Status          string    `json:"status"` // active | dead
	LastHeartbeatAt Timestamp `json:"lastHeartbeatAt"`
	CreatedAt       Timestamp `json:"createdAt"`
	UpdatedAt       Timestamp `json:"updatedAt"`
	DeletedAt       Timestamp `json:"deletedAt"`
	Metadata        Metadata  `json:"metadata"`
}

// Product is something a vendor sells licenses for.
type Product struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Code          string    `json:"code"`
	Description   string    `json:"description"`
	KeyPrefix     string    `json:"keyPrefix"`
	AccountID     string    `json:"accountId"`
	LicensesCount int       `json:"licensesCount"`
	CreatedAt     Timestamp `json:"createdAt"`
	UpdatedAt     Timestamp `json:"updatedAt"`
	DeletedAt     Timestamp `json:"deletedAt"`
	Metadata      Metadata  `json:"metadata"`
}

// Entitlement is a named feature a license or policy can grant.
type Entitlement struct {
	ID        string    `json:"id"`
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	AccountID string    `json:"accountId"`
	CreatedAt Timestamp `json:"createdAt"`
	UpdatedAt Timestamp `json:"updatedAt"`
	DeletedAt Timestamp `json:"deletedAt"`
	Metadata  Metadata  `json:"metadata"`
}

// Webhook is a registered delivery endpoint. Secret is returned by create only.
type Webhook struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	AccountID string    `json:"accountId,omitempty"`
	Secret    string    `json:"secret,omitempty"`
	CreatedAt Timestamp `json:"createdAt"`
	UpdatedAt Timestamp `json:"updatedAt"`
	DeletedAt Timestamp `json:"deletedAt"`
}

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

// Event is a webhook delivery body. Data is the License for license.* and
// validation.* events and the Machine for machine.* events.
type Event struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt Timestamp       `json:"createdAt"`
	Data      json.RawMessage `json:"data"`
}
