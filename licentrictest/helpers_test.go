package licentrictest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

// tsrv is a Server under test with request helpers.
type tsrv struct {
	*Server
	t testing.TB
	// openapi checks the exchanges so far against the OpenAPI document
	// (once) and counts them by operation id.
	openapi func() map[string]int
}

// start starts a server whose clock is frozen (at the current time unless
// opts say otherwise), so tests can compare timestamps exactly; tests of
// the flowing clock call NewServer themselves. Every exchange through its
// Client is checked against the OpenAPI document when the test ends
// (recordOpenAPI).
func start(t testing.TB, opts ...Option) *tsrv {
	t.Helper()
	opts = append([]Option{WithFrozenClock(time.Now().Truncate(time.Millisecond))}, opts...)
	s := NewServer(opts...)
	t.Cleanup(s.Close)
	return &tsrv{Server: s, t: t, openapi: recordOpenAPI(t, s)}
}

func bearer(key string) string  { return "Bearer " + key }
func license(key string) string { return "License " + key }

// do sends method path (relative to /api/v1) with the Authorization header
// auth ("" for none) and body (nil, []byte, string or a value to marshal),
// and returns the status, headers and decoded JSON object (nil when empty).
func (s *tsrv) do(method, path, auth string, body any) (int, http.Header, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			s.t.Fatalf("marshal body: %v", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.URL+"/api/v1"+path, rd)
	if err != nil {
		s.t.Fatalf("new request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("read body: %v", err)
	}
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			s.t.Fatalf("%s %s: body is not a JSON object: %q", method, path, raw)
		}
	}
	return resp.StatusCode, resp.Header, m
}

// raw sends a request without a body and returns the status and raw body.
func (s *tsrv) raw(method, path, auth string) (int, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.URL+"/api/v1"+path, nil)
	if err != nil {
		s.t.Fatalf("new request: %v", err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, string(b)
}

// ok sends a request that must answer want and returns its "data" object.
func (s *tsrv) ok(want int, method, path, auth string, body any) map[string]any {
	s.t.Helper()
	status, _, m := s.do(method, path, auth, body)
	if status != want {
		s.t.Fatalf("%s %s = %d %v, want %d", method, path, status, m, want)
	}
	d, _ := m["data"].(map[string]any)
	return d
}

// fail sends a request that must fail with status and code.
func (s *tsrv) fail(status int, code, method, path, auth string, body any) map[string]any {
	s.t.Helper()
	got, _, m := s.do(method, path, auth, body)
	if got != status || m["code"] != code {
		s.t.Fatalf("%s %s = %d %v, want %d %s", method, path, got, m, status, code)
	}
	return m
}

// validate calls validate-key with auth and returns the result object.
func (s *tsrv) validate(auth string, body map[string]any) map[string]any {
	s.t.Helper()
	return s.ok(200, "POST", "/licenses/validate-key", auth, body)
}

// seed creates a fixture in the test environment.
func (s *tsrv) seed(spec Seed) *Fixture {
	s.t.Helper()
	fx, err := s.Seed(spec)
	if err != nil {
		s.t.Fatalf("Seed: %v", err)
	}
	return fx
}

// activate activates fp on the license with license-key auth.
func (s *tsrv) activate(key, fp string) map[string]any {
	s.t.Helper()
	return s.ok(201, "POST", "/machines", license(key), map[string]any{"fingerprint": fp})
}

func (s *tsrv) eventTypes(env string) []string {
	var out []string
	for _, e := range s.Events(env) {
		out = append(out, e.Type)
	}
	return out
}
