package licentric_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/internal/clocktest"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/licentrictest"
)

func newServer(t *testing.T) *licentrictest.Server {
	t.Helper()
	s := licentrictest.NewServer(licentrictest.WithoutRateLimits(), licentrictest.WithFrozenClock(time.Now()))
	t.Cleanup(s.Close)
	return s
}

// newClient returns a client of s; with an API key of env when env is set.
func newClient(t *testing.T, s *licentrictest.Server, env string, opts ...licentric.Option) *licentric.Client {
	t.Helper()
	// No validation cache: these tests watch every answer of the server.
	all := []licentric.Option{licentric.WithBaseURL(s.URL), licentric.WithHTTPClient(s.Client()), licentric.WithRetry(testkit.FastRetry),
		licentric.WithoutValidationCache()}
	switch env {
	case licentrictest.EnvTest:
		all = append(all, licentric.WithAPIKey(s.TestAPIKey()))
	case licentrictest.EnvLive:
		all = append(all, licentric.WithAPIKey(s.LiveAPIKey()))
	}
	c, err := licentric.NewClient(append(all, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func seed(t *testing.T, s *licentrictest.Server, spec licentrictest.Seed) *licentrictest.Fixture {
	t.Helper()
	fx, err := s.Seed(spec)
	if err != nil {
		t.Fatalf("Seed: %v", err)
	}
	return fx
}

const (
	fpA = "fingerprint-aaaaaaaa"
	fpB = "fingerprint-bbbbbbbb"
)

func mustValidate(t *testing.T, c *licentric.Client, key string, opts ...licentric.ValidateOption) *licentric.Validation {
	t.Helper()
	v, err := c.Validate(t.Context(), key, opts...)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return v
}

func expect(t *testing.T, v *licentric.Validation, valid bool, code licentric.Code, sentinel error) {
	t.Helper()
	if v.Valid != valid || v.Code != code {
		t.Fatalf("validation = valid %v code %s (%s); want valid %v code %s", v.Valid, v.Code, v.Detail, valid, code)
	}
	if sentinel == nil {
		if v.Err() != nil {
			t.Fatalf("Err() = %v, want nil", v.Err())
		}
	} else if !errors.Is(v.Err(), sentinel) {
		t.Fatalf("Err() = %v, want %v", v.Err(), sentinel)
	}
}

func TestE2EValidationStatusCodes(t *testing.T) {
	s := newServer(t)
	c := newClient(t, s, licentrictest.EnvTest)
	noFP := licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}}

	fx := seed(t, s, noFP)
	v := mustValidate(t, c, fx.License.Key)
	expect(t, v, true, licentric.CodeValid, nil)
	if v.License == nil || v.License.ID != fx.License.ID || v.License.Policy == nil {
		t.Errorf("license in result = %+v", v.License)
	}

	expect(t, mustValidate(t, c, "NOPE-0000-0000-0000-0000"), false, licentric.CodeNotFound, licentric.ErrNotFound)

	for action, want := range map[string]struct {
		code licentric.Code
		err  error
	}{
		wire.ActionSuspend: {licentric.CodeSuspended, licentric.ErrSuspended},
		wire.ActionRevoke:  {licentric.CodeRevoked, licentric.ErrRevoked},
	} {
		fx := seed(t, s, noFP)
		if _, err := s.SetLicenseStatus(fx.Env, fx.License.ID, action); err != nil {
			t.Fatal(err)
		}
		expect(t, mustValidate(t, c, fx.License.Key), false, want.code, want.err)
	}
	fx = seed(t, s, noFP)
	if err := s.BanLicense(fx.Env, fx.License.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, mustValidate(t, c, fx.License.Key), false, licentric.CodeBanned, licentric.ErrBanned)

	// Uses: maxUses 2 allows two validations.
	fx = seed(t, s, licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false), MaxUses: licentric.Value(2)}})
	expect(t, mustValidate(t, c, fx.License.Key), true, licentric.CodeValid, nil)
	expect(t, mustValidate(t, c, fx.License.Key), true, licentric.CodeValid, nil)
	expect(t, mustValidate(t, c, fx.License.Key), false, licentric.CodeUsesExceeded, licentric.ErrUsesExceeded)

	// Fingerprints.
	fx = seed(t, s, licentrictest.Seed{}) // requireFingerprint defaults to true
	expect(t, mustValidate(t, c, fx.License.Key), false, licentric.CodeFingerprintNotFound, licentric.ErrFingerprintNotFound)
	expect(t, mustValidate(t, c, fx.License.Key, licentric.WithFingerprint(fpA)), false, licentric.CodeFingerprintNotFound, licentric.ErrFingerprintNotFound)
	m, err := c.Activate(t.Context(), fx.License.Key, licentric.ActivateParams{Fingerprint: fpA})
	if err != nil {
		t.Fatal(err)
	}
	v = mustValidate(t, c, fx.License.Key, licentric.WithFingerprint(fpA))
	expect(t, v, true, licentric.CodeValid, nil)
	if v.Machine == nil || v.Machine.ID != m.ID {
		t.Errorf("matched machine = %+v, want %s", v.Machine, m.ID)
	}

	// Entitlements: a code the license lacks.
	expect(t, mustValidate(t, c, fx.License.Key, licentric.WithFingerprint(fpA), licentric.WithEntitlements("no-such-feature")),
		false, licentric.CodeEntitlementsMissing, licentric.ErrEntitlementsMissing)
}

