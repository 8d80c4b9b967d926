package licentrictest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

func TestActivationLimitAndOrder(t *testing.T) {
	s := start(t, WithoutRateLimits())
	fx := s.seed(Seed{Policy: PolicyRequest{MaxMachines: wire.Value(2)}})
	key := fx.License.Key
	m1 := s.activate(key, "machine-fp-1")
	s.activate(key, "machine-fp-2")
	// Full: a new fingerprint is refused and fires license.limit_reached.
	s.fail(422, "MACHINE_LIMIT_EXCEEDED", "POST", "/machines", license(key), map[string]any{"fingerprint": "machine-fp-3"})
	if evs := s.eventTypes(EnvTest); evs[len(evs)-1] != "license.limit_reached" {
		t.Errorf("last event = %v", evs[len(evs)-1])
	}
	// A retried activation of an existing machine on the full license
	// recovers it: same-license conflict comes before the limit (§11.9).
	m := s.fail(409, "FINGERPRINT_CONFLICT", "POST", "/machines", license(key), map[string]any{"fingerprint": "machine-fp-1"})
	if d, _ := m["details"].(map[string]any); d["machineId"] != m1["id"] {
		t.Errorf("details = %v, want machineId %v", m["details"], m1["id"])
	}
	// Body errors come first.
	s.fail(400, "VALIDATION_ERROR", "POST", "/machines", license(key), map[string]any{"fingerprint": "short"})
	s.fail(400, "VALIDATION_ERROR", "POST", "/machines", license(key), map[string]any{"fingerprint": "machine-fp-9", "platform": "amiga"})
	// Suspended: LICENSE_NOT_ACTIVE comes before the conflict.
	if _, err := s.SetLicenseStatus(EnvTest, fx.License.ID, "suspend"); err != nil {
		t.Fatal(err)
	}
	s.fail(422, "LICENSE_NOT_ACTIVE", "POST", "/machines", license(key), map[string]any{"fingerprint": "machine-fp-1"})
	if _, err := s.SetLicenseStatus(EnvTest, fx.License.ID, "reinstate"); err != nil {
		t.Fatal(err)
	}
	// Deactivating frees the slot at once.
	s.ok(204, "DELETE", "/machines/"+m1["id"].(string), license(key), nil)
	s.fail(404, "NOT_FOUND", "DELETE", "/machines/"+m1["id"].(string), license(key), nil)
	s.activate(key, "machine-fp-3")
	if l, _ := s.License(EnvTest, fx.License.ID); l.MachineCount != 2 {
		t.Errorf("machineCount = %d", l.MachineCount)
	}
	// An override raises the limit.
	s.ok(200, "PATCH", "/licenses/"+fx.License.ID, bearer(s.TestAPIKey()), map[string]any{"maxMachinesOverride": 3})
	s.activate(key, "machine-fp-4")
}

func TestActivationWithAPIKey(t *testing.T) {
	s := start(t)
	fx := s.seed(Seed{})
	api := bearer(s.TestAPIKey())
	s.fail(400, "VALIDATION_ERROR", "POST", "/machines", api, map[string]any{"fingerprint": "machine-fp-1"})
	s.fail(404, "NOT_FOUND", "POST", "/machines", api, map[string]any{"fingerprint": "machine-fp-1", "licenseId": newUUID()})
	m := s.ok(201, "POST", "/machines", api, map[string]any{"fingerprint": "machine-fp-1", "licenseId": fx.License.ID,
		"name": "Dev Laptop", "platform": "macos", "hostname": "mbp.local", "cores": 8, "metadata": map[string]any{"a": 1}})
	if m["status"] != "active" || m["platform"] != "macos" || m["cores"] != float64(8) || m["lastHeartbeatAt"] != m["createdAt"] {
		t.Errorf("machine = %v", m)
	}
	id := m["id"].(string)
	s.ok(200, "GET", "/machines/"+id, api, nil)
	s.ok(200, "GET", "/machines/"+id, license(fx.License.Key), nil)
	// Bearer on heartbeat is refused.
	s.fail(401, "UNAUTHORIZED", "POST", "/machines/"+id+"/heartbeat", api, nil)
	// Another license's key can't reach the machine.
	other, err := s.AddLicense(EnvTest, fx.Policy.ID, LicenseRequest{})
	if err != nil {
		t.Fatal(err)
	}
	s.fail(404, "NOT_FOUND", "GET", "/machines/"+id, license(other.Key), nil)
	s.fail(404, "NOT_FOUND", "POST", "/machines/"+id+"/heartbeat", license(other.Key), nil)
	s.fail(404, "NOT_FOUND", "DELETE", "/machines/"+id, license(other.Key), nil)
	// Scopes.
	ro := bearer(s.NewAPIKey(EnvTest, "machines:read"))
	s.ok(200, "GET", "/machines/"+id, ro, nil)
	s.fail(403, "FORBIDDEN", "POST", "/machines", ro, map[string]any{"fingerprint": "machine-fp-2", "licenseId": fx.License.ID})
	s.fail(403, "FORBIDDEN", "DELETE", "/machines/"+id, ro, nil)
	s.ok(204, "DELETE", "/machines/"+id, api, nil)
	s.fail(404, "NOT_FOUND", "GET", "/machines/"+id, api, nil)
}

