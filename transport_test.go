package licentric

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/licentric/licentric-go/internal/clocktest"
	"github.com/licentric/licentric-go/internal/wire"
)

func TestRequestHeadersAndAuth(t *testing.T) {
	var got []*http.Request
	var bodies []string
	record := func(next httpmock.Responder) httpmock.Responder {
		return func(req *http.Request) (*http.Response, error) {
			b, _ := io.ReadAll(req.Body)
			got = append(got, req)
			bodies = append(bodies, string(b))
			return next(req)
		}
	}
	for _, withKey := range []bool{false, true} {
		got, bodies = nil, nil
		var opts []Option
		if withKey {
			opts = append(opts, WithAPIKey(testAPIKey))
		}
		opts = append(opts, WithUserAgent("myapp/1.2"))
		c, mt := mockClient(t, opts...)
		mt.RegisterResponder(http.MethodPost, apiURL(wire.PathValidateKey), record(respond(200, validBody)))
		mt.RegisterResponder(http.MethodPost, apiURL(wire.PathMachines), record(respond(201, machineBody)))

		if _, err := c.Validate(t.Context(), testLicenseKey, WithFingerprint(testFP), WithEntitlements("a"), WithEntitlements("b")); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Activate(t.Context(), testLicenseKey, ActivateParams{Fingerprint: testFP, Name: "box"}); err != nil {
			t.Fatal(err)
		}
		v, a := got[0], got[1]
		wantAuth := ""
		if withKey {
			wantAuth = "Bearer " + testAPIKey
		}
		if h := v.Header.Get("Authorization"); h != wantAuth {
			t.Errorf("validate Authorization = %q, want %q", h, wantAuth)
		}
		if h := a.Header.Get("Authorization"); h != "License "+testLicenseKey {
			t.Errorf("activate Authorization = %q", h)
		}
		for _, r := range got {
			if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Accept") != "application/json" {
				t.Errorf("%s %s: content headers %v", r.Method, r.URL.Path, r.Header)
			}
			if ua := r.Header.Get("User-Agent"); ua != "myapp/1.2 licentric-go/"+Version {
				t.Errorf("User-Agent = %q", ua)
			}
		}
		var vb map[string]any
		if err := json.Unmarshal([]byte(bodies[0]), &vb); err != nil {
			t.Fatal(err)
		}
		if vb["key"] != testLicenseKey || vb["fingerprint"] != testFP || len(vb["entitlements"].([]any)) != 2 {
			t.Errorf("validate body = %s", bodies[0])
		}
		var ab map[string]any
		_ = json.Unmarshal([]byte(bodies[1]), &ab)
		if ab["fingerprint"] != testFP || ab["name"] != "box" || ab["cores"] == nil || ab["licenseId"] != nil {
			t.Errorf("activate body = %s", bodies[1])
		}
	}
}

func TestValidateRefusesBadArgumentsWithoutNetwork(t *testing.T) {
	c, mt := mockClient(t)
	for name, call := range map[string]func() error{
		"empty key":      func() error { _, err := c.Validate(t.Context(), ""); return err },
		"key with space": func() error { _, err := c.Validate(t.Context(), "DSK A1B2"); return err },
		"short fp": func() error {
			_, err := c.Validate(t.Context(), testLicenseKey, WithFingerprint("1234567"))
			return err
		},
		"long fp": func() error {
			_, err := c.Validate(t.Context(), testLicenseKey, WithFingerprint(strings.Repeat("f", 257)))
			return err
		},
		"empty code":       func() error { _, err := c.Validate(t.Context(), testLicenseKey, WithEntitlements("")); return err },
		"activate no fp":   func() error { _, err := c.Activate(t.Context(), testLicenseKey, ActivateParams{}); return err },
		"activate no key":  func() error { _, err := c.Activate(t.Context(), "", ActivateParams{Fingerprint: testFP}); return err },
		"deactivate no id": func() error { return c.Deactivate(t.Context(), testLicenseKey, "") },
		"heartbeat no id":  func() error { _, err := c.Heartbeat(t.Context(), testLicenseKey, ""); return err },
	} {
		if err := call(); err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), testLicenseKey) {
			t.Errorf("%s: error contains the key: %v", name, err)
		}
	}
	if _, err := c.Activate(t.Context(), testLicenseKey, ActivateParams{}); !errors.Is(err, ErrNoFingerprinter) {
		t.Errorf("activate without fingerprint source: %v", err)
	}
	if n := mt.GetTotalCallCount(); n != 0 {
		t.Errorf("%d requests were sent", n)
	}
}

