package licentric_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
)

// agFixture is a server, a vendor client (API key) and a verifier client
// (no API key, as on an MCP server), both on the server's frozen clock.
type agFixture struct {
	srv      *licentrictest.Server
	vendor   *licentric.Client
	verifier *licentric.Client
}

func newAgFixture(t *testing.T, opts ...licentrictest.Option) *agFixture {
	t.Helper()
	srv := anServer(t, opts...)
	return &agFixture{srv: srv, vendor: anClient(t, srv, srv.TestAPIKey()), verifier: anClient(t, srv, "")}
}

// agent creates an agent and returns it with a fresh token.
func (f *agFixture) agent(t *testing.T, name string, scopes ...string) (*licentric.Agent, *licentric.AgentToken) {
	t.Helper()
	a, err := f.vendor.Agents.Create(t.Context(), &licentric.AgentRequest{Name: name})
	require.NoError(t, err)
	tok, err := f.vendor.Agents.Authorize(t.Context(), a.ID, scopes...)
	require.NoError(t, err)
	return a, tok
}

func int64p(n int64) *int64 { return &n }

// TestAgentsCreateGetListDelete: the identity's whole life, and that a
// deleted agent's token stops working.
func TestAgentsCreateGetListDelete(t *testing.T) {
	f := newAgFixture(t, licentrictest.WithoutRateLimits())
	ctx := t.Context()
	a, err := f.vendor.Agents.Create(ctx, &licentric.AgentRequest{Name: "claude-desktop", Metadata: licentric.Metadata{"team": "search"}})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(a.ID, "agt_"), a.ID)
	assert.Equal(t, "claude-desktop", a.Name)
	assert.Equal(t, "search", a.Metadata["team"])
	assert.Equal(t, anStart, a.CreatedAt.Time)

	got, err := f.vendor.Agents.Get(ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, a, got)

	ids := []string{a.ID}
	for i := range 4 {
		b, err := f.vendor.Agents.Create(ctx, &licentric.AgentRequest{Name: fmt.Sprintf("agent-%d", i)})
		require.NoError(t, err)
		ids = append(ids, b.ID)
	}
	var listed []string
	for b, err := range f.vendor.Agents.List(ctx, &licentric.ListOptions{Limit: 2}) {
		require.NoError(t, err)
		listed = append(listed, b.ID)
	}
	assert.Equal(t, ids, listed, "every agent, oldest first, across pages")
	page, err := f.vendor.Agents.ListPage(ctx, &licentric.ListOptions{Limit: 3})
	require.NoError(t, err)
	assert.Len(t, page.Items, 3)
	assert.True(t, page.HasMore)
	assert.Equal(t, ids[2], page.NextCursor)

	tok, err := f.vendor.Agents.Authorize(ctx, a.ID)
	require.NoError(t, err)
	_, err = f.verifier.Agents.Verify(ctx, tok.Token, nil)
	require.NoError(t, err)

	require.NoError(t, f.vendor.Agents.Delete(ctx, a.ID))
	_, err = f.vendor.Agents.Get(ctx, a.ID)
	require.ErrorIs(t, err, licentric.ErrNotFound)
	_, err = f.verifier.Agents.Verify(ctx, tok.Token, nil)
	require.ErrorIs(t, err, licentric.ErrUnauthorized, "a deleted agent's tokens stop working")
	_, err = f.vendor.Agents.Authorize(ctx, a.ID)
	require.ErrorIs(t, err, licentric.ErrNotFound)
}

