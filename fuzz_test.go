package licentric

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzDecodeValidation(f *testing.F) {
	for _, seed := range []string{
		validBody,
		`{"data":{"valid":false,"code":"EXPIRED","detail":"expired","license":{"id":"l","expiresAt":"2026-01-15T10:30:00.000Z","policy":{"maxMachines":null}},"machine":{"id":"m","status":"dead"},"entitlements":[]}}`,
		`{"data":{"valid":true,"code":"EXPIRED"}}`,
		`{"data":{"valid":true,"code":"BANNED"}}`,
		`{"data":{"valid":"true","code":"VALID"}}`,
		`{"data":{"code":"VALID"}}`,
		`{"data":null}`, `{}`, `[]`, `null`, ``, `<html>`, `{"data":{"valid":true,"code":"VALID","license":{"usesCount":"1"}}}`,
		`{"data":{"valid":false,"code":"X\u0000\u001b[31m","detail":"\ud800"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := decodeValidation(body)
		if err != nil {
			if v != nil {
				t.Fatal("result together with an error")
			}
			return
		}
		if v.Code == "" {
			t.Fatal("accepted a result without a code")
		}
		if v.Valid && v.Code != CodeValid && v.Code != CodeExpired {
			t.Fatalf("accepted valid=true with code %q", v.Code)
		}
		if (v.Err() == nil) != v.Valid {
			t.Fatalf("Err() = %v for valid=%v", v.Err(), v.Valid)
		}
		for _, s := range []string{string(v.Code), v.Detail} {
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\x1b\n\r") {
				t.Fatalf("unsanitized text %q", s)
			}
		}
	})
}

func FuzzDecodeError(f *testing.F) {
	for _, seed := range []struct {
		status int
		ctype  string
		body   string
	}{
		{409, "application/json", `{"error":"Cannot suspend a revoked license","code":"CONFLICT","status":409}`},
		{400, "application/json", `{"error":"Validation failed","code":"VALIDATION_ERROR","details":{"issues":[]},"requestId":"01J8X3"}`},
		{409, "application/json", `{"error":"x","code":"FINGERPRINT_CONFLICT","details":{"machineId":"m_1"}}`},
		{502, "text/html", `<html><body>Bad Gateway</body></html>`},
		{429, "", `{"error":"slow","code":"RATE_LIMITED","status":429}`},
		{500, "application/json", `{"error":{"nested":true},"code":7}`},
		{404, "application/problem+json", `{"error":"\u001b[2J","code":"NOT_FOUND","requestId":"a\nb"}`},
		{418, "", ``},
	} {
		f.Add(seed.status, seed.ctype, []byte(seed.body))
	}
	secret := testLicenseKey
	redact := newRedactor(secret)
	f.Fuzz(func(t *testing.T, status int, ctype string, body []byte) {
		h := http.Header{}
		h.Set("Content-Type", ctype)
		h.Set("X-Request-Id", "hdr-"+ctype)
		e := decodeAPIError(status, h, body, false, redact)
		if e == nil || e.StatusCode != status {
			t.Fatalf("decodeAPIError = %+v", e)
		}
		text := e.Error()
		if !strings.Contains(text, "HTTP") || strings.Contains(text, secret) {
			t.Fatalf("error text %q", text)
		}
		if utf8.RuneCountInString(e.Message) > maxMessageRunes+1 || strings.ContainsAny(e.Message+e.Code+e.RequestID, "\x00\x1b\n\r") {
			t.Fatalf("unsanitized or long fields: %+v", e)
		}
		var target *APIError
		if !errors.As(error(e), &target) {
			t.Fatal("errors.As fails")
		}
		_ = e.MachineID()
		_ = errors.Is(e, ErrNotFound)
	})
}

func FuzzDecodeList(f *testing.F) {
	for _, seed := range []string{
		`{"data":[{"id":"l1","key":"K-1","status":"active"},{"id":"l2"}],"pagination":{"nextCursor":"l2","hasMore":true}}`,
		`{"data":[],"pagination":{"nextCursor":null,"hasMore":false}}`,
		`{"data":[{"id":"l1"}]}`,
		`{"data":[],"pagination":{"hasMore":true}}`,
		`{"data":[],"pagination":{"nextCursor":"","hasMore":true}}`,
		`{"data":{},"pagination":null}`, `{"data":[1,"x",null]}`, `{"data":[{"id":7}]}`,
		`{"data":[],"pagination":{"hasMore":"yes"}}`, `{}`, `[]`, `null`, ``, `<html>`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, p, err := decodeList[License](body)
		if err != nil {
			if !errors.Is(err, ErrMalformedResponse) || items != nil {
				t.Fatalf("decodeList error %v with items %v", err, items)
			}
			return
		}
		if items == nil {
			t.Fatal("accepted a list without a data array")
		}
		if p.HasMore && (p.NextCursor == nil || *p.NextCursor == "") {
			t.Fatal("accepted hasMore without a cursor")
		}
	})
}

func FuzzFieldErrors(f *testing.F) {
	for _, seed := range []string{
		`{"issues":[{"path":["maxMachines"],"code":"invalid_type","message":"Expected number"}]}`,
		`{"issues":[{"path":["events",1],"code":"invalid_enum_value","message":"bad"},{"path":[],"message":"body"}]}`,
		`{"issues":[{"path":[{"x":1},null,true],"code":7}]}`,
		`{"issues":{}}`, `{"machineId":"m_1"}`, `{"issues":[{"message":"\u001b[31m\n"}]}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, details []byte) {
		e := &APIError{StatusCode: 400, Code: "VALIDATION_ERROR"}
		if json.Valid(details) {
			e.Details = details
		}
		fes := e.FieldErrors()
		if len(fes) > maxFieldErrors {
			t.Fatalf("%d field errors", len(fes))
		}
		for _, fe := range fes {
			if strings.ContainsAny(fe.Field+fe.Code+fe.Message, "\x00\x1b\n\r") || !utf8.ValidString(fe.Field+fe.Code+fe.Message) {
				t.Fatalf("unsanitized field error %+v", fe)
			}
		}
	})
}

func FuzzRateHeaders(f *testing.F) {
	now := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
	for _, seed := range [][4]string{
		{"60", "59", "1768473060", "30"},
		{"10", "0", "1768473060", now.Add(12 * time.Second).Format(http.TimeFormat)},
		{"-1", "-5", "0", "-3"},
		{"x", "", "99999999999999999999", "Thu, 01 Jan 1970 00:00:00 GMT"},
		{" 120 ", "120", "1e9", "999999999999"},
		{"1", "1", "1", "Thu, 01 JAn 2200 0:00:00 GMT"}, // a date far ahead is capped like seconds
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	f.Fuzz(func(t *testing.T, limit, remaining, reset, retryAfter string) {
		h := http.Header{}
		h.Set("X-RateLimit-Limit", limit)
		h.Set("X-RateLimit-Remaining", remaining)
		h.Set("X-RateLimit-Reset", reset)
		if l, ok := parseRateLimit(h); ok && (l.Limit < 0 || l.Remaining < 0) {
			t.Fatalf("negative rate limit %+v", l)
		}
		if d, ok := parseRetryAfter(retryAfter, now); ok && (d < 0 || d > maxRetryAfter) {
			t.Fatalf("Retry-After %q = %v", retryAfter, d)
		}
	})
}
