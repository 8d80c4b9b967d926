package agentauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/agentauth"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/licentrictest"
)

var start = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// fixture is a Licentric server, the vendor's client, and a tool server
// (over loopback) behind the middleware, whose handler echoes what
// FromContext says.
type fixture struct {
	srv    *licentrictest.Server
	vendor *licentric.Client
	mw     *agentauth.Middleware
	tools  *httptest.Server
	logs   *lockedBuffer
	client string // X-Test-Client of the next call
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// seen is what the tool handler reports about the request's agent.
type seen struct {
	AgentID   string `json:"agentId"`
	FromCache bool   `json:"fromCache"`
	Stale     bool   `json:"stale"`
	Used      int64  `json:"used"`
	Warning   bool   `json:"warning"`
}

func echo(w http.ResponseWriter, r *http.Request) {
	v, ok := agentauth.FromContext(r.Context())
	if !ok {
		http.Error(w, "no agent", http.StatusInternalServerError)
		return
	}
	s := seen{AgentID: v.AgentID, FromCache: v.FromCache, Stale: v.Stale}
	if v.Meter != nil {
		s.Used, s.Warning = v.Meter.Used, v.Meter.Warning
	}
	_ = json.NewEncoder(w).Encode(s)
}

// newFixture builds the tool server: /free is unmetered, /tool charges 1
// on "tool-calls", /heavy charges 5 on "tool-calls" through WithRouteMeter.
func newFixture(t *testing.T, srvOpts []licentrictest.Option, opts ...agentauth.Option) *fixture {
	t.Helper()
	return newFixtureWith(t, srvOpts, nil, opts...)
}

// newFixtureWith is newFixture with options for the middleware's client.
func newFixtureWith(t *testing.T, srvOpts []licentrictest.Option, clientOpts []licentric.Option, opts ...agentauth.Option) *fixture {
	t.Helper()
	srv := licentrictest.NewServer(append([]licentrictest.Option{licentrictest.WithFrozenClock(start)}, srvOpts...)...)
	t.Cleanup(srv.Close)
	client := func(key string, extra ...licentric.Option) *licentric.Client {
		if key == "" {
			return testkit.AppClient(t, srv, "", append([]licentric.Option{licentric.WithRetry(testkit.Retries(2))}, extra...)...)
		}
		return testkit.Client(t, srv, append([]licentric.Option{licentric.WithRetry(testkit.Retries(2)), licentric.WithAPIKey(key)}, extra...)...)
	}
	logs := &lockedBuffer{}
	all := append([]agentauth.Option{
		agentauth.WithClock(srv.Clock()),
		agentauth.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		agentauth.WithRouteMeter(func(r *http.Request) (string, int64) {
			if r.URL.Path == "/heavy" {
				return "tool-calls", 5
			}
			return "", 0
		}),
	}, opts...)
	mw, err := agentauth.New(client("", clientOpts...), all...)
	require.NoError(t, err)
	tool, err := mw.Metered("tool-calls", 1, http.HandlerFunc(echo))
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/free", mw.Handler(http.HandlerFunc(echo)))
	mux.Handle("/heavy", mw.Handler(http.HandlerFunc(echo)))
	mux.Handle("/tool", tool)
	tools := httptest.NewServer(mux)
	t.Cleanup(tools.Close)
	return &fixture{srv: srv, vendor: client(srv.TestAPIKey()), mw: mw, tools: tools, logs: logs}
}

func (f *fixture) agent(t *testing.T, scopes ...string) (*licentric.Agent, string) {
	t.Helper()
	a, err := f.vendor.Agents.Create(t.Context(), &licentric.AgentRequest{Name: "agent"})
	require.NoError(t, err)
	tok, err := f.vendor.Agents.AuthorizeFor(t.Context(), a.ID, 24*time.Hour, scopes...)
	require.NoError(t, err)
	return a, tok.Token
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	seen   seen
}

func (f *fixture) call(t *testing.T, path, authorization string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.tools.URL+path, strings.NewReader(`{}`))
	require.NoError(t, err)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if f.client != "" {
		req.Header.Set("X-Test-Client", f.client)
	}
	resp, err := f.tools.Client().Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode == http.StatusOK {
		require.NoError(t, json.Unmarshal(raw, &a.seen), string(raw))
	} else {
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
		require.NoError(t, json.Unmarshal(raw, &a.body), string(raw))
	}
	return a
}

