package licentrictest

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

// Contract conformance checks written from wire-contract.md with raw HTTP
// only: exact field sets, envelopes and the corner cases of §11 that the
// other test files leave out.

var wireTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

// keysOf returns the sorted member names of a JSON object.
func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// wantFields fails unless obj has exactly the fields in want (names, not
// values), each timestamp field is null or in the wire form, and each
// field in nulls is JSON null.
func wantFields(t *testing.T, what string, obj map[string]any, want, timestamps, nulls []string) {
	t.Helper()
	w := append([]string(nil), want...)
	sort.Strings(w)
	if got := keysOf(obj); !slices.Equal(got, w) {
		t.Errorf("%s fields = %v, want %v", what, got, w)
	}
	for _, f := range timestamps {
		if v, ok := obj[f]; ok && v != nil {
			if s, _ := v.(string); !wireTime.MatchString(s) {
				t.Errorf("%s.%s = %v, want RFC 3339 UTC with milliseconds", what, f, v)
			}
		}
	}
	for _, f := range nulls {
		if v, ok := obj[f]; !ok || v != nil {
			t.Errorf("%s.%s = %v (present %v), want null", what, f, v, ok)
		}
	}
}

var (
	policyFields = []string{"id", "productId", "name", "template", "maxMachines", "maxUses", "floating", "durationDays",
		"expirationStrategy", "requireHeartbeat", "heartbeatIntervalMinutes", "heartbeatCullStrategy",
		"requireFingerprint", "fingerprintUniqueness", "offlineAllowed", "offlineMaxDays", "allowMachineTransfer",
		"isTrial", "trialDurationDays", "overridable", "entitlements", "metadata", "createdAt", "updatedAt", "deletedAt"}
	licenseFields = []string{"id", "key", "name", "status", "productId", "policyId", "userEmail", "userName", "expiresAt",
		"maxMachinesOverride", "maxUsesOverride", "usesCount", "machineCount", "entitlements", "metadata",
		"createdAt", "updatedAt", "deletedAt", "policy"}
	machineFields = []string{"id", "licenseId", "fingerprint", "name", "platform", "hostname", "cores", "status",
		"lastHeartbeatAt", "createdAt", "updatedAt", "deletedAt", "metadata"}
	stamps = []string{"createdAt", "updatedAt", "deletedAt", "expiresAt", "lastHeartbeatAt"}
)

