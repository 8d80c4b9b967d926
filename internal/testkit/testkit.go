package testkit

import (
	"testing"
	"time"

	licentric "github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
)

// FastRetry is the retry policy of most tests: three retries, a millisecond
// apart, so that a transient failure recovers at once.
var FastRetry = licentric.RetryPolicy{MaxRetries: 3, MinWait: time.Millisecond, MaxWait: time.Millisecond}

// NoRetry makes every failure final at its first attempt.
var NoRetry = licentric.RetryPolicy{MaxRetries: 0}

// Retries is FastRetry with n retries, for a test that counts attempts.
func Retries(n int) licentric.RetryPolicy {
	p := FastRetry
	p.MaxRetries = n
	return p
}

// Client returns a client of srv in the test environment: srv's URL and
// HTTP client, its test API key and its clock, then opts (which may
// override any of them).
func Client(t testing.TB, srv *licentrictest.Server, opts ...licentric.Option) *licentric.Client {
	t.Helper()
	return newClient(t, serverOptions(srv, licentric.WithClock(srv.Clock()), licentric.WithAPIKey(srv.TestAPIKey())), opts)
}

// AppClient returns a client of srv as an application runs it: no API key
// (so it sees live licenses only), fingerprint as its machine's ("" for no
// fingerprinter), srv's URL, HTTP client and clock, then opts.
func AppClient(t testing.TB, srv *licentrictest.Server, fingerprint string, opts ...licentric.Option) *licentric.Client {
	t.Helper()
	base := serverOptions(srv, licentric.WithClock(srv.Clock()))
	if fingerprint != "" {
		base = append(base, licentric.WithFingerprinter(func() (string, error) { return fingerprint, nil }))
	}
	return newClient(t, base, opts)
}

// WallClient is Client on the wall clock: for a test in a testing/synctest
// bubble (whose wall clock is the bubble's) or one that must not share the
// server's time.
func WallClient(t testing.TB, srv *licentrictest.Server, opts ...licentric.Option) *licentric.Client {
	t.Helper()
	return newClient(t, serverOptions(srv, licentric.WithAPIKey(srv.TestAPIKey())), opts)
}

func serverOptions(srv *licentrictest.Server, more ...licentric.Option) []licentric.Option {
	return append([]licentric.Option{licentric.WithBaseURL(srv.URL), licentric.WithHTTPClient(srv.Client())}, more...)
}

func newClient(t testing.TB, base, opts []licentric.Option) *licentric.Client {
	t.Helper()
	c, err := licentric.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("testkit: NewClient: %v", err)
	}
	return c
}
