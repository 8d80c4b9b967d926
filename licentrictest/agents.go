package licentrictest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

// AI-agent identities, their tokens and meters (docs/wire-protocol.md §12).

type agentRec struct {
	base
	name   string
	meters map[string]*meterRec
}

type meterRec struct {
	name                 string
	soft, hard           *int64
	period               string
	used                 int64
	periodStart, updated time.Time
}

// agentToken is an issued credential; only its SHA-256 is kept.
type agentToken struct {
	hash      string
	env       string
	agentID   string
	scopes    []string
	expiresAt time.Time
}

var (
	meterNameRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
	scopeRE     = regexp.MustCompile(`^[a-z0-9_.:-]{1,64}$`)
)

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// agentToken finds the token cred names, if it is well formed and known.
func (st *state) agentToken(cred string) *agentToken {
	if len(cred) != wire.AgentTokenLen || cred[:len(wire.AgentTokenPrefix)] != wire.AgentTokenPrefix {
		return nil
	}
	return st.agentTokens[tokenHash(cred)]
}

// usable reports whether the token has not expired and its agent exists.
func (t *agentToken) usable(st *state, now time.Time) bool {
	if !now.Before(t.expiresAt) {
		return false
	}
	_, ok := live[*agentRec](st, t.env, t.agentID)
	return ok
}

func agentView(a *agentRec) *wire.Agent {
	return &wire.Agent{ID: a.id, Name: a.name, Metadata: meta(a.metadata), CreatedAt: ts(a.createdAt), UpdatedAt: ts(a.updatedAt)}
}

func agentData(c *call, a *agentRec) wire.Data[*wire.Agent] {
	return wire.Data[*wire.Agent]{Data: agentView(a)}
}

func agentParam(c *call) (*agentRec, *apiError) { return param[*agentRec](c, "Agent") }

// hCreateAgent is POST /mcp/agents.
func hCreateAgent(c *call) (int, any, *apiError) {
	var req wire.AgentRequest
	if e := decodeBody(c.body, &req, false); e != nil {
		return 0, nil, e
	}
	var is issues
	switch {
	case req.Name == nil:
		is.add("name", "invalid_type", "Required")
	case len(*req.Name) < 1 || len(*req.Name) > 128:
		is.add("name", "invalid_string", "Name must be 1 to 128 characters")
	}
	checkMetadata(&is, req.Metadata)
	if e := is.err(); e != nil {
		return 0, nil, e
	}
	b := c.st.newBase(c.env, c.now, req.Metadata)
	b.id = wire.AgentIDPrefix + randomHex(16)
	a := &agentRec{base: b, name: *req.Name, meters: map[string]*meterRec{}}
	c.st.agents = append(c.st.agents, a)
	c.st.byID[a.id] = a
	return http.StatusCreated, agentData(c, a), nil
}

// hListAgents is GET /mcp/agents.
func hListAgents(c *call) (int, any, *apiError) {
	return listPage(c, c.st.agents, nil, func(a *agentRec) any { return agentView(a) })
}

// hDeleteAgent is DELETE /mcp/agents/{id}: its tokens stop working.
func hDeleteAgent(c *call) (int, any, *apiError) {
	a, e := agentParam(c)
	if e != nil {
		return 0, nil, e
	}
	a.deletedAt, a.updatedAt = c.now, c.now
	for h, t := range c.st.agentTokens {
		if t.agentID == a.id {
			delete(c.st.agentTokens, h)
		}
	}
	return http.StatusNoContent, nil, nil
}

// authorizeRequest keeps ttlSeconds raw so that 0 or 1.5 are refused.
type authorizeRequest struct {
	AgentID    string          `json:"agentId"`
	Scopes     []string        `json:"scopes"`
	TTLSeconds json.RawMessage `json:"ttlSeconds"`
}

// hAuthorize is POST /mcp/authorize: a short-lived token for an agent.
func hAuthorize(c *call) (int, any, *apiError) {
	var req authorizeRequest
	if e := decodeBody(c.body, &req, false); e != nil {
		return 0, nil, e
	}
	var is issues
	if req.AgentID == "" {
		is.add("agentId", "invalid_type", "Required")
	}
	if len(req.Scopes) == 0 || len(req.Scopes) > 32 {
		is.add("scopes", "too_small", "scopes must list 1 to 32 scopes")
	}
	for i, sc := range req.Scopes {
		if !scopeRE.MatchString(sc) {
			is.add("scopes."+itoa(i), "invalid_string", "Scopes are 1 to 64 characters of a-z, 0-9, _ . : -")
		}
	}
	ttl := wire.DefaultAgentTTL
	if len(req.TTLSeconds) > 0 && string(req.TTLSeconds) != "null" {
		var n int
		if err := json.Unmarshal(req.TTLSeconds, &n); err != nil || n < wire.MinAgentTTL || n > wire.MaxAgentTTL {
			is.add("ttlSeconds", "invalid_ttl", "ttlSeconds must be an integer from %d to %d", wire.MinAgentTTL, wire.MaxAgentTTL)
		}
		ttl = n
	}
	if e := is.err(); e != nil {
		return 0, nil, e
	}
	if _, ok := live[*agentRec](c.st, c.env, req.AgentID); !ok {
		return 0, nil, notFound("Agent")
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return 0, nil, errf(http.StatusInternalServerError, wire.ErrCodeInternal, "Could not issue a token")
	}
	token := wire.AgentTokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	t := &agentToken{
		hash:      tokenHash(token),
		env:       c.env,
		agentID:   req.AgentID,
		scopes:    slices.Clone(req.Scopes),
		expiresAt: c.now.Add(time.Duration(ttl) * time.Second),
	}
	c.st.agentTokens[t.hash] = t
	return http.StatusCreated, wire.Data[wire.AuthorizeResponse]{Data: wire.AuthorizeResponse{
		Token: token, AgentID: t.agentID, Scopes: slices.Clone(t.scopes), ExpiresAt: ts(t.expiresAt),
	}}, nil
}

