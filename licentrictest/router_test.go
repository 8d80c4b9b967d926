package licentrictest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

// start of a minute, so window arithmetic is easy to read.
var minuteStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestHeadersOnEveryResponse(t *testing.T) {
	s := start(t, WithFrozenClock(minuteStart.Add(15*time.Second)))
	fx := s.seed(Seed{})
	api := bearer(s.TestAPIKey())
	reset := strconv.FormatInt(minuteStart.Add(time.Minute).Unix(), 10)
	for _, tc := range []struct {
		name, method, path, auth string
		body                     any
		status                   int
	}{
		{"validate", "POST", "/licenses/validate-key", "", map[string]any{"key": fx.License.Key}, 200},
		{"validate 400", "POST", "/licenses/validate-key", "", "{", 400},
		{"created", "POST", "/machines", license(fx.License.Key), map[string]any{"fingerprint": "machine-fp-1"}, 201},
		{"get", "GET", "/licenses/" + fx.License.ID, api, nil, 200},
		{"unauthorized", "GET", "/licenses", "", nil, 401},
		{"forbidden", "GET", "/licenses", bearer(s.NewAPIKey(EnvTest, "products:read")), nil, 403},
		{"not found", "GET", "/licenses/" + newUUID(), api, nil, 404},
		{"unknown route", "GET", "/nothing/here", api, nil, 404},
		{"unknown method", "PUT", "/licenses", api, nil, 404},
		{"no content", "DELETE", "/licenses/" + fx.License.ID, api, nil, 204},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, h, m := s.do(tc.method, tc.path, tc.auth, tc.body)
			if st != tc.status {
				t.Fatalf("status = %d %v, want %d", st, m, tc.status)
			}
			if h.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
			for _, name := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining"} {
				if _, err := strconv.Atoi(h.Get(name)); err != nil {
					t.Errorf("%s = %q", name, h.Get(name))
				}
			}
			if h.Get("X-RateLimit-Reset") != reset {
				t.Errorf("X-RateLimit-Reset = %q, want %s", h.Get("X-RateLimit-Reset"), reset)
			}
			if st >= 400 {
				if m["code"] == "" || m["error"] == "" || m["status"] != float64(st) || m["requestId"] != h.Get("X-Request-Id") {
					t.Errorf("envelope = %v", m)
				}
			}
		})
	}
	// Outside /api/v1 too.
	resp, err := s.Client().Get(s.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("X-Request-Id") == "" || resp.Header.Get("X-RateLimit-Limit") == "" {
		t.Errorf("GET / = %d %v", resp.StatusCode, resp.Header)
	}
}

func TestBodyLimitsAndMalformedJSON(t *testing.T) {
	s := start(t)
	fx := s.seed(Seed{})
	big := `{"key":"` + strings.Repeat("a", 1<<20) + `"}`
	m := s.fail(400, "VALIDATION_ERROR", "POST", "/licenses/validate-key", "", big)
	if m["requestId"] == "" {
		t.Error("no requestId")
	}
	// Exactly 1 MiB is read (and refused only for its content).
	exact := `{"key":"` + strings.Repeat("a", 1<<20-10) + `"}`
	if len(exact) != 1<<20 {
		t.Fatalf("len = %d", len(exact))
	}
	s.fail(400, "VALIDATION_ERROR", "POST", "/licenses/validate-key", "", exact) // key over 512 chars
	for _, body := range []string{"{", "[1]", "null", `"x"`, `{"key": "a",}`, ""} {
		m := s.fail(400, "VALIDATION_ERROR", "POST", "/licenses/validate-key", "", body)
		issues, _ := m["details"].(map[string]any)["issues"].([]any)
		if len(issues) == 0 {
			t.Errorf("body %q: no issues in %v", body, m)
		}
	}
	s.fail(400, "VALIDATION_ERROR", "POST", "/machines", license(fx.License.Key), `{"fingerprint": 12345678}`)
	// Several bad fields are all named.
	m = s.fail(400, "VALIDATION_ERROR", "POST", "/products", bearer(s.TestAPIKey()), `{"name": 1, "code": true}`)
	if n := len(m["details"].(map[string]any)["issues"].([]any)); n != 2 {
		t.Errorf("issues = %v", m["details"])
	}
}

