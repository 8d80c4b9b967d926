package licentric

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/resource"
)

// AI-agent access (docs/wire-protocol.md §12): a vendor creates an agent identity,
// authorizes it for a short-lived AGT- token and hands the token to the
// agent; the vendor's MCP or HTTP server verifies the token on every call
// and records metered usage (Verify, or package agentauth for net/http).

// ErrMeterLimitExceeded reports a call refused because it would take a
// meter past its hard limit: the error of (*AgentVerification).Err for a
// blocked meter. Verify itself does not fail for a blocked meter (the
// credential is good); the helpers that enforce the limit return this.
var ErrMeterLimitExceeded = errors.New("licentric: meter hard limit exceeded")

// AgentTokenPrefix starts every agent token ("AGT-…").
const AgentTokenPrefix = "AGT-"

// Lifetimes of agent tokens (Authorize, AuthorizeFor).
const (
	DefaultAgentTokenTTL = time.Hour
	MinAgentTokenTTL     = time.Minute
	MaxAgentTokenTTL     = 30 * 24 * time.Hour
)

// Meter periods (MeterLimits.Period): usage resets at the start of each UTC
// month or day, on the service's clock.
const (
	MeterPeriodMonth = "month"
	MeterPeriodDay   = "day"
)

// MaxMeterQuantity is the largest Usage.Quantity one Verify may record.
const MaxMeterQuantity = 1000000

// maxAgentTokenLen bounds what Verify sends as an agent token; real ones
// are 47 bytes.
const maxAgentTokenLen = 512

// maxMeterNameLen bounds a meter name (the service's limit).
const maxMeterNameLen = 64

// AgentsService manages AI-agent identities, their credentials and meters
// (docs/wire-protocol.md §12, /mcp), and verifies agent tokens. Reach it as
// Client.Agents. Everything but Verify needs the API key (scopes
// agents:read, agents:write); Verify authenticates with the agent's token.
type AgentsService struct {
	client *Client
}

// Agent is an AI-agent identity; see resource.Agent for its fields.
type Agent = resource.Agent

// AgentRequest creates an agent.
type AgentRequest struct {
	// Name is the agent's label, 1 to 128 characters (required).
	Name string `json:"name"`
	// Metadata is stored as given.
	Metadata Metadata `json:"metadata,omitempty"`
}

// AgentToken is a credential issued to an agent by Authorize. The service
// keeps only its hash: Token is shown once, here. Formatting an AgentToken
// (%v, %+v, %#v, %s) or logging it with log/slog shows only the token's
// prefix; read the Token field to hand it over.
type AgentToken struct {
	// Token is the bearer credential, "AGT-" and 43 base64url characters.
	Token string `json:"token"`
	// AgentID is the agent the token speaks for.
	AgentID string `json:"agentId"`
	// Scopes is what the token may do, e.g. ScopeMCPInvoke.
	Scopes []string `json:"scopes"`
	// ExpiresAt is when the token stops working. Tokens always expire.
	ExpiresAt Timestamp `json:"expiresAt"`
}

// redactedToken is what formatting shows of a token.
func redactedToken(tok string) string {
	if strings.HasPrefix(tok, AgentTokenPrefix) {
		return AgentTokenPrefix + "…"
	}
	if tok == "" {
		return ""
	}
	return "…"
}

// Format implements fmt.Formatter: every verb prints the token redacted.
func (t AgentToken) Format(f fmt.State, verb rune) {
	_, _ = io.WriteString(f, fmt.Sprintf("{Token:%s AgentID:%s Scopes:%v ExpiresAt:%s}",
		redactedToken(t.Token), t.AgentID, t.Scopes, t.ExpiresAt))
}

// LogValue implements slog.LogValuer: the token is logged redacted.
func (t AgentToken) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("token", redactedToken(t.Token)),
		slog.String("agentId", t.AgentID),
		slog.Any("scopes", t.Scopes),
		slog.String("expiresAt", t.ExpiresAt.String()),
	)
}

// MeterLimits configures one meter of an agent (SetMeter). The meter's
// limits are replaced as a whole: a nil limit is no limit.
type MeterLimits struct {
	// SoftLimit is the usage past which Verify reports Warning; nil: none.
	SoftLimit *int64 `json:"softLimit"`
	// HardLimit is the usage Verify never records past: a quantity that
	// would pass it comes back Blocked; nil: none.
	HardLimit *int64 `json:"hardLimit"`
	// Period is MeterPeriodMonth (the default when empty) or
	// MeterPeriodDay: usage resets at the start of each.
	Period string `json:"period"`
}

