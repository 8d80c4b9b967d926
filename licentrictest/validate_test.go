package licentrictest

import (
	"testing"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

// TestValidationOrder walks docs/wire-protocol.md §4: each row makes every earlier check
// pass and one check fail (often with a later check failing too, to prove
// the order).
func TestValidationOrder(t *testing.T) {
	past := wire.Value(wire.NewTimestamp(time.Now().Add(-time.Hour)))
	type setup func(s *tsrv) (key string, body map[string]any)
	rows := []struct {
		name  string
		setup setup
		code  string
		valid bool
	}{
		{"not found", func(s *tsrv) (string, map[string]any) {
			return "LIC-NOPE-NOPE-NOPE-NOPE", nil
		}, wire.CodeNotFound, false},
		{"banned beats expired", func(s *tsrv) (string, map[string]any) {
			fx := s.seed(Seed{License: LicenseRequest{ExpiresAt: past}})
			if err := s.BanLicense(EnvTest, fx.License.ID); err != nil {
				s.t.Fatal(err)
			}
			return fx.License.Key, nil
		}, wire.CodeBanned, false},
		{"revoked", func(s *tsrv) (string, map[string]any) {
			fx := s.seed(Seed{})
			if _, err := s.SetLicenseStatus(EnvTest, fx.License.ID, "revoke"); err != nil {
				s.t.Fatal(err)
			}
			return fx.License.Key, nil
		}, wire.CodeRevoked, false},
		{"suspended beats expired", func(s *tsrv) (string, map[string]any) {
			fx := s.seed(Seed{})
			if _, err := s.SetLicenseStatus(EnvTest, fx.License.ID, "suspend"); err != nil {
				s.t.Fatal(err)
			}
			s.ok(200, "PATCH", "/licenses/"+fx.License.ID, bearer(s.TestAPIKey()), map[string]any{"expiresAt": "2000-01-01T00:00:00.000Z"})
			return fx.License.Key, nil
		}, wire.CodeSuspended, false},
		{"expired (RESTRICT_ACCESS) beats uses", func(s *tsrv) (string, map[string]any) {
			fx := s.seed(Seed{Policy: PolicyRequest{MaxUses: wire.Value(0)}, License: LicenseRequest{ExpiresAt: past}})
			return fx.License.Key, nil
		}, wire.CodeExpired, false},
		{"uses exceeded beats fingerprint", func(s *tsrv) (string, map[string]any) {
			fx := s.seed(Seed{Policy: PolicyRequest{MaxUses: wire.Value(0)}})
			return fx.License.Key, map[string]any{"fingerprint": "unknown-fp-123"}
		}, wire.CodeUsesExceeded, false},
		{"fingerprint not activated", func(s *tsrv) (string, map[string]any) {
			fx := s.seed(Seed{})
			return fx.License.Key, map[string]any{"fingerprint": "unknown-fp-123"}
		}, wire.CodeFingerprintNotFound, false},
		{"fingerprint required but absent", func(s *tsrv) (string, map[string]any) {
			fx := s.seed(Seed{Policy: PolicyRequest{RequireFingerprint: wire.Value(true)}})
			return fx.License.Key, nil
		}, wire.CodeFingerprintNotFound, false},
		{"heartbeat required beats entitlements", func(s *tsrv) (string, map[string]any) {
			fx := s.seed(Seed{Policy: PolicyRequest{RequireHeartbeat: wire.Value(true), HeartbeatCullStrategy: wire.Value("KEEP_DEAD")}})
			s.activate(fx.License.Key, "machine-fp-1")
			s.Advance(61 * time.Minute)
			return fx.License.Key, map[string]any{"fingerprint": "machine-fp-1", "entitlements": []string{"nope"}}
		}, wire.CodeHeartbeatRequired, false},
		{"entitlements missing beats machine limit", func(s *tsrv) (string, map[string]any) {
			fx := s.seed(Seed{})
			s.activate(fx.License.Key, "machine-fp-1")
			s.activate(fx.License.Key, "machine-fp-2")
			s.ok(200, "PATCH", "/licenses/"+fx.License.ID, bearer(s.TestAPIKey()), map[string]any{"maxMachinesOverride": 1})
			return fx.License.Key, map[string]any{"fingerprint": "machine-fp-1", "entitlements": []string{"pro"}}
		}, wire.CodeEntitlementsMissing, false},
		{"machine limit lowered", func(s *tsrv) (string, map[string]any) {
			fx := s.seed(Seed{})
			s.activate(fx.License.Key, "machine-fp-1")
			s.activate(fx.License.Key, "machine-fp-2")
			s.ok(200, "PATCH", "/licenses/"+fx.License.ID, bearer(s.TestAPIKey()), map[string]any{"maxMachinesOverride": 1})
			return fx.License.Key, map[string]any{"fingerprint": "machine-fp-1"}
		}, wire.CodeMachineLimitExceeded, false},
		{"valid", func(s *tsrv) (string, map[string]any) {
			fx := s.seed(Seed{Policy: PolicyRequest{MaxUses: wire.Value(1)}})
			s.activate(fx.License.Key, "machine-fp-1")
			return fx.License.Key, map[string]any{"fingerprint": "machine-fp-1"}
		}, wire.CodeValid, true},
		{"valid without fingerprint when not required", func(s *tsrv) (string, map[string]any) {
			fx := s.seed(Seed{Policy: PolicyRequest{RequireFingerprint: wire.Value(false)}})
			return fx.License.Key, nil
		}, wire.CodeValid, true},
		{"expired under ALLOW_ACCESS is valid", func(s *tsrv) (string, map[string]any) {
			fx := s.seed(Seed{Policy: PolicyRequest{ExpirationStrategy: wire.Value("ALLOW_ACCESS"), RequireFingerprint: wire.Value(false)}, License: LicenseRequest{ExpiresAt: past}})
			return fx.License.Key, nil
		}, wire.CodeExpired, true},
		{"expired under ALLOW_ACCESS still checks fingerprint", func(s *tsrv) (string, map[string]any) {
			fx := s.seed(Seed{Policy: PolicyRequest{ExpirationStrategy: wire.Value("ALLOW_ACCESS")}, License: LicenseRequest{ExpiresAt: past}})
			return fx.License.Key, map[string]any{"fingerprint": "unknown-fp-123"}
		}, wire.CodeFingerprintNotFound, false},
		{"expired under REVOKE is revoked", func(s *tsrv) (string, map[string]any) {
			fx := s.seed(Seed{Policy: PolicyRequest{ExpirationStrategy: wire.Value("REVOKE")}, License: LicenseRequest{ExpiresAt: past}})
			return fx.License.Key, nil
		}, wire.CodeRevoked, false},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			s := start(t, WithFrozenClock(time.Now()))
			key, body := row.setup(s)
			if body == nil {
				body = map[string]any{}
			}
			body["key"] = key
			got := s.validate(bearer(s.TestAPIKey()), body)
			if got["code"] != row.code || got["valid"] != row.valid {
				t.Fatalf("validate = %v/%v (%v), want %s/%v", got["code"], got["valid"], got["detail"], row.code, row.valid)
			}
			if row.code == wire.CodeNotFound {
				if got["license"] != nil || got["machine"] != nil {
					t.Errorf("NOT_FOUND carries license/machine: %v", got)
				}
			} else if got["license"] == nil {
				t.Errorf("license missing from a %s result", row.code)
			}
			if _, ok := got["entitlements"].([]any); !ok {
				t.Errorf("entitlements is %T, want a list", got["entitlements"])
			}
		})
	}
}

