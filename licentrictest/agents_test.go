package licentrictest

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var tokenRE = regexp.MustCompile(`^AGT-[A-Za-z0-9_-]{43}$`)

func TestAgentsLifecycle(t *testing.T) {
	s := start(t, WithFrozenClock(time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC)))
	api := bearer(s.TestAPIKey())

	a := s.ok(201, "POST", "/mcp/agents", api, map[string]any{"name": "support-bot", "metadata": map[string]any{"team": "cx"}})
	id := a["id"].(string)
	assert.Regexp(t, `^agt_[0-9a-f]{32}$`, id)
	assert.Equal(t, "support-bot", a["name"])
	assert.Equal(t, map[string]any{"team": "cx"}, a["metadata"])
	assert.Equal(t, "2026-01-31T23:00:00.000Z", a["createdAt"])
	assert.Equal(t, id, s.ok(200, "GET", "/mcp/agents/"+id, api, nil)["id"])
	s.fail(404, "NOT_FOUND", "GET", "/mcp/agents/agt_nope", api, nil)
	s.fail(404, "NOT_FOUND", "GET", "/mcp/agents/"+id, bearer(s.LiveAPIKey()), nil) // other environment
	for _, bad := range []any{map[string]any{}, map[string]any{"name": ""}, map[string]any{"name": string(make([]byte, 129))}, "{"} {
		s.fail(400, "VALIDATION_ERROR", "POST", "/mcp/agents", api, bad)
	}

	// Paging like every list.
	for i := range 3 {
		s.ok(201, "POST", "/mcp/agents", api, map[string]any{"name": "a" + strconv.Itoa(i)})
	}
	_, _, page := s.do("GET", "/mcp/agents?limit=2", api, nil)
	require.Len(t, page["data"], 2)
	assert.Equal(t, id, page["data"].([]any)[0].(map[string]any)["id"], "oldest first")
	assert.Equal(t, true, page["pagination"].(map[string]any)["hasMore"])

	// Authorize: a token shown once, stored hashed.
	tok := s.ok(201, "POST", "/mcp/authorize", api, map[string]any{"agentId": id, "scopes": []string{"mcp:invoke"}, "ttlSeconds": 600})
	token := tok["token"].(string)
	assert.Regexp(t, tokenRE, token)
	assert.Equal(t, id, tok["agentId"])
	assert.Equal(t, []any{"mcp:invoke"}, tok["scopes"])
	assert.Equal(t, "2026-01-31T23:10:00.000Z", tok["expiresAt"])
	s.mu.Lock()
	for h := range s.st.agentTokens {
		assert.NotContains(t, h, token[4:], "the token is stored hashed")
	}
	s.mu.Unlock()
	def := s.ok(201, "POST", "/mcp/authorize", api, map[string]any{"agentId": id, "scopes": []string{"mcp:invoke"}})
	assert.Equal(t, "2026-02-01T00:00:00.000Z", def["expiresAt"], "default ttl 3600 s")
	s.fail(404, "NOT_FOUND", "POST", "/mcp/authorize", api, map[string]any{"agentId": "agt_nope", "scopes": []string{"mcp:invoke"}})
	for _, bad := range []map[string]any{
		{"scopes": []string{"mcp:invoke"}},
		{"agentId": id},
		{"agentId": id, "scopes": []string{}},
		{"agentId": id, "scopes": []string{"Bad Scope"}},
		{"agentId": id, "scopes": []string{"mcp:invoke"}, "ttlSeconds": 59},
		{"agentId": id, "scopes": []string{"mcp:invoke"}, "ttlSeconds": 2592001},
		{"agentId": id, "scopes": []string{"mcp:invoke"}, "ttlSeconds": 60.5},
	} {
		s.fail(400, "VALIDATION_ERROR", "POST", "/mcp/authorize", api, bad)
	}

	// Verify with the token.
	agt := bearer(token)
	v := s.ok(200, "POST", "/mcp/verify", agt, nil)
	assert.Equal(t, map[string]any{"accountId": s.accountID, "agentId": id, "scopes": []any{"mcp:invoke"}}, v)
	for _, bad := range []string{"", api, bearer("AGT-short"), bearer(token + "x"), bearer("AGT-" + strings.Repeat("A", 43)), license("x")} {
		s.fail(401, "UNAUTHORIZED", "POST", "/mcp/verify", bad, nil)
	}
	// A token is not an API key.
	s.fail(401, "UNAUTHORIZED", "GET", "/mcp/agents", agt, nil)

	// Expiry on the server clock.
	s.Advance(10*time.Minute - time.Millisecond)
	s.ok(200, "POST", "/mcp/verify", agt, nil)
	s.Advance(time.Millisecond)
	s.fail(401, "UNAUTHORIZED", "POST", "/mcp/verify", agt, nil)

	// Deleting the agent revokes its tokens.
	other := s.ok(201, "POST", "/mcp/authorize", api, map[string]any{"agentId": id, "scopes": []string{"mcp:invoke"}})["token"].(string)
	s.ok(200, "POST", "/mcp/verify", bearer(other), nil)
	s.ok(204, "DELETE", "/mcp/agents/"+id, api, nil)
	s.fail(401, "UNAUTHORIZED", "POST", "/mcp/verify", bearer(other), nil)
	s.fail(404, "NOT_FOUND", "GET", "/mcp/agents/"+id, api, nil)
	s.fail(404, "NOT_FOUND", "DELETE", "/mcp/agents/"+id, api, nil)
}