func TestValidateResults(t *testing.T) {
	c, mt := mockClient(t)
	mt.RegisterResponder(http.MethodPost, apiURL(wire.PathValidateKey), respond(200, validBody))
	v, err := c.Validate(t.Context(), testLicenseKey)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Valid || v.Code != CodeValid || v.License == nil || v.License.ID != "lic_1" || v.Err() != nil || !v.HasEntitlement("b") || v.HasEntitlement("c") {
		t.Errorf("result = %+v", v)
	}

	// 404 NOT_FOUND is a result, not an error.
	mt.RegisterResponder(http.MethodPost, apiURL(wire.PathValidateKey),
		respond(404, `{"error":"License not found","code":"NOT_FOUND","status":404}`))
	v, err = c.Validate(t.Context(), testLicenseKey)
	if err != nil {
		t.Fatalf("404 NOT_FOUND: %v", err)
	}
	if v.Valid || v.Code != CodeNotFound || !errors.Is(v.Err(), ErrNotFound) || !errors.Is(v.Err(), ErrInvalidLicense) {
		t.Errorf("404 result = %+v, Err %v", v, v.Err())
	}
	// A 404 with another code (an unknown route) stays an error.
	mt.RegisterResponder(http.MethodPost, apiURL(wire.PathValidateKey), respond(404, `<html>nope</html>`, "Content-Type", "text/html"))
	if _, err := c.Validate(t.Context(), testLicenseKey); !errors.Is(err, ErrNotFound) {
		t.Errorf("HTML 404: %v", err)
	}
}

func TestValidationErrMapsEveryCode(t *testing.T) {
	cases := map[Code]error{
		CodeExpired: ErrExpired, CodeSuspended: ErrSuspended, CodeRevoked: ErrRevoked, CodeBanned: ErrBanned,
		CodeNotFound: ErrNotFound, CodeFingerprintNotFound: ErrFingerprintNotFound,
		CodeMachineLimitExceeded: ErrMachineLimitExceeded, CodeHeartbeatRequired: ErrHeartbeatRequired,
		CodeUsesExceeded: ErrUsesExceeded, CodeEntitlementsMissing: ErrEntitlementsMissing,
	}
	for code, want := range cases {
		v := &Validation{Code: code, Detail: "d"}
		err := v.Err()
		if !errors.Is(err, want) || !errors.Is(err, ErrInvalidLicense) {
			t.Errorf("%s: Err() = %v", code, err)
		}
		for other, s := range cases {
			if other != code && errors.Is(err, s) {
				t.Errorf("%s also matches %v", code, s)
			}
		}
	}
	grace := &Validation{Valid: true, Code: CodeExpired}
	if grace.Err() != nil || !grace.Expired() {
		t.Errorf("ALLOW_ACCESS grace: Err %v Expired %v", grace.Err(), grace.Expired())
	}
	if (&Validation{Code: "SOMETHING_NEW"}).Err() == nil {
		t.Error("unknown invalid code gives nil Err")
	}
}