// callFrom is call with the client address header X-Test-Client.
func (f *fixture) callFrom(t *testing.T, path, authorization, client string) answer {
	t.Helper()
	f.client = client
	defer func() { f.client = "" }()
	return f.call(t, path, authorization)
}

func bearer(tok string) string { return "Bearer " + tok }

func (f *fixture) verifies() int { return f.srv.CountRequests(http.MethodPost, "/mcp/verify") }

// used reads a meter's usage without recording any (SetMeter keeps usage).
func (f *fixture) used(t *testing.T, agentID string, limits *licentric.MeterLimits) int64 {
	t.Helper()
	m, err := f.vendor.Agents.SetMeter(t.Context(), agentID, "tool-calls", limits)
	require.NoError(t, err)
	return m.Used
}

// TestRefusesMissingAndBadCredentials: no credential, another scheme, a
// malformed or unknown token: 401 with the Bearer challenge and a JSON
// body; only the well-formed unknown token reaches the service, and its
// refusal is remembered for DefaultRefusalTTL.
func TestRefusesMissingAndBadCredentials(t *testing.T) {
	f := newFixture(t, nil)
	for _, h := range []string{"", "Basic dXNlcjpwYXNz"} {
		a := f.call(t, "/free", h)
		assert.Equal(t, http.StatusUnauthorized, a.status)
		assert.Equal(t, `Bearer realm="agents"`, a.header.Get("WWW-Authenticate"))
		assert.Equal(t, "UNAUTHORIZED", a.body["code"])
		assert.NotEmpty(t, a.body["error"])
	}
	for _, h := range []string{"Bearer", "Bearer a b", "Bearer lk_test_abcdef", "Bearer AGT-"} {
		a := f.call(t, "/tool", h)
		assert.Equal(t, http.StatusUnauthorized, a.status, h)
		assert.Equal(t, `Bearer realm="agents", error="invalid_token"`, a.header.Get("WWW-Authenticate"))
		assert.Equal(t, "UNAUTHORIZED", a.body["code"])
	}
	assert.Zero(t, f.verifies(), "malformed credentials are refused locally")

	unknown := "AGT-" + strings.Repeat("z", 43)
	for _, path := range []string{"/free", "/tool", "/free"} {
		a := f.call(t, path, bearer(unknown))
		assert.Equal(t, http.StatusUnauthorized, a.status)
		assert.Contains(t, a.header.Get("WWW-Authenticate"), `error="invalid_token"`)
	}
	assert.Equal(t, 1, f.verifies(), "a refusal is remembered")
	f.srv.Advance(agentauth.DefaultRefusalTTL)
	assert.Equal(t, http.StatusUnauthorized, f.call(t, "/tool", bearer(unknown)).status)
	assert.Equal(t, 2, f.verifies(), "for a while")
	assert.NotContains(t, f.logs.String(), unknown)
}

// TestJunkTokensDoNotStarveKnownAgents: 120 well-formed junk tokens a
// minute from one client, for three minutes, on metered and unmetered
// routes: every call of the known agents (metered, every 5 s) and of a new
// agent from elsewhere is served, and the junk costs at most its share of
// the client's budget of 120 verify calls a minute.
func TestJunkTokensDoNotStarveKnownAgents(t *testing.T) {
	f := newFixture(t, nil, agentauth.WithVerifyTimeout(100*time.Millisecond),
		agentauth.WithClientAddress(func(r *http.Request) string { return r.Header.Get("X-Test-Client") }))
	var known []string
	for range 3 {
		_, tok := f.agent(t)
		require.Equal(t, http.StatusOK, f.callFrom(t, "/tool", bearer(tok), "known").status)
		known = append(known, tok)
	}
	junkVerifies, served, refused := 0, 0, 0
	for step := range 360 { // every 500 ms
		if step%120 == 60 {
			_, tok := f.agent(t) // a new agent, from another client
			for range 2 {
				a := f.callFrom(t, "/tool", bearer(tok), "newcomer")
				assert.Equal(t, http.StatusOK, a.status, "a new agent at step %d: %v", step, a.body)
			}
		}
		if step%10 == 0 {
			for _, tok := range known {
				a := f.callFrom(t, "/tool", bearer(tok), "known")
				if assert.Equal(t, http.StatusOK, a.status, "a known agent at step %d: %v", step, a.body) {
					served++
				}
			}
		}
		before := f.verifies()
		junk := fmt.Sprintf("AGT-%043d", step)
		a := f.callFrom(t, []string{"/free", "/tool"}[step%2], bearer(junk), "attacker")
		junkVerifies += f.verifies() - before
		if a.status == http.StatusServiceUnavailable {
			refused++
			assert.NotEmpty(t, a.header.Get("Retry-After"))
		} else {
			assert.Equal(t, http.StatusUnauthorized, a.status)
		}
		f.srv.Advance(500 * time.Millisecond)
	}
	assert.Equal(t, 36*3, served)
	assert.LessOrEqual(t, junkVerifies, agentauth.DefaultUnknownTokenRatePerClient*4, "at most its share a minute (and one burst)")
	assert.Positive(t, refused)
}

