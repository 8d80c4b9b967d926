package licentric_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/offline"
)

const (
	coFP  = "co-fingerprint-0123456789abcdef"
	coDay = 24 * time.Hour
)

// coSetup starts a server, seeds a license under a policy that allows
// offline use for up to maxDays, activates coFP on it and returns a client
// (test API key, the server's clock, fingerprint coFP) and the fixture.
func coSetup(t *testing.T, maxDays int) (*licentrictest.Server, *licentric.Client, *licentrictest.Fixture) {
	t.Helper()
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits(), licentrictest.WithFrozenClock(time.Now()))
	t.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{Policy: licentrictest.PolicyRequest{
		OfflineAllowed: licentric.Value(true),
		OfflineMaxDays: licentric.Value(maxDays),
	}})
	if err != nil {
		t.Fatalf("Seed: %v", err)
	}
	// The application's fingerprint source gives coFP.
	c := coClient(t, srv.URL, srv, licentric.WithAPIKey(srv.TestAPIKey()),
		licentric.WithFingerprinter(func() (string, error) { return coFP, nil }))
	if _, err := c.Activate(context.Background(), fx.License.Key, licentric.ActivateParams{Fingerprint: coFP}); err != nil {
		t.Fatalf("Activate: %v", err)
	}
	srv.ResetRequests()
	return srv, c, fx
}