func TestMalformedSuccessBodies(t *testing.T) {
	huge := `{"data":{"valid":true,"code":"VALID","detail":"` + strings.Repeat("x", wire.MaxBodyBytes) + `"}}`
	cases := map[string]string{
		"garbage":             `not json at all`,
		"empty":               ``,
		"html":                `<html><body>hello</body></html>`,
		"array":               `[]`,
		"no data":             `{}`,
		"null data":           `{"data":null}`,
		"data array":          `{"data":[]}`,
		"missing valid":       `{"data":{"code":"VALID"}}`,
		"missing code":        `{"data":{"valid":true}}`,
		"empty code":          `{"data":{"valid":false,"code":""}}`,
		"valid as string":     `{"data":{"valid":"yes","code":"VALID"}}`,
		"code as number":      `{"data":{"valid":true,"code":1}}`,
		"license wrong type":  `{"data":{"valid":true,"code":"VALID","license":"lic_1"}}`,
		"bad timestamp":       `{"data":{"valid":true,"code":"VALID","license":{"expiresAt":"tomorrow"}}}`,
		"valid with bad code": `{"data":{"valid":true,"code":"SUSPENDED"}}`,
		"truncated":           `{"data":{"valid":true,"code":"VAL`,
		"huge":                huge,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			c, mt := mockClient(t)
			mt.RegisterResponder(http.MethodPost, apiURL(wire.PathValidateKey), respond(200, body))
			v, err := c.Validate(t.Context(), testLicenseKey)
			if !errors.Is(err, ErrMalformedResponse) || v != nil {
				t.Fatalf("Validate = %+v, %v; want ErrMalformedResponse", v, err)
			}
			if len(err.Error()) > 400 {
				t.Errorf("error is %d bytes long", len(err.Error()))
			}
		})
	}
	// Machines without an id are malformed too.
	c, mt := mockClient(t)
	mt.RegisterResponder(http.MethodPost, apiURL(wire.PathMachines), respond(201, `{"data":{"fingerprint":"x"}}`))
	if _, err := c.Activate(t.Context(), testLicenseKey, ActivateParams{Fingerprint: testFP}); !errors.Is(err, ErrMalformedResponse) {
		t.Errorf("machine without id: %v", err)
	}
}

func TestErrorEnvelopes(t *testing.T) {
	hugeErr := `{"error":"` + strings.Repeat("x", wire.MaxBodyBytes) + `"}`
	cases := []struct {
		name        string
		status      int
		body        string
		ctype       string
		wantCode    string
		wantMsg     string
		wantReq     string
		wantDetails bool
		sentinel    error
	}{
		{"old envelope", 409, `{"error":"Cannot suspend a revoked license","code":"CONFLICT","status":409}`, "", "CONFLICT", "Cannot suspend a revoked license", "req-hdr", false, ErrConflict},
		{"new envelope", 400, `{"error":"Validation failed","code":"VALIDATION_ERROR","details":{"issues":[{"path":["productId"],"message":"Required"}]},"requestId":"01J8X3"}`, "", "VALIDATION_ERROR", "Validation failed", "01J8X3", true, ErrInvalidRequest},
		{"html 502", 502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html; charset=utf-8", "", "unexpected non-JSON response (HTTP 502, text/html)", "req-hdr", false, ErrServer},
		{"empty 503", 503, "", "", "", "empty error response (HTTP 503)", "req-hdr", false, ErrServer},
		{"json without envelope", 401, `{"message":"nope"}`, "", "", "unexpected error response (HTTP 401)", "req-hdr", false, ErrUnauthorized},
		{"wrong types", 403, `{"error":42,"code":["x"]}`, "", "", "malformed error response (HTTP 403)", "req-hdr", false, ErrForbidden},
		{"unknown code", 422, `{"error":"Something new","code":"BRAND_NEW"}`, "", "BRAND_NEW", "Something new", "req-hdr", false, nil},
		{"too large", 500, hugeErr, "", "", "error response larger than 1048576 bytes (HTTP 500)", "req-hdr", false, ErrServer},
		{"fingerprint conflict", 409, `{"error":"exists","code":"FINGERPRINT_CONFLICT","status":409,"details":{"machineId":"m_9"}}`, "", "FINGERPRINT_CONFLICT", "exists", "req-hdr", true, ErrFingerprintConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, mt := mockClient(t, WithRetry(RetryPolicy{MaxRetries: 1, MinWait: time.Millisecond, MaxWait: time.Millisecond}))
			ctype := tc.ctype
			if ctype == "" {
				ctype = wire.ContentTypeJSON
			}
			mt.RegisterResponder(http.MethodGet, apiURL("/machines/m_1"), respond(tc.status, tc.body, "Content-Type", ctype, wire.HeaderRequestID, "req-hdr"))
			_, err := c.GetMachine(t.Context(), testLicenseKey, "m_1")
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v (%T) is not an *APIError", err, err)
			}
			if apiErr.StatusCode != tc.status || apiErr.Code != tc.wantCode || apiErr.Message != tc.wantMsg || apiErr.RequestID != tc.wantReq {
				t.Errorf("APIError = %+v", apiErr)
			}
			if (len(apiErr.Details) > 0) != tc.wantDetails {
				t.Errorf("Details = %s", apiErr.Details)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.sentinel)
			}
			if !strings.Contains(err.Error(), itoa(tc.status)) {
				t.Errorf("error text %q lacks the status", err)
			}
		})
	}
}

