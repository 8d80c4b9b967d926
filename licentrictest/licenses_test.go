package licentrictest

import (
	"regexp"
	"testing"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

func TestTransitions(t *testing.T) {
	// state: how to reach it; then each action's expected status.
	states := map[string]func(s *tsrv, id string){
		"active":    func(*tsrv, string) {},
		"suspended": func(s *tsrv, id string) { s.ok(200, "POST", "/licenses/"+id+"/suspend", bearer(s.TestAPIKey()), nil) },
		"revoked":   func(s *tsrv, id string) { s.ok(200, "POST", "/licenses/"+id+"/revoke", bearer(s.TestAPIKey()), nil) },
		"banned": func(s *tsrv, id string) {
			if err := s.BanLicense(EnvTest, id); err != nil {
				s.t.Fatal(err)
			}
		},
		"expired": func(s *tsrv, _ string) { s.Advance(31 * 24 * time.Hour) },
	}
	type want struct {
		status int
		result string // status after a 200
	}
	table := map[string]map[string]want{
		"active":    {"suspend": {200, "suspended"}, "reinstate": {409, ""}, "revoke": {200, "revoked"}, "renew": {200, "active"}},
		"suspended": {"suspend": {409, ""}, "reinstate": {200, "active"}, "revoke": {200, "revoked"}, "renew": {200, "suspended"}},
		"revoked":   {"suspend": {409, ""}, "reinstate": {409, ""}, "revoke": {409, ""}, "renew": {409, ""}},
		"banned":    {"suspend": {409, ""}, "reinstate": {409, ""}, "revoke": {409, ""}, "renew": {409, ""}},
		"expired":   {"suspend": {409, ""}, "reinstate": {409, ""}, "revoke": {409, ""}, "renew": {200, "active"}},
	}
	for from, actions := range table {
		for action, w := range actions {
			t.Run(from+"/"+action, func(t *testing.T) {
				s := start(t)
				fx := s.seed(Seed{Policy: PolicyRequest{DurationDays: wire.Value(30)}})
				states[from](s, fx.License.ID)
				st, _, m := s.do("POST", "/licenses/"+fx.License.ID+"/"+action, bearer(s.TestAPIKey()), nil)
				if st != w.status {
					t.Fatalf("%s on %s = %d %v, want %d", action, from, st, m, w.status)
				}
				if st == 409 {
					if m["code"] != "CONFLICT" {
						t.Errorf("code = %v", m["code"])
					}
					return
				}
				d := m["data"].(map[string]any)
				if d["status"] != w.result {
					t.Errorf("status = %v, want %s", d["status"], w.result)
				}
				ev := "license." + map[string]string{"suspend": "suspended", "reinstate": "reinstated", "revoke": "revoked", "renew": "renewed"}[action]
				if evs := s.eventTypes(EnvTest); evs[len(evs)-1] != ev {
					t.Errorf("last event = %v, want %s", evs[len(evs)-1], ev)
				}
			})
		}
	}
}

func TestRenew(t *testing.T) {
	s := start(t)
	api := bearer(s.TestAPIKey())
	fx := s.seed(Seed{Policy: PolicyRequest{DurationDays: wire.Value(10)}})
	created := s.Now()
	// Not yet expired: extends from expiresAt.
	l := s.ok(200, "POST", "/licenses/"+fx.License.ID+"/renew", api, nil)
	if want := wire.NewTimestamp(created.Add(20 * 24 * time.Hour)).String(); l["expiresAt"] != want {
		t.Errorf("expiresAt = %v, want %s", l["expiresAt"], want)
	}
	// Expired: extends from now.
	s.Advance(25 * 24 * time.Hour)
	l = s.ok(200, "POST", "/licenses/"+fx.License.ID+"/renew", api, nil)
	if want := wire.NewTimestamp(s.Now().Add(10 * 24 * time.Hour)).String(); l["expiresAt"] != want || l["status"] != "active" {
		t.Errorf("expiresAt = %v status %v, want %s active", l["expiresAt"], l["status"], want)
	}
	// Null expiresAt renews to now + durationDays.
	s.ok(200, "PATCH", "/licenses/"+fx.License.ID, api, map[string]any{"expiresAt": nil})
	l = s.ok(200, "POST", "/licenses/"+fx.License.ID+"/renew", api, nil)
	if want := wire.NewTimestamp(s.Now().Add(10 * 24 * time.Hour)).String(); l["expiresAt"] != want {
		t.Errorf("expiresAt = %v, want %s", l["expiresAt"], want)
	}
	// No durationDays: 422 VALIDATION_ERROR.
	nod := s.seed(Seed{})
	s.fail(422, "VALIDATION_ERROR", "POST", "/licenses/"+nod.License.ID+"/renew", api, nil)
	s.fail(404, "NOT_FOUND", "POST", "/licenses/"+newUUID()+"/renew", api, nil)
}

func TestCreateLicense(t *testing.T) {
	s := start(t)
	api := bearer(s.TestAPIKey())
	prod := s.ok(201, "POST", "/products", api, map[string]any{"name": "Desk", "code": "desk", "keyPrefix": "DSK"})
	pol := s.ok(201, "POST", "/policies", api, map[string]any{"productId": prod["id"], "name": "Trial", "template": "trial", "trialDurationDays": 7, "durationDays": 365})
	ent := s.ok(201, "POST", "/entitlements", api, map[string]any{"code": "pro", "name": "Pro"})
	l := s.ok(201, "POST", "/licenses", api, map[string]any{"productId": prod["id"], "policyId": pol["id"], "name": "Ann",
		"userEmail": "ann@example.com", "entitlementIds": []any{ent["id"]}, "metadata": map[string]any{"seat": 1}})
	if !regexp.MustCompile(`^DSK-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$`).MatchString(l["key"].(string)) {
		t.Errorf("key = %v", l["key"])
	}
	if want := wire.NewTimestamp(s.Now().Add(7 * 24 * time.Hour)).String(); l["expiresAt"] != want {
		t.Errorf("trial expiresAt = %v, want %s", l["expiresAt"], want)
	}
	if l["status"] != "active" || l["usesCount"] != float64(0) || l["policy"].(map[string]any)["isTrial"] != true {
		t.Errorf("license = %v", l)
	}
	if ents := l["entitlements"].([]any); len(ents) != 1 || ents[0] != "pro" {
		t.Errorf("entitlements = %v", ents)
	}
	if evs := s.eventTypes(EnvTest); evs[len(evs)-1] != "license.created" {
		t.Errorf("events = %v", evs)
	}
	// Default prefix LIC.
	fx := s.seed(Seed{})
	if !regexp.MustCompile(`^LIC-[A-Z0-9]{4}(-[A-Z0-9]{4}){3}$`).MatchString(fx.License.Key) {
		t.Errorf("default key = %v", fx.License.Key)
	}
	// Custom keys are unique across environments and deleted licenses.
	s.ok(201, "POST", "/licenses", api, map[string]any{"productId": prod["id"], "policyId": pol["id"], "key": "MIGRATED-1"})
	s.fail(409, "CONFLICT", "POST", "/licenses", api, map[string]any{"productId": prod["id"], "policyId": pol["id"], "key": "MIGRATED-1"})
	live := s.seed(Seed{Env: EnvLive})
	s.fail(409, "CONFLICT", "POST", "/licenses", bearer(s.LiveAPIKey()), map[string]any{"productId": live.Product.ID, "policyId": live.Policy.ID, "key": "MIGRATED-1"})
	s.ok(204, "DELETE", "/licenses/"+fx.License.ID, api, nil)
	s.fail(409, "CONFLICT", "POST", "/licenses", api, map[string]any{"productId": prod["id"], "policyId": pol["id"], "key": fx.License.Key})
	s.fail(404, "NOT_FOUND", "GET", "/licenses/"+fx.License.ID, api, nil)
	// Refusals.
	for _, tc := range []struct {
		name        string
		body        map[string]any
		status      int
		code, issue string
	}{
		{"missing productId", map[string]any{"policyId": pol["id"]}, 400, "VALIDATION_ERROR", "productId"},
		{"bad email", map[string]any{"productId": prod["id"], "policyId": pol["id"], "userEmail": "nope"}, 400, "VALIDATION_ERROR", "userEmail"},
		{"wrong type", map[string]any{"productId": prod["id"], "policyId": pol["id"], "maxMachinesOverride": "two"}, 400, "VALIDATION_ERROR", "maxMachinesOverride"},
		{"bad expiresAt", map[string]any{"productId": prod["id"], "policyId": pol["id"], "expiresAt": "tomorrow"}, 400, "VALIDATION_ERROR", "expiresAt"},
		{"unknown product", map[string]any{"productId": newUUID(), "policyId": pol["id"]}, 404, "NOT_FOUND", ""},
		{"unknown policy", map[string]any{"productId": prod["id"], "policyId": newUUID()}, 404, "NOT_FOUND", ""},
		{"policy of another product", map[string]any{"productId": fx.Product.ID, "policyId": pol["id"]}, 400, "VALIDATION_ERROR", "policyId"},
		{"unknown entitlement", map[string]any{"productId": prod["id"], "policyId": pol["id"], "entitlementIds": []string{newUUID()}}, 404, "NOT_FOUND", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := s.fail(tc.status, tc.code, "POST", "/licenses", api, tc.body)
			if tc.issue != "" {
				issues := m["details"].(map[string]any)["issues"].([]any)
				if p := issues[0].(map[string]any)["path"].([]any); p[0] != tc.issue {
					t.Errorf("issue path = %v, want %s", p, tc.issue)
				}
			}
		})
	}
}

