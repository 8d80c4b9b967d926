package wire

import "github.com/licentric/licentric-go/resource"

// Agent identities and their short-lived credentials (docs/wire-protocol.md §12).

// AgentIDPrefix starts every agent id; AgentTokenPrefix every agent token.
const (
	AgentIDPrefix    = "agt_"
	AgentTokenPrefix = "AGT-"
	// AgentTokenLen is the length of a token: the prefix and 43 base64url
	// characters (32 random bytes).
	AgentTokenLen = len(AgentTokenPrefix) + 43
)

// Bounds of an agent token's lifetime, in seconds.
const (
	MinAgentTTL     = 60
	MaxAgentTTL     = 2592000
	DefaultAgentTTL = 3600
)

// Meter periods: usage resets at the start of each (UTC, server clock).
const (
	PeriodMonth = "month"
	PeriodDay   = "day"
)

// MaxMeterQuantity is the largest quantity one verify call may record.
const MaxMeterQuantity = 1000000

// Agent is an AI-agent identity (POST/GET /mcp/agents; see resource.Agent).
type Agent = resource.Agent

// AgentRequest creates an agent.
type AgentRequest struct {
	Name     *string  `json:"name,omitempty"`
	Metadata Metadata `json:"metadata,omitempty"`
}

// AuthorizeRequest is the body of POST /mcp/authorize. TTLSeconds zero
// leaves it out (DefaultAgentTTL).
type AuthorizeRequest struct {
	AgentID    string   `json:"agentId"`
	Scopes     []string `json:"scopes"`
	TTLSeconds int      `json:"ttlSeconds,omitempty"`
}

// AuthorizeResponse is the answer to POST /mcp/authorize (inside "data").
// Token is shown only here; the service stores its hash.
type AuthorizeResponse struct {
	Token     string    `json:"token"`
	AgentID   string    `json:"agentId"`
	Scopes    []string  `json:"scopes"`
	ExpiresAt Timestamp `json:"expiresAt"`
}

// VerifyRequest is the optional body of POST /mcp/verify: it records
// Quantity (default 1) on the agent's meter MeterName.
type VerifyRequest struct {
	MeterName string `json:"meterName,omitempty"`
	Quantity  int64  `json:"quantity,omitempty"`
}

// VerifyResponse is the answer to POST /mcp/verify (inside "data").
type VerifyResponse struct {
	AccountID string      `json:"accountId"`
	AgentID   string      `json:"agentId"`
	Scopes    []string    `json:"scopes"`
	Meter     *MeterUsage `json:"meter,omitempty"`
}

// MeterUsage is a meter's state after a verify call. Blocked: the quantity
// would have passed the hard limit and was not recorded. Warning: usage is
// past the soft limit.
type MeterUsage struct {
	Name      string `json:"name"`
	Used      int64  `json:"used"`
	SoftLimit *int64 `json:"softLimit"`
	HardLimit *int64 `json:"hardLimit"`
	Warning   bool   `json:"warning"`
	Blocked   bool   `json:"blocked"`
}

// MeterRequest is the body of PUT /mcp/agents/{id}/meters/{name}. An
// absent or null limit is no limit.
type MeterRequest struct {
	SoftLimit Nullable[int64] `json:"softLimit,omitzero"`
	HardLimit Nullable[int64] `json:"hardLimit,omitzero"`
	Period    string          `json:"period"`
}

// Meter is a configured meter of an agent (answer of the PUT, inside "data").
type Meter struct {
	Name        string    `json:"name"`
	AgentID     string    `json:"agentId"`
	SoftLimit   *int64    `json:"softLimit"`
	HardLimit   *int64    `json:"hardLimit"`
	Period      string    `json:"period"`
	Used        int64     `json:"used"`
	PeriodStart Timestamp `json:"periodStart"`
	UpdatedAt   Timestamp `json:"updatedAt"`
}