func TestValidationResultDetails(t *testing.T) {
	s := start(t)
	api := bearer(s.TestAPIKey())
	fx := s.seed(Seed{})
	for _, code := range []string{"zeta", "alpha", "mid"} {
		s.ok(201, "POST", "/entitlements", api, map[string]any{"code": code, "name": code})
	}
	s.ok(200, "POST", "/licenses/"+fx.License.ID+"/entitlements", api, map[string]any{"entitlementCodes": []string{"zeta"}})
	s.ok(200, "POST", "/policies/"+fx.Policy.ID+"/entitlements", api, map[string]any{"entitlementCodes": []string{"alpha", "mid"}})
	m := s.activate(fx.License.Key, "machine-fp-1")

	// The matched machine is reported even when a later check fails.
	got := s.validate(api, map[string]any{"key": fx.License.Key, "fingerprint": "machine-fp-1", "entitlements": []string{"gold"}})
	if got["code"] != wire.CodeEntitlementsMissing {
		t.Fatalf("code = %v", got["code"])
	}
	if mm, _ := got["machine"].(map[string]any); mm["id"] != m["id"] {
		t.Errorf("machine = %v, want %v", got["machine"], m["id"])
	}
	if ents := got["entitlements"].([]any); len(ents) != 3 || ents[0] != "alpha" || ents[1] != "mid" || ents[2] != "zeta" {
		t.Errorf("entitlements = %v, want sorted union [alpha mid zeta]", ents)
	}
	lic := got["license"].(map[string]any)
	if ents := lic["entitlements"].([]any); len(ents) != 1 || ents[0] != "zeta" {
		t.Errorf("license.entitlements = %v, want its own [zeta]", ents)
	}
	if pents := lic["policy"].(map[string]any)["entitlements"].([]any); len(pents) != 2 {
		t.Errorf("policy snapshot entitlements = %v", pents)
	}
	got = s.validate(api, map[string]any{"key": fx.License.Key, "fingerprint": "machine-fp-1", "entitlements": []string{"alpha", "zeta"}})
	if got["code"] != wire.CodeValid {
		t.Errorf("code = %v, want VALID", got["code"])
	}
}