func TestLicenseByKeyPatchDelete(t *testing.T) {
	s := start(t)
	api := bearer(s.TestAPIKey())
	fx := s.seed(Seed{})
	l := s.ok(200, "GET", "/licenses/by-key/"+fx.License.Key, api, nil)
	if l["id"] != fx.License.ID || l["policy"] == nil {
		t.Errorf("by-key = %v", l)
	}
	s.fail(404, "NOT_FOUND", "GET", "/licenses/by-key/"+fx.License.Key, bearer(s.LiveAPIKey()), nil)
	p := s.ok(200, "PATCH", "/licenses/"+fx.License.ID, api, map[string]any{"name": "Renamed", "metadata": map[string]any{"k": "v"}, "maxMachinesOverride": nil})
	if p["name"] != "Renamed" || p["metadata"].(map[string]any)["k"] != "v" {
		t.Errorf("patched = %v", p)
	}
	if evs := s.eventTypes(EnvTest); evs[len(evs)-1] != "license.updated" {
		t.Errorf("events = %v", evs)
	}
	s.activate(fx.License.Key, "machine-fp-1")
	s.ok(204, "DELETE", "/licenses/"+fx.License.ID, api, nil)
	if evs := s.eventTypes(EnvTest); evs[len(evs)-1] != "license.deleted" {
		t.Errorf("events = %v", evs)
	}
	s.fail(404, "NOT_FOUND", "DELETE", "/licenses/"+fx.License.ID, api, nil)
	s.fail(401, "UNAUTHORIZED", "POST", "/machines", license(fx.License.Key), map[string]any{"fingerprint": "machine-fp-2"})
	if got := s.validate(api, map[string]any{"key": fx.License.Key}); got["code"] != "NOT_FOUND" {
		t.Errorf("deleted license validates as %v", got["code"])
	}
}

