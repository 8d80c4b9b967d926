package licentric

import (
	"errors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"net/http"
	"testing"
	"time"
)

func TestNewClientRefusesBadOptions(t *testing.T) {
	cases := []struct {
		name string
		opt  Option
	}{
		{"api key without prefix", WithAPIKey("sk_live_abc")},
		{"empty api key", WithAPIKey("")},
		{"prefix only", WithAPIKey("lk_live_")},
		{"api key with newline", WithAPIKey("lk_live_abc\ndef")},
		{"plain http to a remote host", WithBaseURL("http://licentric.com")},
		{"ftp", WithBaseURL("ftp://licentric.com")},
		{"no host", WithBaseURL("https://")},
		{"credentials", WithBaseURL("https://user:pw@licentric.com")},
		{"query", WithBaseURL("https://licentric.com/?x=1")},
		{"garbage", WithBaseURL("::not a url")},
		{"nil http client", WithHTTPClient(nil)},
		{"nil logger", WithLogger(nil)},
		{"empty user agent", WithUserAgent("  ")},
		{"user agent with control char", WithUserAgent("app\r\nX: y")},
		{"negative retries", WithRetry(RetryPolicy{MaxRetries: -1})},
		{"negative wait", WithRetry(RetryPolicy{MinWait: -time.Second})},
		{"max below min", WithRetry(RetryPolicy{MinWait: time.Second, MaxWait: time.Millisecond})},
		{"nil clock", WithClock(nil)},
		{"nil fingerprinter", WithFingerprinter(nil)},
		{"empty app id", WithAppID("")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(tc.opt)
			if err == nil || c != nil {
				t.Fatalf("NewClient = %v, %v; want an error", c, err)
			}
		})
	}
	if _, err := NewClient(WithAPIKey("bogus_key")); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("bad API key error %v does not match ErrInvalidArgument", err)
	}
}

func TestBaseURLNormalization(t *testing.T) {
	cases := map[string]string{
		"https://acme.licentric.com":             "https://acme.licentric.com/api/v1",
		"https://acme.licentric.com/":            "https://acme.licentric.com/api/v1",
		"https://acme.licentric.com/api/v1":      "https://acme.licentric.com/api/v1",
		"https://acme.licentric.com/api/v1/":     "https://acme.licentric.com/api/v1",
		"https://proxy.example/licentric/api/v1": "https://proxy.example/licentric/api/v1",
		"http://127.0.0.1:8080":                  "http://127.0.0.1:8080/api/v1",
		"http://127.9.9.9":                       "http://127.9.9.9/api/v1",
		"http://[::1]:9000/api/v1":               "http://[::1]:9000/api/v1",
		"http://localhost:3000":                  "http://localhost:3000/api/v1",
	}
	for in, want := range cases {
		c, err := NewClient(WithBaseURL(in))
		if err != nil {
			t.Errorf("WithBaseURL(%q): %v", in, err)
			continue
		}
		if got := c.BaseURL(); got != want {
			t.Errorf("WithBaseURL(%q) -> %q, want %q", in, got, want)
		}
	}
	c, err := NewClient()
	if err != nil || c.BaseURL() != "https://licentric.com/api/v1" {
		t.Fatalf("default base = %v, %v", c, err)
	}
}

func TestEnvironmentFromAPIKey(t *testing.T) {
	for key, want := range map[string]Environment{
		"":                 EnvironmentNone,
		"lk_live_abcdef12": EnvironmentLive,
		"lk_test_abcdef12": EnvironmentTest,
	} {
		var opts []Option
		if key != "" {
			opts = append(opts, WithAPIKey(key))
		}
		c, err := NewClient(opts...)
		if err != nil {
			t.Fatal(err)
		}
		if c.Environment() != want {
			t.Errorf("key %q: Environment = %v, want %v", key, c.Environment(), want)
		}
	}
	if EnvironmentNone.String() != "none" || EnvironmentLive.String() != "live" || Environment("").String() != "none" {
		t.Errorf("String: %q %q", EnvironmentNone, EnvironmentLive)
	}
	// The wording: Environment reports live, test or none.
	if c, _ := NewClient(); c.Environment() != "none" {
		t.Errorf("no API key: Environment = %q, want none", string(c.Environment()))
	}
}