func TestAuthAndScopes(t *testing.T) {
	s := start(t)
	fx := s.seed(Seed{})
	m := s.activate(fx.License.Key, "machine-fp-1")
	lid, mid := fx.License.ID, m["id"].(string)
	for _, tc := range []struct {
		method, path, scope string
		body                any
	}{
		{"GET", "/licenses", "licenses:read", nil},
		{"GET", "/licenses/" + lid, "licenses:read", nil},
		{"PATCH", "/licenses/" + lid, "licenses:write", map[string]any{}},
		{"POST", "/licenses/" + lid + "/checkout", "licenses:write", map[string]any{"fingerprint": "machine-fp-1"}},
		{"GET", "/machines", "machines:read", nil},
		{"GET", "/machines/" + mid, "machines:read", nil},
		{"GET", "/products", "products:read", nil},
		{"GET", "/policies", "policies:read", nil},
		{"GET", "/entitlements", "entitlements:read", nil},
		{"GET", "/webhooks", "webhooks:read", nil},
		{"POST", "/webhooks", "webhooks:write", map[string]any{"url": "https://example.com/hook"}},
		{"GET", "/analytics", "analytics:read", nil},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			wrong := "products:write"
			if tc.scope == wrong {
				wrong = "licenses:read"
			}
			// the other half of the same resource is not enough
			half := strings.Replace(tc.scope, ":read", ":write", 1)
			if half == tc.scope {
				half = strings.Replace(tc.scope, ":write", ":read", 1)
			}
			for _, sc := range []string{wrong, half} {
				s.fail(403, "FORBIDDEN", tc.method, tc.path, bearer(s.NewAPIKey(EnvTest, sc)), tc.body)
			}
			if st, _, m := s.do(tc.method, tc.path, bearer(s.NewAPIKey(EnvTest, tc.scope)), tc.body); st >= 400 {
				t.Errorf("with %s: %d %v", tc.scope, st, m)
			}
			s.fail(401, "UNAUTHORIZED", tc.method, tc.path, "", tc.body)
			s.fail(401, "UNAUTHORIZED", tc.method, tc.path, "Bearer lk_test_nope", tc.body)
		})
	}
	// License scheme on management endpoints is a 401.
	s.fail(401, "UNAUTHORIZED", "GET", "/licenses/"+lid, license(fx.License.Key), nil)
	s.fail(401, "UNAUTHORIZED", "GET", "/keys/signing", license(fx.License.Key), nil)
	s.fail(401, "UNAUTHORIZED", "POST", "/machines", license("LIC-NOPE"), map[string]any{"fingerprint": "machine-fp-2"})
	// Revoked key.
	k := s.NewAPIKey(EnvTest)
	s.ok(200, "GET", "/licenses", bearer(k), nil)
	s.RevokeAPIKey(k)
	s.fail(401, "UNAUTHORIZED", "GET", "/licenses", bearer(k), nil)
}

func TestRateLimits(t *testing.T) {
	s := start(t, WithFrozenClock(minuteStart.Add(20*time.Second)))
	fx := s.seed(Seed{})
	body := map[string]any{"key": fx.License.Key}
	for i := 1; i <= 60; i++ {
		st, h, _ := s.do("POST", "/licenses/validate-key", "", body)
		if st != 200 || h.Get("X-RateLimit-Limit") != "60" || h.Get("X-RateLimit-Remaining") != strconv.Itoa(60-i) {
			t.Fatalf("call %d: %d limit %s remaining %s", i, st, h.Get("X-RateLimit-Limit"), h.Get("X-RateLimit-Remaining"))
		}
	}
	s.Advance(30*time.Second + 500*time.Millisecond) // 9.5 s before the window ends
	st, h, m := s.do("POST", "/licenses/validate-key", "", body)
	if st != 429 || m["code"] != "RATE_LIMITED" || m["status"] != 429.0 {
		t.Fatalf("61st = %d %v", st, m)
	}
	if h.Get("Retry-After") != "10" || h.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("Retry-After %q Remaining %q", h.Get("Retry-After"), h.Get("X-RateLimit-Remaining"))
	}
	// Other tiers have their own budgets.
	s.ok(200, "GET", "/licenses", bearer(s.TestAPIKey()), nil)
	// The next window.
	s.Advance(9500 * time.Millisecond)
	if st, h, _ := s.do("POST", "/licenses/validate-key", "", body); st != 200 || h.Get("X-RateLimit-Remaining") != "59" {
		t.Errorf("next window: %d remaining %s", st, h.Get("X-RateLimit-Remaining"))
	}

	// ACTIVATION: 10 per minute per IP, whatever the fingerprint.
	for i := range 10 {
		s.do("POST", "/machines", license(fx.License.Key), map[string]any{"fingerprint": "machine-fp-" + strconv.Itoa(i+10)})
	}
	s.fail(429, "RATE_LIMITED", "POST", "/machines", license(fx.License.Key), map[string]any{"fingerprint": "machine-fp-99"})
}