// TestUnmeteredRoutesCacheThePositiveAnswer: within the TTL the service is
// asked once; the agent's identity reaches the handler; after the TTL it
// is asked again; a deleted agent is refused at once after ForgetAgent.
func TestUnmeteredRoutesCacheThePositiveAnswer(t *testing.T) {
	f := newFixture(t, nil)
	a, tok := f.agent(t)
	first := f.call(t, "/free", bearer(tok))
	require.Equal(t, http.StatusOK, first.status)
	assert.Equal(t, seen{AgentID: a.ID}, first.seen)
	for range 3 {
		again := f.call(t, "/free", bearer(tok))
		assert.Equal(t, seen{AgentID: a.ID, FromCache: true}, again.seen)
	}
	assert.Equal(t, 1, f.verifies())

	f.srv.Advance(agentauth.DefaultCacheTTL)
	assert.False(t, f.call(t, "/free", bearer(tok)).seen.FromCache)
	assert.Equal(t, 2, f.verifies())

	require.NoError(t, f.vendor.Agents.Delete(t.Context(), a.ID))
	assert.Equal(t, http.StatusOK, f.call(t, "/free", bearer(tok)).status, "cached for up to the TTL")
	assert.Equal(t, 1, f.mw.ForgetAgent(a.ID))
	assert.Equal(t, http.StatusUnauthorized, f.call(t, "/free", bearer(tok)).status)
	assert.NotContains(t, f.logs.String(), tok)
}

// TestMeteredRoutesChargeEveryCall: every metered request is verified and
// recorded (a cached identity does not skip it), per route; past the soft
// limit it passes with a warning; a call that would pass the hard limit is
// answered 402 with the meter's state, is not recorded and never reaches
// the handler.
func TestMeteredRoutesChargeEveryCall(t *testing.T) {
	f := newFixture(t, nil)
	a, tok := f.agent(t)
	limits := &licentric.MeterLimits{SoftLimit: ptr(int64(6)), HardLimit: ptr(int64(8))}
	f.used(t, a.ID, limits)

	require.Equal(t, http.StatusOK, f.call(t, "/free", bearer(tok)).status) // caches the identity
	for i := range 2 {
		s := f.call(t, "/tool", bearer(tok))
		require.Equal(t, http.StatusOK, s.status)
		assert.Equal(t, int64(i+1), s.seen.Used)
		assert.False(t, s.seen.FromCache)
	}
	heavy := f.call(t, "/heavy", bearer(tok)) // the route meter: 5
	require.Equal(t, http.StatusOK, heavy.status)
	assert.Equal(t, int64(7), heavy.seen.Used)
	assert.True(t, heavy.seen.Warning)
	assert.Equal(t, 4, f.verifies(), "one for /free, one per metered call")

	blocked := f.call(t, "/heavy", bearer(tok))
	require.Equal(t, http.StatusPaymentRequired, blocked.status)
	assert.Equal(t, "METER_LIMIT_EXCEEDED", blocked.body["code"])
	assert.Contains(t, blocked.body["error"], "tool-calls")
	assert.Equal(t, map[string]any{"name": "tool-calls", "used": 7.0, "softLimit": 6.0, "hardLimit": 8.0, "warning": true, "blocked": true}, blocked.body["meter"])
	assert.Empty(t, blocked.header.Get("WWW-Authenticate"))
	assert.Equal(t, int64(7), f.used(t, a.ID, limits), "the blocked call was not recorded")

	assert.Equal(t, http.StatusOK, f.call(t, "/tool", bearer(tok)).status, "7+1 reaches 8")
	assert.Equal(t, http.StatusPaymentRequired, f.call(t, "/tool", bearer(tok)).status)
	assert.Equal(t, int64(8), f.used(t, a.ID, limits))
	assert.Equal(t, http.StatusOK, f.call(t, "/free", bearer(tok)).status, "unmetered routes stay open")
}