func TestUsesCountEveryCall(t *testing.T) {
	s := start(t)
	fx := s.seed(Seed{Policy: PolicyRequest{MaxUses: wire.Value(3), RequireFingerprint: wire.Value(false)}})
	api := bearer(s.TestAPIKey())
	var codes []any
	for range 5 {
		codes = append(codes, s.validate(api, map[string]any{"key": fx.License.Key})["code"])
	}
	want := []any{"VALID", "VALID", "VALID", "USES_EXCEEDED", "USES_EXCEEDED"}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("codes = %v, want %v", codes, want)
		}
	}
	// Failed calls (even a banned license) count too.
	if err := s.BanLicense(EnvTest, fx.License.ID); err != nil {
		t.Fatal(err)
	}
	s.validate(api, map[string]any{"key": fx.License.Key})
	if l, _ := s.License(EnvTest, fx.License.ID); l.UsesCount != 6 {
		t.Errorf("usesCount = %d, want 6", l.UsesCount)
	}
	// An override wins over the policy.
	s.ok(200, "PATCH", "/licenses/"+fx.License.ID, api, map[string]any{"maxUsesOverride": 100})
}

func TestExpirationStrategies(t *testing.T) {
	for _, tc := range []struct {
		strategy   string
		code       string
		valid      bool
		finalState string
		events     []string
	}{
		{"RESTRICT_ACCESS", "EXPIRED", false, "expired", []string{"license.expired", "validation.failed"}},
		{"ALLOW_ACCESS", "EXPIRED", true, "expired", []string{"license.expired", "validation.success"}},
		{"REVOKE", "REVOKED", false, "revoked", []string{"license.expired", "license.revoked", "validation.failed"}},
	} {
		t.Run(tc.strategy, func(t *testing.T) {
			s := start(t)
			fx := s.seed(Seed{Policy: PolicyRequest{ExpirationStrategy: wire.Value(tc.strategy), RequireFingerprint: wire.Value(false), DurationDays: wire.Value(30)}})
			api := bearer(s.TestAPIKey())
			if got := s.validate(api, map[string]any{"key": fx.License.Key}); got["code"] != "VALID" {
				t.Fatalf("before expiry: %v", got["code"])
			}
			if want := s.Now().Add(30 * 24 * time.Hour); !fx.License.ExpiresAt.Equal(want) {
				t.Errorf("expiresAt = %v, want creation + 30 d = %v", fx.License.ExpiresAt, want)
			}
			s.Advance(30*24*time.Hour - time.Millisecond)
			if l := s.ok(200, "GET", "/licenses/"+fx.License.ID, api, nil); l["status"] != "active" {
				t.Fatalf("1 ms before expiry status = %v", l["status"])
			}
			s.Advance(time.Millisecond)
			if l := s.ok(200, "GET", "/licenses/"+fx.License.ID, api, nil); l["status"] != "expired" {
				t.Fatalf("at expiry a GET shows %v, want expired", l["status"])
			}
			n := len(s.Events(EnvTest))
			got := s.validate(api, map[string]any{"key": fx.License.Key})
			if got["code"] != tc.code || got["valid"] != tc.valid {
				t.Fatalf("validate = %v/%v, want %s/%v", got["code"], got["valid"], tc.code, tc.valid)
			}
			if l := s.ok(200, "GET", "/licenses/"+fx.License.ID, api, nil); l["status"] != tc.finalState {
				t.Errorf("status after validate = %v, want %s", l["status"], tc.finalState)
			}
			evs := s.eventTypes(EnvTest)
			// license.expired fired with the GET that first saw the expiry.
			tail := evs[n-1:]
			if len(tail) != len(tc.events) {
				t.Fatalf("events = %v, want tail %v", evs, tc.events)
			}
			for i := range tc.events {
				if tail[i] != tc.events[i] {
					t.Fatalf("events = %v, want tail %v", evs, tc.events)
				}
			}
			// REVOKE is permanent: renew is refused.
			if tc.strategy == "REVOKE" {
				s.fail(409, "CONFLICT", "POST", "/licenses/"+fx.License.ID+"/renew", api, nil)
			} else {
				l := s.ok(200, "POST", "/licenses/"+fx.License.ID+"/renew", api, nil)
				if l["status"] != "active" {
					t.Errorf("renewed status = %v", l["status"])
				}
			}
		})
	}
}