func TestAPIErrorIsAndMachineID(t *testing.T) {
	e := &APIError{StatusCode: 409, Code: "FINGERPRINT_CONFLICT", Details: json.RawMessage(`{"machineId":"m_7"}`)}
	if !errors.Is(e, ErrFingerprintConflict) || !errors.Is(e, ErrConflict) || errors.Is(e, ErrNotFound) {
		t.Error("409 FINGERPRINT_CONFLICT mapping")
	}
	if e.MachineID() != "m_7" {
		t.Errorf("MachineID = %q", e.MachineID())
	}
	for code, s := range map[string]error{
		"MACHINE_LIMIT_EXCEEDED": ErrMachineLimitExceeded, "LICENSE_NOT_ACTIVE": ErrLicenseNotActive,
		"OFFLINE_NOT_ALLOWED": ErrOfflineNotAllowed, "OFFLINE_TTL_EXCEEDED": ErrOfflineTTLExceeded,
		"FINGERPRINT_NOT_FOUND": ErrFingerprintNotFound,
	} {
		if !errors.Is(&APIError{StatusCode: 422, Code: code}, s) {
			t.Errorf("%s does not match %v", code, s)
		}
	}
	if !errors.Is(&APIError{StatusCode: 500, Code: "INTERNAL_ERROR"}, ErrServer) || !errors.Is(&APIError{StatusCode: 504}, ErrServer) {
		t.Error("5xx mapping")
	}
	if (&APIError{StatusCode: 409, Details: json.RawMessage(`[1]`)}).MachineID() != "" {
		t.Error("MachineID of odd details")
	}
}

func TestRateLimitErrorAfterRetries(t *testing.T) {
	c, mt := mockClient(t)
	mt.RegisterResponder(http.MethodPost, apiURL(wire.PathValidateKey), respond(429,
		`{"error":"Rate limit exceeded. Retry after 42 seconds.","code":"RATE_LIMITED","status":429}`,
		wire.HeaderRetryAfter, "42", wire.HeaderRateLimitLimit, "60", wire.HeaderRateLimitRemaining, "0",
		wire.HeaderRateLimitReset, "1736942400"))
	_, err := c.Validate(t.Context(), testLicenseKey)
	var rl *RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("error %v is not a *RateLimitError", err)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !errors.Is(err, ErrRateLimited) {
		t.Errorf("RateLimitError does not unwrap: %v", err)
	}
	if rl.RetryAfter != 42*time.Second || rl.Limit != 60 || rl.Remaining != 0 || !rl.Reset.Equal(time.Unix(1736942400, 0)) {
		t.Errorf("RateLimitError = %+v", rl)
	}
	if n := mt.GetTotalCallCount(); n != fastRetry.MaxRetries+1 {
		t.Errorf("%d attempts, want %d", n, fastRetry.MaxRetries+1)
	}
	got, ok := c.RateLimit(TierValidation)
	if !ok || got.Limit != 60 || got.Remaining != 0 {
		t.Errorf("RateLimit(validation) = %+v, %v", got, ok)
	}
	if _, ok := c.RateLimit(TierManagement); ok {
		t.Error("management tier recorded without a management request")
	}
}