// Meter is a configured meter of an agent.
type Meter struct {
	// Name is the meter's name, e.g. "tool-calls".
	Name string `json:"name"`
	// AgentID is the agent the meter counts for.
	AgentID string `json:"agentId"`
	// SoftLimit is the warning threshold; nil: none.
	SoftLimit *int64 `json:"softLimit"`
	// HardLimit is the blocking threshold; nil: none.
	HardLimit *int64 `json:"hardLimit"`
	// Period is MeterPeriodMonth or MeterPeriodDay.
	Period string `json:"period"`
	// Used is the usage recorded in the current period.
	Used int64 `json:"used"`
	// PeriodStart is when the current period began (UTC).
	PeriodStart Timestamp `json:"periodStart"`
	// UpdatedAt is when the limits last changed.
	UpdatedAt Timestamp `json:"updatedAt"`
}

// Usage is what one Verify call records on an agent's meter.
type Usage struct {
	// Meter is the meter's name: 1 to 64 characters of A-Z, a-z, 0-9 and
	// _ . : - (a meter that was never configured starts with no limits,
	// monthly).
	Meter string
	// Quantity is how much to record, 1 to MaxMeterQuantity; zero means 1.
	Quantity int64
}

// AgentVerification is the service's answer for a valid agent token: who the
// agent is and, when Verify recorded usage, the meter's state.
//
// An AgentVerification is a value of the caller's: it shares nothing with any
// cache.
type AgentVerification struct {
	// AccountID is the vendor account the token belongs to (acc_…).
	AccountID string `json:"accountId"`
	// AgentID is the agent the token speaks for (agt_…).
	AgentID string `json:"agentId"`
	// Scopes is what the token may do.
	Scopes []string `json:"scopes"`
	// Meter is the meter's state after the call; nil when Verify was given
	// no Usage.
	Meter *MeterState `json:"meter,omitempty"`

	// FromCache reports an answer served from a cache in front of the
	// service (package agentauth's); Verify itself always asks.
	FromCache bool `json:"-"`
	// Age is how long ago, on the cache's clock, the service gave a cached
	// answer.
	Age time.Duration `json:"-"`
	// Stale reports a cached answer served because the service could not
	// be asked; StaleReason is why (a network error, ErrServer,
	// ErrRateLimited, ErrBudgetExhausted, ...).
	Stale       bool  `json:"-"`
	StaleReason error `json:"-"`
}

// MeterState is a meter's state after a Verify that named it.
type MeterState struct {
	// Name is the meter's name.
	Name string `json:"name"`
	// Used is the usage recorded in the current period, this call's
	// included unless Blocked.
	Used int64 `json:"used"`
	// SoftLimit is the warning threshold; nil: none.
	SoftLimit *int64 `json:"softLimit"`
	// HardLimit is the blocking threshold; nil: none.
	HardLimit *int64 `json:"hardLimit"`
	// Warning reports usage past the soft limit (the call was recorded).
	Warning bool `json:"warning"`
	// Blocked reports that the call's quantity would have passed the hard
	// limit: it was not recorded, and the caller should refuse the call
	// (see Err; package agentauth answers 402).
	Blocked bool `json:"blocked"`
}

// Err returns nil unless the call's meter is blocked, and then an error
// matching ErrMeterLimitExceeded that names the meter and its usage.
func (v *AgentVerification) Err() error {
	if v == nil {
		return fmt.Errorf("%w: no verification", ErrInvalidArgument)
	}
	m := v.Meter
	if m == nil || !m.Blocked {
		return nil
	}
	if m.HardLimit != nil {
		return fmt.Errorf("%w: meter %q has used %d of %d", ErrMeterLimitExceeded, sanitize(m.Name, maxMeterNameLen), m.Used, *m.HardLimit)
	}
	return fmt.Errorf("%w: meter %q", ErrMeterLimitExceeded, sanitize(m.Name, maxMeterNameLen))
}

// HasScope reports whether the token carries scope.
func (v *AgentVerification) HasScope(scope string) bool {
	return v != nil && slices.Contains(v.Scopes, scope)
}

// Clone returns a deep copy of v.
func (v *AgentVerification) Clone() *AgentVerification {
	if v == nil {
		return nil
	}
	out := *v
	out.Scopes = slices.Clone(v.Scopes)
	if v.Meter != nil {
		m := *v.Meter
		m.SoftLimit, m.HardLimit = cloneInt64(v.Meter.SoftLimit), cloneInt64(v.Meter.HardLimit)
		out.Meter = &m
	}
	return &out
}

func cloneInt64(p *int64) *int64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func checkAgentResource(a *Agent) error { return needID("agent", a.ID) }

// Create creates an agent identity. Field errors (a missing or overlong
// Name) match ErrInvalidRequest.
func (s *AgentsService) Create(ctx context.Context, req *AgentRequest) (*Agent, error) {
	return createResource(ctx, s.client, wire.PathAgents, req, dropsNothing(), checkAgentResource)
}