func TestAgentScopes(t *testing.T) {
	s := start(t)
	id := s.ok(201, "POST", "/mcp/agents", bearer(s.TestAPIKey()), map[string]any{"name": "a"})["id"].(string)
	read, write := bearer(s.NewAPIKey(EnvTest, "agents:read")), bearer(s.NewAPIKey(EnvTest, "agents:write"))
	s.ok(200, "GET", "/mcp/agents", read, nil)
	s.ok(200, "GET", "/mcp/agents/"+id, read, nil)
	s.fail(403, "FORBIDDEN", "GET", "/mcp/agents", write, nil)
	s.fail(403, "FORBIDDEN", "POST", "/mcp/agents", read, map[string]any{"name": "b"})
	s.fail(403, "FORBIDDEN", "POST", "/mcp/authorize", read, map[string]any{"agentId": id, "scopes": []string{"mcp:invoke"}})
	s.fail(403, "FORBIDDEN", "PUT", "/mcp/agents/"+id+"/meters/api_calls", read, map[string]any{"period": "day"})
	s.fail(403, "FORBIDDEN", "DELETE", "/mcp/agents/"+id, read, nil)
	s.fail(403, "FORBIDDEN", "POST", "/mcp/authorize", bearer(s.NewAPIKey(EnvTest, "licenses:write")), map[string]any{"agentId": id, "scopes": []string{"mcp:invoke"}})
	s.ok(201, "POST", "/mcp/authorize", write, map[string]any{"agentId": id, "scopes": []string{"mcp:invoke"}})
	s.ok(200, "PUT", "/mcp/agents/"+id+"/meters/api_calls", write, map[string]any{"period": "day"})
	s.ok(204, "DELETE", "/mcp/agents/"+id, write, nil)
}