func TestRateLimitRecordedPerTier(t *testing.T) {
	c, mt := mockClient(t)
	mt.RegisterResponder(http.MethodPost, apiURL(wire.PathMachines), respond(201, machineBody,
		wire.HeaderRateLimitLimit, "10", wire.HeaderRateLimitRemaining, "9", wire.HeaderRateLimitReset, "1736942460"))
	mt.RegisterResponder(http.MethodPost, apiURL("/machines/m_1/heartbeat"), respond(200, machineBody,
		wire.HeaderRateLimitLimit, "120", wire.HeaderRateLimitRemaining, "117"))
	if _, err := c.Activate(t.Context(), testLicenseKey, ActivateParams{Fingerprint: testFP}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Heartbeat(t.Context(), testLicenseKey, "m_1"); err != nil {
		t.Fatal(err)
	}
	a, ok1 := c.RateLimit(TierActivation)
	m, ok2 := c.RateLimit(TierManagement)
	if !ok1 || !ok2 || a.Limit != 10 || a.Remaining != 9 || a.Reset.Unix() != 1736942460 || m.Limit != 120 || m.Remaining != 117 || !m.Reset.IsZero() {
		t.Errorf("activation %+v %v, management %+v %v", a, ok1, m, ok2)
	}
}

func TestBackoff(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
	c, err := NewClient(WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	resp := func(status int, retryAfter string) *http.Response {
		h := http.Header{}
		if retryAfter != "" {
			h.Set(wire.HeaderRetryAfter, retryAfter)
		}
		return &http.Response{StatusCode: status, Header: h}
	}
	if d := c.transport.backoff(time.Second, time.Minute, 0, resp(429, "7")); d != 7*time.Second {
		t.Errorf("Retry-After seconds: %v", d)
	}
	date := clk.Now().Add(12 * time.Second).Format(http.TimeFormat)
	if d := c.transport.backoff(time.Second, time.Minute, 0, resp(503, date)); d != 12*time.Second {
		t.Errorf("Retry-After date: %v", d)
	}
	if d := c.transport.backoff(time.Second, 5*time.Second, 0, resp(429, "600")); d != 5*time.Second {
		t.Errorf("Retry-After not capped by MaxWait: %v", d)
	}
	past := clk.Now().Add(-time.Hour).Format(http.TimeFormat)
	for _, ra := range []string{"", "soon", "-3", past} {
		for attempt := range 6 {
			d := c.transport.backoff(time.Second, 10*time.Second, attempt, resp(429, ra))
			full := min(time.Second<<attempt, 10*time.Second)
			if d < full/2 || d > full {
				t.Errorf("Retry-After %q attempt %d: wait %v outside [%v, %v]", ra, attempt, d, full/2, full)
			}
		}
	}
	if d := c.transport.backoff(time.Second, 10*time.Second, 200, nil); d < 5*time.Second || d > 10*time.Second {
		t.Errorf("huge attempt number: %v", d)
	}
}

func TestRetryClasses(t *testing.T) {
	cases := []struct {
		name       string
		method     string
		idempotent bool
		status     int
		wantCalls  int
	}{
		{"GET on 500", http.MethodGet, false, 500, 4},
		{"GET on 503", http.MethodGet, false, 503, 4},
		{"GET on 429", http.MethodGet, false, 429, 4},
		{"GET on 501", http.MethodGet, false, 501, 1},
		{"GET on 400", http.MethodGet, false, 400, 1},
		{"GET on 401", http.MethodGet, false, 401, 1},
		{"GET on 404", http.MethodGet, false, 404, 1},
		{"GET on 409", http.MethodGet, false, 409, 1},
		{"GET on 422", http.MethodGet, false, 422, 1},
		{"creating POST on 500", http.MethodPost, false, 500, 1},
		{"creating POST on 429", http.MethodPost, false, 429, 4},
		{"idempotent POST on 500", http.MethodPost, true, 500, 4},
		{"DELETE on 502", http.MethodDelete, false, 502, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, mt := mockClient(t, WithAPIKey(testAPIKey))
			mt.RegisterResponder(tc.method, apiURL(wire.PathProducts), respond(tc.status, `{"error":"x","code":"X"}`))
			_, err := c.transport.send(t.Context(), &request{method: tc.method, path: wire.PathProducts, auth: authAPIKey, idempotent: tc.idempotent, body: map[string]string{}})
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tc.status {
				t.Fatalf("err = %v", err)
			}
			if n := mt.GetTotalCallCount(); n != tc.wantCalls {
				t.Errorf("%d calls, want %d", n, tc.wantCalls)
			}
		})
	}
	// Transport errors: retried for idempotent requests, not for creating POSTs.
	for _, idem := range []bool{true, false} {
		c, mt := mockClient(t, WithAPIKey(testAPIKey))
		mt.RegisterResponder(http.MethodPost, apiURL(wire.PathProducts), httpmock.NewErrorResponder(errors.New("connection reset")))
		_, err := c.transport.send(t.Context(), &request{method: http.MethodPost, path: wire.PathProducts, auth: authAPIKey, idempotent: idem})
		want := 1
		if idem {
			want = 4
		}
		if err == nil || mt.GetTotalCallCount() != want {
			t.Errorf("idempotent=%v: err %v, %d calls, want %d", idem, err, mt.GetTotalCallCount(), want)
		}
	}
	// Management calls need an API key; none is sent without one.
	c, mt := mockClient(t)
	if _, err := c.transport.send(t.Context(), &request{method: http.MethodGet, path: wire.PathProducts, auth: authAPIKey}); !errors.Is(err, ErrNoAPIKey) || mt.GetTotalCallCount() != 0 {
		t.Errorf("no API key: %v", err)
	}
}

func TestRetryRecoversAfterTransientFailures(t *testing.T) {
	c, mt := mockClient(t)
	mt.RegisterResponder(http.MethodPost, apiURL(wire.PathValidateKey),
		sequence(respond(500, `{"error":"boom","code":"INTERNAL_ERROR"}`),
			respond(429, `{"error":"slow down","code":"RATE_LIMITED"}`, wire.HeaderRetryAfter, "1"),
			respond(200, validBody)))
	v, err := c.Validate(t.Context(), testLicenseKey)
	if err != nil || !v.Valid {
		t.Fatalf("Validate = %+v, %v", v, err)
	}
	if n := mt.GetTotalCallCount(); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}
}