func TestRateLimitsManagementPerKey(t *testing.T) {
	s := start(t, WithRateLimits(60, 10, 3), WithFrozenClock(minuteStart))
	a, b := bearer(s.TestAPIKey()), bearer(s.NewAPIKey(EnvTest))
	for range 3 {
		s.ok(200, "GET", "/products", a, nil)
	}
	s.fail(429, "RATE_LIMITED", "GET", "/products", a, nil)
	s.ok(200, "GET", "/products", b, nil)
	if _, h, _ := s.do("GET", "/products", b, nil); h.Get("X-RateLimit-Limit") != "3" || h.Get("X-RateLimit-Remaining") != "1" {
		t.Errorf("headers %v", h)
	}
	// WithoutRateLimits never refuses but still sends headers.
	u := start(t, WithoutRateLimits())
	for range 130 {
		st, h, _ := u.do("GET", "/products", bearer(u.TestAPIKey()), nil)
		if st != 200 || h.Get("X-RateLimit-Limit") == "" {
			t.Fatalf("unlimited: %d %v", st, h)
		}
	}
}

func TestPagination(t *testing.T) {
	s := start(t)
	api := bearer(s.TestAPIKey())
	var ids []string
	for i := range 7 {
		p := s.ok(201, "POST", "/products", api, map[string]any{"name": "p", "code": "p" + strconv.Itoa(i)})
		ids = append(ids, p["id"].(string))
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		q := "/products?limit=3"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		_, _, m := s.do("GET", q, api, nil)
		pg := m["pagination"].(map[string]any)
		for _, d := range m["data"].([]any) {
			got = append(got, d.(map[string]any)["id"].(string))
		}
		if pg["hasMore"] == false {
			if pg["nextCursor"] != nil || pages != 2 {
				t.Errorf("last page: %v after %d pages", pg, pages)
			}
			break
		}
		cursor = pg["nextCursor"].(string)
		if cursor != got[len(got)-1] {
			t.Errorf("nextCursor %s is not the last item", cursor)
		}
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Errorf("pages = %v, want oldest first %v", got, ids)
	}
	// A cursor naming a deleted item still works.
	s.ok(204, "DELETE", "/products/"+ids[2], api, nil)
	_, _, m := s.do("GET", "/products?limit=2&cursor="+ids[2], api, nil)
	if d := m["data"].([]any); len(d) != 2 || d[0].(map[string]any)["id"] != ids[3] {
		t.Errorf("after deleted cursor: %v", d)
	}
	_, _, m = s.do("GET", "/products", api, nil)
	if len(m["data"].([]any)) != 6 {
		t.Errorf("default page = %d items", len(m["data"].([]any)))
	}
	for _, q := range []string{"?cursor=" + newUUID(), "?limit=0", "?limit=101", "?limit=x", "?limit="} {
		s.fail(400, "VALIDATION_ERROR", "GET", "/products"+q, api, nil)
	}
	// A cursor from the other environment is unknown.
	s.fail(400, "VALIDATION_ERROR", "GET", "/products?cursor="+ids[0], bearer(s.LiveAPIKey()), nil)
}