func TestFingerprintUniqueness(t *testing.T) {
	for _, tc := range []struct {
		mode                         string
		samePolicy, otherPolicy, env int // expected status of the second activation
	}{
		{"PER_LICENSE", 201, 201, 201},
		{"PER_POLICY", 409, 201, 201},
		{"PER_ACCOUNT", 409, 409, 201},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			s := start(t)
			fx := s.seed(Seed{Policy: PolicyRequest{FingerprintUniqueness: wire.Value(tc.mode)}})
			s.activate(fx.License.Key, "shared-fp-1")
			// Same license: always a conflict with machineId.
			s.fail(409, "FINGERPRINT_CONFLICT", "POST", "/machines", license(fx.License.Key), map[string]any{"fingerprint": "shared-fp-1"})

			sameLic, err := s.AddLicense(EnvTest, fx.Policy.ID, LicenseRequest{})
			if err != nil {
				t.Fatal(err)
			}
			st, _, m := s.do("POST", "/machines", license(sameLic.Key), map[string]any{"fingerprint": "shared-fp-1"})
			if st != tc.samePolicy {
				t.Errorf("same policy: %d %v, want %d", st, m, tc.samePolicy)
			}
			if st == 409 {
				if d, _ := m["details"].(map[string]any); d["machineId"] != nil {
					t.Errorf("other-license conflict names a machine: %v", d)
				}
			}
			other := s.seed(Seed{Policy: PolicyRequest{FingerprintUniqueness: wire.Value(tc.mode)}})
			if st, _, m := s.do("POST", "/machines", license(other.License.Key), map[string]any{"fingerprint": "shared-fp-1"}); st != tc.otherPolicy {
				t.Errorf("other policy: %d %v, want %d", st, m, tc.otherPolicy)
			}
			live := s.seed(Seed{Env: EnvLive, Policy: PolicyRequest{FingerprintUniqueness: wire.Value(tc.mode)}})
			if st, _, m := s.do("POST", "/machines", license(live.License.Key), map[string]any{"fingerprint": "shared-fp-1"}); st != tc.env {
				t.Errorf("other environment: %d %v, want %d", st, m, tc.env)
			}
		})
	}
	t.Run("deleted license does not count", func(t *testing.T) {
		s := start(t)
		fx := s.seed(Seed{Policy: PolicyRequest{FingerprintUniqueness: wire.Value("PER_ACCOUNT")}})
		s.activate(fx.License.Key, "shared-fp-1")
		s.ok(204, "DELETE", "/licenses/"+fx.License.ID, bearer(s.TestAPIKey()), nil)
		other := s.seed(Seed{Policy: PolicyRequest{FingerprintUniqueness: wire.Value("PER_ACCOUNT")}})
		s.activate(other.License.Key, "shared-fp-1")
	})
}