func TestAgentMeters(t *testing.T) {
	s := start(t, WithFrozenClock(time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC)))
	api := bearer(s.TestAPIKey())
	id := s.ok(201, "POST", "/mcp/agents", api, map[string]any{"name": "a"})["id"].(string)
	token := s.ok(201, "POST", "/mcp/authorize", api, map[string]any{"agentId": id, "scopes": []string{"mcp:invoke"}, "ttlSeconds": 2592000})["token"].(string)
	agt := bearer(token)
	meter := func(body any) map[string]any {
		return s.ok(200, "POST", "/mcp/verify", agt, body)["meter"].(map[string]any)
	}

	m := s.ok(200, "PUT", "/mcp/agents/"+id+"/meters/api_calls", api, map[string]any{"softLimit": 5, "hardLimit": 10, "period": "month"})
	assert.Equal(t, map[string]any{"name": "api_calls", "agentId": id, "softLimit": 5.0, "hardLimit": 10.0, "period": "month",
		"used": 0.0, "periodStart": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-31T23:00:00.000Z"}, m)

	got := meter(map[string]any{"meterName": "api_calls"}) // quantity defaults to 1
	assert.Equal(t, map[string]any{"name": "api_calls", "used": 1.0, "softLimit": 5.0, "hardLimit": 10.0, "warning": false, "blocked": false}, got)
	got = meter(map[string]any{"meterName": "api_calls", "quantity": 4})
	assert.Equal(t, 5.0, got["used"])
	assert.Equal(t, false, got["warning"], "at the soft limit, not past it")
	got = meter(map[string]any{"meterName": "api_calls", "quantity": 1})
	assert.Equal(t, 6.0, got["used"])
	assert.Equal(t, true, got["warning"])
	got = meter(map[string]any{"meterName": "api_calls", "quantity": 5})
	assert.Equal(t, 6.0, got["used"], "a blocked quantity is not recorded")
	assert.Equal(t, true, got["blocked"])
	got = meter(map[string]any{"meterName": "api_calls", "quantity": 4})
	assert.Equal(t, 10.0, got["used"])
	assert.Equal(t, false, got["blocked"], "exactly at the hard limit passes")

	// The month rolls over on the server clock (UTC).
	s.Advance(time.Hour)
	got = meter(map[string]any{"meterName": "api_calls", "quantity": 1})
	assert.Equal(t, 1.0, got["used"], "usage resets at the start of the month")

	// A daily meter; an unconfigured meter has no limits.
	s.ok(200, "PUT", "/mcp/agents/"+id+"/meters/tokens", api, map[string]any{"hardLimit": 100, "period": "day"})
	assert.Equal(t, 60.0, meter(map[string]any{"meterName": "tokens", "quantity": 60})["used"])
	assert.Equal(t, true, meter(map[string]any{"meterName": "tokens", "quantity": 60})["blocked"])
	s.Advance(24 * time.Hour)
	assert.Equal(t, 60.0, meter(map[string]any{"meterName": "tokens", "quantity": 60})["used"])
	free := meter(map[string]any{"meterName": "other", "quantity": 1000000})
	assert.Equal(t, map[string]any{"name": "other", "used": 1000000.0, "softLimit": nil, "hardLimit": nil, "warning": false, "blocked": false}, free)

	// PUT replaces the limits; null or absent is none.
	m = s.ok(200, "PUT", "/mcp/agents/"+id+"/meters/tokens", api, map[string]any{"softLimit": nil, "period": "day"})
	assert.Nil(t, m["hardLimit"])
	assert.Equal(t, 60.0, m["used"], "usage kept while the period is the same")

	for _, bad := range []map[string]any{{}, {"period": "week"}, {"period": "day", "hardLimit": -1}, {"period": "day", "softLimit": 5, "hardLimit": 4}, {"period": "day", "softLimit": "1"}} {
		s.fail(400, "VALIDATION_ERROR", "PUT", "/mcp/agents/"+id+"/meters/tokens", api, bad)
	}
	s.fail(400, "VALIDATION_ERROR", "PUT", "/mcp/agents/"+id+"/meters/bad%20name", api, map[string]any{"period": "day"})
	s.fail(404, "NOT_FOUND", "PUT", "/mcp/agents/agt_nope/meters/tokens", api, map[string]any{"period": "day"})
	for _, bad := range []any{map[string]any{"meterName": "m", "quantity": 0}, map[string]any{"meterName": "m", "quantity": 1000001},
		map[string]any{"meterName": "m", "quantity": 1.5}, map[string]any{"quantity": 1}, map[string]any{"meterName": "bad name"}, "{"} {
		s.fail(400, "VALIDATION_ERROR", "POST", "/mcp/verify", agt, bad)
	}
}

func TestVerifyRateLimitKeyedByToken(t *testing.T) {
	s := start(t, WithRateLimits(60, 10, 2))
	api := bearer(s.TestAPIKey())
	id := s.ok(201, "POST", "/mcp/agents", api, map[string]any{"name": "a"})["id"].(string)
	auth := func() string {
		return bearer(s.ok(201, "POST", "/mcp/authorize", api, map[string]any{"agentId": id, "scopes": []string{"mcp:invoke"}})["token"].(string))
	}
	a := auth()
	b := bearer(s.ok(201, "POST", "/mcp/authorize", bearer(s.NewAPIKey(EnvTest)), map[string]any{"agentId": id, "scopes": []string{"mcp:invoke"}})["token"].(string))
	s.ok(200, "POST", "/mcp/verify", a, nil)
	s.ok(200, "POST", "/mcp/verify", a, nil)
	s.fail(429, "RATE_LIMITED", "POST", "/mcp/verify", a, nil)
	s.ok(200, "POST", "/mcp/verify", b, nil) // another token, another budget
}