// TestAgentsRefuseBadArguments: bad input is refused before any request,
// and what only the service can judge comes back as ErrInvalidRequest.
func TestAgentsRefuseBadArguments(t *testing.T) {
	f := newAgFixture(t, licentrictest.WithoutRateLimits())
	ctx := t.Context()
	_, err := f.vendor.Agents.Create(ctx, nil)
	require.ErrorIs(t, err, licentric.ErrInvalidArgument)
	_, err = f.vendor.Agents.Get(ctx, "")
	require.ErrorIs(t, err, licentric.ErrInvalidArgument)
	require.ErrorIs(t, f.vendor.Agents.Delete(ctx, ""), licentric.ErrInvalidArgument)
	_, err = f.vendor.Agents.Authorize(ctx, "")
	require.ErrorIs(t, err, licentric.ErrInvalidArgument)
	_, err = f.vendor.Agents.Authorize(ctx, "agt_x", "mcp:invoke", "")
	require.ErrorIs(t, err, licentric.ErrInvalidArgument)
	for _, ttl := range []time.Duration{0, 59 * time.Second, 31 * 24 * time.Hour, 90*time.Second + time.Millisecond} {
		_, err = f.vendor.Agents.AuthorizeFor(ctx, "agt_x", ttl)
		require.ErrorIs(t, err, licentric.ErrInvalidArgument, ttl)
	}
	_, err = f.vendor.Agents.SetMeter(ctx, "agt_x", "", &licentric.MeterLimits{})
	require.ErrorIs(t, err, licentric.ErrInvalidArgument)
	_, err = f.vendor.Agents.SetMeter(ctx, "agt_x", "calls", nil)
	require.ErrorIs(t, err, licentric.ErrInvalidArgument)
	assert.Empty(t, f.srv.Requests(), "nothing was sent")

	_, err = f.vendor.Agents.Create(ctx, &licentric.AgentRequest{})
	require.ErrorIs(t, err, licentric.ErrInvalidRequest, "a name is required")
	_, err = f.vendor.Agents.Create(ctx, &licentric.AgentRequest{Name: strings.Repeat("n", 129)})
	require.ErrorIs(t, err, licentric.ErrInvalidRequest)
	a, tok := f.agent(t, "a")
	_, err = f.vendor.Agents.SetMeter(ctx, a.ID, "calls", &licentric.MeterLimits{Period: "week"})
	require.ErrorIs(t, err, licentric.ErrInvalidRequest)
	_, err = f.vendor.Agents.SetMeter(ctx, a.ID, "calls", &licentric.MeterLimits{SoftLimit: int64p(5), HardLimit: int64p(4)})
	require.ErrorIs(t, err, licentric.ErrInvalidRequest)
	_, err = f.verifier.Agents.Verify(ctx, tok.Token, &licentric.Usage{Meter: "bad name"})
	require.ErrorIs(t, err, licentric.ErrInvalidRequest)
	for _, q := range []int64{-1, licentric.MaxMeterQuantity + 1} {
		_, err = f.verifier.Agents.Verify(ctx, tok.Token, &licentric.Usage{Meter: "calls", Quantity: q})
		require.ErrorIs(t, err, licentric.ErrInvalidArgument, q)
	}
}

// TestAgentsNeedScopes: a key without agents:write cannot create or
// authorize; one with agents:read can read.
func TestAgentsNeedScopes(t *testing.T) {
	f := newAgFixture(t, licentrictest.WithoutRateLimits())
	a, _ := f.agent(t, "a")
	reader := anClient(t, f.srv, f.srv.NewAPIKey(licentrictest.EnvTest, licentric.ScopeAgentsRead))
	_, err := reader.Agents.Get(t.Context(), a.ID)
	require.NoError(t, err)
	_, err = reader.Agents.Authorize(t.Context(), a.ID)
	require.ErrorIs(t, err, licentric.ErrForbidden)
	_, err = reader.Agents.Create(t.Context(), &licentric.AgentRequest{Name: "b"})
	require.ErrorIs(t, err, licentric.ErrForbidden)
	_, err = f.verifier.Agents.Create(t.Context(), &licentric.AgentRequest{Name: "b"})
	require.ErrorIs(t, err, licentric.ErrNoAPIKey)
}

