package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lockedBuffer is a bytes.Buffer safe to write from the serve goroutine.
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

// served is a running "licentric serve".
type served struct {
	info   map[string]string
	stderr *lockedBuffer
	cancel context.CancelFunc
	done   chan int
	http   *http.Client
}

// startServe runs "licentric serve args..." on clock now and waits for its
// JSON line.
func startServe(t *testing.T, now time.Time, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &served{stderr: &lockedBuffer{}, cancel: cancel, done: make(chan int, 1),
		http: &http.Client{Transport: &http.Transport{Proxy: nil}}}
	c := &cli{stdout: pw, stderr: s.stderr, getenv: func(string) string { return "" }, now: func() time.Time { return now }}
	go func() {
		code := c.run(ctx, append([]string{"serve"}, args...))
		_ = pw.Close()
		s.done <- code
	}()
	t.Cleanup(func() {
		cancel()
		_ = pr.Close()
		s.http.CloseIdleConnections()
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err, "no JSON line; stderr %q", s.stderr.String())
	require.NoError(t, json.Unmarshal([]byte(line), &s.info), line)
	// Nothing else is written to stdout: drain it so serve never blocks.
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	return s
}

// stop cancels serve's context and returns its exit code.
func (s *served) stop(t *testing.T) int {
	t.Helper()
	s.cancel()
	select {
	case code := <-s.done:
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
		return -1
	}
}

// control sends a request to the control API and decodes a JSON answer
// into out (when not nil).
func (s *served) control(t *testing.T, method, pathAndQuery string, out any) {
	t.Helper()
	req, err := http.NewRequest(method, s.info["control"]+pathAndQuery, nil)
	require.NoError(t, err)
	resp, err := s.http.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Less(t, resp.StatusCode, 300, "%s %s: %d %s", method, pathAndQuery, resp.StatusCode, body)
	if out != nil {
		require.NoError(t, json.Unmarshal(body, out), "%s", body)
	}
}

// rateHeaders sends GET /products with key and returns its rate-limit headers.
func (s *served) rateHeaders(t *testing.T, key string) (limit, remaining int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.info["url"]+"/api/v1/products", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := s.http.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	limit, err = strconv.Atoi(resp.Header.Get("X-RateLimit-Limit"))
	require.NoError(t, err)
	remaining, err = strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining"))
	require.NoError(t, err)
	return limit, remaining
}

func TestServe(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s := startServe(t, t0, "--port", "0", "--frozen", "--no-rate-limits")
	info := s.info

	// The line: exactly these fields, url without /api/v1 on loopback.
	keys := make([]string, 0, len(info))
	for k := range info {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{"url", "testKey", "liveKey", "publicKey", "control", "openapi"}, keys)
	assert.Equal(t, info["url"]+"/api/v1/openapi.json", info["openapi"])
	assert.True(t, strings.HasPrefix(info["url"], "http://127.0.0.1:"), info["url"])
	assert.False(t, strings.HasSuffix(info["url"], "/api/v1"))
	assert.True(t, strings.HasPrefix(info["testKey"], "lk_test_"))
	assert.True(t, strings.HasPrefix(info["liveKey"], "lk_live_"))
	assert.True(t, strings.HasPrefix(info["control"], info["url"]), "control %q is on the same listener", info["control"])
	raw, err := base64.StdEncoding.Strict().DecodeString(info["publicKey"])
	require.NoError(t, err)
	assert.Len(t, raw, 32)
	assert.Contains(t, s.stderr.String(), "serving on "+info["url"])

	// The OpenAPI document, without authentication.
	resp, err := s.http.Get(info["openapi"])
	require.NoError(t, err)
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "3.1.0", doc.OpenAPI)
	assert.Contains(t, doc.Paths, "/machines/{id}/heartbeat")

	// The REST API with the printed keys, and its signing key is the printed one.
	ctx := context.Background()
	client, err := licentric.NewClient(licentric.WithBaseURL(info["url"]), licentric.WithAPIKey(info["testKey"]),
		licentric.WithHTTPClient(s.http), licentric.WithRetry(tinyRetry))
	require.NoError(t, err)
	sk, err := client.Keys.GetSigningKey(ctx)
	require.NoError(t, err)
	assert.Equal(t, raw, []byte(sk.PublicKey))

	// --frozen: the clock stands at the start; advance moves it.
	p1, err := client.Products.Create(ctx, &licentric.ProductRequest{Name: licentric.Value("One"), Code: licentric.Value("one")})
	require.NoError(t, err)
	assert.True(t, p1.CreatedAt.Equal(t0), "createdAt %v, want %v", p1.CreatedAt, t0)
	s.control(t, http.MethodPost, "/advance?seconds=3600", nil)
	p2, err := client.Products.Create(ctx, &licentric.ProductRequest{Name: licentric.Value("Two"), Code: licentric.Value("two")})
	require.NoError(t, err)
	assert.True(t, p2.CreatedAt.Equal(t0.Add(time.Hour)), "createdAt %v after advance", p2.CreatedAt)

	// keys: a scoped live key.
	var key struct {
		Key string `json:"key"`
	}
	s.control(t, http.MethodPost, "/keys?env=live&scopes=products:read", &key)
	require.True(t, strings.HasPrefix(key.Key, "lk_live_"), key.Key)
	scoped, err := licentric.NewClient(licentric.WithBaseURL(info["url"]), licentric.WithAPIKey(key.Key),
		licentric.WithHTTPClient(s.http), licentric.WithRetry(tinyRetry))
	require.NoError(t, err)
	_, err = scoped.Products.ListPage(ctx, nil)
	require.NoError(t, err)
	_, err = scoped.Products.Create(ctx, &licentric.ProductRequest{Name: licentric.Value("No"), Code: licentric.Value("no")})
	assert.ErrorIs(t, err, licentric.ErrForbidden)

	// ban: no API can, the control API does.
	pol, err := client.Policies.Create(ctx, &licentric.PolicyRequest{ProductID: licentric.Value(p1.ID), Name: licentric.Value("P"),
		MaxMachines: licentric.Value(1), RequireFingerprint: licentric.Value(false)})
	require.NoError(t, err)
	lic, err := client.Licenses.Create(ctx, &licentric.LicenseRequest{ProductID: licentric.Value(p1.ID), PolicyID: licentric.Value(pol.ID)})
	require.NoError(t, err)
	s.control(t, http.MethodPost, "/ban?licenseId="+lic.ID, nil)
	v, err := client.Validate(ctx, lic.Key)
	require.NoError(t, err)
	assert.Equal(t, licentric.CodeBanned, v.Code)

	// requests: the log of what the server answered.
	var reqs []struct {
		Method string `json:"method"`
		Path   string `json:"path"`
		Status int    `json:"status"`
	}
	s.control(t, http.MethodGet, "/requests", &reqs)
	found := false
	for _, r := range reqs {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/products") && r.Status == http.StatusCreated {
			found = true
		}
	}
	assert.True(t, found, "no POST /products 201 in %+v", reqs)

	// ratelimits: off from --no-rate-limits (full remaining), then on.
	limit, remaining := s.rateHeaders(t, info["testKey"])
	assert.Equal(t, limit, remaining, "rate limits are off")
	s.control(t, http.MethodPost, "/ratelimits?enabled=1", nil)
	s.rateHeaders(t, info["testKey"])
	limit, remaining = s.rateHeaders(t, info["testKey"])
	assert.Less(t, remaining, limit, "rate limits are on")
	s.control(t, http.MethodPost, "/ratelimits?enabled=0", nil)
	limit, remaining = s.rateHeaders(t, info["testKey"])
	assert.Equal(t, limit, remaining, "rate limits are off again")

	// SIGINT/SIGTERM cancel the context: a clean exit 0, and the port is closed.
	assert.Equal(t, exitOK, s.stop(t))
	s.http.CloseIdleConnections()
	_, err = s.http.Get(info["url"] + "/api/v1/products")
	assert.Error(t, err, "the server still answers after serve returned")
}