func TestLicenseListFilters(t *testing.T) {
	s := start(t)
	api := bearer(s.TestAPIKey())
	a := s.seed(Seed{})
	b := s.seed(Seed{})
	if _, err := s.AddLicense(EnvTest, a.Policy.ID, LicenseRequest{}); err != nil {
		t.Fatal(err)
	}
	s.ok(200, "POST", "/licenses/"+b.License.ID+"/suspend", api, nil)
	count := func(q string) int {
		_, _, m := s.do("GET", "/licenses"+q, api, nil)
		return len(m["data"].([]any))
	}
	if n := count("?productId=" + a.Product.ID); n != 2 {
		t.Errorf("productId filter: %d", n)
	}
	if n := count("?policyId=" + b.Policy.ID); n != 1 {
		t.Errorf("policyId filter: %d", n)
	}
	if n := count("?status=suspended"); n != 1 {
		t.Errorf("status filter: %d", n)
	}
	s.fail(400, "VALIDATION_ERROR", "GET", "/licenses?status=weird", api, nil)
}

func TestEntitlementAttachDetach(t *testing.T) {
	s := start(t)
	api := bearer(s.TestAPIKey())
	fx := s.seed(Seed{})
	s.ok(201, "POST", "/entitlements", api, map[string]any{"code": "pro", "name": "Pro"})
	s.ok(201, "POST", "/entitlements", api, map[string]any{"code": "team", "name": "Team"})
	s.fail(409, "CONFLICT", "POST", "/entitlements", api, map[string]any{"code": "pro", "name": "Again"})
	s.fail(400, "VALIDATION_ERROR", "POST", "/entitlements", api, map[string]any{"code": "Pro!", "name": "Bad"})
	// Codes are per environment.
	s.ok(201, "POST", "/entitlements", bearer(s.LiveAPIKey()), map[string]any{"code": "pro", "name": "Pro"})
	path := "/licenses/" + fx.License.ID + "/entitlements"
	l := s.ok(200, "POST", path, api, map[string]any{"entitlementCodes": []string{"team", "pro"}})
	if ents := l["entitlements"].([]any); len(ents) != 2 || ents[0] != "pro" {
		t.Errorf("after attach = %v", ents)
	}
	s.fail(404, "NOT_FOUND", "POST", path, api, map[string]any{"entitlementCodes": []string{"ghost"}})
	l = s.ok(200, "DELETE", path, api, map[string]any{"entitlementCodes": []string{"pro", "pro"}})
	if ents := l["entitlements"].([]any); len(ents) != 1 || ents[0] != "team" {
		t.Errorf("after detach = %v", ents)
	}
	// Detaching an absent code is a no-op.
	s.ok(200, "DELETE", path, api, map[string]any{"entitlementCodes": []string{"pro"}})
	s.fail(404, "NOT_FOUND", "DELETE", path, api, map[string]any{"entitlementCodes": []string{"ghost"}})
	p := s.ok(200, "POST", "/policies/"+fx.Policy.ID+"/entitlements", api, map[string]any{"entitlementCodes": []string{"pro"}})
	if ents := p["entitlements"].([]any); len(ents) != 1 {
		t.Errorf("policy entitlements = %v", ents)
	}
	s.fail(403, "FORBIDDEN", "POST", "/policies/"+fx.Policy.ID+"/entitlements", bearer(s.NewAPIKey(EnvTest, "licenses:write")), map[string]any{"entitlementCodes": []string{"pro"}})
}