func TestE2EExpirationStrategies(t *testing.T) {
	s := newServer(t)
	c := newClient(t, s, licentrictest.EnvTest)
	mk := func(strategy string) *licentrictest.Fixture {
		return seed(t, s, licentrictest.Seed{Policy: licentric.PolicyRequest{
			RequireFingerprint: licentric.Value(false), DurationDays: licentric.Value(1), ExpirationStrategy: licentric.Value(strategy)}})
	}
	restrict, allow, revoke := mk(licentric.StrategyRestrictAccess), mk(licentric.StrategyAllowAccess), mk(licentric.StrategyRevoke)
	for _, fx := range []*licentrictest.Fixture{restrict, allow, revoke} {
		expect(t, mustValidate(t, c, fx.License.Key), true, licentric.CodeValid, nil)
	}
	s.Advance(48 * time.Hour)

	expect(t, mustValidate(t, c, restrict.License.Key), false, licentric.CodeExpired, licentric.ErrExpired)

	v := mustValidate(t, c, allow.License.Key)
	expect(t, v, true, licentric.CodeExpired, nil)
	if !v.Expired() {
		t.Error("ALLOW_ACCESS grace result does not report Expired")
	}

	expect(t, mustValidate(t, c, revoke.License.Key), false, licentric.CodeRevoked, licentric.ErrRevoked)
	if l, err := s.License(revoke.Env, revoke.License.ID); err != nil || l.Status != licentric.StatusRevoked {
		t.Errorf("REVOKE strategy left status %v (%v)", l, err)
	}
}

func TestE2EMachineLimitAndDeactivation(t *testing.T) {
	s := newServer(t)
	c := newClient(t, s, "")
	fx := seed(t, s, licentrictest.Seed{Env: licentrictest.EnvLive, Policy: licentric.PolicyRequest{MaxMachines: licentric.Value(1)}})
	key := fx.License.Key

	a, err := c.Activate(t.Context(), key, licentric.ActivateParams{Fingerprint: fpA, Name: "laptop"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Fingerprint != fpA || a.Name != "laptop" || a.LicenseID != fx.License.ID || a.Status != licentric.MachineActive {
		t.Errorf("machine = %+v", a)
	}
	_, err = c.Activate(t.Context(), key, licentric.ActivateParams{Fingerprint: fpB})
	var apiErr *licentric.APIError
	if !errors.Is(err, licentric.ErrMachineLimitExceeded) || !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("second activation: %v", err)
	}
	got, err := c.GetMachine(t.Context(), key, a.ID)
	if err != nil || got.ID != a.ID {
		t.Fatalf("GetMachine = %+v, %v", got, err)
	}
	if err := c.Deactivate(t.Context(), key, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.Deactivate(t.Context(), key, a.ID); !errors.Is(err, licentric.ErrNotFound) {
		t.Errorf("second Deactivate: %v", err)
	}
	if _, err := c.Activate(t.Context(), key, licentric.ActivateParams{Fingerprint: fpB}); err != nil {
		t.Errorf("activation after freeing the slot: %v", err)
	}

	// Lowering the limit below the live machines: MACHINE_LIMIT_EXCEEDED on validation.
	fx = seed(t, s, licentrictest.Seed{Env: licentrictest.EnvLive, Policy: licentric.PolicyRequest{MaxMachines: licentric.Value(2)}})
	for _, fp := range []string{fpA, fpB} {
		if _, err := c.Activate(t.Context(), fx.License.Key, licentric.ActivateParams{Fingerprint: fp}); err != nil {
			t.Fatal(err)
		}
	}
	patchLicense(t, s, fx.License.ID, `{"maxMachinesOverride":1}`)
	expect(t, mustValidate(t, c, fx.License.Key, licentric.WithFingerprint(fpA)), false,
		licentric.CodeMachineLimitExceeded, licentric.ErrMachineLimitExceeded)
}

// patchLicense changes a live license through the management API directly
// (the client's management services live elsewhere).
func patchLicense(t *testing.T, s *licentrictest.Server, id, body string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPatch, s.URL+wire.APIPrefix+wire.ResourcePath(wire.PathLicenses, id), strings.NewReader(body))
	req.Header.Set(wire.HeaderAuthorization, wire.SchemeBearer+" "+s.LiveAPIKey())
	req.Header.Set(wire.HeaderContentType, wire.ContentTypeJSON)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH license: HTTP %d", resp.StatusCode)
	}
}