func TestServeFailures(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	_, busyPort, err := net.SplitHostPort(busy.Addr().String())
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		args []string
		code int
		msg  string
	}{
		"port too big":   {[]string{"--port", "70000"}, exitUsage, "--port must be 0 to 65535"},
		"negative port":  {[]string{"--port", "-1"}, exitUsage, "--port must be 0 to 65535"},
		"positional":     {[]string{"extra"}, exitUsage, `unexpected argument "extra"`},
		"port taken":     {[]string{"--port", busyPort}, exitFailed, "127.0.0.1:" + busyPort},
		"missing seed":   {[]string{"--seed", "/nonexistent/seed.json"}, exitFailed, "seeding from /nonexistent/seed.json"},
		"not a bool arg": {[]string{"--frozen=maybe"}, exitUsage, "invalid boolean value"},
	} {
		code, stdout, stderr := runPlain(append([]string{"serve"}, tc.args...)...)
		assert.Equal(t, tc.code, code, "%s: stderr %q", name, stderr)
		assert.Empty(t, stdout, name)
		assert.Contains(t, stderr, tc.msg, name)
	}
}

func TestServeSeed(t *testing.T) {
	dir := t.TempDir()
	seed := filepath.Join(dir, "seed.json")
	require.NoError(t, os.WriteFile(seed, []byte(`{
	  "entitlements": [{"code": "pro", "name": "Pro"}],
	  "products": [{"name": "Desktop", "code": "desktop", "keyPrefix": "DSK",
	    "policies": [{"name": "Standard", "maxMachines": 3, "requireFingerprint": false, "entitlements": ["pro"],
	      "licenses": [{"key": "DSK-SEED-0000-0000-0001", "name": "CI"}]}]}]
	}`), 0o600))
	s := startServe(t, time.Now(), "--seed", seed)
	client, err := licentric.NewClient(licentric.WithBaseURL(s.info["url"]), licentric.WithAPIKey(s.info["testKey"]),
		licentric.WithHTTPClient(s.http), licentric.WithRetry(tinyRetry))
	require.NoError(t, err)
	v, err := client.Validate(context.Background(), "DSK-SEED-0000-0000-0001")
	require.NoError(t, err)
	assert.True(t, v.Valid, "code %s", v.Code)
	assert.Equal(t, []string{"pro"}, v.Entitlements)
	assert.Equal(t, exitOK, s.stop(t))

	// A seed with an error: nothing is served, exit 1 with the reason.
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"products": [{"name": "X", "bogus": 1}]}`), 0o600))
	code, stdout, stderr := runPlain("serve", "--seed", bad)
	assert.Equal(t, exitFailed, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "seeding from "+bad)
	assert.Contains(t, stderr, "bogus")
}

// serve --help names the API's document, its auth schemes and the
// environment of a seeded license (issues 23 and 18 item 8).
func TestServeHelp(t *testing.T) {
	code, stdout, stderr := runPlain("serve", "--help")
	assert.Equal(t, exitOK, code, stderr)
	help := stdout + stderr
	for _, want := range []string{
		"/api/v1/openapi.json",
		"Bearer lk_test_", "License <LICENSE-KEY>", "Bearer AGT-",
		`A license seeded
