package licentric_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/resource"
	"github.com/licentric/licentric-go/webhook"
)

const hardKey = "lk_test_0123456789abcdefghijklmnopqrstuvwxyzABCD"

// containsPartOf reports whether s holds any 10-character run of secret's
// characters after its recognisable prefix.
func containsPartOf(s, secret, prefix string) bool {
	body := strings.TrimPrefix(secret, prefix)
	for i := 0; i+10 <= len(body); i++ {
		if strings.Contains(s, body[i:i+10]) {
			return true
		}
	}
	return false
}

// TestRedactionSurvivesTruncation: a key straddling the cut of a long
// server message or request id never survives in part.
func TestRedactionSurvivesTruncation(t *testing.T) {
	for _, pad := range []int{250, 260, 270, 290, 295} {
		body := fmt.Sprintf(`{"error":%q,"code":"UNAUTHORIZED","status":401,"requestId":%q}`,
			strings.Repeat("x", pad)+hardKey, strings.Repeat("r", 100)+hardKey)
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(body))
		}))
		c, err := licentric.NewClient(licentric.WithBaseURL(hs.URL), licentric.WithAPIKey(hardKey))
		require.NoError(t, err)
		_, err = c.Validate(t.Context(), "DSK-AAAA-BBBB-CCCC-DDDD")
		hs.Close()
		require.Error(t, err)
		assert.False(t, containsPartOf(err.Error(), hardKey, "lk_test_"), "pad %d: error %q holds part of the key", pad, err)
		var apiErr *licentric.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.False(t, containsPartOf(apiErr.RequestID, hardKey, "lk_test_"), "pad %d: request id %q", pad, apiErr.RequestID)
	}
}

// TestDebugLogRedactsRequestID: a server echoing credentials in
// X-Request-Id does not put them in the log.
func TestDebugLogRedactsRequestID(t *testing.T) {
	const licenseKey = "DSK-SECR-ETKE-YABC-DEFG"
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", r.Header.Get("Authorization")+" "+licenseKey)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(hs.Close)
	var log bytes.Buffer
	c, err := licentric.NewClient(licentric.WithBaseURL(hs.URL), licentric.WithAPIKey(hardKey),
		licentric.WithLogger(slog.New(slog.NewJSONHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		licentric.WithRetry(testkit.NoRetry))
	require.NoError(t, err)
	_, err = c.Validate(t.Context(), licenseKey)
	require.Error(t, err)
	require.Contains(t, log.String(), "request_id")
	assert.False(t, containsPartOf(log.String(), hardKey, "lk_test_"), "log: %s", log.String())
	assert.NotContains(t, log.String(), "SECR-ETKE")
	assert.False(t, containsPartOf(err.Error(), hardKey, "lk_test_"))
}

// TestFormattingAClientHidesItsKey: every fmt verb and slog print a
// *Client without its API key.
func TestFormattingAClientHidesItsKey(t *testing.T) {
	c, err := licentric.NewClient(licentric.WithAPIKey(hardKey))
	require.NoError(t, err)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%T %v"} {
		out := fmt.Sprintf(verb, c)
		assert.False(t, containsPartOf(out, hardKey, "lk_test_"), "%s: %s", verb, out)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("client", "c", c)
	assert.False(t, containsPartOf(buf.String(), hardKey, "lk_test_"), buf.String())
	assert.Contains(t, buf.String(), `"env":"test"`)
}

// TestRedirectsNeverLeaveTheOrigin: a redirect to another port or host is
// refused before anything is sent there.
func TestRedirectsNeverLeaveTheOrigin(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(other.Close)
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		base := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, code)
		}))
		for _, hc := range []*http.Client{nil, {}} { // the client's own, and a caller's
			opts := []licentric.Option{licentric.WithBaseURL(base.URL), licentric.WithAPIKey(hardKey),
				licentric.WithRetry(testkit.Retries(2))}
			if hc != nil {
				opts = append(opts, licentric.WithHTTPClient(hc))
			}
			c, err := licentric.NewClient(opts...)
			require.NoError(t, err)
			_, err = c.Validate(t.Context(), "DSK-AAAA-BBBB-CCCC-DDDD")
			assert.Error(t, err, "redirect %d followed", code)
			_, err = c.Products.Create(t.Context(), &licentric.ProductRequest{Name: licentric.Value("x"), Code: licentric.Value("x")})
			assert.Error(t, err)
		}
		base.Close()
	}
	assert.Zero(t, elsewhere.Load(), "requests reached another origin")
}

