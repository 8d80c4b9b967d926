package licentric_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/cache"
	"github.com/licentric/licentric-go/internal/clocktest"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/webhook"
)

// simStart is a whole minute, so that rate windows start with the test.
var simStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// sim is a server and a client clock that move together.
type sim struct {
	srv *licentrictest.Server
	clk *clocktest.Clock
}

// newSim starts a server with its real rate limits (unless opts say
// otherwise) and a fake client clock at the same time.
func newSim(t *testing.T, opts ...licentrictest.Option) *sim {
	t.Helper()
	srv := licentrictest.NewServer(append([]licentrictest.Option{licentrictest.WithFrozenClock(simStart)}, opts...)...)
	t.Cleanup(srv.Close)
	return &sim{srv: srv, clk: clocktest.New(simStart)}
}

// Advance moves both clocks by d, the server's first: a client clock that
// is never ahead of the server's never starts a window the server has not.
func (s *sim) Advance(d time.Duration) {
	s.srv.Advance(d)
	s.clk.Advance(d)
}

// client returns a client of the server in the test environment on the
// fake clock, with the default cache and budget unless opts change them.
func (s *sim) client(t *testing.T, opts ...licentric.Option) *licentric.Client {
	t.Helper()
	return testkit.Client(t, s.srv, append([]licentric.Option{licentric.WithClock(s.clk), licentric.WithRetry(testkit.FastRetry)}, opts...)...)
}

// license seeds a license that needs no fingerprint.
func (s *sim) license(t *testing.T, req licentric.LicenseRequest) *licentrictest.License {
	t.Helper()
	fx, err := s.srv.Seed(licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}, License: req})
	if err != nil {
		t.Fatalf("Seed: %v", err)
	}
	return fx.License
}

func (s *sim) validations() int {
	return s.srv.CountRequests(http.MethodPost, wire.PathValidateKey)
}

func TestCacheAnswersRepeatedValidations(t *testing.T) {
	s := newSim(t)
	c := s.client(t)
	l := s.license(t, licentric.LicenseRequest{})

	v := mustValidate(t, c, l.Key)
	if !v.Valid || v.FromCache || v.Age != 0 || v.Stale {
		t.Fatalf("first validation = %+v", v)
	}
	s.Advance(3 * time.Minute)
	v = mustValidate(t, c, l.Key)
	if !v.Valid || !v.FromCache || v.Age != 3*time.Minute || v.Stale || v.StaleReason != nil {
		t.Fatalf("repeat within the TTL = %+v", v)
	}
	if n := s.validations(); n != 1 {
		t.Fatalf("%d requests for two validations within the TTL, want 1", n)
	}
	// A caller may change its copy without changing the cache.
	v.Valid, v.Code = false, licentric.CodeBanned
	if v = mustValidate(t, c, l.Key); !v.Valid || v.Code != licentric.CodeValid {
		t.Fatalf("cached result changed with a caller's copy: %+v", v)
	}

	s.Advance(licentric.DefaultCacheTTL - 3*time.Minute)
	if v = mustValidate(t, c, l.Key); v.FromCache || !v.Valid {
		t.Fatalf("after the TTL = %+v", v)
	}
	if n := s.validations(); n != 2 {
		t.Fatalf("%d requests after the TTL, want 2", n)
	}
}