func TestPolicyTemplatesAndDefaults(t *testing.T) {
	s := start(t)
	api := bearer(s.TestAPIKey())
	prod := s.ok(201, "POST", "/products", api, map[string]any{"name": "P", "code": "p1"})
	pid := prod["id"]
	mk := func(body map[string]any) map[string]any {
		body["productId"], body["name"] = pid, "pol"
		return s.ok(201, "POST", "/policies", api, body)
	}
	custom := mk(map[string]any{"maxMachines": 4})
	for k, v := range map[string]any{"template": "custom", "maxMachines": 4.0, "maxUses": nil, "floating": false,
		"durationDays": nil, "expirationStrategy": "RESTRICT_ACCESS", "requireHeartbeat": false,
		"heartbeatIntervalMinutes": 60.0, "heartbeatCullStrategy": "DEACTIVATE_DEAD", "requireFingerprint": true,
		"fingerprintUniqueness": "PER_LICENSE", "offlineAllowed": true, "offlineMaxDays": 14.0,
		"allowMachineTransfer": false, "isTrial": false, "trialDurationDays": nil} {
		if custom[k] != v {
			t.Errorf("custom %s = %v, want %v", k, custom[k], v)
		}
	}
	for _, tc := range []struct {
		template string
		want     map[string]any
	}{
		{"desktop_app", map[string]any{"maxMachines": 2.0, "requireFingerprint": true, "offlineAllowed": true, "offlineMaxDays": 14.0, "durationDays": nil}},
		{"cli_tool", map[string]any{"maxMachines": 3.0, "offlineMaxDays": 7.0}},
		{"saas", map[string]any{"maxMachines": nil, "requireFingerprint": false, "offlineAllowed": false, "durationDays": 30.0, "requireHeartbeat": true, "heartbeatIntervalMinutes": 1440.0, "floating": true}},
		{"trial", map[string]any{"maxMachines": 1.0, "requireFingerprint": true, "offlineAllowed": false, "isTrial": true}},
	} {
		p := mk(map[string]any{"template": tc.template})
		for k, v := range tc.want {
			if p[k] != v {
				t.Errorf("%s %s = %v, want %v", tc.template, k, p[k], v)
			}
		}
	}
	// A template's value can be overridden.
	if p := mk(map[string]any{"template": "desktop_app", "maxMachines": 5}); p["maxMachines"] != 5.0 {
		t.Errorf("override = %v", p["maxMachines"])
	}
	// maxMachines is required without a template, null needs the flag.
	s.fail(400, "VALIDATION_ERROR", "POST", "/policies", api, map[string]any{"productId": pid, "name": "x"})
	s.fail(400, "VALIDATION_ERROR", "POST", "/policies", api, map[string]any{"productId": pid, "name": "x", "maxMachines": nil})
	if p := mk(map[string]any{"maxMachines": nil, "allowUnlimitedActivations": true}); p["maxMachines"] != nil || p["allowUnlimitedActivations"] != nil {
		t.Errorf("unlimited = %v", p)
	}
	s.fail(400, "VALIDATION_ERROR", "POST", "/policies", api, map[string]any{"productId": pid, "name": "x", "maxMachines": 1, "expirationStrategy": "NEVER"})
	s.fail(400, "VALIDATION_ERROR", "POST", "/policies", api, map[string]any{"productId": pid, "name": "x", "template": "enterprise"})
	s.fail(404, "NOT_FOUND", "POST", "/policies", api, map[string]any{"productId": newUUID(), "name": "x", "maxMachines": 1})
	// PATCH and DELETE.
	p := s.ok(200, "PATCH", "/policies/"+custom["id"].(string), api, map[string]any{"maxUses": 10, "requireHeartbeat": true})
	if p["maxUses"] != 10.0 || p["requireHeartbeat"] != true || p["maxMachines"] != 4.0 {
		t.Errorf("patched = %v", p)
	}
	s.ok(204, "DELETE", "/policies/"+custom["id"].(string), api, nil)
	s.fail(404, "NOT_FOUND", "GET", "/policies/"+custom["id"].(string), api, nil)
}