func TestMachineDeath(t *testing.T) {
	for _, cull := range []string{"DEACTIVATE_DEAD", "KEEP_DEAD"} {
		t.Run(cull, func(t *testing.T) {
			s := start(t)
			fx := s.seed(Seed{Policy: PolicyRequest{RequireHeartbeat: wire.Value(true), HeartbeatIntervalMinutes: wire.Value(10),
				HeartbeatCullStrategy: wire.Value(cull), MaxMachines: wire.Value(1)}})
			key, api := fx.License.Key, bearer(s.TestAPIKey())
			id := s.activate(key, "machine-fp-1")["id"].(string)
			path := "/machines/" + id

			s.Advance(5 * time.Minute)
			hb := s.ok(200, "POST", path+"/heartbeat", license(key), nil)
			if hb["lastHeartbeatAt"] != wire.NewTimestamp(s.Now()).String() {
				t.Errorf("lastHeartbeatAt = %v, want %v", hb["lastHeartbeatAt"], wire.NewTimestamp(s.Now()))
			}
			// Exactly the interval since the heartbeat: still alive (strict >).
			s.Advance(10 * time.Minute)
			if m := s.ok(200, "GET", path, api, nil); m["status"] != "active" {
				t.Fatalf("at the deadline status = %v", m["status"])
			}
			s.Advance(time.Millisecond)
			if cull == "DEACTIVATE_DEAD" {
				s.fail(404, "NOT_FOUND", "GET", path, api, nil)
				s.fail(404, "NOT_FOUND", "POST", path+"/heartbeat", license(key), nil)
				// The slot is free.
				s.activate(key, "machine-fp-2")
			} else {
				if m := s.ok(200, "GET", path, api, nil); m["status"] != "dead" {
					t.Fatalf("status = %v, want dead", m["status"])
				}
				got := s.validate(api, map[string]any{"key": key, "fingerprint": "machine-fp-1"})
				if got["code"] != "HEARTBEAT_REQUIRED" {
					t.Errorf("validate = %v", got["code"])
				}
				// Still holds its slot and conflicts.
				s.fail(422, "MACHINE_LIMIT_EXCEEDED", "POST", "/machines", license(key), map[string]any{"fingerprint": "machine-fp-2"})
				s.fail(409, "FINGERPRINT_CONFLICT", "POST", "/machines", license(key), map[string]any{"fingerprint": "machine-fp-1"})
				if l, _ := s.License(EnvTest, fx.License.ID); l.MachineCount != 1 {
					t.Errorf("machineCount = %d", l.MachineCount)
				}
				// A heartbeat revives it.
				if m := s.ok(200, "POST", path+"/heartbeat", license(key), nil); m["status"] != "active" {
					t.Errorf("after heartbeat status = %v", m["status"])
				}
				if got := s.validate(api, map[string]any{"key": key, "fingerprint": "machine-fp-1"}); got["code"] != "VALID" {
					t.Errorf("validate after revival = %v", got["code"])
				}
			}
			s.ok(200, "GET", "/licenses", api, nil)
			dead := 0
			for _, e := range s.Events(EnvTest) {
				if e.Type == "machine.dead" {
					dead++
				}
			}
			if dead != 1 {
				t.Errorf("machine.dead fired %d times, want 1", dead)
			}
		})
	}
}

func TestConcurrentActivationsNeverExceedLimit(t *testing.T) {
	s := start(t, WithoutRateLimits())
	const limit = 5
	fx := s.seed(Seed{Policy: PolicyRequest{MaxMachines: wire.Value(limit)}})
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, _, _ := s.do("POST", "/machines", license(fx.License.Key), map[string]any{"fingerprint": fmt.Sprintf("concurrent-fp-%02d", i%20)})
			mu.Lock()
			statuses[st]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[201] != limit {
		t.Errorf("statuses = %v, want exactly %d created", statuses, limit)
	}
	if statuses[201]+statuses[409]+statuses[422] != 40 {
		t.Errorf("unexpected statuses %v", statuses)
	}
	if l, _ := s.License(EnvTest, fx.License.ID); l.MachineCount != limit {
		t.Errorf("machineCount = %d", l.MachineCount)
	}
}

func TestMachineList(t *testing.T) {
	s := start(t)
	a := s.seed(Seed{})
	b := s.seed(Seed{})
	s.activate(a.License.Key, "machine-fp-1")
	s.activate(a.License.Key, "machine-fp-2")
	s.activate(b.License.Key, "machine-fp-3")
	api := bearer(s.TestAPIKey())
	_, _, m := s.do("GET", "/machines?licenseId="+a.License.ID, api, nil)
	if n := len(m["data"].([]any)); n != 2 {
		t.Errorf("filtered list has %d", n)
	}
	_, _, m = s.do("GET", "/machines", api, nil)
	if n := len(m["data"].([]any)); n != 3 {
		t.Errorf("list has %d", n)
	}
	s.fail(401, "UNAUTHORIZED", "GET", "/machines", license(a.License.Key), nil)
}