// TestScopesAreCheckedBeforeCharging: a token without a required scope is
// answered 403 insufficient_scope, and a metered route records nothing
// for it.
func TestScopesAreCheckedBeforeCharging(t *testing.T) {
	f := newFixture(t, nil, agentauth.WithScopes("tools:call"))
	a, tok := f.agent(t) // mcp:invoke only
	for _, path := range []string{"/tool", "/free", "/tool"} {
		r := f.call(t, path, bearer(tok))
		require.Equal(t, http.StatusForbidden, r.status, path)
		assert.Equal(t, "FORBIDDEN", r.body["code"])
		assert.Equal(t, `Bearer realm="agents", error="insufficient_scope", scope="tools:call"`, r.header.Get("WWW-Authenticate"))
	}
	assert.Zero(t, f.used(t, a.ID, &licentric.MeterLimits{}), "nothing charged")
	assert.Equal(t, 1, f.verifies(), "one unmetered verify learned the scopes")

	_, good := f.agent(t, "tools:call")
	assert.Equal(t, http.StatusOK, f.call(t, "/tool", bearer(good)).status)
}

// TestOutageServesStaleOnlyUnmetered: when the service cannot be asked, an
// unmetered route serves a token accepted within the stale window, marked
// Stale; a metered route answers 503 (never unrecorded use); past the
// window, or for a token never seen, unmetered answers 503 too.
func TestOutageServesStaleOnlyUnmetered(t *testing.T) {
	f := newFixture(t, nil)
	_, tok := f.agent(t)
	_, other := f.agent(t)
	require.Equal(t, http.StatusOK, f.call(t, "/free", bearer(tok)).status)

	f.srv.Advance(agentauth.DefaultCacheTTL)
	f.srv.InjectFault(licentrictest.Fault{Path: "/mcp/verify", Status: http.StatusServiceUnavailable, Times: 1000})
	s := f.call(t, "/free", bearer(tok))
	require.Equal(t, http.StatusOK, s.status)
	assert.True(t, s.seen.Stale)
	assert.True(t, s.seen.FromCache)

	m := f.call(t, "/tool", bearer(tok))
	assert.Equal(t, http.StatusServiceUnavailable, m.status)
	assert.Equal(t, "SERVICE_UNAVAILABLE", m.body["code"])
	assert.Equal(t, http.StatusServiceUnavailable, f.call(t, "/free", bearer(other)).status, "never seen: no authorization from an outage")

	f.srv.Advance(agentauth.DefaultStaleIfError - agentauth.DefaultCacheTTL)
	assert.Equal(t, http.StatusServiceUnavailable, f.call(t, "/free", bearer(tok)).status, "past the stale window")

	f.srv.ClearFaults()
	s = f.call(t, "/free", bearer(tok))
	require.Equal(t, http.StatusOK, s.status)
	assert.False(t, s.seen.Stale)
}

// TestBudgetSpentServesStaleWithoutWaiting: once the client's rate budget
// for the window is spent, an unmetered request with a recent answer is
// served stale at once, sending nothing; a metered one waits at most the
// verify timeout and is answered 503 with Retry-After.
func TestBudgetSpentServesStaleWithoutWaiting(t *testing.T) {
	f := newFixture(t, []licentrictest.Option{licentrictest.WithRateLimits(60, 10, 2)},
		agentauth.WithVerifyTimeout(50*time.Millisecond), agentauth.WithCacheTTL(10*time.Second))
	_, tok := f.agent(t) // the vendor's key has a budget of its own
	require.Equal(t, http.StatusOK, f.call(t, "/free", bearer(tok)).status)
	require.Equal(t, http.StatusOK, f.call(t, "/tool", bearer(tok)).status)
	require.Equal(t, 2, f.verifies())

	f.srv.Advance(10 * time.Second) // still the same rate window
	s := f.call(t, "/free", bearer(tok))
	require.Equal(t, http.StatusOK, s.status)
	assert.True(t, s.seen.Stale)
	m := f.call(t, "/tool", bearer(tok))
	assert.Equal(t, http.StatusServiceUnavailable, m.status)
	assert.NotEmpty(t, m.header.Get("Retry-After"))
	assert.Equal(t, 2, f.verifies(), "nothing the service would refuse was sent")
}