func TestProducts(t *testing.T) {
	s := start(t)
	api := bearer(s.TestAPIKey())
	p := s.ok(201, "POST", "/products", api, map[string]any{"name": "Desk", "code": "desk-1", "description": "d"})
	if p["keyPrefix"] != "LIC" || p["licensesCount"] != 0.0 || p["accountId"] == "" {
		t.Errorf("product = %v", p)
	}
	s.fail(409, "CONFLICT", "POST", "/products", api, map[string]any{"name": "Desk", "code": "desk-1"})
	s.ok(201, "POST", "/products", bearer(s.LiveAPIKey()), map[string]any{"name": "Desk", "code": "desk-1"})
	s.fail(400, "VALIDATION_ERROR", "POST", "/products", api, map[string]any{"name": "Desk", "code": "desk 2"})
	s.fail(400, "VALIDATION_ERROR", "POST", "/products", api, map[string]any{"name": "Desk", "code": "d2", "keyPrefix": "dsk"})
	id := p["id"].(string)
	if u := s.ok(200, "PATCH", "/products/"+id, api, map[string]any{"name": "Desk 2"}); u["name"] != "Desk 2" || u["code"] != "desk-1" {
		t.Errorf("patched = %v", u)
	}
	s.ok(200, "GET", "/products/"+id, api, nil)
	s.ok(204, "DELETE", "/products/"+id, api, nil)
	s.fail(404, "NOT_FOUND", "GET", "/products/"+id, api, nil)
	s.fail(403, "FORBIDDEN", "POST", "/products", bearer(s.NewAPIKey(EnvTest, "products:read")), map[string]any{"name": "X", "code": "x"})
}