func TestCacheTTLOption(t *testing.T) {
	s := newSim(t)
	c := s.client(t, licentric.WithCacheTTL(30*time.Second))
	l := s.license(t, licentric.LicenseRequest{})
	mustValidate(t, c, l.Key)
	s.Advance(29 * time.Second)
	if v := mustValidate(t, c, l.Key); !v.FromCache {
		t.Fatalf("within 30 s: %+v", v)
	}
	s.Advance(time.Second)
	if v := mustValidate(t, c, l.Key); v.FromCache {
		t.Fatalf("at 30 s: %+v", v)
	}

	off := s.client(t, licentric.WithoutValidationCache())
	before := s.validations()
	mustValidate(t, off, l.Key)
	mustValidate(t, off, l.Key)
	if n := s.validations() - before; n != 2 {
		t.Errorf("without a cache: %d requests for 2 validations", n)
	}

	// WithoutValidationCache wins wherever it stands among the options.
	store := cache.NewMemory()
	for name, opts := range map[string][]licentric.Option{
		"before": {licentric.WithoutValidationCache(), licentric.WithValidationCache(store), licentric.WithCacheTTL(time.Hour)},
		"after":  {licentric.WithValidationCache(store), licentric.WithCacheTTL(time.Hour), licentric.WithoutValidationCache()},
	} {
		off := s.client(t, opts...)
		before := s.validations()
		mustValidate(t, off, l.Key)
		if v := mustValidate(t, off, l.Key); v.FromCache {
			t.Errorf("WithoutValidationCache %s WithValidationCache: answered from the cache", name)
		}
		if n := s.validations() - before; n != 2 {
			t.Errorf("WithoutValidationCache %s WithValidationCache: %d requests for 2 validations", name, n)
		}
	}
	if n := store.Len(); n != 0 {
		t.Errorf("the store given with WithoutValidationCache holds %d entries", n)
	}

	for _, opt := range []licentric.Option{
		licentric.WithCacheTTL(0), licentric.WithCacheTTL(-time.Second),
		licentric.WithValidationCache(nil),
		licentric.WithStaleIfError(-time.Second),
		licentric.WithRateBudget("PUBLIC", 10), licentric.WithRateBudget(licentric.TierValidation, -1),
	} {
		if _, err := licentric.NewClient(opt); !errors.Is(err, licentric.ErrInvalidArgument) {
			t.Errorf("bad option accepted: %v", err)
		}
	}
}