func TestFingerprintSource(t *testing.T) {
	c, err := NewClient()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Fingerprint(); !errors.Is(err, ErrNoFingerprinter) {
		t.Errorf("no source: %v", err)
	}
	c, _ = NewClient(WithFingerprinter(func() (string, error) { return testFP, nil }))
	if fp, err := c.Fingerprint(); err != nil || fp != testFP {
		t.Errorf("Fingerprint = %q, %v", fp, err)
	}
	c, _ = NewClient(WithFingerprinter(func() (string, error) { return "short", nil }))
	if _, err := c.Fingerprint(); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("short fingerprint: %v", err)
	}
	boom := errors.New("boom")
	c, _ = NewClient(WithFingerprinter(func() (string, error) { return "", boom }))
	if _, err := c.Fingerprint(); !errors.Is(err, boom) {
		t.Errorf("failing source: %v", err)
	}
	c, err = NewClient(WithAppID("com.example.app"))
	if err != nil {
		t.Fatalf("WithAppID: %v", err)
	}
	if c.cfg.fingerprinter == nil {
		t.Error("WithAppID set no fingerprinter")
	}
}

func TestCallerHTTPClientIsNotMutated(t *testing.T) {
	tr := &http.Transport{}
	redirect := func(*http.Request, []*http.Request) error { return nil }
	hc := &http.Client{Transport: tr, Timeout: 7 * time.Second, CheckRedirect: redirect}
	c, err := NewClient(WithHTTPClient(hc), WithBaseURL("http://127.0.0.1:1"), WithRetry(RetryPolicy{MaxRetries: 1, MinWait: time.Millisecond, MaxWait: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	// Port 1 refuses the connection: a transport error, retried once.
	if _, err := c.Validate(t.Context(), testLicenseKey); err == nil {
		t.Fatal("Validate against a closed port succeeded")
	}
	if hc.Transport != tr || hc.Timeout != 7*time.Second || hc.Jar != nil || hc.CheckRedirect == nil {
		t.Errorf("caller's client changed: %+v", hc)
	}
}

func TestHTTPClientRedirectsStayOnTheBaseOrigin(t *testing.T) {
	hc := newHTTPClient(nil, "https://licentric.com/api/v1", time.Second)
	mk := func(u string) *http.Request {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		require.NoError(t, err)
		return req
	}
	via := []*http.Request{mk("https://licentric.com/api/v1/x")}
	assert.ErrorIs(t, hc.CheckRedirect(mk("http://licentric.com/api/v1/x"), via), errOffOriginRedirect, "https->http")
	assert.ErrorIs(t, hc.CheckRedirect(mk("https://www.licentric.com/api/v1/x"), via), errOffOriginRedirect, "other host")
	assert.ErrorIs(t, hc.CheckRedirect(mk("https://licentric.com:8443/api/v1/x"), via), errOffOriginRedirect, "other port")
	assert.NoError(t, hc.CheckRedirect(mk("https://licentric.com/api/v1/y"), via), "same origin")
	long := make([]*http.Request, maxRedirects)
	assert.ErrorIs(t, hc.CheckRedirect(mk("https://licentric.com/x"), long), errTooManyRedirects)
	assert.True(t, permanentTransportError(errInsecureRedirect), "insecure redirect would be retried")
	assert.True(t, permanentTransportError(errOffOriginRedirect), "off-origin redirect would be retried")
	c, err := NewClient()
	require.NoError(t, err)
	assert.Equal(t, defaultRetryPolicy(), c.cfg.retry)
	assert.Equal(t, "licentric-go/"+Version, c.cfg.userAgent)
}