// TestContractResourceFields checks §3: every resource's field names, null
// fields and timestamp form, over HTTP only.
func TestContractResourceFields(t *testing.T) {
	s := start(t, WithFrozenClock(time.Date(2026, 1, 15, 10, 30, 0, 123e6, time.UTC)))
	api := bearer(s.TestAPIKey())

	prod := s.ok(201, "POST", "/products", api, map[string]any{"name": "Desk", "code": "desk"})
	wantFields(t, "product", prod, []string{"id", "name", "code", "description", "keyPrefix", "accountId",
		"licensesCount", "createdAt", "updatedAt", "deletedAt", "metadata"}, stamps, []string{"deletedAt"})
	if prod["createdAt"] != "2026-01-15T10:30:00.123Z" {
		t.Errorf("createdAt = %v, want the clock to the millisecond", prod["createdAt"])
	}

	pol := s.ok(201, "POST", "/policies", api, map[string]any{"productId": prod["id"], "name": "Std", "maxMachines": 2})
	wantFields(t, "policy", pol, policyFields, stamps, []string{"deletedAt", "maxUses", "durationDays", "trialDurationDays"})
	if ents, ok := pol["entitlements"].([]any); !ok || len(ents) != 0 {
		t.Errorf("policy.entitlements = %v, want []", pol["entitlements"])
	}
	if md, ok := pol["metadata"].(map[string]any); !ok || len(md) != 0 {
		t.Errorf("policy.metadata = %v, want {}", pol["metadata"])
	}

	ent := s.ok(201, "POST", "/entitlements", api, map[string]any{"code": "pro", "name": "Pro"})
	wantFields(t, "entitlement", ent, []string{"id", "code", "name", "accountId", "createdAt", "updatedAt", "deletedAt", "metadata"},
		stamps, []string{"deletedAt"})

	lic := s.ok(201, "POST", "/licenses", api, map[string]any{"productId": prod["id"], "policyId": pol["id"]})
	wantFields(t, "license", lic, licenseFields, stamps,
		[]string{"expiresAt", "maxMachinesOverride", "maxUsesOverride", "deletedAt"})
	if lic["status"] != "active" || lic["usesCount"] != 0.0 || lic["machineCount"] != 0.0 {
		t.Errorf("new license = %v", lic)
	}
	if ents, ok := lic["entitlements"].([]any); !ok || len(ents) != 0 {
		t.Errorf("license.entitlements = %v, want []", lic["entitlements"])
	}
	snap, _ := lic["policy"].(map[string]any)
	wantFields(t, "license.policy", snap, policyFields, stamps, []string{"deletedAt"})
	if snap["id"] != pol["id"] {
		t.Errorf("policy snapshot id = %v", snap["id"])
	}

	m := s.activate(lic["key"].(string), "machine-fp-1")
	wantFields(t, "machine", m, machineFields, stamps, []string{"deletedAt"})
	if m["status"] != "active" || m["lastHeartbeatAt"] != m["createdAt"] {
		t.Errorf("machine = %v", m)
	}

	// The validation result: exactly these six fields; usesCount counted.
	v := s.validate("Bearer "+s.TestAPIKey(), map[string]any{"key": lic["key"], "fingerprint": "machine-fp-1"})
	wantFields(t, "validation", v, []string{"valid", "code", "detail", "license", "machine", "entitlements"}, nil, nil)
	vl, _ := v["license"].(map[string]any)
	wantFields(t, "validation.license", vl, licenseFields, stamps, nil)
	if vl["usesCount"] != 1.0 || vl["machineCount"] != 1.0 {
		t.Errorf("validation license usesCount %v machineCount %v, want 1 1", vl["usesCount"], vl["machineCount"])
	}
	vm, _ := v["machine"].(map[string]any)
	wantFields(t, "validation.machine", vm, machineFields, stamps, nil)

	// Webhook: the secret on create only.
	w := s.ok(201, "POST", "/webhooks", api, map[string]any{"url": "https://hooks.example.com/x"})
	wantFields(t, "webhook (create)", w, []string{"id", "url", "events", "accountId", "secret", "createdAt", "updatedAt", "deletedAt"},
		stamps, []string{"deletedAt"})
	if sec, _ := w["secret"].(string); !strings.HasPrefix(sec, "whsec_") {
		t.Errorf("secret = %v", w["secret"])
	}
	wid := w["id"].(string)
	for _, got := range []map[string]any{
		s.ok(200, "GET", "/webhooks/"+wid, api, nil),
		s.ok(200, "PATCH", "/webhooks/"+wid, api, map[string]any{"events": []string{"license.created"}}),
	} {
		if _, has := got["secret"]; has {
			t.Errorf("secret returned outside create: %v", got)
		}
	}

	// Soft delete: deletedAt stays null on live reads, 204 with no body.
	req, _ := http.NewRequest("DELETE", s.URL+"/api/v1/licenses/"+lic["id"].(string), nil)
	req.Header.Set("Authorization", api)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 204 || len(body) != 0 {
		t.Errorf("DELETE = %d %q, want 204 and no body", resp.StatusCode, body)
	}
}

// TestContractListEnvelopes checks §1: every list has data and pagination
// {nextCursor, hasMore}, empty lists included.
func TestContractListEnvelopes(t *testing.T) {
	s := start(t)
	api := bearer(s.LiveAPIKey()) // nothing exists in live
	for _, path := range []string{"/licenses", "/machines", "/products", "/policies", "/entitlements", "/webhooks"} {
		st, _, m := s.do("GET", path, api, nil)
		if st != 200 {
			t.Errorf("GET %s = %d %v", path, st, m)
			continue
		}
		if keys := keysOf(m); !slices.Equal(keys, []string{"data", "pagination"}) {
			t.Errorf("GET %s members = %v", path, keys)
		}
		if d, ok := m["data"].([]any); !ok || len(d) != 0 {
			t.Errorf("GET %s data = %#v, want []", path, m["data"])
		}
		pg, _ := m["pagination"].(map[string]any)
		if nc, ok := pg["nextCursor"]; !ok || nc != nil || pg["hasMore"] != false || len(pg) != 2 {
			t.Errorf("GET %s pagination = %v", path, pg)
		}
	}
	// A full page that is also the last one says hasMore false.
	fx := s.seed(Seed{Env: EnvLive})
	_, _, m := s.do("GET", "/licenses?limit=1", api, nil)
	if pg := m["pagination"].(map[string]any); pg["hasMore"] != false || pg["nextCursor"] != nil {
		t.Errorf("exact last page pagination = %v", pg)
	}
	s.AddLicense(EnvLive, fx.Policy.ID, LicenseRequest{})
	_, _, m = s.do("GET", "/licenses?limit=1", api, nil)
	if pg := m["pagination"].(map[string]any); pg["hasMore"] != true || pg["nextCursor"] != fx.License.ID {
		t.Errorf("first page pagination = %v, want cursor %s", pg, fx.License.ID)
	}
}

