package wire

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTimestampWireForm(t *testing.T) {
	ts := NewTimestamp(time.Date(2026, 1, 15, 10, 30, 0, 0, time.FixedZone("X", 3600)))
	b, err := json.Marshal(ts)
	if err != nil || string(b) != `"2026-01-15T09:30:00.000Z"` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var back Timestamp
	if err := json.Unmarshal(b, &back); err != nil || !back.Equal(ts.Time) {
		t.Fatalf("round trip = %v, %v", back, err)
	}
	if b, _ := json.Marshal(Timestamp{}); string(b) != "null" {
		t.Fatalf("zero Marshal = %s, want null", b)
	}
	if err := json.Unmarshal([]byte("null"), &back); err != nil || !back.IsZero() {
		t.Fatalf("null Unmarshal = %v, %v", back, err)
	}
	for _, bad := range []string{`12`, `"yesterday"`, `"`, `{}`, `"0000-01-01T00:00:00+01:00"`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", bad)
		}
	}
}

func TestNullableKeepsUnsetNullAndZeroApart(t *testing.T) {
	cases := []struct {
		req  PolicyRequest
		want string
	}{
		{PolicyRequest{}, `{}`},
		{PolicyRequest{MaxMachines: Null[int]()}, `{"maxMachines":null}`},
		{PolicyRequest{MaxMachines: Value(0)}, `{"maxMachines":0}`},
	}
	for _, c := range cases {
		b, err := json.Marshal(c.req)
		if err != nil || string(b) != c.want {
			t.Errorf("Marshal = %s, %v; want %s", b, err, c.want)
		}
		var back PolicyRequest
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.MaxMachines != c.req.MaxMachines {
			t.Errorf("round trip of %s = %+v, want %+v", c.want, back.MaxMachines, c.req.MaxMachines)
		}
	}
}

func TestPaths(t *testing.T) {
	if got := SubPath(PathMachines, "a/b", SegmentHeartbeat); got != "/machines/a%2Fb/heartbeat" {
		t.Errorf("SubPath = %q", got)
	}
	if got := LicenseByKeyPath("DSK-A1B2"); got != "/licenses/by-key/DSK-A1B2" {
		t.Errorf("LicenseByKeyPath = %q", got)
	}
	if n := len(EventTypes()); n != 16 {
		t.Errorf("EventTypes has %d entries, want 16", n)
	}
}

func TestEscapeSegmentKeepsDotSegments(t *testing.T) {
	for in, want := range map[string]string{
		".":          "%2E",
		"..":         "%2E%2E",
		"...":        "...",
		"a/b":        "a%2Fb",
		"100%":       "100%25",
		"with space": "with%20space",
		"ключ":       "%D0%BA%D0%BB%D1%8E%D1%87",
	} {
		assert.Equal(t, want, EscapeSegment(in), in)
	}
	assert.Equal(t, "/licenses/by-key/%2E%2E", LicenseByKeyPath(".."))
	assert.Equal(t, "/machines/%2E", ResourcePath(PathMachines, "."))
}

func TestScopesAndAgentConstants(t *testing.T) {
	require.Contains(t, Scopes(), ScopeAgentsRead)
	require.Contains(t, Scopes(), ScopeAgentsWrite)
	assert.NotContains(t, Scopes(), ScopeMCPInvoke, "mcp:invoke is for agent tokens, not API keys")
	assert.Len(t, Scopes(), 15)
	assert.Equal(t, 47, AgentTokenLen)
	assert.Equal(t, TierManagement, TierOf("POST", PathVerify))
	assert.Equal(t, TierManagement, TierOf("POST", PathAuthorize))
}