func TestFaults(t *testing.T) {
	s := start(t)
	fx := s.seed(Seed{Env: EnvLive})
	body := map[string]any{"key": fx.License.Key}
	s.InjectFault(Fault{Path: "/licenses/validate-key", Status: 503, Times: 2, RetryAfter: 3 * time.Second})
	for range 2 {
		st, h, m := s.do("POST", "/licenses/validate-key", "", body)
		if st != 503 || h.Get("Retry-After") != "3" || m["code"] != "INTERNAL_ERROR" || h.Get("X-Request-Id") == "" {
			t.Errorf("fault: %d %v %v", st, h, m)
		}
	}
	s.validate("", body)
	s.InjectFault(Fault{Method: "POST", Status: 429})
	if st, h, _ := s.do("POST", "/licenses/validate-key", "", body); st != 429 || h.Get("Retry-After") == "" {
		t.Errorf("429 fault: %d %v", st, h)
	}

	// Drop: no response at all.
	s.InjectFault(Fault{Path: "/licenses/validate-key", Drop: true})
	if _, err := s.Client().Post(s.URL+"/api/v1/licenses/validate-key", "application/json", strings.NewReader(`{"key":"x"}`)); err == nil {
		t.Error("dropped request got a response")
	}
	// DropResponse: handled (uses counted) but no response.
	before, _ := s.License(EnvLive, fx.License.ID)
	s.InjectFault(Fault{Path: "/licenses/validate-key", DropResponse: true})
	if _, err := s.Client().Post(s.URL+"/api/v1/licenses/validate-key", "application/json", strings.NewReader(`{"key":"`+fx.License.Key+`"}`)); err == nil {
		t.Error("DropResponse got a response")
	}
	if after, _ := s.License(EnvLive, fx.License.ID); after.UsesCount != before.UsesCount+1 {
		t.Errorf("DropResponse did not handle the request: uses %d -> %d", before.UsesCount, after.UsesCount)
	}
	// Hang: held until the client gives up.
	s.InjectFault(Fault{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/api/v1/products", nil)
	if _, err := s.Client().Do(req); err == nil {
		t.Error("hung request got a response")
	}
	if n := s.CountRequests("GET", "/products"); n != 1 {
		t.Errorf("CountRequests = %d", n)
	}
	s.InjectFault(Fault{Status: 500, Times: 5})
	s.ClearFaults()
	s.validate("", body)
}

func TestHangReleasedByClose(t *testing.T) {
	s := NewServer()
	s.InjectFault(Fault{Hang: true})
	errc := make(chan error, 1)
	go func() {
		_, err := s.Client().Get(s.URL + "/api/v1/products")
		errc <- err
	}()
	for s.CountRequests("", "/products") == 0 {
		time.Sleep(time.Millisecond) // wait for arrival only; no timing assertion
	}
	s.Close()
	if err := <-errc; err == nil {
		t.Error("hung request got a response")
	}
}

func TestRequestLog(t *testing.T) {
	s := start(t)
	fx := s.seed(Seed{})
	s.validate("", map[string]any{"key": fx.License.Key})
	s.do("GET", "/licenses?limit=5", bearer(s.TestAPIKey()), nil)
	s.do("POST", "/machines", license(fx.License.Key), map[string]any{"fingerprint": "machine-fp-1"})
	reqs := s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("requests = %v", reqs)
	}
	want := []Request{
		{Method: "POST", Path: "/licenses/validate-key", Scheme: "", Status: 200},
		{Method: "GET", Path: "/licenses", Query: "limit=5", Scheme: "Bearer", Status: 200},
		{Method: "POST", Path: "/machines", Scheme: "License", Status: 201},
	}
	for i, w := range want {
		r := reqs[i]
		if r.Method != w.Method || r.Path != w.Path || r.Query != w.Query || r.Scheme != w.Scheme || r.Status != w.Status || !r.Time.Equal(s.Now()) {
			t.Errorf("request %d = %+v, want %+v", i, r, w)
		}
	}
	s.ResetRequests()
	if len(s.Requests()) != 0 {
		t.Error("ResetRequests kept requests")
	}
}

func TestAnalytics(t *testing.T) {
	s := start(t)
	fx := s.seed(Seed{Policy: PolicyRequest{RequireFingerprint: wire.Value(false)}})
	s.validate(bearer(s.TestAPIKey()), map[string]any{"key": fx.License.Key})
	s.validate(bearer(s.TestAPIKey()), map[string]any{"key": fx.License.Key, "entitlements": []string{"x"}})
	s.activate(fx.License.Key, "machine-fp-1")
	a := s.ok(200, "GET", "/analytics", bearer(s.TestAPIKey()), nil)
	if a["licenses"].(map[string]any)["active"] != 1.0 || a["machines"].(map[string]any)["total"] != 1.0 ||
		a["validations"].(map[string]any)["failed"] != 1.0 || len(a["activations"].(map[string]any)["trend"].([]any)) != 7 {
		t.Errorf("analytics = %v", a)
	}
	trend := a["activations"].(map[string]any)["trend"].([]any)
	if last := trend[6].(map[string]any); last["count"] != 1.0 || last["date"] != s.Now().Format("2006-01-02") {
		t.Errorf("trend = %v", trend)
	}
}

func TestLargeBodyOnManagementEndpoint(t *testing.T) {
	s := start(t)
	big := bytes.Repeat([]byte(" "), 2<<20)
	s.fail(401, "UNAUTHORIZED", "POST", "/products", "", big)
	s.fail(400, "VALIDATION_ERROR", "POST", "/products", bearer(s.TestAPIKey()), big)
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	s := NewServer(WithWebhookBackoff(time.Hour))
	func() {
		ts := &tsrv{Server: s, t: t}
		ts.ok(201, "POST", "/webhooks", bearer(s.TestAPIKey()), map[string]any{"url": rcv.URL})
		fx := ts.seed(Seed{})
		ts.activate(fx.License.Key, "machine-fp-1")
	}()
	s.InjectFault(Fault{Hang: true})
	go func() {
		if resp, err := s.Client().Get(s.URL + "/api/v1/products"); err == nil {
			resp.Body.Close()
		}
	}()
	for s.CountRequests("", "/products") == 0 {
		runtime.Gosched()
	}
	s.Close()
	rcv.Close()
	// Wait (bounded) for goroutines to wind down; no timing is asserted.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