// coClient returns a client for baseURL living in srv's simulated time.
func coClient(t *testing.T, baseURL string, srv *licentrictest.Server, opts ...licentric.Option) *licentric.Client {
	t.Helper()
	all := append([]licentric.Option{
		licentric.WithBaseURL(baseURL),
		licentric.WithClock(srv.Clock()),
		licentric.WithRetry(testkit.Retries(2)),
	}, opts...)
	c, err := licentric.NewClient(all...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

// coVerifier pins keys and binds to coFP in the test environment, on srv's
// clock.
func coVerifier(t *testing.T, srv *licentrictest.Server, keys ...[]byte) *offline.Verifier {
	t.Helper()
	opts := []offline.Option{
		offline.WithFingerprint(coFP),
		offline.WithEnvironment("test"),
		offline.WithClock(srv.Clock()),
	}
	if len(keys) == 0 {
		keys = append(keys, srv.PublicKey())
	}
	for _, k := range keys {
		opts = append(opts, offline.WithPublicKey(k))
	}
	v, err := offline.NewVerifier(opts...)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// unreachableURL returns a loopback URL nothing listens on.
func unreachableURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

func checkoutPath(id string) string { return "/licenses/" + id + "/checkout" }

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOfflineEndToEnd is the air-gapped story: check out, save, lose the
// network, verify from disk, run past the TTL, come back online, refresh.
func TestOfflineEndToEnd(t *testing.T) {
	ctx := context.Background()
	srv, online, fx := coSetup(t, 30)
	path := filepath.Join(t.TempDir(), "license.lic")

	co, err := online.Checkout(ctx, fx.License.ID, licentric.CheckoutParams{Fingerprint: coFP, TTL: 2 * coDay})
	if err != nil {
		t.Fatalf("Checkout: %v", err)
	}
	if co.TTL != 2*coDay || !co.ExpiresAt.Equal(co.IssuedAt.Add(2*coDay)) || !co.IssuedAt.Equal(srv.Now()) {
		t.Fatalf("Checkout times: issued %v expires %v ttl %v (server now %v)", co.IssuedAt, co.ExpiresAt, co.TTL, srv.Now())
	}
	if want := offline.KeyID(srv.PublicKey()); co.KeyID != want {
		t.Fatalf("KeyID = %q, want %q", co.KeyID, want)
	}
	if _, err := coVerifier(t, srv).VerifyAndSave(path, co.Certificate); err != nil {
		t.Fatalf("VerifyAndSave: %v", err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("saved file: %v, mode %v", err, st.Mode())
	}

	// Offline: the application's client can no longer reach any server.
	offlineClient := coClient(t, unreachableURL(t), srv, licentric.WithAPIKey(srv.TestAPIKey()))
	if _, err := offlineClient.Checkout(ctx, fx.License.ID, licentric.CheckoutParams{Fingerprint: coFP}); err == nil {
		t.Fatal("Checkout through an unreachable address succeeded")
	}

	// A fresh verifier (as after a restart) accepts the file from disk.
	f, err := coVerifier(t, srv).VerifyFile(path)
	if err != nil {
		t.Fatalf("VerifyFile offline: %v", err)
	}
	if f.License.ID != fx.License.ID || f.Fingerprint != coFP || f.Env != "test" || f.TTL != 2*coDay {
		t.Fatalf("verified file: license %q fingerprint %q env %q ttl %v", f.License.ID, f.Fingerprint, f.Env, f.TTL)
	}
	// Refreshing while the file is fresh needs no network.
	if got, refreshed, err := offlineClient.RefreshLicenseFile(ctx, path, fx.License.ID, coVerifier(t, srv), licentric.RefreshOptions{}); err != nil || refreshed || got == nil {
		t.Fatalf("RefreshLicenseFile with a fresh file: %v, refreshed %v, file %v", err, refreshed, got != nil)
	}

	// Time passes beyond the TTL: the file is refused.
	srv.Advance(2*coDay + time.Second)
	if _, err := coVerifier(t, srv).VerifyFile(path); !errors.Is(err, offline.ErrFileExpired) {
		t.Fatalf("VerifyFile after the TTL: %v, want ErrFileExpired", err)
	}
	// Still offline: refreshing fails, reports both problems, and leaves the
	// file alone.
	before := readFile(t, path)
	got, refreshed, err := offlineClient.RefreshLicenseFile(ctx, path, fx.License.ID, coVerifier(t, srv), licentric.RefreshOptions{})
	if got != nil || refreshed || !errors.Is(err, offline.ErrFileExpired) {
		t.Fatalf("offline refresh of an expired file: file %v refreshed %v err %v", got != nil, refreshed, err)
	}
	if !bytes.Equal(readFile(t, path), before) {
		t.Fatal("failed refresh changed the stored file")
	}

	// Back online: the refresh checks out a new file that verifies.
	got, refreshed, err = online.RefreshLicenseFile(ctx, path, fx.License.ID, coVerifier(t, srv), licentric.RefreshOptions{TTL: 3 * coDay})
	if err != nil || !refreshed || got == nil {
		t.Fatalf("online refresh: file %v refreshed %v err %v", got != nil, refreshed, err)
	}
	if !got.ExpiresAt.Equal(srv.Now().Add(3 * coDay)) {
		t.Fatalf("refreshed file expires %v, want %v", got.ExpiresAt, srv.Now().Add(3*coDay))
	}
	if _, err := coVerifier(t, srv).VerifyFile(path); err != nil {
		t.Fatalf("VerifyFile after refresh: %v", err)
	}
}

func TestCheckoutFileContents(t *testing.T) {
	ctx := context.Background()
	srv, c, fx := coSetup(t, 30)
	co, err := c.Checkout(ctx, fx.License.ID, licentric.CheckoutParams{Fingerprint: coFP})
	if err != nil {
		t.Fatalf("Checkout: %v", err)
	}
	if co.TTL != licentric.DefaultCheckoutTTL || co.ExpiresAt.Sub(co.IssuedAt) != 14*coDay {
		t.Fatalf("default TTL: %v (%v..%v)", co.TTL, co.IssuedAt, co.ExpiresAt)
	}
	f, err := coVerifier(t, srv).Verify(co.Certificate)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if f.KeyID != co.KeyID || !f.IssuedAt.Equal(co.IssuedAt) || !f.ExpiresAt.Equal(co.ExpiresAt) ||
		f.License.Key != fx.License.Key || f.Machine.Fingerprint != coFP || f.License.Policy == nil {
		t.Fatalf("file does not match the checkout: %+v", f)
	}
	// A verifier for live files refuses it: a test file must not unlock a
	// production application.
	live, err := offline.NewVerifier(offline.WithPublicKey(srv.PublicKey()), offline.WithFingerprint(coFP),
		offline.WithEnvironment("live"), offline.WithClock(srv.Clock()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := live.Verify(co.Certificate); !errors.Is(err, offline.ErrEnvironment) {
		t.Fatalf("live verifier on a test file: %v, want ErrEnvironment", err)
	}
	// Another machine's verifier refuses it.
	other, err := offline.NewVerifier(offline.WithPublicKey(srv.PublicKey()), offline.WithFingerprint(coFP+"x"),
		offline.WithEnvironment("test"), offline.WithClock(srv.Clock()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Verify(co.Certificate); !errors.Is(err, offline.ErrFingerprintMismatch) {
		t.Fatalf("other machine: %v, want ErrFingerprintMismatch", err)
	}
}

func TestCheckoutTTLBounds(t *testing.T) {
	ctx := context.Background()
	srv, c, fx := coSetup(t, 90)
	for _, ttl := range []time.Duration{
		-time.Hour, time.Nanosecond, time.Hour - time.Second, 90*coDay + time.Second, time.Hour + 500*time.Millisecond, 1<<63 - 1,
	} {
		_, err := c.Checkout(ctx, fx.License.ID, licentric.CheckoutParams{Fingerprint: coFP, TTL: ttl})
		if !errors.Is(err, licentric.ErrInvalidArgument) {
			t.Errorf("TTL %v: %v, want ErrInvalidArgument", ttl, err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("invalid TTLs sent %d requests", n)
	}
	for _, ttl := range []time.Duration{time.Hour, 90 * coDay} {
		co, err := c.Checkout(ctx, fx.License.ID, licentric.CheckoutParams{Fingerprint: coFP, TTL: ttl})
		if err != nil || co.TTL != ttl {
			t.Errorf("TTL %v: %v", ttl, err)
		}
	}
	if n := srv.CountRequests(http.MethodPost, checkoutPath(fx.License.ID)); n != 2 {
		t.Fatalf("%d checkout requests, want 2", n)
	}
}

func TestCheckoutArgumentsNoRequest(t *testing.T) {
	ctx := context.Background()
	srv, c, fx := coSetup(t, 30)
	cases := map[string]struct {
		id string
		p  licentric.CheckoutParams
	}{
		"empty license ID":  {"", licentric.CheckoutParams{Fingerprint: coFP}},
		"short fingerprint": {fx.License.ID, licentric.CheckoutParams{Fingerprint: "abc"}},
		"bad license key":   {fx.License.ID, licentric.CheckoutParams{Fingerprint: coFP, LicenseKey: " leading space"}},
		"control character": {fx.License.ID, licentric.CheckoutParams{Fingerprint: coFP, LicenseKey: "KEY\x00NUL"}},
	}
	for name, tc := range cases {
		if _, err := c.Checkout(ctx, tc.id, tc.p); !errors.Is(err, licentric.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
	}
	// No fingerprint and no fingerprint source.
	c = coClient(t, srv.URL, srv, licentric.WithAPIKey(srv.TestAPIKey()))
	if _, err := c.Checkout(ctx, fx.License.ID, licentric.CheckoutParams{}); !errors.Is(err, licentric.ErrNoFingerprinter) {
		t.Errorf("no fingerprint: %v, want ErrNoFingerprinter", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("invalid arguments sent %d requests", n)
	}
}

func TestCheckoutUsesClientFingerprint(t *testing.T) {
	srv, _, fx := coSetup(t, 30)
	c := coClient(t, srv.URL, srv, licentric.WithAPIKey(srv.TestAPIKey()),
		licentric.WithFingerprinter(func() (string, error) { return coFP, nil }))
	co, err := c.Checkout(context.Background(), fx.License.ID, licentric.CheckoutParams{})
	if err != nil {
		t.Fatalf("Checkout: %v", err)
	}
	if f, err := coVerifier(t, srv).Verify(co.Certificate); err != nil || f.Fingerprint != coFP {
		t.Fatalf("Verify: %v", err)
	}
}

func TestCheckoutLicenseKeyAuth(t *testing.T) {
	ctx := context.Background()
	srv, _, fx := coSetup(t, 30)
	// An application without an API key.
	app := coClient(t, srv.URL, srv)
	co, err := app.Checkout(ctx, fx.License.ID, licentric.CheckoutParams{Fingerprint: coFP, LicenseKey: fx.License.Key})
	if err != nil {
		t.Fatalf("Checkout with the license key: %v", err)
	}
	if _, err := coVerifier(t, srv).Verify(co.Certificate); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Scheme != "License" || reqs[0].Path != checkoutPath(fx.License.ID) {
		t.Fatalf("requests: %+v", reqs)
	}
	// Without an API key and without a license key there is nothing to send.
	if _, err := app.Checkout(ctx, fx.License.ID, licentric.CheckoutParams{Fingerprint: coFP}); !errors.Is(err, licentric.ErrNoAPIKey) {
		t.Fatalf("no credentials: %v, want ErrNoAPIKey", err)
	}
	// Another license's key can't check this one out.
	other, err := srv.AddLicense(fx.Env, fx.Policy.ID, licentrictest.LicenseRequest{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = app.Checkout(ctx, fx.License.ID, licentric.CheckoutParams{Fingerprint: coFP, LicenseKey: other.Key})
	if !errors.Is(err, licentric.ErrNotFound) {
		t.Fatalf("another license's key: %v, want ErrNotFound", err)
	}
	if bytes.Contains([]byte(err.Error()), []byte(other.Key)) {
		t.Fatal("error message contains the license key")
	}
}

func TestCheckoutRefusals(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name     string
		setup    func(t *testing.T, srv *licentrictest.Server, fx *licentrictest.Fixture) (licentric.CheckoutParams, string)
		sentinel error
		code     string
	}{
		{"offline not allowed", func(t *testing.T, srv *licentrictest.Server, fx *licentrictest.Fixture) (licentric.CheckoutParams, string) {
			fx2, err := srv.Seed(licentrictest.Seed{Policy: licentrictest.PolicyRequest{OfflineAllowed: licentric.Value(false)}})
			if err != nil {
				t.Fatal(err)
			}
			return licentric.CheckoutParams{Fingerprint: coFP}, fx2.License.ID
		}, licentric.ErrOfflineNotAllowed, "OFFLINE_NOT_ALLOWED"},
		{"TTL above the policy's maximum", func(t *testing.T, srv *licentrictest.Server, fx *licentrictest.Fixture) (licentric.CheckoutParams, string) {
			return licentric.CheckoutParams{Fingerprint: coFP, TTL: 8 * coDay}, fx.License.ID
		}, licentric.ErrOfflineTTLExceeded, "OFFLINE_TTL_EXCEEDED"},
		{"fingerprint not activated", func(t *testing.T, srv *licentrictest.Server, fx *licentrictest.Fixture) (licentric.CheckoutParams, string) {
			return licentric.CheckoutParams{Fingerprint: "another-machine-0123456789", TTL: time.Hour}, fx.License.ID
		}, licentric.ErrFingerprintNotFound, "FINGERPRINT_NOT_FOUND"},
		{"license suspended", func(t *testing.T, srv *licentrictest.Server, fx *licentrictest.Fixture) (licentric.CheckoutParams, string) {
			if _, err := srv.SetLicenseStatus(fx.Env, fx.License.ID, "suspend"); err != nil {
				t.Fatal(err)
			}
			return licentric.CheckoutParams{Fingerprint: coFP, TTL: time.Hour}, fx.License.ID
		}, licentric.ErrLicenseNotActive, "LICENSE_NOT_ACTIVE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, c, fx := coSetup(t, 7)
			p, id := tc.setup(t, srv, fx)
			co, err := c.Checkout(ctx, id, p)
			if co != nil || !errors.Is(err, tc.sentinel) {
				t.Fatalf("Checkout: %v, want %v", err, tc.sentinel)
			}
			var ae *licentric.APIError
			if !errors.As(err, &ae) || ae.StatusCode != http.StatusUnprocessableEntity || ae.Code != tc.code {
				t.Fatalf("error %#v, want a 422 %s", err, tc.code)
			}
			// A 422 is an answer, not a failure to retry.
			if n := srv.CountRequests(http.MethodPost, checkoutPath(id)); n != 1 {
				t.Fatalf("%d requests, want 1", n)
			}
		})
	}
}

func TestCheckoutMalformedResponse(t *testing.T) {
	const good = `"certificate":"Y2VydA==","issuedAt":"2026-01-15T10:30:00.000Z","expiresAt":"2026-01-29T10:30:00.000Z","ttl":1209600,"keyId":"0123456789abcdef"`
	bodies := map[string]string{
		"not JSON":                 `<html>oops</html>`,
		"no data":                  `{}`,
		"no certificate":           `{"data":{"issuedAt":"2026-01-15T10:30:00.000Z","expiresAt":"2026-01-29T10:30:00.000Z","ttl":1209600,"keyId":"k"}}`,
		"no issuedAt":              `{"data":{"certificate":"x","expiresAt":"2026-01-29T10:30:00.000Z","ttl":1209600,"keyId":"k"}}`,
		"no expiresAt":             `{"data":{"certificate":"x","issuedAt":"2026-01-15T10:30:00.000Z","ttl":1209600,"keyId":"k"}}`,
		"expiresAt before issued":  `{"data":{"certificate":"x","issuedAt":"2026-01-29T10:30:00.000Z","expiresAt":"2026-01-15T10:30:00.000Z","ttl":1209600,"keyId":"k"}}`,
		"zero ttl":                 `{"data":{"certificate":"x","issuedAt":"2026-01-15T10:30:00.000Z","expiresAt":"2026-01-29T10:30:00.000Z","ttl":0,"keyId":"k"}}`,
		"no keyId":                 `{"data":{"certificate":"x","issuedAt":"2026-01-15T10:30:00.000Z","expiresAt":"2026-01-29T10:30:00.000Z","ttl":1209600}}`,
		"certificate not a string": `{"data":{"certificate":42,"issuedAt":"2026-01-15T10:30:00.000Z","expiresAt":"2026-01-29T10:30:00.000Z","ttl":1209600,"keyId":"k"}}`,
	}
	bodies["control: good"] = `{"data":{` + good + `}}`
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(body))
			}))
			defer ts.Close()
			c, err := licentric.NewClient(licentric.WithBaseURL(ts.URL), licentric.WithAPIKey("lk_test_abc123"),
				licentric.WithRetry(testkit.Retries(2)))
			if err != nil {
				t.Fatal(err)
			}
			co, err := c.Checkout(context.Background(), "lic_1", licentric.CheckoutParams{Fingerprint: coFP})
			if name == "control: good" {
				if err != nil || string(co.Certificate) != "Y2VydA==" || co.TTL != 14*coDay || co.KeyID != "0123456789abcdef" {
					t.Fatalf("good body: %v %+v", err, co)
				}
				return
			}
			if co != nil || !errors.Is(err, licentric.ErrMalformedResponse) {
				t.Fatalf("Checkout: %v, want ErrMalformedResponse", err)
			}
		})
	}
}

func TestRefreshLicenseFile(t *testing.T) {
	ctx := context.Background()
	srv, c, fx := coSetup(t, 30)
	path := filepath.Join(t.TempDir(), "sub", "license.lic")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	v := coVerifier(t, srv)
	opts := licentric.RefreshOptions{TTL: 10 * coDay}
	checkouts := func() int { return srv.CountRequests(http.MethodPost, checkoutPath(fx.License.ID)) }

	// Missing file: checked out and written with mode 0600.
	f, refreshed, err := c.RefreshLicenseFile(ctx, path, fx.License.ID, v, opts)
	if err != nil || !refreshed || f == nil || f.TTL != 10*coDay {
		t.Fatalf("first refresh: %v refreshed %v", err, refreshed)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("written file: %v mode %v", err, st.Mode())
	}
	first := readFile(t, path)

	// More than half the TTL left: nothing to do, no request.
	srv.Advance(5*coDay - time.Second)
	f, refreshed, err = c.RefreshLicenseFile(ctx, path, fx.License.ID, v, opts)
	if err != nil || refreshed || f == nil || checkouts() != 1 {
		t.Fatalf("early refresh: %v refreshed %v, %d checkouts", err, refreshed, checkouts())
	}
	// A larger fraction makes it due already.
	f, refreshed, err = c.RefreshLicenseFile(ctx, path, fx.License.ID, v, licentric.RefreshOptions{TTL: 10 * coDay, Fraction: 0.6})
	if err != nil || !refreshed || !f.IssuedAt.Equal(srv.Now()) || bytes.Equal(readFile(t, path), first) {
		t.Fatalf("refresh at fraction 0.6: %v refreshed %v", err, refreshed)
	}

	// Past half the TTL: refreshed.
	srv.Advance(5*coDay + time.Second)
	f, refreshed, err = c.RefreshLicenseFile(ctx, path, fx.License.ID, v, opts)
	if err != nil || !refreshed || !f.ExpiresAt.Equal(srv.Now().Add(10*coDay)) || checkouts() != 3 {
		t.Fatalf("due refresh: %v refreshed %v, %d checkouts", err, refreshed, checkouts())
	}
	if _, err := v.VerifyFile(path); err != nil {
		t.Fatalf("refreshed file: %v", err)
	}

	// A corrupt stored file is replaced.
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if f, refreshed, err = c.RefreshLicenseFile(ctx, path, fx.License.ID, v, opts); err != nil || !refreshed || f == nil {
		t.Fatalf("refresh of a corrupt file: %v refreshed %v", err, refreshed)
	}
}

// dueFile checks out a file with TTL 2 days, saves it and advances the clock
// by 1.5 days, so a refresh is due but the file still verifies.
func dueFile(t *testing.T, srv *licentrictest.Server, c *licentric.Client, fx *licentrictest.Fixture) (string, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "license.lic")
	co, err := c.Checkout(context.Background(), fx.License.ID, licentric.CheckoutParams{Fingerprint: coFP, TTL: 2 * coDay})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := coVerifier(t, srv).VerifyAndSave(path, co.Certificate); err != nil {
		t.Fatal(err)
	}
	srv.Advance(36 * time.Hour)
	return path, co.Certificate
}

func TestRefreshKeepsOldFileOnFailure(t *testing.T) {
	ctx := context.Background()
	cases := map[string]struct {
		prepare  func(t *testing.T, srv *licentrictest.Server, fx *licentrictest.Fixture)
		pinOld   bool
		sentinel error
	}{
		"server error": {prepare: func(t *testing.T, srv *licentrictest.Server, fx *licentrictest.Fixture) {
			srv.InjectFault(licentrictest.Fault{Path: checkoutPath(fx.License.ID), Status: 503, Times: 10})
		}, sentinel: licentric.ErrServer},
		"dropped connection": {prepare: func(t *testing.T, srv *licentrictest.Server, fx *licentrictest.Fixture) {
			srv.InjectFault(licentrictest.Fault{Path: checkoutPath(fx.License.ID), Drop: true, Times: 10})
		}},
		"refused checkout": {prepare: func(t *testing.T, srv *licentrictest.Server, fx *licentrictest.Fixture) {
			if _, err := srv.SetLicenseStatus(fx.Env, fx.License.ID, "suspend"); err != nil {
				t.Fatal(err)
			}
		}, sentinel: licentric.ErrLicenseNotActive},
		"new file signed by a key the verifier does not hold": {prepare: func(t *testing.T, srv *licentrictest.Server, fx *licentrictest.Fixture) {
			srv.RotateSigningKey()
		}, pinOld: true, sentinel: offline.ErrUnknownKey},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv, c, fx := coSetup(t, 30)
			oldKey := srv.PublicKey()
			path, cert := dueFile(t, srv, c, fx)
			tc.prepare(t, srv, fx)
			v := coVerifier(t, srv, oldKey)
			if !tc.pinOld {
				v = coVerifier(t, srv)
			}
			f, refreshed, err := c.RefreshLicenseFile(ctx, path, fx.License.ID, v, licentric.RefreshOptions{})
			if err == nil || refreshed {
				t.Fatalf("refresh succeeded: refreshed %v", refreshed)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Fatalf("error %v, want %v", err, tc.sentinel)
			}
			if f == nil || f.License.ID != fx.License.ID || f.Remaining(srv.Now()) != 12*time.Hour {
				t.Fatalf("old file not returned: %+v", f)
			}
			if !bytes.Equal(readFile(t, path), cert) {
				t.Fatal("the stored file was replaced")
			}
			if n := srv.CountRequests(http.MethodPost, checkoutPath(fx.License.ID)); n == 0 {
				t.Fatal("no checkout was attempted")
			}
		})
	}
}

func TestRefreshWritesNothingUnverified(t *testing.T) {
	// No stored file and the new one fails verification: nothing is written.
	ctx := context.Background()
	srv, c, fx := coSetup(t, 30)
	oldKey := srv.PublicKey()
	srv.RotateSigningKey()
	path := filepath.Join(t.TempDir(), "license.lic")
	f, refreshed, err := c.RefreshLicenseFile(ctx, path, fx.License.ID, coVerifier(t, srv, oldKey), licentric.RefreshOptions{})
	if f != nil || refreshed || !errors.Is(err, offline.ErrUnknownKey) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("refresh: file %v refreshed %v err %v", f != nil, refreshed, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a file was written: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 0 {
		t.Fatalf("directory holds %d entries, want none", len(entries))
	}
	// With both keys pinned (a rotation in progress) the refresh works.
	if _, refreshed, err := c.RefreshLicenseFile(ctx, path, fx.License.ID, coVerifier(t, srv, oldKey, srv.PublicKey()), licentric.RefreshOptions{}); err != nil || !refreshed {
		t.Fatalf("refresh with both keys: %v", err)
	}
}

func TestRefreshStoredFileOfAnotherLicense(t *testing.T) {
	ctx := context.Background()
	srv, c, fx := coSetup(t, 30)
	path, _ := dueFile(t, srv, c, fx)
	other, err := srv.AddLicense(fx.Env, fx.Policy.ID, licentrictest.LicenseRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// The other license has no machine: its checkout fails, and the stored
	// file, valid but not its own, is not returned as if it were.
	f, refreshed, err := c.RefreshLicenseFile(ctx, path, other.ID, coVerifier(t, srv), licentric.RefreshOptions{})
	if f != nil || refreshed || !errors.Is(err, licentric.ErrFingerprintNotFound) {
		t.Fatalf("refresh for another license: file %v refreshed %v err %v", f != nil, refreshed, err)
	}
}

func TestRefreshInvalidArguments(t *testing.T) {
	ctx := context.Background()
	srv, c, fx := coSetup(t, 30)
	v := coVerifier(t, srv)
	path := filepath.Join(t.TempDir(), "license.lic")
	cases := map[string]func() error{
		"nil verifier": func() error {
			_, _, err := c.RefreshLicenseFile(ctx, path, fx.License.ID, nil, licentric.RefreshOptions{})
			return err
		},
		"empty path": func() error {
			_, _, err := c.RefreshLicenseFile(ctx, "", fx.License.ID, v, licentric.RefreshOptions{})
			return err
		},
		"empty license ID": func() error {
			_, _, err := c.RefreshLicenseFile(ctx, path, "", v, licentric.RefreshOptions{})
			return err
		},
		"fraction above 1": func() error {
			_, _, err := c.RefreshLicenseFile(ctx, path, fx.License.ID, v, licentric.RefreshOptions{Fraction: 1.5})
			return err
		},
		"negative fraction": func() error {
			_, _, err := c.RefreshLicenseFile(ctx, path, fx.License.ID, v, licentric.RefreshOptions{Fraction: -0.1})
			return err
		},
		"NaN fraction": func() error {
			_, _, err := c.RefreshLicenseFile(ctx, path, fx.License.ID, v, licentric.RefreshOptions{Fraction: math.NaN()})
			return err
		},
		"bad TTL": func() error {
			_, _, err := c.RefreshLicenseFile(ctx, path, fx.License.ID, v, licentric.RefreshOptions{TTL: time.Minute})
			return err
		},
	}
	for name, call := range cases {
		if err := call(); !errors.Is(err, licentric.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("%d requests made", n)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a file was written: %v", err)
	}
}