func TestCancelDuringBackoffReturnsPromptly(t *testing.T) {
	// Waits of an hour: the test finishes only if cancellation cuts them short.
	c, mt := mockClient(t, WithRetry(RetryPolicy{MaxRetries: 5, MinWait: time.Hour, MaxWait: time.Hour}))
	ctx, cancel := context.WithCancel(t.Context())
	mt.RegisterResponder(http.MethodPost, apiURL(wire.PathValidateKey), func(req *http.Request) (*http.Response, error) {
		defer cancel() // cancel once the first attempt is answered, before the wait
		return respond(503, `{"error":"down","code":"INTERNAL_ERROR"}`)(req)
	})
	_, err := c.Validate(ctx, testLicenseKey)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := mt.GetTotalCallCount(); n != 1 {
		t.Errorf("%d calls after cancellation", n)
	}
}

func TestSuccessBodyTooLarge(t *testing.T) {
	c, mt := mockClient(t)
	big := `{"data":{"id":"m_1","name":"` + strings.Repeat("n", wire.MaxBodyBytes) + `"}}`
	mt.RegisterResponder(http.MethodGet, apiURL("/machines/m_1"), respond(200, big))
	if _, err := c.GetMachine(t.Context(), testLicenseKey, "m_1"); !errors.Is(err, ErrMalformedResponse) || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("huge body: %v", err)
	}
}