func TestEnvironmentIsolation(t *testing.T) {
	s := start(t)
	live := s.seed(Seed{Env: EnvLive, Policy: PolicyRequest{RequireFingerprint: wire.Value(false)}})
	test := s.seed(Seed{Env: EnvTest, Policy: PolicyRequest{RequireFingerprint: wire.Value(false)}})
	byDefault := s.seed(Seed{Policy: PolicyRequest{RequireFingerprint: wire.Value(false)}}) // Seed's doc: in test
	liveKey, testKey := bearer(s.LiveAPIKey()), bearer(s.TestAPIKey())
	for _, tc := range []struct {
		name, auth, key, code string
	}{
		{"no auth sees live", "", live.License.Key, "VALID"},
		{"no auth does not see test", "", test.License.Key, "NOT_FOUND"},
		{"test key sees test", testKey, test.License.Key, "VALID"},
		{"test key does not see live", testKey, live.License.Key, "NOT_FOUND"},
		{"live key sees live", liveKey, live.License.Key, "VALID"},
		{"live key does not see test", liveKey, test.License.Key, "NOT_FOUND"},
		{"a seed without Env is in test: no auth does not see it", "", byDefault.License.Key, "NOT_FOUND"},
		{"a seed without Env is in test: the test key sees it", testKey, byDefault.License.Key, "VALID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.validate(tc.auth, map[string]any{"key": tc.key}); got["code"] != tc.code {
				t.Errorf("code = %v, want %s", got["code"], tc.code)
			}
		})
	}
	// Management is isolated too.
	s.fail(404, "NOT_FOUND", "GET", "/licenses/"+live.License.ID, testKey, nil)
	s.fail(404, "NOT_FOUND", "GET", "/licenses/"+test.License.ID, liveKey, nil)
	s.fail(404, "NOT_FOUND", "GET", "/policies/"+test.Policy.ID, liveKey, nil)
	if _, _, m := s.do("GET", "/licenses", liveKey, nil); len(m["data"].([]any)) != 1 {
		t.Errorf("live list = %v", m["data"])
	}
	// A license key works in either environment.
	s.activate(test.License.Key, "machine-fp-1")
	s.activate(live.License.Key, "machine-fp-1")
	// Creating a live license on a test policy is a 404.
	s.fail(404, "NOT_FOUND", "POST", "/licenses", liveKey, map[string]any{"productId": test.Product.ID, "policyId": test.Policy.ID})
}

func TestValidateAuth(t *testing.T) {
	s := start(t)
	fx := s.seed(Seed{Env: EnvLive, Policy: PolicyRequest{RequireFingerprint: wire.Value(false)}})
	body := map[string]any{"key": fx.License.Key}
	s.fail(401, "UNAUTHORIZED", "POST", "/licenses/validate-key", "Bearer lk_live_unknown", body)
	s.fail(401, "UNAUTHORIZED", "POST", "/licenses/validate-key", license(fx.License.Key), body)
	s.fail(401, "UNAUTHORIZED", "POST", "/licenses/validate-key", "Basic Zm9vOmJhcg==", body)
	// Scheme names match case-insensitively.
	if got := s.validate("bEaReR "+s.LiveAPIKey(), body); got["code"] != "VALID" {
		t.Errorf("lower-case scheme: %v", got["code"])
	}
	// validate-key needs no scope.
	scoped := s.NewAPIKey(EnvLive, "products:read")
	if got := s.validate(bearer(scoped), body); got["code"] != "VALID" {
		t.Errorf("scoped key: %v", got["code"])
	}
	revoked := s.NewAPIKey(EnvLive)
	s.RevokeAPIKey(revoked)
	s.fail(401, "UNAUTHORIZED", "POST", "/licenses/validate-key", bearer(revoked), body)
	// Body errors.
	m := s.fail(400, "VALIDATION_ERROR", "POST", "/licenses/validate-key", "", map[string]any{})
	issues := m["details"].(map[string]any)["issues"].([]any)
	if p := issues[0].(map[string]any)["path"].([]any); p[0] != "key" {
		t.Errorf("issue path = %v", p)
	}
	s.fail(400, "VALIDATION_ERROR", "POST", "/licenses/validate-key", "", map[string]any{"key": 12})
	s.fail(400, "VALIDATION_ERROR", "POST", "/licenses/validate-key", "", map[string]any{"key": "x", "entitlements": "pro"})
}

func TestValidationEvents(t *testing.T) {
	s := start(t)
	fx := s.seed(Seed{Policy: PolicyRequest{RequireFingerprint: wire.Value(false)}})
	api := bearer(s.TestAPIKey())
	s.validate(api, map[string]any{"key": "LIC-NONE"}) // not found: no event
	s.validate(api, map[string]any{"key": fx.License.Key, "entitlements": []string{"x"}})
	s.validate(api, map[string]any{"key": fx.License.Key})
	s.validate(api, map[string]any{"key": fx.License.Key})
	got := s.eventTypes(EnvTest)
	want := []string{"license.created", "validation.failed", "validation.success", "license.activated", "validation.success"}
	if len(got) != len(want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events = %v, want %v", got, want)
		}
	}
}