// TestAgentsAuthorizeAndVerify: a token carries its agent, scopes and
// expiry; Verify, sent with the token alone, returns the identity; the
// token dies at its expiry.
func TestAgentsAuthorizeAndVerify(t *testing.T) {
	f := newAgFixture(t)
	ctx := t.Context()
	a, tok := f.agent(t, "a")
	assert.True(t, strings.HasPrefix(tok.Token, licentric.AgentTokenPrefix))
	assert.Len(t, tok.Token, 47)
	assert.Equal(t, a.ID, tok.AgentID)
	assert.Equal(t, []string{licentric.ScopeMCPInvoke}, tok.Scopes, "the default scope")
	assert.Equal(t, anStart.Add(licentric.DefaultAgentTokenTTL), tok.ExpiresAt.Time)

	v, err := f.verifier.Agents.Verify(ctx, tok.Token, nil)
	require.NoError(t, err)
	assert.NotEmpty(t, v.AccountID)
	assert.Equal(t, a.ID, v.AgentID)
	assert.True(t, v.HasScope(licentric.ScopeMCPInvoke))
	assert.False(t, v.HasScope("tools:admin"))
	assert.Nil(t, v.Meter)
	require.NoError(t, v.Err())
	reqs := f.srv.Requests()
	last := reqs[len(reqs)-1]
	assert.Equal(t, "/mcp/verify", last.Path)
	assert.Equal(t, "Bearer", last.Scheme)

	short, err := f.vendor.Agents.AuthorizeFor(ctx, a.ID, 2*time.Minute, "tools:search", "tools:fetch")
	require.NoError(t, err)
	assert.Equal(t, []string{"tools:search", "tools:fetch"}, short.Scopes)
	assert.Equal(t, anStart.Add(2*time.Minute), short.ExpiresAt.Time)
	f.srv.Advance(2*time.Minute - time.Millisecond)
	_, err = f.verifier.Agents.Verify(ctx, short.Token, nil)
	require.NoError(t, err)
	f.srv.Advance(time.Millisecond)
	_, err = f.verifier.Agents.Verify(ctx, short.Token, nil)
	require.ErrorIs(t, err, licentric.ErrUnauthorized, "expired")
	_, err = f.verifier.Agents.Verify(ctx, tok.Token, nil)
	require.NoError(t, err, "the hour-long token still works")
}

// TestAgentsVerifyRefusesBadCredentials: a malformed token fails with
// ErrUnauthorized before any request; a well-formed unknown one is the
// service's 401. Neither message shows the token.
func TestAgentsVerifyRefusesBadCredentials(t *testing.T) {
	f := newAgFixture(t)
	ctx := t.Context()
	for _, tok := range []string{"", "AGT-", "lk_test_0123456789abcdef", "Bearer AGT-abc", "AGT-abc def", "AGT-abc\n", "AGT-" + strings.Repeat("a", 600), "AGT-ü"} {
		_, err := f.verifier.Agents.Verify(ctx, tok, nil)
		require.ErrorIs(t, err, licentric.ErrUnauthorized, "%q", tok)
		require.ErrorIs(t, err, licentric.ErrInvalidArgument, "%q", tok)
		if len(tok) > 4 {
			assert.NotContains(t, err.Error(), tok)
		}
	}
	assert.Empty(t, f.srv.Requests(), "malformed tokens are never sent")

	unknown := "AGT-" + strings.Repeat("x", 43)
	_, err := f.verifier.Agents.Verify(ctx, unknown, nil)
	require.ErrorIs(t, err, licentric.ErrUnauthorized)
	require.NotErrorIs(t, err, licentric.ErrInvalidArgument)
	assert.NotContains(t, err.Error(), unknown)
	_, err = f.verifier.Agents.Verify(ctx, unknown, &licentric.Usage{Meter: "calls"})
	require.ErrorIs(t, err, licentric.ErrUnauthorized)
}