func TestSecretsNeverInErrorsOrLogs(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, mt := mockClient(t, WithAPIKey(testAPIKey), WithLogger(logger))
	echo := `{"error":"License ` + testLicenseKey + ` with key ` + testAPIKey + ` refused","code":"UNAUTHORIZED","requestId":"` + testLicenseKey + `","details":{"key":"` + testLicenseKey + `"}}`
	mt.RegisterResponder(http.MethodPost, apiURL(wire.PathValidateKey), respond(401, echo))
	mt.RegisterResponder(http.MethodPost, apiURL(wire.PathMachines), respond(409, echo))
	mt.RegisterResponder(http.MethodGet, apiURL(wire.LicenseByKeyPath(testLicenseKey)), httpmock.NewErrorResponder(errors.New("dial failed")))
	mt.RegisterResponder(http.MethodPost, apiURL("/machines/m_1/heartbeat"),
		respond(200, `{"data":{"valid":true,"code":"VALID","detail":"hello `+testLicenseKey+`"}}`))

	var errs []error
	_, err := c.Validate(t.Context(), testLicenseKey)
	errs = append(errs, err)
	_, err = c.Activate(t.Context(), testLicenseKey, ActivateParams{Fingerprint: testFP})
	errs = append(errs, err)
	_, err = c.transport.send(t.Context(), &request{method: http.MethodGet, path: wire.LicenseByKeyPath(testLicenseKey), auth: authAPIKey, secrets: []string{testLicenseKey}})
	errs = append(errs, err)
	_, err = c.Heartbeat(t.Context(), testLicenseKey, "m_1") // wrong shape: a machine without id
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Fatalf("call %d succeeded", i)
		}
		text := err.Error()
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			text += apiErr.Message + apiErr.RequestID + string(apiErr.Details)
		}
		if strings.Contains(text, testLicenseKey) || strings.Contains(text, testAPIKey) || strings.Contains(text, "C3D4-E5F6") {
			t.Errorf("call %d: error leaks a key: %s", i, text)
		}
	}
	if !strings.Contains(errs[0].Error(), "DSK-A1B2-…") {
		t.Errorf("redacted prefix missing from %q", errs[0])
	}
	if logs.Len() == 0 {
		t.Fatal("no debug logs written")
	}
	if strings.Contains(logs.String(), testLicenseKey) || strings.Contains(logs.String(), testAPIKey) {
		t.Errorf("logs leak a key:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "attempt=") || !strings.Contains(logs.String(), "status=401") {
		t.Errorf("logs lack attempt/status:\n%s", logs.String())
	}
}

func TestDecodeList(t *testing.T) {
	items, p, err := decodeList[Product]([]byte(`{"data":[{"id":"p1"},{"id":"p2"}],"pagination":{"nextCursor":"p2","hasMore":true}}`))
	if err != nil || len(items) != 2 || !p.HasMore || *p.NextCursor != "p2" {
		t.Fatalf("decodeList = %v %+v %v", items, p, err)
	}
	for _, bad := range []string{`{}`, `{"data":{}}`, `[]`, `{"data":[],"pagination":{"hasMore":true}}`, `{"data":[1]}`} {
		if _, _, err := decodeList[Product]([]byte(bad)); !errors.Is(err, ErrMalformedResponse) {
			t.Errorf("decodeList(%s) = %v", bad, err)
		}
	}
}