func TestCacheKeyCoversTheRequest(t *testing.T) {
	s := newSim(t)
	c := s.client(t)
	fx, err := s.srv.Seed(licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	if err != nil {
		t.Fatal(err)
	}
	key := fx.License.Key
	if _, err := c.Activate(t.Context(), key, licentric.ActivateParams{Fingerprint: fpA}); err != nil {
		t.Fatal(err)
	}
	s.srv.ResetRequests()

	steps := []struct {
		name    string
		opts    []licentric.ValidateOption
		request bool // a new request is expected
		code    licentric.Code
	}{
		{"plain", nil, true, licentric.CodeValid},
		{"plain again", nil, false, licentric.CodeValid},
		{"fingerprint A", []licentric.ValidateOption{licentric.WithFingerprint(fpA)}, true, licentric.CodeValid},
		{"fingerprint B", []licentric.ValidateOption{licentric.WithFingerprint(fpB)}, true, licentric.CodeFingerprintNotFound},
		{"fingerprint A again", []licentric.ValidateOption{licentric.WithFingerprint(fpA)}, false, licentric.CodeValid},
		{"entitlements a,b", []licentric.ValidateOption{licentric.WithEntitlements("a", "b")}, true, licentric.CodeEntitlementsMissing},
		{"entitlements b,a,a", []licentric.ValidateOption{licentric.WithEntitlements("b"), licentric.WithEntitlements("a", "a")}, false, licentric.CodeEntitlementsMissing},
		{"entitlements a", []licentric.ValidateOption{licentric.WithEntitlements("a")}, true, licentric.CodeEntitlementsMissing},
		{"fingerprint A + entitlements a,b", []licentric.ValidateOption{licentric.WithFingerprint(fpA), licentric.WithEntitlements("b", "a")}, true, licentric.CodeEntitlementsMissing},
	}
	for _, st := range steps {
		before := s.validations()
		v := mustValidate(t, c, key, st.opts...)
		if got := s.validations() - before; (got == 1) != st.request || got > 1 {
			t.Errorf("%s: %d requests, want a request: %v", st.name, got, st.request)
		}
		if v.Code != st.code || v.FromCache == st.request {
			t.Errorf("%s: code %s fromCache %v, want %s", st.name, v.Code, v.FromCache, st.code)
		}
	}

	// Environments: a live client sharing the store must not see the test
	// client's result; the license is not found in live.
	store := cache.NewMemory()
	testC := s.client(t, licentric.WithValidationCache(store), licentric.WithCacheTTL(time.Hour))
	liveC := s.client(t, licentric.WithValidationCache(store), licentric.WithCacheTTL(time.Hour), licentric.WithAPIKey(s.srv.LiveAPIKey()))
	expect(t, mustValidate(t, testC, key), true, licentric.CodeValid, nil)
	v := mustValidate(t, liveC, key)
	expect(t, v, false, licentric.CodeNotFound, licentric.ErrNotFound)
	if v.FromCache {
		t.Error("live client answered from the test client's entry")
	}
}

func TestCachedResultNeverOutlivesExpiry(t *testing.T) {
	s := newSim(t)
	c := s.client(t)
	l := s.license(t, licentric.LicenseRequest{ExpiresAt: licentric.Date(simStart.Add(3 * time.Minute))})
	expect(t, mustValidate(t, c, l.Key), true, licentric.CodeValid, nil)
	s.Advance(3*time.Minute - time.Millisecond)
	if v := mustValidate(t, c, l.Key); !v.FromCache || !v.Valid {
		t.Fatalf("before expiry: %+v", v)
	}
	s.Advance(time.Millisecond)
	v := mustValidate(t, c, l.Key)
	expect(t, v, false, licentric.CodeExpired, licentric.ErrExpired)
	if v.FromCache {
		t.Fatal("expired license answered from the cache")
	}

	// Nor is it served stale past the expiry when the service is down.
	l = s.license(t, licentric.LicenseRequest{ExpiresAt: licentric.Date(s.clk.Now().Add(time.Hour))})
	c = s.client(t, licentric.WithCacheTTL(time.Minute), licentric.WithStaleIfError(24*time.Hour))
	mustValidate(t, c, l.Key)
	s.srv.InjectFault(licentrictest.Fault{Path: wire.PathValidateKey, Status: http.StatusServiceUnavailable, Times: 100})
	s.Advance(59 * time.Minute)
	if v, err := c.Validate(t.Context(), l.Key); err != nil || !v.Stale || !v.Valid {
		t.Fatalf("down before expiry: %+v, %v", v, err)
	}
	s.Advance(time.Minute)
	if v, err := c.Validate(t.Context(), l.Key); !errors.Is(err, licentric.ErrServer) {
		t.Fatalf("down after expiry: %+v, %v; want the error", v, err)
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	s := newSim(t)
	c := s.client(t)
	l := s.license(t, licentric.LicenseRequest{})
	s.srv.InjectFault(licentrictest.Fault{Path: wire.PathValidateKey, Status: http.StatusInternalServerError, Times: testkit.FastRetry.MaxRetries + 1})
	if _, err := c.Validate(t.Context(), l.Key); !errors.Is(err, licentric.ErrServer) {
		t.Fatalf("500: %v", err)
	}
	v := mustValidate(t, c, l.Key)
	if v.FromCache || !v.Valid {
		t.Fatalf("after an error: %+v", v)
	}
	// A refused argument is not cached either (and sends nothing).
	before := s.validations()
	if _, err := c.Validate(t.Context(), l.Key, licentric.WithFingerprint("short")); !errors.Is(err, licentric.ErrInvalidArgument) {
		t.Fatalf("short fingerprint: %v", err)
	}
	if _, err := c.Validate(t.Context(), l.Key, licentric.WithEntitlements("")); !errors.Is(err, licentric.ErrInvalidArgument) {
		t.Fatalf("empty entitlement: %v", err)
	}
	if s.validations() != before {
		t.Fatal("a refused argument sent a request")
	}
}

func TestFreshValidationBypassesAndRefreshes(t *testing.T) {
	s := newSim(t)
	c := s.client(t)
	l := s.license(t, licentric.LicenseRequest{})
	mustValidate(t, c, l.Key)
	if _, err := s.srv.SetLicenseStatus(licentrictest.EnvTest, l.ID, wire.ActionSuspend); err != nil {
		t.Fatal(err)
	}
	// No webhook, no invalidation: the cache still says VALID...
	if v := mustValidate(t, c, l.Key); !v.FromCache || !v.Valid {
		t.Fatalf("cached: %+v", v)
	}
	// ...until a fresh validation asks and stores the new answer.
	v := mustValidate(t, c, l.Key, licentric.WithFreshValidation())
	expect(t, v, false, licentric.CodeSuspended, licentric.ErrSuspended)
	if v.FromCache {
		t.Fatal("fresh validation answered from the cache")
	}
	v = mustValidate(t, c, l.Key)
	expect(t, v, false, licentric.CodeSuspended, licentric.ErrSuspended)
	if !v.FromCache {
		t.Fatal("fresh answer was not stored")
	}
}

func TestInvalidateLicense(t *testing.T) {
	s := newSim(t)
	c := s.client(t)
	l := s.license(t, licentric.LicenseRequest{})
	other := s.license(t, licentric.LicenseRequest{})
	mustValidate(t, c, l.Key)
	mustValidate(t, c, l.Key, licentric.WithEntitlements("x"))
	mustValidate(t, c, other.Key)
	if _, err := s.srv.SetLicenseStatus(licentrictest.EnvTest, l.ID, wire.ActionSuspend); err != nil {
		t.Fatal(err)
	}

	c.InvalidateLicense(l.Key)
	expect(t, mustValidate(t, c, l.Key), false, licentric.CodeSuspended, licentric.ErrSuspended)
	if v := mustValidate(t, c, l.Key, licentric.WithEntitlements("x")); v.FromCache || v.Code != licentric.CodeSuspended {
		t.Errorf("entitlement entry of the license survived: %+v", v)
	}
	if v := mustValidate(t, c, other.Key); !v.FromCache {
		t.Error("another license's entry was dropped")
	}

	// By id: the client learned the id from the results.
	if _, err := s.srv.SetLicenseStatus(licentrictest.EnvTest, l.ID, wire.ActionReinstate); err != nil {
		t.Fatal(err)
	}
	if !c.InvalidateLicenseID(l.ID) {
		t.Fatal("InvalidateLicenseID does not know a validated license")
	}
	expect(t, mustValidate(t, c, l.Key), true, licentric.CodeValid, nil)
	if c.InvalidateLicenseID("lic_unknown") {
		t.Error("unknown id reported as known")
	}
}

// TestOwnWritesInvalidate: a change made through the client's own
// management API or machine calls is never contradicted by its cache.
func TestOwnWritesInvalidate(t *testing.T) {
	s := newSim(t)
	c := s.client(t)
	fx, err := s.srv.Seed(licentrictest.Seed{})
	if err != nil {
		t.Fatal(err)
	}
	key := fx.License.Key
	expect(t, mustValidate(t, c, key, licentric.WithFingerprint(fpA)), false, licentric.CodeFingerprintNotFound, licentric.ErrFingerprintNotFound)
	m, err := c.Activate(t.Context(), key, licentric.ActivateParams{Fingerprint: fpA})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, mustValidate(t, c, key, licentric.WithFingerprint(fpA)), true, licentric.CodeValid, nil)
	if _, err := c.Licenses.Suspend(t.Context(), fx.License.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, mustValidate(t, c, key, licentric.WithFingerprint(fpA)), false, licentric.CodeSuspended, licentric.ErrSuspended)
	if _, err := c.Licenses.Reinstate(t.Context(), fx.License.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, mustValidate(t, c, key, licentric.WithFingerprint(fpA)), true, licentric.CodeValid, nil)
	if err := c.Deactivate(t.Context(), key, m.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, mustValidate(t, c, key, licentric.WithFingerprint(fpA)), false, licentric.CodeFingerprintNotFound, licentric.ErrFingerprintNotFound)

	// The same when the response of a write is lost and the client
	// recovers (activation through FINGERPRINT_CONFLICT, a transition or
	// delete refused on the retry because the first attempt acted).
	validate := func() *licentric.Validation { return mustValidate(t, c, key, licentric.WithFingerprint(fpA)) }
	lose := func(method, path string) {
		s.srv.InjectFault(licentrictest.Fault{Method: method, Path: path, DropResponse: true})
	}
	lose(http.MethodPost, wire.PathMachines)
	if m, err = c.Activate(t.Context(), key, licentric.ActivateParams{Fingerprint: fpA}); err != nil {
		t.Fatal(err)
	}
	expect(t, validate(), true, licentric.CodeValid, nil)
	lose(http.MethodPost, "/licenses/"+fx.License.ID+"/suspend")
	if _, err := c.Licenses.Suspend(t.Context(), fx.License.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, validate(), false, licentric.CodeSuspended, licentric.ErrSuspended)
	if _, err := c.Licenses.Reinstate(t.Context(), fx.License.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, validate(), true, licentric.CodeValid, nil)
	lose(http.MethodDelete, "/machines/"+m.ID)
	if err := c.Deactivate(t.Context(), key, m.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, validate(), false, licentric.CodeFingerprintNotFound, licentric.ErrFingerprintNotFound)
	// Through the management API.
	lose(http.MethodPost, wire.PathMachines)
	if m, err = c.Machines.Create(t.Context(), &licentric.MachineRequest{LicenseID: fx.License.ID, Fingerprint: fpA}); err != nil {
		t.Fatal(err)
	}
	expect(t, validate(), true, licentric.CodeValid, nil)
	lose(http.MethodDelete, "/machines/"+m.ID)
	if err := c.Machines.Delete(t.Context(), m.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, validate(), false, licentric.CodeFingerprintNotFound, licentric.ErrFingerprintNotFound)
}

func TestWebhookSuspensionSeenAtOnce(t *testing.T) {
	s := newSim(t, licentrictest.WithWebhookBackoff(time.Millisecond))
	c := s.client(t)
	admin := s.client(t, licentric.WithoutValidationCache()) // another process: its writes do not touch c's cache
	fx, err := s.srv.Seed(licentrictest.Seed{})
	if err != nil {
		t.Fatal(err)
	}
	key := fx.License.Key

	var mu sync.Mutex
	var seen []string
	h := handlerFor(t, c, &mu, &seen)
	hs := httptest.NewServer(h.handler)
	t.Cleanup(hs.Close)
	wh, err := admin.Webhooks.Create(t.Context(), &licentric.WebhookRequest{URL: licentric.Value(hs.URL), Events: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	h.setSecret(wh.Secret)

	if _, err := c.Activate(t.Context(), key, licentric.ActivateParams{Fingerprint: fpA}); err != nil {
		t.Fatal(err)
	}
	expect(t, mustValidate(t, c, key, licentric.WithFingerprint(fpA)), true, licentric.CodeValid, nil)
	flush(t, s)
	if v := mustValidate(t, c, key, licentric.WithFingerprint(fpA)); !v.FromCache {
		// license.activated (first validation) dropped the entry once.
		expect(t, v, true, licentric.CodeValid, nil)
	}
	flush(t, s)
	if v := mustValidate(t, c, key, licentric.WithFingerprint(fpA)); !v.FromCache {
		t.Fatalf("validation.* events must not drop the cache: %+v", v)
	}

	// Suspended by another process: the webhook arrives and the next
	// Validate says so at once, long before the TTL.
	if _, err := admin.Licenses.Suspend(t.Context(), fx.License.ID); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	s.Advance(time.Second)
	v := mustValidate(t, c, key, licentric.WithFingerprint(fpA))
	expect(t, v, false, licentric.CodeSuspended, licentric.ErrSuspended)
	if v.FromCache {
		t.Fatal("SUSPENDED came from the cache")
	}

	// machine.* events carry only the license id: the client maps it.
	if _, err := admin.Licenses.Reinstate(t.Context(), fx.License.ID); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	expect(t, mustValidate(t, c, key, licentric.WithFingerprint(fpA)), true, licentric.CodeValid, nil)
	var mID string
	for m, err := range admin.Machines.List(t.Context(), &licentric.MachineListOptions{LicenseID: fx.License.ID}) {
		if err != nil {
			t.Fatal(err)
		}
		mID = m.ID
	}
	if err := admin.Machines.Delete(t.Context(), mID); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	expect(t, mustValidate(t, c, key, licentric.WithFingerprint(fpA)), false, licentric.CodeFingerprintNotFound, licentric.ErrFingerprintNotFound)

	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 {
		t.Error("the user's callback never ran")
	}
}

type testHook struct {
	handler http.Handler
	secret  atomic.Pointer[string]
}

func (h *testHook) setSecret(s string) { h.secret.Store(&s) }

// handlerFor builds c's webhook handler once the secret is known (the
// secret comes from registering the handler's URL).
func handlerFor(t *testing.T, c *licentric.Client, mu *sync.Mutex, seen *[]string) *testHook {
	h := &testHook{}
	var once sync.Once
	var wh http.Handler
	h.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() {
			var err error
			wh, err = c.WebhookHandler([]string{*h.secret.Load()}, func(_ context.Context, e *webhook.Event) error {
				mu.Lock()
				*seen = append(*seen, e.Type)
				mu.Unlock()
				return nil
			})
			if err != nil {
				t.Errorf("WebhookHandler: %v", err)
			}
		})
		wh.ServeHTTP(w, r)
	})
	return h
}