with --seed is in "test" unless the seed says "env": "live"`,
		`looks the key up in "live"`,
	} {
		assert.Contains(t, help, want)
	}
}

// A license seeded without "env" is in test: an unauthenticated
// validate-key (an application without an API key) looks in live and
// answers NOT_FOUND; one seeded with "env": "live" is found.
func TestServeSeedEnvironments(t *testing.T) {
	seed := filepath.Join(t.TempDir(), "seed.json")
	require.NoError(t, os.WriteFile(seed, []byte(`{"products": [
	  {"name": "T", "code": "t", "policies": [{"name": "P", "requireFingerprint": false, "licenses": [{"key": "SEED-TEST-1"}]}]},
	  {"env": "live", "name": "L", "code": "l", "policies": [{"name": "P", "requireFingerprint": false, "licenses": [{"key": "SEED-LIVE-1"}]}]}]}`), 0o600))
	s := startServe(t, time.Now(), "--seed", seed)
	app, err := licentric.NewClient(licentric.WithBaseURL(s.info["url"]), licentric.WithHTTPClient(s.http), licentric.WithRetry(tinyRetry))
	require.NoError(t, err)
	ctx := context.Background()
	v, err := app.Validate(ctx, "SEED-TEST-1")
	require.NoError(t, err)
	assert.Equal(t, licentric.CodeNotFound, v.Code)
	v, err = app.Validate(ctx, "SEED-LIVE-1")
	require.NoError(t, err)
	assert.True(t, v.Valid, "code %s", v.Code)
	withKey, err := licentric.NewClient(licentric.WithBaseURL(s.info["url"]), licentric.WithAPIKey(s.info["testKey"]),
		licentric.WithHTTPClient(s.http), licentric.WithRetry(tinyRetry))
	require.NoError(t, err)
	v, err = withKey.Validate(ctx, "SEED-TEST-1")
	require.NoError(t, err)
	assert.True(t, v.Valid, "code %s", v.Code)
}

// TestServeRefusesRebindingAndBrowsers: a web page must
// not drive "licentric serve". DNS rebinding reaches the socket with the
// page's own Host; a cross-origin "simple" POST reaches the control API
// with an Origin. Both are refused and change nothing; tools are served.
func TestServeRefusesRebindingAndBrowsers(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s := startServe(t, t0, "--frozen")
	u, err := url.Parse(s.info["url"])
	require.NoError(t, err)
	send := func(method, rawURL, host string, header map[string]string) int {
		t.Helper()
		req, err := http.NewRequest(method, rawURL, nil)
		require.NoError(t, err)
		if host != "" {
			req.Host = host
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := s.http.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var env struct {
			Code string `json:"code"`
		}
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		if resp.StatusCode == http.StatusForbidden {
			require.NoError(t, json.Unmarshal(raw, &env), "%s", raw)
			assert.Equal(t, "FORBIDDEN", env.Code)
		}
		return resp.StatusCode
	}
	rebound := "rebind.example:" + u.Port()
	api := map[string]string{"Authorization": "Bearer " + s.info["testKey"]}

	assert.Equal(t, http.StatusForbidden, send("POST", s.info["control"]+"/advance?seconds=86400", rebound, nil))
	assert.Equal(t, http.StatusForbidden, send("POST", s.info["control"]+"/keys?env=live", rebound, nil))
	assert.Equal(t, http.StatusForbidden, send("GET", s.info["control"]+"/requests", rebound, nil))
	assert.Equal(t, http.StatusForbidden, send("GET", s.info["url"]+"/api/v1/products", rebound, api))
	for _, h := range []map[string]string{{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}} {
		assert.Equal(t, http.StatusForbidden, send("POST", s.info["control"]+"/advance?seconds=86400", "", h), h)
		assert.Equal(t, http.StatusForbidden, send("POST", s.info["control"]+"/ratelimits?enabled=0", "", h), h)
	}

	// Nothing moved: the frozen clock still reads t0.
	client, err := licentric.NewClient(licentric.WithBaseURL(s.info["url"]), licentric.WithAPIKey(s.info["testKey"]),
		licentric.WithHTTPClient(s.http), licentric.WithRetry(tinyRetry))
	require.NoError(t, err)
	p, err := client.Products.Create(context.Background(), &licentric.ProductRequest{Name: licentric.Value("P"), Code: licentric.Value("p")})
	require.NoError(t, err)
	assert.True(t, p.CreatedAt.Equal(t0), "createdAt %v: a refused advance moved the clock", p.CreatedAt)

	// The loopback names and a tool without Origin are served.
	for _, host := range []string{"", "localhost:" + u.Port(), "[::1]:" + u.Port()} {
		assert.Equal(t, http.StatusOK, send("GET", s.info["url"]+"/api/v1/products", host, api), host)
	}
	assert.Equal(t, http.StatusOK, send("POST", s.info["control"]+"/advance?seconds=60", "localhost:"+u.Port(), nil))
	assert.Equal(t, exitOK, s.stop(t))
}
