package licentrictest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sendHost sends method URL with the Host header host (and the extra
// headers) over the server's socket and returns the status and the error
// code of the answer ("" when it is not an error envelope).
func sendHost(t *testing.T, s *Server, method, rawURL, host string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	require.NoError(t, err)
	req.Host = host
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := s.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var env struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(raw, &env)
	if resp.StatusCode == http.StatusForbidden {
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		assert.NotEmpty(t, resp.Header.Get("X-Request-Id"))
	}
	return resp.StatusCode, env.Code
}

// TestForeignHostRefused is DNS rebinding: a page on
// evil.example whose name now resolves to 127.0.0.1 reaches the server's
// socket with "Host: evil.example:PORT". Only the loopback names the
// server serves pass, on the API and the control API alike, and a refused
// request changes nothing.
func TestForeignHostRefused(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s := start(t, WithFrozenClock(t0))
	u, err := url.Parse(s.URL)
	require.NoError(t, err)
	port := u.Port()
	api := map[string]string{"Authorization": bearer(s.TestAPIKey())}

	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "LocalHost:" + port, "[::1]:" + port} {
		st, _ := sendHost(t, s.Server, "GET", s.URL+"/api/v1/products", host, api)
		assert.Equal(t, 200, st, host)
		st, _ = sendHost(t, s.Server, "GET", s.ControlURL()+"/requests", host, nil)
		assert.Equal(t, 200, st, host)
	}
	for _, host := range []string{"evil.example:" + port, "evil.example", "127.0.0.1:1", "127.0.0.1",
		"localhost", "localhost.:" + port, "127.0.0.2:" + port, "[::2]:" + port, "0.0.0.0:" + port,
		"127.0.0.1:" + port + ".evil.example", "xn--80ak6aa92e.com:" + port} {
		st, code := sendHost(t, s.Server, "POST", s.ControlURL()+"/advance?seconds=3600", host, nil)
		assert.Equal(t, 403, st, host)
		assert.Equal(t, "FORBIDDEN", code, host)
		st, code = sendHost(t, s.Server, "POST", s.ControlURL()+"/keys?env=live", host, nil)
		assert.Equal(t, 403, st, host)
		assert.Equal(t, "FORBIDDEN", code, host)
		st, code = sendHost(t, s.Server, "GET", s.URL+"/api/v1/products", host, api)
		assert.Equal(t, 403, st, host)
		assert.Equal(t, "FORBIDDEN", code, host)
	}
	assert.Equal(t, t0, s.Now(), "a refused advance moved the clock")
	for _, r := range s.Requests() {
		assert.NotEqual(t, 403, r.Status, "a refused request reached the API: %+v", r)
	}
}

// TestControlRefusesBrowsers: a page in the user's browser can send a
// "simple" cross-origin POST to http://127.0.0.1:PORT/_control/... without
// any rebinding (it can't read the answer, but the clock moves or a key is
// minted). Browsers mark such requests with Origin and Sec-Fetch-Site; the
// control API refuses both, and the API itself still answers them.
func TestControlRefusesBrowsers(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s := start(t, WithFrozenClock(t0))
	host := s.host()
	for _, h := range []map[string]string{
		{"Origin": "http://evil.example"},
		{"Origin": "null"},
		{"Origin": s.URL},
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site"},
		{"Sec-Fetch-Site": "same-origin"},
	} {
		for _, mp := range [][2]string{{"POST", "/advance?seconds=60"}, {"POST", "/keys?env=test"},
			{"POST", "/ratelimits?enabled=0"}, {"POST", "/ban?licenseId=x"}, {"GET", "/requests"}} {
			st, code := sendHost(t, s.Server, mp[0], s.ControlURL()+mp[1], host, h)
			assert.Equal(t, 403, st, "%v %v", h, mp)
			assert.Equal(t, "FORBIDDEN", code, "%v %v", h, mp)
		}
	}
	assert.Equal(t, t0, s.Now(), "a browser moved the clock")
	assert.True(t, s.RateLimitsEnabled(), "a browser turned rate limits off")

	// A navigation the user typed (Sec-Fetch-Site: none) and tools without
	// either header are served.
	st, _ := sendHost(t, s.Server, "GET", s.ControlURL()+"/requests", host, map[string]string{"Sec-Fetch-Site": "none"})
	assert.Equal(t, 200, st)
	st, _ = sendHost(t, s.Server, "POST", s.ControlURL()+"/advance?seconds=60", host, nil)
	assert.Equal(t, 200, st)
	assert.Equal(t, t0.Add(time.Minute), s.Now())

	// The API answers browsers as the live service would.
	st, _ = sendHost(t, s.Server, "GET", s.URL+"/api/v1/products", host,
		map[string]string{"Origin": "http://app.example", "Authorization": bearer(s.TestAPIKey())})
	assert.Equal(t, 200, st)
}

// TestHostCheckOnlyOnTheListener: requests that never crossed the
// server's socket (Transport, WithInMemory, ServeHTTP called directly, as
// httptest.NewRequest does with Host example.com) are not checked.
func TestHostCheckOnlyOnTheListener(t *testing.T) {
	mem := NewServer(WithInMemory())
	defer mem.Close()
	req, err := http.NewRequest("GET", "http://any.example/api/v1/products", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", bearer(mem.TestAPIKey()))
	resp, err := mem.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)

	s := start(t)
	for _, c := range []http.Client{{Transport: s.Transport()}} {
		req, err := http.NewRequest("GET", "http://any.example/api/v1/products", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", bearer(s.TestAPIKey()))
		resp, err := c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode)
	}
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/api/v1/products", nil)
	r.Header.Set("Authorization", bearer(s.TestAPIKey()))
	s.ServeHTTP(rec, r)
	assert.Equal(t, 200, rec.Code)
	// The control API's browser check applies however the request came.
	rec = httptest.NewRecorder()
	r = httptest.NewRequest("POST", "/_control/advance?seconds=1", nil)
	r.Header.Set("Origin", "http://evil.example")
	s.ServeHTTP(rec, r)
	assert.Equal(t, 403, rec.Code)
}

// host is the Host header a client of the server's URL sends.
func (s *tsrv) host() string { return strings.TrimPrefix(s.URL, "http://") }