// TestContractRetryAfterOnOn429Only checks §9 and §11.1: Retry-After only on
// 429, whole seconds and at least 1, X-RateLimit-Reset the window's end.
func TestContractRetryAfterOnlyOn429(t *testing.T) {
	windowStart := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := start(t, WithRateLimits(2, 10, 120), WithFrozenClock(windowStart.Add(59*time.Second+900*time.Millisecond)))
	fx := s.seed(Seed{})
	for _, tc := range []struct{ method, path, auth string }{
		{"GET", "/licenses", bearer(s.TestAPIKey())},
		{"GET", "/licenses", ""},
		{"GET", "/nowhere", ""},
		{"POST", "/machines", license(fx.License.Key)}, // 400
	} {
		st, h, _ := s.do(tc.method, tc.path, tc.auth, map[string]any{})
		if h.Get("Retry-After") != "" {
			t.Errorf("%s %s = %d with Retry-After %q", tc.method, tc.path, st, h.Get("Retry-After"))
		}
	}
	body := map[string]any{"key": fx.License.Key}
	s.do("POST", "/licenses/validate-key", "", body)
	s.do("POST", "/licenses/validate-key", "", body)
	st, h, m := s.do("POST", "/licenses/validate-key", "", body)
	if st != 429 || m["code"] != "RATE_LIMITED" || m["status"] != 429.0 {
		t.Fatalf("third = %d %v", st, m)
	}
	if h.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q with 0.1 s left, want 1", h.Get("Retry-After"))
	}
	if h.Get("X-RateLimit-Reset") != "1772366460" { // 12:01:00
		t.Errorf("X-RateLimit-Reset = %q", h.Get("X-RateLimit-Reset"))
	}
}

// TestContractCheckoutFingerprintOnlyRequired checks §11.11: the only 400s
// of checkout are a missing fingerprint and a bad ttl, so a fingerprint of
// any length goes through the order and, unknown, is FINGERPRINT_NOT_FOUND.
func TestContractCheckoutFingerprintOnlyRequired(t *testing.T) {
	s := start(t)
	fx := s.seed(Seed{})
	api := bearer(s.TestAPIKey())
	path := "/licenses/" + fx.License.ID + "/checkout"
	s.fail(400, "VALIDATION_ERROR", "POST", path, api, map[string]any{"fingerprint": ""})
	s.fail(422, "FINGERPRINT_NOT_FOUND", "POST", path, api, map[string]any{"fingerprint": "nope"})
	s.fail(422, "FINGERPRINT_NOT_FOUND", "POST", path, api, map[string]any{"fingerprint": strings.Repeat("f", 300)})
	if _, err := s.SetLicenseStatus(EnvTest, fx.License.ID, "suspend"); err != nil {
		t.Fatal(err)
	}
	s.fail(422, "LICENSE_NOT_ACTIVE", "POST", path, api, map[string]any{"fingerprint": "nope"})
}

// TestContractValidateFingerprintAnyLength checks §4: every outcome is a 200,
// so a fingerprint no machine can have is FINGERPRINT_NOT_FOUND, not a 400.
func TestContractValidateFingerprintAnyLength(t *testing.T) {
	s := start(t)
	fx := s.seed(Seed{})
	for _, fp := range []string{"fp", strings.Repeat("f", 300)} {
		got := s.validate("", map[string]any{"key": "LIC-NOPE", "fingerprint": fp})
		if got["code"] != "NOT_FOUND" {
			t.Errorf("unknown key, fingerprint len %d: %v", len(fp), got["code"])
		}
		got = s.validate(bearer(s.TestAPIKey()), map[string]any{"key": fx.License.Key, "fingerprint": fp})
		if got["code"] != "FINGERPRINT_NOT_FOUND" || got["machine"] != nil {
			t.Errorf("fingerprint len %d: %v", len(fp), got)
		}
	}
}