// Get returns agent id; a deleted or unknown agent is an error matching
// ErrNotFound.
func (s *AgentsService) Get(ctx context.Context, id string) (*Agent, error) {
	if err := checkID("agent ID", id); err != nil {
		return nil, err
	}
	return getResource(ctx, s.client, wire.ResourcePath(wire.PathAgents, id), checkAgentResource)
}

// Delete deletes agent id. Its tokens stop working at once; a cache in
// front of Verify (package agentauth) may still accept them on unmetered
// routes until its entries expire.
func (s *AgentsService) Delete(ctx context.Context, id string) error {
	if err := checkID("agent ID", id); err != nil {
		return err
	}
	return deleteResource(ctx, s.client, wire.ResourcePath(wire.PathAgents, id), dropsNothing())
}

// List yields every agent, oldest first, fetching pages as the loop
// advances; see ListOptions. It stops at the first error, which it yields.
func (s *AgentsService) List(ctx context.Context, opts *ListOptions) iter.Seq2[*Agent, error] {
	return s.lister(opts).all(ctx)
}

// ListPage returns one page of agents.
func (s *AgentsService) ListPage(ctx context.Context, opts *ListOptions) (*Page[Agent], error) {
	return s.lister(opts).first(ctx)
}

func (s *AgentsService) lister(opts *ListOptions) *lister[Agent] {
	return newLister(s.client, wire.PathAgents, opts, nil, checkAgentResource)
}

// Authorize issues a token for agent agentID with the given scopes
// (ScopeMCPInvoke when none are given), valid for DefaultAgentTokenTTL.
// Hand AgentToken.Token to the agent; the service never shows it again. An
// unknown agent is an error matching ErrNotFound, an API key without
// agents:write one matching ErrForbidden.
func (s *AgentsService) Authorize(ctx context.Context, agentID string, scopes ...string) (*AgentToken, error) {
	return s.authorize(ctx, agentID, 0, scopes)
}

// AuthorizeFor is Authorize with a lifetime: ttl is whole seconds from
// MinAgentTokenTTL to MaxAgentTokenTTL, else an error matching
// ErrInvalidArgument before any request.
func (s *AgentsService) AuthorizeFor(ctx context.Context, agentID string, ttl time.Duration, scopes ...string) (*AgentToken, error) {
	if ttl < MinAgentTokenTTL || ttl > MaxAgentTokenTTL || ttl%time.Second != 0 {
		return nil, fmt.Errorf("%w: agent token TTL must be whole seconds from %s to %s, got %s",
			ErrInvalidArgument, MinAgentTokenTTL, MaxAgentTokenTTL, ttl)
	}
	return s.authorize(ctx, agentID, int(ttl/time.Second), scopes)
}

func (s *AgentsService) authorize(ctx context.Context, agentID string, ttlSeconds int, scopes []string) (*AgentToken, error) {
	if err := checkID("agent ID", agentID); err != nil {
		return nil, err
	}
	if len(scopes) == 0 {
		scopes = []string{ScopeMCPInvoke}
	}
	for _, sc := range scopes {
		if sc == "" {
			return nil, fmt.Errorf("%w: empty scope", ErrInvalidArgument)
		}
	}
	return sendResource(ctx, s.client, &request{
		method: http.MethodPost,
		path:   wire.PathAuthorize,
		body:   &wire.AuthorizeRequest{AgentID: agentID, Scopes: slices.Clone(scopes), TTLSeconds: ttlSeconds},
		auth:   authAPIKey,
		// A retry after a lost answer issues a second token; the first,
		// never seen by anyone, just expires.
		idempotent: true,
	}, checkAgentToken)
}

func checkAgentToken(t *AgentToken) error {
	if !strings.HasPrefix(t.Token, AgentTokenPrefix) || len(t.Token) > maxAgentTokenLen {
		return fmt.Errorf("%w: authorize returned no agent token", ErrMalformedResponse)
	}
	return nil
}

// SetMeter sets the limits and period of agent agentID's meter named
// meter, creating the meter if needed; usage recorded in the current
// period is kept. It returns the meter's state.
func (s *AgentsService) SetMeter(ctx context.Context, agentID, meter string, limits *MeterLimits) (*Meter, error) {
	if err := checkID("agent ID", agentID); err != nil {
		return nil, err
	}
	if err := checkMeterName(meter); err != nil {
		return nil, err
	}
	if limits == nil {
		return nil, fmt.Errorf("%w: nil meter limits", ErrInvalidArgument)
	}
	body := *limits
	if body.Period == "" {
		body.Period = MeterPeriodMonth
	}
	path := wire.SubPath(wire.PathAgents, agentID, wire.SegmentMeters) + "/" + wire.EscapeSegment(meter)
	return sendResource(ctx, s.client, &request{method: http.MethodPut, path: path, body: &body, auth: authAPIKey},
		func(m *Meter) error {
			if m.Name == "" {
				return fmt.Errorf("%w: meter has no name", ErrMalformedResponse)
			}
			return nil
		})
}