// TestMachineEventOfUnknownLicenseDropsConservatively: a machine.* event
// whose license this client does not know (evicted from its index, or
// after a restart) drops every cached result rather than keep one the event
// may contradict.
func TestMachineEventOfUnknownLicenseDropsConservatively(t *testing.T) {
	f := newInvFixture(t)
	f.prime(t)
	ev := &webhook.Event{ID: "evt_1", Type: wire.EventMachineDeactivated, CreatedAt: time.Now(),
		Data: []byte(`{"id":"mach_x","licenseId":"lic_unknown_to_this_client"}`)}
	require.NoError(t, f.c.HandleWebhookEvent(t.Context(), ev))
	assert.False(t, f.cached(t, f.a.License.Key))
	assert.False(t, f.cached(t, f.b.License.Key))
	// A known license drops only its own results.
	f.prime(t)
	ev.Data = []byte(fmt.Sprintf(`{"id":%q,"licenseId":%q}`, f.machA.ID, f.a.License.ID))
	require.NoError(t, f.c.HandleWebhookEvent(t.Context(), ev))
	assert.False(t, f.cached(t, f.a.License.Key))
	assert.True(t, f.cached(t, f.b.License.Key))
}

// TestSlowDripServerIsCutOffPerAttempt: a caller's http.Client without a
// timeout and a context without a deadline do not hang on a server that
// drips its answer.
func TestSlowDripServerIsCutOffPerAttempt(t *testing.T) {
	release := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"data":`))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); hs.Close() })
	c, err := licentric.NewClient(licentric.WithBaseURL(hs.URL), licentric.WithHTTPClient(&http.Client{}),
		licentric.WithRetry(licentric.RetryPolicy{MaxRetries: 1, MinWait: time.Millisecond, MaxWait: time.Millisecond, AttemptTimeout: 100 * time.Millisecond}))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := c.Validate(context.Background(), "DSK-AAAA-BBBB-CCCC-DDDD")
		done <- err
	}()
	select {
	case err := <-done:
		assert.Error(t, err)
	case <-time.After(30 * time.Second): // a hang detector, not a timing assertion
		t.Fatal("Validate still blocked on a slow-drip server")
	}
}

// TestHeartbeatIntervalFloor: intervals the service cannot have are
// refused rather than flooding it.
func TestHeartbeatIntervalFloor(t *testing.T) {
	srv := licentrictest.NewServer()
	t.Cleanup(srv.Close)
	c, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithHTTPClient(srv.Client()))
	require.NoError(t, err)
	for _, d := range []time.Duration{time.Nanosecond, time.Second, 59 * time.Second} {
		_, err := c.StartHeartbeat(t.Context(), "DSK-AAAA-BBBB-CCCC-DDDD", "mach_1", licentric.WithHeartbeatInterval(d))
		assert.ErrorIs(t, err, licentric.ErrInvalidArgument, "interval %v", d)
	}
	assert.Zero(t, len(srv.Requests()))
}

// TestFormattingALicenseHidesItsKey: a License (of this package or of
// package resource) printed with any verb shows only a prefix of its key.
func TestFormattingALicenseHidesItsKey(t *testing.T) {
	const key = "DSK-SECR-ETKE-YABC-DEFG"
	l := licentric.License{ID: "lic_1", Key: key, Status: "active"}
	r := resource.License{ID: "lic_1", Key: key}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{l, &l, r, &r, []licentric.License{l}} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, "ETKE-YABC", "%s of %T: %s", verb, v, out)
		}
	}
	assert.Contains(t, fmt.Sprintf("%+v", l), "lic_1")
}

// TestErrorOfAByKeyAnswerHidesTheKey: a malformed or unusable answer to
// GET /licenses/by-key/{key} names the request without the key.
func TestErrorOfAByKeyAnswerHidesTheKey(t *testing.T) {
	const licenseKey = "DSK-SECR-ETKE-YABC-DEFG"
	for _, body := range []string{`{}`, `{"data":{"key":"x"}}`, `{"data":[]}`} {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
		}))
		c, err := licentric.NewClient(licentric.WithBaseURL(hs.URL), licentric.WithAPIKey(hardKey))
		require.NoError(t, err)
		_, err = c.Licenses.GetByKey(t.Context(), licenseKey)
		hs.Close()
		require.ErrorIs(t, err, licentric.ErrMalformedResponse, body)
		assert.NotContains(t, err.Error(), "SECR-ETKE", body)
		assert.Contains(t, err.Error(), "/licenses/by-key/", body)
	}
}

// A caller whose deadline passes while its validation hangs gets
// context.DeadlineExceeded (not the context.Canceled of the shared
// request's own context), and one whose context has already ended is told
// so, not that the rate budget is spent.
func TestValidateReportsTheCallersDeadline(t *testing.T) {
	srv := licentrictest.NewServer()
	defer srv.Close()
	fx, err := srv.Seed(licentrictest.Seed{})
	require.NoError(t, err)
	c, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithHTTPClient(srv.Client()),
		licentric.WithAPIKey(srv.TestAPIKey()))
	require.NoError(t, err)
	srv.InjectFault(licentrictest.Fault{Hang: true, Times: 100})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err = c.Validate(ctx, fx.License.Key)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, context.Canceled)
	assert.NotContains(t, err.Error(), "context canceled")
	assert.NotErrorIs(t, err, licentric.ErrBudgetExhausted)

	srv.ClearFaults()
	done, stop := context.WithCancel(t.Context())
	stop()
	_, err = c.Validate(done, fx.License.Key)
	require.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, licentric.ErrBudgetExhausted, "%v", err)
}