// TestAgentsMeterSoftAndHardLimits: usage is recorded up to the hard
// limit, warns past the soft one, and a call that would pass the hard limit
// comes back blocked, unrecorded, with Err matching ErrMeterLimitExceeded;
// a daily meter resets at UTC midnight.
func TestAgentsMeterSoftAndHardLimits(t *testing.T) {
	f := newAgFixture(t)
	ctx := t.Context()
	a, _ := f.agent(t, "a")
	tok, err := f.vendor.Agents.AuthorizeFor(ctx, a.ID, 24*time.Hour)
	require.NoError(t, err)
	m, err := f.vendor.Agents.SetMeter(ctx, a.ID, "tool-calls", &licentric.MeterLimits{SoftLimit: int64p(2), HardLimit: int64p(4), Period: licentric.MeterPeriodDay})
	require.NoError(t, err)
	assert.Equal(t, "tool-calls", m.Name)
	assert.Equal(t, a.ID, m.AgentID)
	assert.Equal(t, int64p(2), m.SoftLimit)
	assert.Equal(t, int64p(4), m.HardLimit)
	assert.Equal(t, licentric.MeterPeriodDay, m.Period)
	assert.Equal(t, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), m.PeriodStart.Time)

	use := func(q int64) *licentric.MeterState {
		t.Helper()
		v, err := f.verifier.Agents.Verify(ctx, tok.Token, &licentric.Usage{Meter: "tool-calls", Quantity: q})
		require.NoError(t, err, "a blocked meter is not a verify failure")
		require.NotNil(t, v.Meter)
		assert.Equal(t, a.ID, v.AgentID)
		if v.Meter.Blocked {
			require.ErrorIs(t, v.Err(), licentric.ErrMeterLimitExceeded)
			assert.Contains(t, v.Err().Error(), `"tool-calls"`)
		} else {
			require.NoError(t, v.Err())
		}
		return v.Meter
	}
	s := use(0) // zero means 1
	assert.Equal(t, licentric.MeterState{Name: "tool-calls", Used: 1, SoftLimit: int64p(2), HardLimit: int64p(4)}, *s)
	s = use(1)
	assert.Equal(t, int64(2), s.Used)
	assert.False(t, s.Warning, "at the soft limit, not past it")
	s = use(1)
	assert.Equal(t, int64(3), s.Used)
	assert.True(t, s.Warning)
	assert.False(t, s.Blocked)
	s = use(2)
	assert.True(t, s.Blocked, "3+2 would pass 4")
	assert.Equal(t, int64(3), s.Used, "not recorded")
	s = use(1)
	assert.False(t, s.Blocked, "3+1 reaches 4 exactly")
	assert.Equal(t, int64(4), s.Used)
	s = use(1)
	assert.True(t, s.Blocked)
	assert.Equal(t, int64(4), s.Used)

	f.srv.Advance(12 * time.Hour) // past midnight UTC
	s = use(1)
	assert.False(t, s.Blocked)
	assert.Equal(t, int64(1), s.Used, "a new day")

	// Limits replaced as a whole: nil removes them; the period defaults
	// to a month.
	m, err = f.vendor.Agents.SetMeter(ctx, a.ID, "tool-calls", &licentric.MeterLimits{})
	require.NoError(t, err)
	assert.Nil(t, m.SoftLimit)
	assert.Nil(t, m.HardLimit)
	assert.Equal(t, licentric.MeterPeriodMonth, m.Period)

	// A meter never configured has no limits.
	v, err := f.verifier.Agents.Verify(ctx, tok.Token, &licentric.Usage{Meter: "other", Quantity: licentric.MaxMeterQuantity})
	require.NoError(t, err)
	assert.Equal(t, &licentric.MeterState{Name: "other", Used: licentric.MaxMeterQuantity}, v.Meter)
}