func checkMeterName(name string) error {
	if name == "" || len(name) > maxMeterNameLen {
		return fmt.Errorf("%w: meter name must be 1 to %d characters", ErrInvalidArgument, maxMeterNameLen)
	}
	return nil
}

// An AgentVerifyOption changes how one Verify call is sent.
type AgentVerifyOption struct{ noWait bool }

// WithoutAgentBudgetWait makes Verify fail at once with an error matching
// ErrBudgetExhausted when the client's rate budget has no request left in
// the current window, instead of waiting for the next one: for a caller
// that holds an earlier answer to fall back on.
func WithoutAgentBudgetWait() AgentVerifyOption { return AgentVerifyOption{noWait: true} }

// Verify checks an agent's token with the service (POST /mcp/verify) and,
// when usage is not nil, records usage.Quantity on usage.Meter. It needs no
// API key: it authenticates with the token.
//
// Only a bad credential fails: a malformed, unknown, expired or revoked
// token (or one of a deleted agent) is an error matching ErrUnauthorized;
// a malformed one is refused before any request and also matches
// ErrInvalidArgument. A meter over its hard limit is not an error: the
// quantity is not recorded and Meter.Blocked is set; (*AgentVerification).Err
// turns that into ErrMeterLimitExceeded. Past the soft limit the usage is
// recorded and Meter.Warning is set.
//
// Without usage the call is retried like a GET; with usage only after a
// 429 (the service refused it before recording), never after a 5xx or a
// lost answer, which may have recorded it. Verify counts against the
// client's MANAGEMENT rate budget, shared with the client's API-key calls;
// the service counts each token separately, so a server that verifies
// many agents is best given a Client of its own (no API key needed).
func (s *AgentsService) Verify(ctx context.Context, token string, usage *Usage, opts ...AgentVerifyOption) (*AgentVerification, error) {
	if err := checkAgentTokenShape(token); err != nil {
		return nil, err
	}
	r := &request{
		method:     http.MethodPost,
		path:       wire.PathVerify,
		auth:       authToken,
		token:      token,
		idempotent: usage == nil,
	}
	for _, o := range opts {
		r.noWait = r.noWait || o.noWait
	}
	if usage != nil {
		if err := checkMeterName(usage.Meter); err != nil {
			return nil, err
		}
		q := usage.Quantity
		if q == 0 {
			q = 1
		}
		if q < 1 || q > MaxMeterQuantity {
			return nil, fmt.Errorf("%w: meter quantity must be from 1 to %d, got %d", ErrInvalidArgument, MaxMeterQuantity, usage.Quantity)
		}
		r.body = &wire.VerifyRequest{MeterName: usage.Meter, Quantity: q}
	}
	return sendResource(ctx, s.client, r, func(v *AgentVerification) error {
		if v.AgentID == "" {
			return fmt.Errorf(`%w: verification has no "agentId"`, ErrMalformedResponse)
		}
		if usage != nil && v.Meter == nil {
			return fmt.Errorf(`%w: verification has no "meter"`, ErrMalformedResponse)
		}
		v.FromCache, v.Age, v.Stale, v.StaleReason = false, 0, false, nil
		return nil
	})
}

// credentialError is an agent token refused before any request: it
// matches ErrUnauthorized (a bad credential) and ErrInvalidArgument (no
// request was sent).
type credentialError struct{ msg string }

func (e *credentialError) Error() string { return "licentric: unauthorized: " + e.msg }

func (e *credentialError) Is(target error) bool {
	return target == ErrUnauthorized || target == ErrInvalidArgument
}

// checkAgentTokenShape refuses what cannot be an agent token: it must
// start with AgentTokenPrefix and be at most 512 bytes of the RFC 6750
// b64token alphabet.
func checkAgentTokenShape(token string) error {
	switch {
	case token == "":
		return &credentialError{msg: "agent token is empty"}
	case len(token) > maxAgentTokenLen:
		return &credentialError{msg: "agent token is too long"}
	case !strings.HasPrefix(token, AgentTokenPrefix) || len(token) == len(AgentTokenPrefix):
		return &credentialError{msg: `agent token must start with "` + AgentTokenPrefix + `"`}
	}
	for i := 0; i < len(token); i++ {
		if !isB64TokenChar(token[i]) {
			return &credentialError{msg: "agent token has characters a token cannot have"}
		}
	}
	return nil
}

// isB64TokenChar reports a character of RFC 6750's b64token.
func isB64TokenChar(c byte) bool {
	switch {
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~+/=", c) >= 0
}
