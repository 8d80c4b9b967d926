package licentrictest

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ctl calls the control API over loopback and decodes the JSON answer.
func (s *tsrv) ctl(method, pathQuery string) (int, any) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.ControlURL()+pathQuery, nil)
	require.NoError(s.t, err)
	resp, err := s.Client().Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	require.Equal(s.t, "application/json", resp.Header.Get("Content-Type"), "%s %s: %q", method, pathQuery, raw)
	var v any
	require.NoError(s.t, json.Unmarshal(raw, &v), "%q", raw)
	return resp.StatusCode, v
}

func TestControlAPI(t *testing.T) {
	s := start(t, WithFrozenClock(minuteStart), WithRateLimits(1, 10, 120))
	assert.Equal(t, s.URL+"/_control", s.ControlURL())
	fx := s.seed(Seed{Env: EnvLive, Policy: PolicyRequest{RequireFingerprint: wire.Value(false)}})
	body := map[string]any{"key": fx.License.Key}

	// advance
	st, v := s.ctl("POST", "/advance?seconds=90")
	require.Equal(t, 200, st)
	assert.Equal(t, "2026-03-01T12:01:30.000Z", v.(map[string]any)["now"])
	assert.Equal(t, minuteStart.Add(90*time.Second), s.Now())

	// ratelimits
	s.validate("", body)
	s.fail(429, "RATE_LIMITED", "POST", "/licenses/validate-key", "", body)
	st, v = s.ctl("POST", "/ratelimits?enabled=0")
	require.Equal(t, 200, st)
	assert.Equal(t, false, v.(map[string]any)["enabled"])
	assert.False(t, s.RateLimitsEnabled())
	s.validate("", body)
	s.validate("", body)
	st, _ = s.ctl("POST", "/ratelimits?enabled=1")
	require.Equal(t, 200, st)
	s.fail(429, "RATE_LIMITED", "POST", "/licenses/validate-key", "", body)

	// keys
	st, v = s.ctl("POST", "/keys?env=test&scopes=products:read,licenses:read")
	require.Equal(t, 200, st)
	key := v.(map[string]any)["key"].(string)
	assert.True(t, strings.HasPrefix(key, "lk_test_"))
	s.ok(200, "GET", "/products", bearer(key), nil)
	s.fail(403, "FORBIDDEN", "POST", "/products", bearer(key), map[string]any{"name": "n", "code": "c"})
	st, v = s.ctl("POST", "/keys?env=live")
	require.Equal(t, 200, st)
	full := v.(map[string]any)["key"].(string)
	assert.True(t, strings.HasPrefix(full, "lk_live_"))
	s.ok(201, "POST", "/products", bearer(full), map[string]any{"name": "n", "code": "c"})

	// ban
	st, v = s.ctl("POST", "/ban?licenseId="+fx.License.ID)
	require.Equal(t, 200, st)
	assert.Equal(t, "banned", v.(map[string]any)["status"])
	l, err := s.License(EnvLive, fx.License.ID)
	require.NoError(t, err)
	assert.Equal(t, "banned", l.Status)

	// requests
	st, v = s.ctl("GET", "/requests")
	require.Equal(t, 200, st)
	list := v.([]any)
	require.NotEmpty(t, list)
	first := list[0].(map[string]any)
	assert.Equal(t, map[string]any{"method": "POST", "path": "/licenses/validate-key", "status": 200.0}, first)
	for _, r := range list {
		assert.NotContains(t, r.(map[string]any)["path"], "_control", "control requests are not logged")
	}

	// bad parameters and unknown things
	for _, q := range []string{
		"/advance", "/advance?seconds=x", "/advance?seconds=-1", "/advance?seconds=1.5",
		"/ratelimits", "/ratelimits?enabled=yes",
		"/keys", "/keys?env=prod", "/keys?env=test&scopes=nope:read", "/keys?env=test&scopes=",
		"/ban",
	} {
		if q == "/keys?env=test&scopes=" {
			continue // empty scopes: a full-access key
		}
		st, v := s.ctl("POST", q)
		assert.Equal(t, 400, st, q)
		assert.Equal(t, "VALIDATION_ERROR", v.(map[string]any)["code"], q)
	}
	st, v = s.ctl("POST", "/ban?licenseId=nope")
	assert.Equal(t, 404, st)
	assert.Equal(t, "NOT_FOUND", v.(map[string]any)["code"])
	for _, mq := range [][2]string{{"GET", "/advance?seconds=1"}, {"POST", "/requests"}, {"POST", "/nothing"}, {"GET", ""}} {
		st, v := s.ctl(mq[0], mq[1])
		assert.Equal(t, 404, st, mq)
		assert.Equal(t, "NOT_FOUND", v.(map[string]any)["code"], mq)
	}
}