func TestE2EFingerprintUniqueness(t *testing.T) {
	s := newServer(t)
	c := newClient(t, s, licentrictest.EnvTest)
	fx := seed(t, s, licentrictest.Seed{Policy: licentric.PolicyRequest{FingerprintUniqueness: licentric.Value(licentric.UniquePerPolicy)}})
	first, err := c.Activate(t.Context(), fx.License.Key, licentric.ActivateParams{Fingerprint: fpA})
	if err != nil {
		t.Fatal(err)
	}
	// Same license: a first-attempt conflict is an error naming the machine.
	_, err = c.Activate(t.Context(), fx.License.Key, licentric.ActivateParams{Fingerprint: fpA})
	var apiErr *licentric.APIError
	if !errors.Is(err, licentric.ErrFingerprintConflict) || !errors.As(err, &apiErr) || apiErr.MachineID() != first.ID {
		t.Fatalf("same-license conflict: %v", err)
	}
	// Another license of the same policy: conflict without a machine id.
	other, err := s.AddLicense(fx.Env, fx.Policy.ID, licentric.LicenseRequest{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Activate(t.Context(), other.Key, licentric.ActivateParams{Fingerprint: fpA})
	if !errors.Is(err, licentric.ErrFingerprintConflict) || !errors.As(err, &apiErr) || apiErr.MachineID() != "" {
		t.Fatalf("per-policy conflict: %v", err)
	}
	// PER_LICENSE: another license may use the fingerprint.
	fx2 := seed(t, s, licentrictest.Seed{})
	other2, err := s.AddLicense(fx2.Env, fx2.Policy.ID, licentric.LicenseRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{fx2.License.Key, other2.Key} {
		if _, err := c.Activate(t.Context(), key, licentric.ActivateParams{Fingerprint: fpB}); err != nil {
			t.Fatalf("PER_LICENSE activation: %v", err)
		}
	}
}

func TestE2EHeartbeatDeathAndRevival(t *testing.T) {
	s := newServer(t)
	c := newClient(t, s, licentrictest.EnvTest)
	policy := func(cull string) licentrictest.Seed {
		return licentrictest.Seed{Policy: licentric.PolicyRequest{
			RequireHeartbeat: licentric.Value(true), HeartbeatIntervalMinutes: licentric.Value(10), HeartbeatCullStrategy: licentric.Value(cull)}}
	}
	keep := seed(t, s, policy(licentric.CullKeepDead))
	culled := seed(t, s, policy(licentric.CullDeactivateDead))
	mk, err := c.Activate(t.Context(), keep.License.Key, licentric.ActivateParams{Fingerprint: fpA})
	if err != nil {
		t.Fatal(err)
	}
	mc, err := c.Activate(t.Context(), culled.License.Key, licentric.ActivateParams{Fingerprint: fpA})
	if err != nil {
		t.Fatal(err)
	}
	s.Advance(11 * time.Minute)

	expect(t, mustValidate(t, c, keep.License.Key, licentric.WithFingerprint(fpA)), false,
		licentric.CodeHeartbeatRequired, licentric.ErrHeartbeatRequired)
	revived, err := c.Heartbeat(t.Context(), keep.License.Key, mk.ID)
	if err != nil || revived.Status != licentric.MachineActive || !revived.LastHeartbeatAt.Equal(s.Now()) {
		t.Fatalf("revival heartbeat = %+v, %v", revived, err)
	}
	expect(t, mustValidate(t, c, keep.License.Key, licentric.WithFingerprint(fpA)), true, licentric.CodeValid, nil)

	if _, err := c.Heartbeat(t.Context(), culled.License.Key, mc.ID); !errors.Is(err, licentric.ErrNotFound) {
		t.Errorf("heartbeat of a culled machine: %v", err)
	}
	expect(t, mustValidate(t, c, culled.License.Key, licentric.WithFingerprint(fpA)), false,
		licentric.CodeFingerprintNotFound, licentric.ErrFingerprintNotFound)
}

func TestE2EHeartbeatMonitorKeepsMachineAlive(t *testing.T) {
	s := newServer(t)
	clk := clocktest.New(s.Now())
	c := newClient(t, s, licentrictest.EnvTest, licentric.WithClock(clk))
	fx := seed(t, s, licentrictest.Seed{Policy: licentric.PolicyRequest{
		RequireHeartbeat: licentric.Value(true), HeartbeatIntervalMinutes: licentric.Value(10)}})
	m, err := c.Activate(t.Context(), fx.License.Key, licentric.ActivateParams{Fingerprint: fpA})
	if err != nil {
		t.Fatal(err)
	}
	mon, err := c.StartHeartbeat(t.Context(), fx.License.Key, m.ID, licentric.WithHeartbeatPolicy(fx.Policy))
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Stop()
	clk.BlockUntil(1)
	hb := wire.SubPath(wire.PathMachines, m.ID, wire.SegmentHeartbeat)
	// An hour of server time passes in monitor intervals; the machine stays alive.
	for range 12 {
		s.Advance(mon.Interval())
		clk.Advance(mon.Interval())
		clk.BlockUntil(1)
	}
	if n := s.CountRequests(http.MethodPost, hb); n != 13 {
		t.Errorf("%d heartbeats, want 13", n)
	}
	expect(t, mustValidate(t, c, fx.License.Key, licentric.WithFingerprint(fpA)), true, licentric.CodeValid, nil)

	// The machine is deactivated elsewhere: the next beat meets 404 and the monitor ends.
	if err := c.Deactivate(t.Context(), fx.License.Key, m.ID); err != nil {
		t.Fatal(err)
	}
	clk.Advance(mon.Interval())
	<-mon.Done()
	if !errors.Is(mon.Err(), licentric.ErrNotFound) {
		t.Errorf("monitor Err = %v", mon.Err())
	}
	select {
	case err := <-mon.Errors():
		if !errors.Is(err, licentric.ErrNotFound) {
			t.Errorf("Errors() = %v", err)
		}
	default:
		t.Error("404 not reported on Errors()")
	}
}

func TestE2EEnvironmentIsolation(t *testing.T) {
	s := newServer(t)
	live := seed(t, s, licentrictest.Seed{Env: licentrictest.EnvLive, Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	test := seed(t, s, licentrictest.Seed{Env: licentrictest.EnvTest, Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	none, liveC, testC := newClient(t, s, ""), newClient(t, s, licentrictest.EnvLive), newClient(t, s, licentrictest.EnvTest)
	if testC.Environment() != licentric.EnvironmentTest || liveC.Environment() != licentric.EnvironmentLive || none.Environment() != licentric.EnvironmentNone {
		t.Fatal("Environment() mismatch")
	}
	cases := []struct {
		c    *licentric.Client
		key  string
		want licentric.Code
	}{
		{none, live.License.Key, licentric.CodeValid},
		{none, test.License.Key, licentric.CodeNotFound},
		{liveC, live.License.Key, licentric.CodeValid},
		{liveC, test.License.Key, licentric.CodeNotFound},
		{testC, test.License.Key, licentric.CodeValid},
		{testC, live.License.Key, licentric.CodeNotFound},
	}
	for i, tc := range cases {
		if v := mustValidate(t, tc.c, tc.key); v.Code != tc.want {
			t.Errorf("case %d: code %s, want %s", i, v.Code, tc.want)
		}
	}
	// Scheme checks: validate-key sends Bearer only when a key is configured.
	s.ResetRequests()
	mustValidate(t, none, live.License.Key)
	mustValidate(t, testC, test.License.Key)
	reqs := s.Requests()
	if len(reqs) != 2 || reqs[0].Scheme != "" || reqs[1].Scheme != wire.SchemeBearer {
		t.Errorf("schemes = %+v", reqs)
	}
	// A revoked API key is an error, not a NOT_FOUND result.
	s.RevokeAPIKey(s.TestAPIKey())
	if _, err := testC.Validate(t.Context(), test.License.Key); !errors.Is(err, licentric.ErrUnauthorized) {
		t.Errorf("revoked API key: %v", err)
	}
}

func TestE2ERetriesAfterInjectedFaults(t *testing.T) {
	s := newServer(t)
	c := newClient(t, s, licentrictest.EnvTest)
	fx := seed(t, s, licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	vk := wire.PathValidateKey

	for _, f := range []licentrictest.Fault{
		{Path: vk, Status: http.StatusInternalServerError, Times: 2},
		{Path: vk, Status: http.StatusTooManyRequests, RetryAfter: time.Second, Times: 2},
		{Path: vk, Drop: true, Times: 2},
	} {
		s.ResetRequests()
		s.InjectFault(f)
		v, err := c.Validate(t.Context(), fx.License.Key)
		if err != nil || !v.Valid {
			t.Fatalf("fault %+v: %+v, %v", f, v, err)
		}
		if n := s.CountRequests(http.MethodPost, vk); n != 3 {
			t.Errorf("fault %+v: %d tries, want 3", f, n)
		}
	}

	// Exhausted retries: the last error, after 1 + MaxRetries tries.
	s.ResetRequests()
	s.InjectFault(licentrictest.Fault{Path: vk, Status: http.StatusServiceUnavailable, Times: 10})
	_, err := c.Validate(t.Context(), fx.License.Key)
	if !errors.Is(err, licentric.ErrServer) {
		t.Errorf("exhausted 503: %v", err)
	}
	if n := s.CountRequests(http.MethodPost, vk); n != testkit.FastRetry.MaxRetries+1 {
		t.Errorf("%d tries, want %d", n, testkit.FastRetry.MaxRetries+1)
	}
	s.ClearFaults()

	s.ResetRequests()
	s.InjectFault(licentrictest.Fault{Path: vk, Status: http.StatusTooManyRequests, RetryAfter: 3 * time.Second, Times: 10})
	_, err = c.Validate(t.Context(), fx.License.Key)
	var rl *licentric.RateLimitError
	if !errors.As(err, &rl) || !errors.Is(err, licentric.ErrRateLimited) || rl.RetryAfter != 3*time.Second {
		t.Errorf("exhausted 429: %v", err)
	}
	s.ClearFaults()

	// 4xx are never retried.
	s.ResetRequests()
	s.InjectFault(licentrictest.Fault{Path: vk, Status: http.StatusBadRequest})
	if _, err := c.Validate(t.Context(), fx.License.Key); !errors.Is(err, licentric.ErrInvalidRequest) {
		t.Errorf("400: %v", err)
	}
	if n := s.CountRequests(http.MethodPost, vk); n != 1 {
		t.Errorf("400 tried %d times", n)
	}
}

func TestE2ERateLimitHeadersRecorded(t *testing.T) {
	s := licentrictest.NewServer()
	t.Cleanup(s.Close)
	c := newClient(t, s, licentrictest.EnvTest)
	fx := seed(t, s, licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	mustValidate(t, c, fx.License.Key)
	mustValidate(t, c, fx.License.Key)
	rl, ok := c.RateLimit(licentric.TierValidation)
	if !ok || rl.Limit != wire.LimitValidation || rl.Remaining != wire.LimitValidation-2 || rl.Reset.IsZero() {
		t.Errorf("RateLimit = %+v, %v", rl, ok)
	}
}

// cancelAfterFirst is a transport that cancels a context once the first
// response has arrived, i.e. while the client waits to retry.
type cancelAfterFirst struct {
	next   http.RoundTripper
	cancel context.CancelFunc
}

func (t cancelAfterFirst) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	t.cancel()
	return resp, err
}

func TestE2ECancellationDuringBackoff(t *testing.T) {
	s := newServer(t)
	fx := seed(t, s, licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	ctx, cancel := context.WithCancel(t.Context())
	hc := &http.Client{Transport: cancelAfterFirst{next: s.Client().Transport, cancel: cancel}}
	if hc.Transport.(cancelAfterFirst).next == nil {
		hc.Transport = cancelAfterFirst{next: http.DefaultTransport, cancel: cancel}
	}
	// An hour between tries: only cancellation can end this call.
	c := newClient(t, s, licentrictest.EnvTest, licentric.WithHTTPClient(hc),
		licentric.WithRetry(licentric.RetryPolicy{MaxRetries: 5, MinWait: time.Hour, MaxWait: time.Hour}))
	s.InjectFault(licentrictest.Fault{Path: wire.PathValidateKey, Status: http.StatusServiceUnavailable, RetryAfter: time.Hour, Times: 10})
	_, err := c.Validate(ctx, fx.License.Key)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := s.CountRequests(http.MethodPost, wire.PathValidateKey); n != 1 {
		t.Errorf("%d tries", n)
	}
}

func TestE2ELostActivationResponseIsRecovered(t *testing.T) {
	s := newServer(t)
	c := newClient(t, s, "")
	fx := seed(t, s, licentrictest.Seed{Env: licentrictest.EnvLive, Policy: licentric.PolicyRequest{MaxMachines: licentric.Value(1)}})
	s.InjectFault(licentrictest.Fault{Method: http.MethodPost, Path: wire.PathMachines, DropResponse: true})
	m, err := c.Activate(t.Context(), fx.License.Key, licentric.ActivateParams{Fingerprint: fpA})
	if err != nil {
		t.Fatalf("Activate after a lost response: %v", err)
	}
	if m.Fingerprint != fpA {
		t.Errorf("machine = %+v", m)
	}
	if n := s.CountRequests(http.MethodPost, wire.PathMachines); n != 2 {
		t.Errorf("%d activation tries, want 2", n)
	}
	if n := s.CountRequests(http.MethodGet, wire.ResourcePath(wire.PathMachines, m.ID)); n != 1 {
		t.Errorf("%d machine fetches, want 1", n)
	}
	l, err := s.License(fx.Env, fx.License.ID)
	if err != nil || l.MachineCount != 1 {
		t.Errorf("license has %d machines (%v)", l.MachineCount, err)
	}
}

func TestE2EKeysNeverInErrorsOrLogs(t *testing.T) {
	s := newServer(t)
	var mu sync.Mutex
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	apiKey := s.TestAPIKey()
	c := newClient(t, s, licentrictest.EnvTest, licentric.WithLogger(logger))
	fx := seed(t, s, licentrictest.Seed{Policy: licentric.PolicyRequest{MaxMachines: licentric.Value(1)}})
	key := fx.License.Key

	var errs []error
	collect := func(err error) { errs = append(errs, err) }
	_, err := c.Activate(t.Context(), key, licentric.ActivateParams{Fingerprint: fpA})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Activate(t.Context(), key, licentric.ActivateParams{Fingerprint: fpB}) // limit
	collect(err)
	_, err = c.Activate(t.Context(), key, licentric.ActivateParams{Fingerprint: fpA}) // conflict
	collect(err)
	collect(c.Deactivate(t.Context(), key, "no-such-machine"))
	_, err = c.Heartbeat(t.Context(), key+"X", "no-such-machine")
	collect(err)
	s.InjectFault(licentrictest.Fault{Status: http.StatusBadGateway, Times: 10})
	_, err = c.Validate(t.Context(), key)
	collect(err)
	s.ClearFaults()
	s.RevokeAPIKey(apiKey)
	_, err = c.Validate(t.Context(), key)
	collect(err)

	for i, err := range errs {
		if err == nil {
			t.Fatalf("call %d succeeded", i)
		}
		if text := err.Error(); strings.Contains(text, key) || strings.Contains(text, apiKey) {
			t.Errorf("call %d: error leaks a key: %s", i, text)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if logs.Len() == 0 {
		t.Fatal("no logs")
	}
	if strings.Contains(logs.String(), key) || strings.Contains(logs.String(), apiKey) {
		t.Errorf("logs leak a key:\n%s", logs.String())
	}
	// Each log line is valid JSON with the documented fields.
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["method"] == nil || rec["attempt"] == nil {
			t.Errorf("log line %s", line)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func TestE2ECallerHTTPClientNotMutated(t *testing.T) {
	s := newServer(t)
	hc := s.Client()
	before := *hc
	c := newClient(t, s, licentrictest.EnvTest, licentric.WithHTTPClient(hc))
	fx := seed(t, s, licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	s.InjectFault(licentrictest.Fault{Path: wire.PathValidateKey, Status: http.StatusInternalServerError})
	mustValidate(t, c, fx.License.Key)
	after := *hc
	if before.Transport != after.Transport || before.Timeout != after.Timeout || before.Jar != after.Jar ||
		(before.CheckRedirect == nil) != (after.CheckRedirect == nil) {
		t.Errorf("caller's client changed: before %+v after %+v", before, after)
	}
}
