package licentrictest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// serveRaw runs one request through the server's handler in-process and
// fails the test on a 5xx or a body that is not a JSON object.
func serveRaw(t *testing.T, s *Server, method, path, auth string, body []byte) int {
	req := httptest.NewRequest(method, "/api/v1"+path, bytes.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s %q = %d %s", method, path, body, rec.Code, rec.Body)
	}
	if rec.Code != 204 {
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s %s %q: body %q is not JSON", method, path, body, rec.Body)
		}
	}
	if rec.Header().Get("X-Request-Id") == "" || rec.Header().Get("X-RateLimit-Limit") == "" {
		t.Fatalf("headers missing: %v", rec.Header())
	}
	return rec.Code
}

func FuzzValidateKey(f *testing.F) {
	s := NewServer(WithoutRateLimits())
	defer s.Close()
	fx, err := s.Seed(Seed{Env: EnvLive})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		`{"key":"` + fx.License.Key + `"}`,
		`{"key":"` + fx.License.Key + `","fingerprint":"abcdefgh","entitlements":["a","b"]}`,
		`{"key":1}`, `{"key":null,"fingerprint":[]}`, `[]`, `null`, `{`, ``, `{"entitlements":{"a":1}}`,
		`{"key":"x","Key":"y"}`, "{\"key\":\"\xff\"}", `{"key":"a","entitlements":[null]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		code := serveRaw(t, s, "POST", "/licenses/validate-key", "", body)
		if code != 200 && code != 400 {
			t.Fatalf("status %d", code)
		}
	})
}

func FuzzHandlers(f *testing.F) {
	s := NewServer(WithoutRateLimits())
	defer s.Close()
	fx, err := s.Seed(Seed{})
	if err != nil {
		f.Fatal(err)
	}
	api := "Bearer " + s.TestAPIKey()
	lic := "License " + fx.License.Key
	agentID, token := fuzzAgent(f, s)
	targets := []struct{ method, path, auth string }{
		{"POST", "/machines", lic},
		{"POST", "/licenses", api},
		{"PATCH", "/licenses/" + fx.License.ID, api},
		{"POST", "/licenses/" + fx.License.ID + "/checkout", api},
		{"POST", "/licenses/" + fx.License.ID + "/entitlements", api},
		{"POST", "/policies", api},
		{"PATCH", "/policies/" + fx.Policy.ID, api},
		{"POST", "/products", api},
		{"POST", "/entitlements", api},
		{"POST", "/webhooks", api},
		{"POST", "/mcp/agents", api},
		{"POST", "/mcp/authorize", api},
		{"PUT", "/mcp/agents/" + agentID + "/meters/m", api},
		{"POST", "/mcp/verify", "Bearer " + token},
	}
	for i, seed := range []string{
		`{"fingerprint":"abcdefgh","platform":"linux","cores":4}`,
		`{"productId":"` + fx.Product.ID + `","policyId":"` + fx.Policy.ID + `","expiresAt":"2030-01-01T00:00:00Z"}`,
		`{"maxMachinesOverride":null,"expiresAt":null,"metadata":{"a":[1]}}`,
		`{"fingerprint":"abcdefgh","ttl":3600.0}`,
		`{"entitlementCodes":["x"]}`,
		`{"productId":"` + fx.Product.ID + `","name":"p","template":"saas","maxMachines":-1}`,
		`{"maxMachines":null,"allowUnlimitedActivations":true,"durationDays":0}`,
		`{"name":"n","code":"c","keyPrefix":"AB"}`,
		`{"code":"c","name":"n"}`,
		`{"url":"http://127.0.0.1:1/x","events":["*"]}`,
		`{"name":"agent","metadata":{"n":1e999}}`,
		`{"agentId":"` + agentID + `","scopes":["mcp:invoke"],"ttlSeconds":60}`,
		`{"softLimit":1,"hardLimit":null,"period":"day"}`,
		`{"meterName":"m","quantity":1000000}`,
		`{"ttl":1e400}`, `{"cores":1e3}`, `[`, `"`, `{"a":` + `[[[[[[[[[[` + `]]]]]]]]]]}`,
	} {
		f.Add(uint8(i), []byte(seed))
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		tg := targets[int(which)%len(targets)]
		serveRaw(t, s, tg.method, tg.path, tg.auth, body)
	})
}