// TestAgentsMeteredVerifyIsNeverRecordedTwice: a metered Verify whose
// answer is lost, or that met a 5xx, is not retried (the service may have
// recorded it); an unmetered one is.
func TestAgentsMeteredVerifyIsNeverRecordedTwice(t *testing.T) {
	f := newAgFixture(t)
	ctx := t.Context()
	_, tok := f.agent(t, "a")
	usage := &licentric.Usage{Meter: "calls"}

	f.srv.InjectFault(licentrictest.Fault{Path: "/mcp/verify", DropResponse: true})
	_, err := f.verifier.Agents.Verify(ctx, tok.Token, usage)
	require.Error(t, err)
	f.srv.InjectFault(licentrictest.Fault{Path: "/mcp/verify", Status: http.StatusInternalServerError})
	_, err = f.verifier.Agents.Verify(ctx, tok.Token, usage)
	require.ErrorIs(t, err, licentric.ErrServer)
	assert.Equal(t, 2, f.srv.CountRequests(http.MethodPost, "/mcp/verify"), "one attempt each")

	v, err := f.verifier.Agents.Verify(ctx, tok.Token, usage)
	require.NoError(t, err)
	assert.Equal(t, int64(2), v.Meter.Used, "the lost answer's call was recorded once, the 500's not at all")

	f.srv.InjectFault(licentrictest.Fault{Path: "/mcp/verify", Status: http.StatusInternalServerError})
	_, err = f.verifier.Agents.Verify(ctx, tok.Token, nil)
	require.NoError(t, err, "an unmetered verify is retried")
}

// TestAgentsVerifyWithoutAgentBudgetWait: once the client's budget for the
// window is spent, WithoutAgentBudgetWait fails at once with
// ErrBudgetExhausted instead of sending a request the service would refuse.
func TestAgentsVerifyWithoutAgentBudgetWait(t *testing.T) {
	f := newAgFixture(t, licentrictest.WithRateLimits(60, 10, 3))
	ctx := t.Context()
	_, tok := f.agent(t, "a") // the vendor's two calls are its own budget
	for range 3 {
		_, err := f.verifier.Agents.Verify(ctx, tok.Token, nil, licentric.WithoutAgentBudgetWait())
		require.NoError(t, err)
	}
	_, err := f.verifier.Agents.Verify(ctx, tok.Token, nil, licentric.WithoutAgentBudgetWait())
	require.ErrorIs(t, err, licentric.ErrBudgetExhausted)
	assert.Equal(t, 3, f.srv.CountRequests(http.MethodPost, "/mcp/verify"), "the fourth was never sent")
	assert.Zero(t, countStatus(f.srv.Requests(), http.StatusTooManyRequests))
}

func countStatus(reqs []licentrictest.Request, status int) int {
	n := 0
	for _, r := range reqs {
		if r.Status == status {
			n++
		}
	}
	return n
}

// TestAgentTokenNeverFormatsItsSecret: %v, %+v, %#v, %s of an AgentToken
// (value or pointer) and its log/slog forms show only the prefix.
func TestAgentTokenNeverFormatsItsSecret(t *testing.T) {
	f := newAgFixture(t)
	_, tok := f.agent(t, "a")
	secret := strings.TrimPrefix(tok.Token, licentric.AgentTokenPrefix)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		for _, v := range []any{tok, *tok, []*licentric.AgentToken{tok}} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, secret, verb)
			assert.NotContains(t, out, secret[:8], verb)
		}
	}
	assert.Contains(t, fmt.Sprint(tok), tok.AgentID)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("issued", "token", tok)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("issued", "token", *tok)
	assert.NotContains(t, buf.String(), secret[:8])
	assert.Contains(t, buf.String(), tok.AgentID)
}

func TestVerificationHelpersOnNil(t *testing.T) {
	var v *licentric.AgentVerification
	require.ErrorIs(t, v.Err(), licentric.ErrInvalidArgument)
	assert.False(t, v.HasScope(licentric.ScopeMCPInvoke))
	assert.Nil(t, v.Clone())

	w := &licentric.AgentVerification{AgentID: "agt_1", Scopes: []string{"a"}, Meter: &licentric.MeterState{Name: "m", HardLimit: int64p(1), Blocked: true}}
	c := w.Clone()
	c.Scopes[0], *c.Meter.HardLimit = "b", 9
	assert.Equal(t, "a", w.Scopes[0])
	assert.Equal(t, int64(1), *w.Meter.HardLimit)
	require.ErrorIs(t, w.Err(), licentric.ErrMeterLimitExceeded)
}