func flush(t *testing.T, s *sim) {
	t.Helper()
	if err := s.srv.FlushWebhooks(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, d := range s.srv.Deliveries() {
		if d.Status != http.StatusOK {
			t.Fatalf("delivery %s %s: status %d %s", d.EventType, d.EventID, d.Status, d.Err)
		}
	}
}

func TestWebhookHandlerRefusesBadInput(t *testing.T) {
	s := newSim(t)
	c := s.client(t)
	if _, err := c.WebhookHandler(nil, nil); !errors.Is(err, webhook.ErrNoSecret) {
		t.Errorf("no secret: %v", err)
	}
	if _, err := c.WebhookHandler([]string{""}, nil); !errors.Is(err, webhook.ErrNoSecret) {
		t.Errorf("empty secret: %v", err)
	}
	if err := c.HandleWebhookEvent(t.Context(), nil); !errors.Is(err, licentric.ErrInvalidArgument) {
		t.Errorf("nil event: %v", err)
	}
	// A forged delivery changes nothing.
	l := s.license(t, licentric.LicenseRequest{})
	mustValidate(t, c, l.Key)
	h, err := c.WebhookHandler([]string{"whsec_right"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(fmt.Sprintf(`{"id":"evt_1","type":%q,"createdAt":%q,"data":{"id":%q,"key":%q}}`, wire.EventLicenseSuspended, s.clk.Now().UTC().Format(wire.TimeLayout), l.ID, l.Key))
	req, err := webhook.NewRequest(t.Context(), "http://127.0.0.1/hook", body, "whsec_wrong")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("forged delivery: status %d", rec.Code)
	}
	if v := mustValidate(t, c, l.Key); !v.FromCache {
		t.Error("a forged delivery dropped the cache")
	}
	// The genuine one does.
	req, err = webhook.NewRequest(t.Context(), "http://127.0.0.1/hook", body, "whsec_right")
	if err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("genuine delivery: status %d", rec.Code)
	}
	if v := mustValidate(t, c, l.Key); v.FromCache {
		t.Error("a genuine license.suspended kept the cache")
	}
}

func TestStaleIfError(t *testing.T) {
	s := newSim(t)
	c := s.client(t, licentric.WithStaleIfError(30*time.Minute))
	l := s.license(t, licentric.LicenseRequest{})
	mustValidate(t, c, l.Key)

	// 5xx after the retries: the last result, marked stale, with the error.
	s.Advance(licentric.DefaultCacheTTL)
	s.srv.InjectFault(licentrictest.Fault{Path: wire.PathValidateKey, Status: http.StatusServiceUnavailable, Times: testkit.FastRetry.MaxRetries + 1})
	v, err := c.Validate(t.Context(), l.Key)
	if err != nil || !v.Valid || !v.Stale || !v.FromCache || !errors.Is(v.StaleReason, licentric.ErrServer) || v.Age != licentric.DefaultCacheTTL {
		t.Fatalf("503: %+v, %v", v, err)
	}
	// It is not fresh: the next call asks again (and succeeds).
	if v := mustValidate(t, c, l.Key); v.Stale || v.FromCache {
		t.Fatalf("after recovery: %+v", v)
	}

	// Server gone: stale until 30 minutes after the last answer, then the error.
	s.srv.Close()
	s.Advance(29 * time.Minute)
	v, err = c.Validate(t.Context(), l.Key)
	if err != nil || !v.Stale || !v.Valid || v.StaleReason == nil || v.Age != 29*time.Minute {
		t.Fatalf("down at 29 min: %+v, %v", v, err)
	}
	s.Advance(time.Minute)
	if v, err = c.Validate(t.Context(), l.Key); err == nil {
		t.Fatalf("down at 30 min: %+v; want an error", v)
	}
}

func TestStaleNeverMasksClientErrors(t *testing.T) {
	s := newSim(t)
	c := s.client(t)
	l := s.license(t, licentric.LicenseRequest{})
	mustValidate(t, c, l.Key)
	s.Advance(licentric.DefaultCacheTTL)
	s.srv.RevokeAPIKey(s.srv.TestAPIKey())
	if v, err := c.Validate(t.Context(), l.Key); !errors.Is(err, licentric.ErrUnauthorized) {
		t.Fatalf("401 masked: %+v, %v", v, err)
	}

	// With stale results off, a 5xx is the error.
	s2 := newSim(t)
	c = s2.client(t, licentric.WithStaleIfError(0))
	l = s2.license(t, licentric.LicenseRequest{})
	mustValidate(t, c, l.Key)
	s2.Advance(licentric.DefaultCacheTTL)
	s2.srv.InjectFault(licentrictest.Fault{Path: wire.PathValidateKey, Status: http.StatusBadGateway, Times: testkit.FastRetry.MaxRetries + 1})
	if v, err := c.Validate(t.Context(), l.Key); !errors.Is(err, licentric.ErrServer) {
		t.Fatalf("stale served with WithStaleIfError(0): %+v, %v", v, err)
	}
}

func TestSharedStoreFile(t *testing.T) {
	s := newSim(t)
	f, err := cache.NewFile(t.TempDir()+"/cache", []byte("machine-fingerprint"), cache.WithClock(s.clk))
	if err != nil {
		t.Fatal(err)
	}
	c := s.client(t, licentric.WithValidationCache(f), licentric.WithCacheTTL(30*time.Minute))
	l := s.license(t, licentric.LicenseRequest{})
	mustValidate(t, c, l.Key, licentric.WithFingerprint(fpA))
	// A second client (a restarted process) reads the same file.
	c2 := s.client(t, licentric.WithValidationCache(f), licentric.WithCacheTTL(30*time.Minute))
	v := mustValidate(t, c2, l.Key, licentric.WithFingerprint(fpA))
	if !v.FromCache || v.Code != licentric.CodeFingerprintNotFound || v.License == nil || v.License.ID != l.ID {
		t.Fatalf("from the file: %+v", v)
	}
	c2.InvalidateLicense(l.Key)
	if v := mustValidate(t, c2, l.Key, licentric.WithFingerprint(fpA)); v.FromCache {
		t.Fatal("invalidated entry served from the file")
	}
}
