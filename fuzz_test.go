package licentric

import (
	"errors"
	"net/http"
	"strings"
	"testing"
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
	redact := func(s string) string { return strings.ReplaceAll(s, secret, redactKey(secret)) }
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
