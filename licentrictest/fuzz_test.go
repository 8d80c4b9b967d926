package licentrictest

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
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
		`{"ttl":1e400}`, `{"cores":1e3}`, `[`, `"`, `{"a":` + `[[[[[[[[[[` + `]]]]]]]]]]}`,
	} {
		f.Add(uint8(i), []byte(seed))
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		tg := targets[int(which)%len(targets)]
		serveRaw(t, s, tg.method, tg.path, tg.auth, body)
	})
}