func TestWithAddrIsLoopbackOnly(t *testing.T) {
	for _, bad := range []string{"0.0.0.0:0", "192.168.1.1:0", "example.com:0", "[::]:0", "nonsense"} {
		_, err := Start(WithAddr(bad))
		assert.Error(t, err, bad)
	}
	assert.Panics(t, func() { NewServer(WithAddr("0.0.0.0:0")) })

	// ":N" and "localhost:N" listen on 127.0.0.1.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	for _, addr := range []string{":" + itoa(port), "localhost:0", "127.0.0.1:0"} {
		srv, err := Start(WithAddr(addr))
		if err != nil && addr[0] == ':' {
			t.Logf("port %d taken again meanwhile: %v", port, err)
			continue
		}
		require.NoError(t, err, addr)
		host, _, _ := net.SplitHostPort(srv.listener.Addr().String())
		assert.Equal(t, "127.0.0.1", host, addr)
		assert.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"))
		resp, err := srv.Client().Get(srv.ControlURL() + "/requests")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode)
		srv.Close()
	}
	// A taken port is an error, not a panic.
	srv := NewServer()
	defer srv.Close()
	_, err = Start(WithAddr(srv.listener.Addr().String()))
	assert.Error(t, err)
}

func TestSeedJSON(t *testing.T) {
	s := start(t)
	seed := `{
	  "entitlements": [{"code": "pro", "name": "Pro"}, {"env": "live", "code": "pro", "name": "Pro"}],
	  "products": [{
	    "name": "Desktop App", "code": "desktop", "keyPrefix": "DSK", "metadata": {"n": 12345678901234567890},
	    "policies": [{
	      "name": "Standard", "maxMachines": 2, "requireFingerprint": false, "durationDays": 30,
	      "entitlements": ["pro"],
	      "licenses": [
	        {"key": "DSK-FIXED-0001", "name": "CI", "userEmail": "ci@example.com"},
	        {"key": "DSK-FIXED-0002", "status": "suspended"},
	        {"key": "DSK-FIXED-0003", "status": "revoked"},
	        {"key": "DSK-FIXED-0004", "status": "banned", "entitlements": ["pro"]},
	        {}
	      ]
	    }, {"name": "Unlimited"}]
	  }, {
	    "env": "live", "name": "Live", "code": "live-app",
	    "policies": [{"name": "P", "requireFingerprint": false, "licenses": [{"key": "LIVE-0001"}]}]
	  }]
	}`
	require.NoError(t, s.SeedJSON(strings.NewReader(seed)))
	api := bearer(s.TestAPIKey())
	for key, code := range map[string]string{"DSK-FIXED-0001": "VALID", "DSK-FIXED-0002": "SUSPENDED", "DSK-FIXED-0003": "REVOKED", "DSK-FIXED-0004": "BANNED", "LIVE-0001": "NOT_FOUND"} {
		v := s.validate(api, map[string]any{"key": key})
		assert.Equal(t, code, v["code"], key)
	}
	assert.Equal(t, "VALID", s.validate("", map[string]any{"key": "LIVE-0001"})["code"])
	v := s.validate(api, map[string]any{"key": "DSK-FIXED-0001", "entitlements": []string{"pro"}})
	assert.Equal(t, "VALID", v["code"], "policy entitlement")
	lic := v["license"].(map[string]any)
	assert.Equal(t, "ci@example.com", lic["userEmail"])
	assert.Equal(t, 2.0, lic["policy"].(map[string]any)["maxMachines"])
	assert.NotNil(t, lic["expiresAt"])
	_, _, list := s.do("GET", "/licenses", api, nil)
	assert.Len(t, list["data"], 5)
	_, _, pols := s.do("GET", "/policies", api, nil)
	require.Len(t, pols["data"], 2)
	assert.Nil(t, pols["data"].([]any)[1].(map[string]any)["maxMachines"], "absent maxMachines: unlimited, as Seed")
	generated := list["data"].([]any)[4].(map[string]any)["key"].(string)
	assert.True(t, strings.HasPrefix(generated, "DSK-"), generated)
	_, raw := s.raw("GET", "/products", api)
	assert.Contains(t, raw, `"n":12345678901234567890`)

	// SeedFile reads the same format from a file.
	path := filepath.Join(t.TempDir(), "seed.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"products":[{"name":"F","code":"from-file","policies":[{"name":"P","licenses":[{"key":"FILE-0001"}]}]}]}`), 0o600))
	require.NoError(t, s.SeedFile(path))
	s.ok(200, "GET", "/licenses/by-key/FILE-0001", api, nil)
	assert.Error(t, s.SeedFile(filepath.Join(t.TempDir(), "missing.json")))
}

func TestSeedJSONRefusesBadSeedsWhole(t *testing.T) {
	s := start(t)
	require.NoError(t, s.SeedJSON(strings.NewReader(`{"products":[{"name":"A","code":"taken","policies":[{"name":"P","licenses":[{"key":"TAKEN-1"}]}]}]}`)))
	before := len(s.Events(EnvTest))
	for name, seed := range map[string]string{
		"not JSON":          `{`,
		"trailing":          `{} {}`,
		"unknown member":    `{"prodcts": []}`,
		"unknown nested":    `{"products":[{"name":"B","code":"b","policies":[{"name":"P","maxMachine":1}]}]}`,
		"bad env":           `{"products":[{"env":"prod","name":"B","code":"b"}]}`,
		"product no code":   `{"products":[{"name":"B"}]}`,
		"code taken":        `{"products":[{"name":"B","code":"taken"}]}`,
		"code twice":        `{"products":[{"name":"B","code":"b"},{"name":"C","code":"b"}]}`,
		"policy no name":    `{"products":[{"name":"B","code":"b","policies":[{}]}]}`,
		"policy productId":  `{"products":[{"name":"B","code":"b","policies":[{"name":"P","productId":"x"}]}]}`,
		"bad strategy":      `{"products":[{"name":"B","code":"b","policies":[{"name":"P","expirationStrategy":"NOPE"}]}]}`,
		"unknown ent":       `{"products":[{"name":"B","code":"b","policies":[{"name":"P","entitlements":["nope"]}]}]}`,
		"key taken":         `{"products":[{"name":"B","code":"b","policies":[{"name":"P","licenses":[{"key":"TAKEN-1"}]}]}]}`,
		"key twice":         `{"products":[{"name":"B","code":"b","policies":[{"name":"P","licenses":[{"key":"K"},{"key":"K"}]}]}]}`,
		"bad key":           `{"products":[{"name":"B","code":"b","policies":[{"name":"P","licenses":[{"key":" K"}]}]}]}`,
		"bad status":        `{"products":[{"name":"B","code":"b","policies":[{"name":"P","licenses":[{"status":"expired"}]}]}]}`,
		"license policyId":  `{"products":[{"name":"B","code":"b","policies":[{"name":"P","licenses":[{"policyId":"x"}]}]}]}`,
		"entitlement twice": `{"entitlements":[{"code":"e","name":"E"},{"code":"e","name":"E"}]}`,
	} {
		err := s.SeedJSON(strings.NewReader(seed))
		assert.Error(t, err, name)
	}
	_, _, list := s.do("GET", "/products", bearer(s.TestAPIKey()), nil)
	assert.Len(t, list["data"], 1, "nothing of a refused seed was created")
	assert.Len(t, s.Events(EnvTest), before)
	assert.Error(t, s.SeedJSON(strings.NewReader(strings.Repeat(" ", maxSeedBytes+1))))
}