// fuzzAgent creates an agent and a token for the handler fuzz targets.
func fuzzAgent(f *testing.F, s *Server) (id, token string) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/api/v1/mcp/agents", strings.NewReader(`{"name":"fuzz"}`))
	req.Header.Set("Authorization", "Bearer "+s.TestAPIKey())
	s.ServeHTTP(rec, req)
	var out struct {
		Data struct {
			ID    string `json:"id"`
			Token string `json:"token"`
		} `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Data.ID == "" {
		f.Fatalf("create agent: %d %s", rec.Code, rec.Body)
	}
	id = out.Data.ID
	rec = httptest.NewRecorder()
	req = httptest.NewRequest("POST", "/api/v1/mcp/authorize", strings.NewReader(`{"agentId":"`+id+`","scopes":["mcp:invoke"],"ttlSeconds":2592000}`))
	req.Header.Set("Authorization", "Bearer "+s.TestAPIKey())
	s.ServeHTTP(rec, req)
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Data.Token == "" {
		f.Fatalf("authorize: %d %s", rec.Code, rec.Body)
	}
	return id, out.Data.Token
}

// FuzzRequestPath: whatever the method and path, the answer is the API's
// (JSON envelope or an empty 204), never a ServeMux page or a 5xx.
func FuzzRequestPath(f *testing.F) {
	s := NewServer(WithInMemory(), WithoutRateLimits())
	defer s.Close()
	fx, err := s.Seed(Seed{})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		"/api/v1/licenses", "/api/v1/licenses/" + fx.License.ID, "/api/v1//licenses", "/api/v1/licenses/../x",
		"/api/v1/licenses/by-key/%2E%2E", "/api/v1/licenses/by-key/a%2Fb", "/api/v1/licenses/by-key/%zz", "/",
		"/_control/requests", "/_control/advance?seconds=1", "/_control//ban", "/api/v1/mcp/agents/x/meters/y",
		"*", "", "/api/v1/licenses/validate-key/", "/api/v1/licenses?limit=0",
	} {
		f.Add(uint8(0), seed)
		f.Add(uint8(1), seed)
	}
	methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE"}
	f.Fuzz(func(t *testing.T, m uint8, path string) {
		req, err := http.NewRequest(methods[int(m)%len(methods)], s.URL+path, nil)
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+s.TestAPIKey())
		resp, err := s.Client().Do(req)
		if err != nil {
			return // e.g. a URL the client refuses
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %q = %d %s", req.Method, path, resp.StatusCode, raw)
		}
		if len(raw) == 0 {
			if resp.StatusCode != 204 && req.Method != "HEAD" {
				t.Fatalf("%s %q = %d with an empty body", req.Method, path, resp.StatusCode)
			}
			return
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("%s %q = %d %q: not JSON", req.Method, path, resp.StatusCode, raw)
		}
	})
}

// FuzzSeedJSON: a seed is created whole or refused with an error, never a
// panic.
func FuzzSeedJSON(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"products":[{"name":"A","code":"a","policies":[{"name":"P","licenses":[{"key":"K-1"},{}]}]}]}`,
		`{"entitlements":[{"code":"e","name":"E"}],"products":[{"env":"live","name":"A","code":"a","policies":[{"name":"P","entitlements":["e"],"licenses":[{"status":"banned","entitlements":["e"]}]}]}]}`,
		`{"products":[{"name":"A","code":"a","policies":[{"name":"P","maxMachines":null,"template":"trial","licenses":[{"expiresAt":"2020-01-01T00:00:00Z","status":"revoked"}]}]}]}`,
		`{"products":[{"name":"A","code":"a","metadata":{"n":1e999}}]}`, `[`, `null`, `{"products":null}`, `{"products":[null]}`,
	} {
		f.Add([]byte(seed))
	}
	s := NewServer(WithInMemory())
	defer s.Close()
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = s.SeedJSON(bytes.NewReader(b))
	})
}