// TestRateLimitedTokenIsAnswered429: a 429 from the service for a metered
// call (with a client that does not retry) reaches the agent as 429 with
// Retry-After; the next call, held back by the client's budget until then,
// is answered 503 with Retry-After without being sent.
func TestRateLimitedTokenIsAnswered429(t *testing.T) {
	f := newFixtureWith(t, nil, []licentric.Option{licentric.WithRetry(licentric.RetryPolicy{})},
		agentauth.WithVerifyTimeout(50*time.Millisecond))
	_, tok := f.agent(t)
	f.srv.InjectFault(licentrictest.Fault{Path: "/mcp/verify", Status: http.StatusTooManyRequests, RetryAfter: 7 * time.Second})
	r := f.call(t, "/tool", bearer(tok))
	require.Equal(t, http.StatusTooManyRequests, r.status)
	assert.Equal(t, "RATE_LIMITED", r.body["code"])
	assert.Equal(t, "7", r.header.Get("Retry-After"))
	r = f.call(t, "/tool", bearer(tok))
	require.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Equal(t, 1, f.verifies())
}

// TestConcurrentRequestsShareVerifications: many concurrent unmetered
// requests of one token are all served; at most a few verify calls are
// made, and metered ones are each recorded exactly once.
func TestConcurrentRequestsShareVerifications(t *testing.T) {
	f := newFixture(t, []licentrictest.Option{licentrictest.WithoutRateLimits()})
	a, tok := f.agent(t)
	var wg sync.WaitGroup
	const n = 20
	for range n {
		wg.Go(func() { assert.Equal(t, http.StatusOK, f.call(t, "/free", bearer(tok)).status) })
		wg.Go(func() { assert.Equal(t, http.StatusOK, f.call(t, "/tool", bearer(tok)).status) })
	}
	wg.Wait()
	assert.Equal(t, int64(n), f.used(t, a.ID, &licentric.MeterLimits{}))
	assert.LessOrEqual(t, f.verifies(), 2*n)
}

// TestMisconfiguredMetersAreRefused: bad options fail New or Metered; a
// route meter returning a bad name answers 500 without calling the service.
func TestMisconfiguredMetersAreRefused(t *testing.T) {
	c, err := licentric.NewClient()
	require.NoError(t, err)
	_, err = agentauth.New(nil)
	require.ErrorIs(t, err, licentric.ErrInvalidArgument)
	for _, o := range []agentauth.Option{
		agentauth.WithMeter("", 1), agentauth.WithMeter("bad name", 1), agentauth.WithMeter("m", -1),
		agentauth.WithMeter("m", licentric.MaxMeterQuantity+1), agentauth.WithRouteMeter(nil), agentauth.WithScopes("a b"),
		agentauth.WithCacheTTL(-1), agentauth.WithCacheSize(0), agentauth.WithStaleIfError(-1), agentauth.WithClock(nil),
		agentauth.WithRealm(`a"b`), agentauth.WithVerifyTimeout(0), agentauth.WithLogger(nil), agentauth.WithRefusalHandler(nil),
	} {
		_, err := agentauth.New(c, o)
		require.ErrorIs(t, err, licentric.ErrInvalidArgument)
	}
	mw, err := agentauth.New(c)
	require.NoError(t, err)
	_, err = mw.Metered("tool calls", 1, http.NotFoundHandler())
	require.ErrorIs(t, err, licentric.ErrInvalidArgument)

	f := newFixture(t, nil, agentauth.WithRouteMeter(func(*http.Request) (string, int64) { return "bad name!", 1 }))
	_, tok := f.agent(t)
	r := f.call(t, "/free", bearer(tok))
	assert.Equal(t, http.StatusInternalServerError, r.status)
	assert.Equal(t, "INTERNAL_ERROR", r.body["code"])
	assert.Zero(t, f.verifies())
}