// TestContractRevokeStrategyBeforeValidation checks §11.7: an expired
// license under REVOKE shows "expired" until a validate-key call moves it,
// and meanwhile activation is allowed (LICENSE_NOT_ACTIVE is only for
// expired under RESTRICT_ACCESS); afterwards it is revoked for good.
func TestContractRevokeStrategyBeforeValidation(t *testing.T) {
	s := start(t)
	api := bearer(s.TestAPIKey())
	dur := 10
	fx := s.seed(Seed{Policy: PolicyRequest{ExpirationStrategy: wire.Value("REVOKE"), DurationDays: wire.Value(dur)}})
	s.Advance(11 * 24 * time.Hour)
	if l := s.ok(200, "GET", "/licenses/"+fx.License.ID, api, nil); l["status"] != "expired" {
		t.Fatalf("status before validation = %v", l["status"])
	}
	s.activate(fx.License.Key, "machine-fp-1")
	s.fail(409, "CONFLICT", "POST", "/licenses/"+fx.License.ID+"/revoke", api, nil)
	got := s.validate(api, map[string]any{"key": fx.License.Key, "fingerprint": "machine-fp-1"})
	if got["code"] != "REVOKED" || got["valid"] != false || got["license"].(map[string]any)["status"] != "revoked" {
		t.Fatalf("validate = %v", got)
	}
	evs := s.eventTypes(EnvTest)
	ie, ir := slices.Index(evs, "license.expired"), slices.Index(evs, "license.revoked")
	if ie < 0 || ir < ie {
		t.Errorf("events = %v, want license.expired then license.revoked", evs)
	}
	s.fail(422, "LICENSE_NOT_ACTIVE", "POST", "/machines", license(fx.License.Key), map[string]any{"fingerprint": "machine-fp-2"})
	s.fail(409, "CONFLICT", "POST", "/licenses/"+fx.License.ID+"/renew", api, nil)
	if l := s.ok(200, "GET", "/licenses/"+fx.License.ID, api, nil); l["status"] != "revoked" {
		t.Errorf("status after validation = %v", l["status"])
	}
}