// verifyRequest keeps quantity raw so that 0, 1.5 and "1" are refused.
type verifyRequest struct {
	MeterName string          `json:"meterName"`
	Quantity  json.RawMessage `json:"quantity"`
}

// hVerify is POST /mcp/verify, authenticated by the agent token.
func hVerify(c *call) (int, any, *apiError) {
	var req verifyRequest
	if e := decodeBody(c.body, &req, true); e != nil {
		return 0, nil, e
	}
	tok := c.agent
	out := wire.VerifyResponse{AccountID: c.s.accountID, AgentID: tok.agentID, Scopes: slices.Clone(tok.scopes)}
	if req.MeterName == "" {
		if len(req.Quantity) > 0 && string(req.Quantity) != "null" {
			return 0, nil, validationError("meterName", "invalid_type", "meterName is required with quantity")
		}
		return http.StatusOK, wire.Data[wire.VerifyResponse]{Data: out}, nil
	}
	var is issues
	if !meterNameRE.MatchString(req.MeterName) {
		is.add("meterName", "invalid_string", "meterName must be 1 to 64 characters of A-Z, a-z, 0-9, _ . : -")
	}
	qty := int64(1)
	if len(req.Quantity) > 0 && string(req.Quantity) != "null" {
		if err := json.Unmarshal(req.Quantity, &qty); err != nil || qty < 1 || qty > wire.MaxMeterQuantity {
			is.add("quantity", "invalid_quantity", "quantity must be an integer from 1 to %d", wire.MaxMeterQuantity)
		}
	}
	if e := is.err(); e != nil {
		return 0, nil, e
	}
	a, _ := live[*agentRec](c.st, tok.env, tok.agentID)
	m := a.meters[req.MeterName]
	if m == nil {
		m = &meterRec{name: req.MeterName, period: wire.PeriodMonth, updated: c.now}
		a.meters[m.name] = m
	}
	m.roll(c.now)
	usage := &wire.MeterUsage{Name: m.name, SoftLimit: copyInt64(m.soft), HardLimit: copyInt64(m.hard)}
	if m.hard != nil && m.used+qty > *m.hard {
		usage.Blocked = true
	} else {
		m.used += qty
	}
	usage.Used = m.used
	usage.Warning = m.soft != nil && m.used > *m.soft
	out.Meter = usage
	return http.StatusOK, wire.Data[wire.VerifyResponse]{Data: out}, nil
}

// periodStart is the start of the UTC day or month holding now.
func periodStart(period string, now time.Time) time.Time {
	u := now.UTC()
	if period == wire.PeriodDay {
		return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	}
	return time.Date(u.Year(), u.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// roll resets usage when now is in a later period than the one counted.
func (m *meterRec) roll(now time.Time) {
	if start := periodStart(m.period, now); !start.Equal(m.periodStart) {
		m.periodStart, m.used = start, 0
	}
}

func copyInt64(p *int64) *int64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// hPutMeter is PUT /mcp/agents/{id}/meters/{name}: sets a meter's limits
// and period; usage in the current period is kept.
func hPutMeter(c *call) (int, any, *apiError) {
	a, e := agentParam(c)
	if e != nil {
		return 0, nil, e
	}
	name := c.params[1]
	var req wire.MeterRequest
	if e := decodeBody(c.body, &req, false); e != nil {
		return 0, nil, e
	}
	var is issues
	if !meterNameRE.MatchString(name) {
		is.add("name", "invalid_string", "Meter names are 1 to 64 characters of A-Z, a-z, 0-9, _ . : -")
	}
	if req.Period != wire.PeriodMonth && req.Period != wire.PeriodDay {
		is.add("period", "invalid_enum_value", "period must be month or day")
	}
	soft, sok := req.SoftLimit.Get()
	hard, hok := req.HardLimit.Get()
	if sok && soft < 0 {
		is.add("softLimit", "too_small", "softLimit must not be negative")
	}
	if hok && hard < 0 {
		is.add("hardLimit", "too_small", "hardLimit must not be negative")
	}
	if sok && hok && soft > hard {
		is.add("softLimit", "too_big", "softLimit must not exceed hardLimit")
	}
	if e := is.err(); e != nil {
		return 0, nil, e
	}
	m := a.meters[name]
	if m == nil {
		m = &meterRec{name: name}
		a.meters[name] = m
	}
	if m.period != req.Period {
		m.period, m.periodStart = req.Period, time.Time{}
	}
	m.soft, m.hard = nil, nil
	if sok {
		m.soft = &soft
	}
	if hok {
		m.hard = &hard
	}
	m.updated = c.now
	m.roll(c.now)
	return http.StatusOK, wire.Data[wire.Meter]{Data: wire.Meter{
		Name: m.name, AgentID: a.id, SoftLimit: copyInt64(m.soft), HardLimit: copyInt64(m.hard),
		Period: m.period, Used: m.used, PeriodStart: ts(m.periodStart), UpdatedAt: ts(m.updated),
	}}, nil
}