// TestRefusalHandlerAndOptions: a custom refusal writer gets the refusal
// with the headers already set; the realm is configurable; with the cache
// off every unmetered request asks the service.
func TestRefusalHandlerAndOptions(t *testing.T) {
	var got *agentauth.Refusal
	f := newFixture(t, nil, agentauth.WithRealm("tools"), agentauth.WithCacheTTL(0),
		agentauth.WithRefusalHandler(func(w http.ResponseWriter, r *http.Request, ref *agentauth.Refusal) {
			got = ref
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(ref.Status)
			_, _ = fmt.Fprintf(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":%q}}`, ref.Message)
		}))
	r := f.call(t, "/free", "")
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, `Bearer realm="tools"`, r.header.Get("WWW-Authenticate"))
	assert.Equal(t, "2.0", r.body["jsonrpc"])
	require.NotNil(t, got)
	assert.Equal(t, agentauth.CodeUnauthorized, got.Code)

	_, tok := f.agent(t)
	for range 3 {
		assert.False(t, f.call(t, "/free", bearer(tok)).seen.FromCache)
	}
	assert.Equal(t, 3, f.verifies())
}

// TestFromContextAndNewContext: a handler can be tested without the
// middleware.
func TestFromContextAndNewContext(t *testing.T) {
	_, ok := agentauth.FromContext(context.Background())
	assert.False(t, ok)
	_, ok = agentauth.FromContext(agentauth.NewContext(context.Background(), nil))
	assert.False(t, ok)
	v := &licentric.AgentVerification{AgentID: "agt_1"}
	got, ok := agentauth.FromContext(agentauth.NewContext(context.Background(), v))
	require.True(t, ok)
	assert.Equal(t, "agt_1", got.AgentID)

	rec := httptest.NewRecorder()
	echo(rec, httptest.NewRequestWithContext(agentauth.NewContext(context.Background(), v), http.MethodGet, "/", nil))
	assert.JSONEq(t, `{"agentId":"agt_1","fromCache":false,"stale":false,"used":0,"warning":false}`, rec.Body.String())
}

func ptr[T any](v T) *T { return &v }

// BenchmarkCachedUnmetered measures the middleware's own cost on the hot
// path: an unmetered request answered from the cache.
func BenchmarkCachedUnmetered(b *testing.B) {
	srv := licentrictest.NewServer(licentrictest.WithFrozenClock(start), licentrictest.WithoutRateLimits())
	defer srv.Close()
	vendor := testkit.WallClient(b, srv)
	verifier, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithHTTPClient(srv.Client()))
	require.NoError(b, err)
	mw, err := agentauth.New(verifier, agentauth.WithClock(srv.Clock()))
	require.NoError(b, err)
	a, err := vendor.Agents.Create(b.Context(), &licentric.AgentRequest{Name: "bench"})
	require.NoError(b, err)
	tok, err := vendor.Agents.Authorize(b.Context(), a.ID)
	require.NoError(b, err)
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	req := httptest.NewRequest(http.MethodGet, "/tool", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	h.ServeHTTP(httptest.NewRecorder(), req)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			b.Fatal(rec.Code)
		}
	}
}

// TestAnswerIsNeverCoveredByStale: an answer of the service (a 404: the
// agent is gone) is not an outage, so a token accepted earlier is not
// served stale over it; only ErrUnavailable is (as for validations).
func TestAnswerIsNeverCoveredByStale(t *testing.T) {
	f := newFixture(t, nil)
	_, tok := f.agent(t)
	require.Equal(t, http.StatusOK, f.call(t, "/free", bearer(tok)).status)
	f.srv.Advance(agentauth.DefaultCacheTTL)
	f.srv.InjectFault(licentrictest.Fault{Path: "/mcp/verify", Status: http.StatusNotFound, Times: 1000})
	s := f.call(t, "/free", bearer(tok))
	assert.NotEqual(t, http.StatusOK, s.status, "a 404 was covered by a stale acceptance")
	assert.False(t, s.seen.Stale)
}
