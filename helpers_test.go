package licentric

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/licentric/licentric-go/internal/wire"
)

const (
	testBase       = "https://api.licentric.test"
	testAPIKey     = "lk_test_0123456789abcdef0123456789abcdef"
	testLicenseKey = "DSK-A1B2-C3D4-E5F6-G7H8"
	testFP         = "fp-0123456789abcdef"
)

// fastRetry keeps retries real but their waits tiny.
var fastRetry = RetryPolicy{MaxRetries: 3, MinWait: time.Millisecond, MaxWait: 2 * time.Millisecond}

// mockClient returns a client whose own *http.Client goes to a fresh mock
// transport (never the global DefaultTransport).
func mockClient(t *testing.T, opts ...Option) (*Client, *httpmock.MockTransport) {
	t.Helper()
	mt := httpmock.NewMockTransport()
	// No validation cache: these tests watch every request.
	all := append([]Option{WithBaseURL(testBase), WithHTTPClient(&http.Client{Transport: mt}), WithRetry(fastRetry),
		WithoutValidationCache()}, opts...)
	c, err := NewClient(all...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, mt
}

func apiURL(path string) string { return testBase + wire.APIPrefix + path }

// respond returns a responder with the given status, body and headers
// (pairs of name, value).
func respond(status int, body string, headers ...string) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		resp := httpmock.NewStringResponse(status, body)
		resp.Header.Set(wire.HeaderContentType, wire.ContentTypeJSON)
		for i := 0; i+1 < len(headers); i += 2 {
			resp.Header.Set(headers[i], headers[i+1])
		}
		resp.Request = req
		return resp, nil
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

const validBody = `{"data":{"valid":true,"code":"VALID","detail":"ok","license":{"id":"lic_1","key":"DSK-A1B2-C3D4-E5F6-G7H8","status":"active"},"machine":null,"entitlements":["a","b"]}}`

const machineBody = `{"data":{"id":"m_1","licenseId":"lic_1","fingerprint":"fp-0123456789abcdef","status":"active","lastHeartbeatAt":"2026-01-15T10:30:00.000Z"}}`

// sequence answers the i-th request with rs[i], and every request after the
// last with the last responder.
func sequence(rs ...httpmock.Responder) httpmock.Responder {
	var mu sync.Mutex
	i := 0
	return func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		r := rs[min(i, len(rs)-1)]
		i++
		mu.Unlock()
		return r(req)
	}
}