// TestContractLicenseDefaults checks §11.14 over HTTP: expiresAt =
// creation + durationDays (trialDurationDays for trials), generated key
// format with the default prefix, and a policy of another product is a 400.
func TestContractLicenseDefaults(t *testing.T) {
	s := start(t, WithFrozenClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	api := bearer(s.TestAPIKey())
	prod := s.ok(201, "POST", "/products", api, map[string]any{"name": "A", "code": "a"})
	other := s.ok(201, "POST", "/products", api, map[string]any{"name": "B", "code": "b"})
	pol := s.ok(201, "POST", "/policies", api, map[string]any{"productId": prod["id"], "name": "Y", "maxMachines": 1, "durationDays": 365})
	trial := s.ok(201, "POST", "/policies", api, map[string]any{"productId": prod["id"], "name": "T", "template": "trial", "durationDays": 365, "trialDurationDays": 14})
	l := s.ok(201, "POST", "/licenses", api, map[string]any{"productId": prod["id"], "policyId": pol["id"]})
	if l["expiresAt"] != "2027-01-01T00:00:00.000Z" {
		t.Errorf("expiresAt = %v", l["expiresAt"])
	}
	if !regexp.MustCompile(`^LIC-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$`).MatchString(l["key"].(string)) {
		t.Errorf("key = %v", l["key"])
	}
	tl := s.ok(201, "POST", "/licenses", api, map[string]any{"productId": prod["id"], "policyId": trial["id"]})
	if tl["expiresAt"] != "2026-01-15T00:00:00.000Z" {
		t.Errorf("trial expiresAt = %v", tl["expiresAt"])
	}
	s.fail(400, "VALIDATION_ERROR", "POST", "/licenses", api, map[string]any{"productId": other["id"], "policyId": pol["id"]})
	s.fail(404, "NOT_FOUND", "POST", "/licenses", api, map[string]any{"productId": prod["id"], "policyId": pol["id"], "entitlementIds": []string{newUUID()}})
	// A custom key of a deleted license stays taken.
	c := s.ok(201, "POST", "/licenses", api, map[string]any{"productId": prod["id"], "policyId": pol["id"], "key": "OLD-KEY-1"})
	s.ok(204, "DELETE", "/licenses/"+c["id"].(string), api, nil)
	s.fail(409, "CONFLICT", "POST", "/licenses", api, map[string]any{"productId": prod["id"], "policyId": pol["id"], "key": "OLD-KEY-1"})
}

// TestContractWebhookBodyMembers checks §8: the delivery body has exactly
// id, type, createdAt and data.
func TestContractWebhookBodyMembers(t *testing.T) {
	s := start(t, WithWebhookBackoff(time.Millisecond))
	rcv := newReceiver(t)
	s.ok(201, "POST", "/webhooks", bearer(s.TestAPIKey()), map[string]any{"url": rcv.URL, "events": []string{"license.created"}})
	s.seed(Seed{})
	flush(t, s)
	got := rcv.all()
	if len(got) != 1 {
		t.Fatalf("deliveries = %d", len(got))
	}
	var ev map[string]any
	if err := json.Unmarshal(got[0].body, &ev); err != nil {
		t.Fatal(err)
	}
	if keys := keysOf(ev); !slices.Equal(keys, []string{"createdAt", "data", "id", "type"}) {
		t.Errorf("body members = %v", keys)
	}
	if s, _ := ev["createdAt"].(string); !wireTime.MatchString(s) {
		t.Errorf("createdAt = %v", ev["createdAt"])
	}
	wantFields(t, "event data", ev["data"].(map[string]any), licenseFields, stamps, nil)
}

// TestContractCheckoutMembers checks §7's exact members of the response,
// envelope and payload, the env of a live license reached by license-key
// auth, and §11.4: a dead machine kept under KEEP_DEAD can be checked out.
func TestContractCheckoutMembers(t *testing.T) {
	s := start(t)
	fx := s.seed(Seed{Env: EnvLive, Policy: PolicyRequest{RequireHeartbeat: wire.Value(true), HeartbeatIntervalMinutes: wire.Value(5),
		HeartbeatCullStrategy: wire.Value("KEEP_DEAD")}})
	s.activate(fx.License.Key, "machine-fp-1")
	s.Advance(6 * time.Minute)
	d := s.ok(200, "POST", "/licenses/"+fx.License.ID+"/checkout", license(fx.License.Key), map[string]any{"fingerprint": "machine-fp-1", "ttl": 3600})
	if keys := keysOf(d); !slices.Equal(keys, []string{"certificate", "expiresAt", "issuedAt", "keyId", "ttl"}) {
		t.Errorf("checkout members = %v", keys)
	}
	_, p := verifyFile(t, d["certificate"].(string), s.PublicKeys())
	if keys := keysOf(p); !slices.Equal(keys, []string{"entitlements", "env", "expiresAt", "fingerprint", "issuedAt", "license", "machine", "ttl", "v"}) {
		t.Errorf("payload members = %v", keys)
	}
	if p["env"] != "live" || p["ttl"] != 3600.0 {
		t.Errorf("payload env %v ttl %v", p["env"], p["ttl"])
	}
	wantFields(t, "payload.license", p["license"].(map[string]any), licenseFields, stamps, nil)
	pm := p["machine"].(map[string]any)
	wantFields(t, "payload.machine", pm, machineFields, stamps, nil)
	if pm["status"] != "dead" {
		t.Errorf("payload machine status = %v, want dead", pm["status"])
	}
	if ents, ok := p["entitlements"].([]any); !ok || len(ents) != 0 {
		t.Errorf("payload entitlements = %#v, want []", p["entitlements"])
	}
}

// TestContractDefaultLimitAndSchemeCase checks §1's default page size of 25
// and §11.3's case-insensitive scheme names for license-key auth too.
func TestContractDefaultLimitAndSchemeCase(t *testing.T) {
	s := start(t, WithoutRateLimits())
	api := bearer(s.TestAPIKey())
	for i := range 26 {
		s.ok(201, "POST", "/entitlements", api, map[string]any{"code": "e" + string(rune('a'+i)), "name": "E"})
	}
	_, _, m := s.do("GET", "/entitlements", api, nil)
	if d := m["data"].([]any); len(d) != 25 || m["pagination"].(map[string]any)["hasMore"] != true {
		t.Errorf("default page: %d items, pagination %v", len(d), m["pagination"])
	}
	fx := s.seed(Seed{})
	s.ok(201, "POST", "/machines", "license "+fx.License.Key, map[string]any{"fingerprint": "machine-fp-1"})
	s.ok(201, "POST", "/machines", "LICENSE "+fx.License.Key, map[string]any{"fingerprint": "machine-fp-2"})
	s.ok(200, "GET", "/licenses/"+fx.License.ID, "BEARER "+s.TestAPIKey(), nil)
}
