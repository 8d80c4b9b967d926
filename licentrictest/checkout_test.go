package licentrictest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

// verifyFile checks a license file exactly as docs/wire-protocol.md §7 describes, with
// only the standard library, and returns its kid and payload.
func verifyFile(t *testing.T, cert string, keys []ed25519.PublicKey) (string, map[string]any) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(cert)
	if err != nil {
		t.Fatalf("certificate is not standard base64: %v", err)
	}
	var env struct {
		V       *int   `json:"v"`
		Alg     string `json:"alg"`
		KID     string `json:"kid"`
		Payload string `json:"payload"`
		Sig     string `json:"sig"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("envelope: %v", err)
	}
	if env.V == nil || *env.V != 1 || env.Alg != "ed25519" || env.KID == "" || env.Payload == "" || env.Sig == "" {
		t.Fatalf("incomplete envelope %s", raw)
	}
	var key ed25519.PublicKey
	for _, k := range keys {
		sum := sha256.Sum256(k)
		if hex.EncodeToString(sum[:])[:16] == env.KID {
			key = k
		}
	}
	if key == nil {
		t.Fatalf("kid %s names no known key", env.KID)
	}
	sig, err := base64.StdEncoding.DecodeString(env.Sig)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(key, []byte("licentric-license-file/v1:"+env.Payload), sig) {
		t.Fatal("signature does not verify")
	}
	pj, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var payload map[string]any
	if err := json.Unmarshal(pj, &payload); err != nil {
		t.Fatal(err)
	}
	return env.KID, payload
}

func TestCheckoutFileVerifies(t *testing.T) {
	s := start(t)
	api := bearer(s.TestAPIKey())
	fx := s.seed(Seed{})
	s.ok(201, "POST", "/entitlements", api, map[string]any{"code": "b-ent", "name": "B"})
	s.ok(201, "POST", "/entitlements", api, map[string]any{"code": "a-ent", "name": "A"})
	s.ok(200, "POST", "/licenses/"+fx.License.ID+"/entitlements", api, map[string]any{"entitlementCodes": []string{"b-ent"}})
	s.ok(200, "POST", "/policies/"+fx.Policy.ID+"/entitlements", api, map[string]any{"entitlementCodes": []string{"a-ent"}})
	m := s.activate(fx.License.Key, "machine-fp-1")

	d := s.ok(200, "POST", "/licenses/"+fx.License.ID+"/checkout", api, map[string]any{"fingerprint": "machine-fp-1"})
	if d["ttl"] != 1209600.0 {
		t.Errorf("default ttl = %v", d["ttl"])
	}
	if want := wire.NewTimestamp(s.Now().Add(14 * 24 * time.Hour)).String(); d["expiresAt"] != want || d["issuedAt"] != wire.NewTimestamp(s.Now()).String() {
		t.Errorf("issuedAt %v expiresAt %v, want expiry %s", d["issuedAt"], d["expiresAt"], want)
	}
	kid, p := verifyFile(t, d["certificate"].(string), []ed25519.PublicKey{s.PublicKey()})
	if kid != d["keyId"] {
		t.Errorf("kid %s != keyId %v", kid, d["keyId"])
	}
	if p["v"] != 1.0 || p["env"] != "test" || p["fingerprint"] != "machine-fp-1" || p["ttl"] != 1209600.0 ||
		p["issuedAt"] != d["issuedAt"] || p["expiresAt"] != d["expiresAt"] {
		t.Errorf("payload = %v", p)
	}
	lic := p["license"].(map[string]any)
	if lic["id"] != fx.License.ID || lic["policy"].(map[string]any)["id"] != fx.Policy.ID {
		t.Errorf("payload license = %v", lic)
	}
	if p["machine"].(map[string]any)["id"] != m["id"] {
		t.Errorf("payload machine = %v", p["machine"])
	}
	if ents := p["entitlements"].([]any); len(ents) != 2 || ents[0] != "a-ent" || ents[1] != "b-ent" {
		t.Errorf("payload entitlements = %v, want sorted union", ents)
	}
	// License auth for its own license works too.
	d = s.ok(200, "POST", "/licenses/"+fx.License.ID+"/checkout", license(fx.License.Key), map[string]any{"fingerprint": "machine-fp-1", "ttl": 3600})
	verifyFile(t, d["certificate"].(string), s.PublicKeys())

	// GET /keys/signing matches, with any scope.
	k := s.ok(200, "GET", "/keys/signing", bearer(s.NewAPIKey(EnvTest, "products:read")), nil)
	pub, _ := base64.StdEncoding.DecodeString(k["publicKey"].(string))
	if k["keyId"] != kid || k["algorithm"] != "ed25519" || !ed25519.PublicKey(pub).Equal(s.PublicKey()) {
		t.Errorf("signing key = %v", k)
	}
	s.fail(401, "UNAUTHORIZED", "GET", "/keys/signing", "", nil)
}

func TestKeyRotation(t *testing.T) {
	s := start(t)
	fx := s.seed(Seed{})
	s.activate(fx.License.Key, "machine-fp-1")
	api := bearer(s.TestAPIKey())
	body := map[string]any{"fingerprint": "machine-fp-1"}
	oldKey := s.PublicKey()
	old := s.ok(200, "POST", "/licenses/"+fx.License.ID+"/checkout", api, body)
	newKey := s.RotateSigningKey()
	if newKey.Equal(oldKey) || !s.PublicKey().Equal(newKey) || len(s.PublicKeys()) != 2 {
		t.Fatal("rotation did not install a new key")
	}
	fresh := s.ok(200, "POST", "/licenses/"+fx.License.ID+"/checkout", api, body)
	if old["keyId"] == fresh["keyId"] {
		t.Fatal("new file carries the old kid")
	}
	verifyFile(t, fresh["certificate"].(string), []ed25519.PublicKey{newKey})
	verifyFile(t, old["certificate"].(string), []ed25519.PublicKey{oldKey})
	if k := s.ok(200, "GET", "/keys/signing", api, nil); k["keyId"] != fresh["keyId"] {
		t.Errorf("signing key id = %v", k["keyId"])
	}
	// WithSigningKey pins the key.
	_, priv, _ := ed25519.GenerateKey(nil)
	s2 := start(t, WithSigningKey(priv))
	if !s2.PublicKey().Equal(priv.Public()) {
		t.Error("WithSigningKey ignored")
	}
}

func TestCheckoutOrder(t *testing.T) {
	type setup struct {
		policy PolicyRequest
		state  string // "", "suspend", "expired"
	}
	for _, tc := range []struct {
		name   string
		setup  setup
		body   map[string]any
		status int
		code   string
	}{
		{"missing fingerprint", setup{}, map[string]any{}, 400, "VALIDATION_ERROR"},
		{"ttl too small beats suspended", setup{state: "suspend"}, map[string]any{"fingerprint": "machine-fp-1", "ttl": 3599}, 400, "VALIDATION_ERROR"},
		{"ttl too big", setup{}, map[string]any{"fingerprint": "machine-fp-1", "ttl": 7776001}, 400, "VALIDATION_ERROR"},
		{"ttl not an integer", setup{}, map[string]any{"fingerprint": "machine-fp-1", "ttl": 3600.5}, 400, "VALIDATION_ERROR"},
		{"ttl a string", setup{}, map[string]any{"fingerprint": "machine-fp-1", "ttl": "3600"}, 400, "VALIDATION_ERROR"},
		{"ttl zero", setup{}, map[string]any{"fingerprint": "machine-fp-1", "ttl": 0}, 400, "VALIDATION_ERROR"},
		{"suspended beats offline", setup{policy: PolicyRequest{OfflineAllowed: wire.Value(false)}, state: "suspend"}, map[string]any{"fingerprint": "unknown-fp-1"}, 422, "LICENSE_NOT_ACTIVE"},
		{"expired (RESTRICT)", setup{state: "expired"}, map[string]any{"fingerprint": "machine-fp-1"}, 422, "LICENSE_NOT_ACTIVE"},
		{"offline not allowed beats ttl", setup{policy: PolicyRequest{OfflineAllowed: wire.Value(false), OfflineMaxDays: wire.Value(1)}}, map[string]any{"fingerprint": "unknown-fp-1", "ttl": 7776000}, 422, "OFFLINE_NOT_ALLOWED"},
		{"ttl over policy beats fingerprint", setup{policy: PolicyRequest{OfflineMaxDays: wire.Value(2)}}, map[string]any{"fingerprint": "unknown-fp-1", "ttl": 2*86400 + 1}, 422, "OFFLINE_TTL_EXCEEDED"},
		{"default ttl refused, not clamped", setup{policy: PolicyRequest{OfflineMaxDays: wire.Value(7)}}, map[string]any{"fingerprint": "machine-fp-1"}, 422, "OFFLINE_TTL_EXCEEDED"},
		{"fingerprint not activated", setup{}, map[string]any{"fingerprint": "unknown-fp-1"}, 422, "FINGERPRINT_NOT_FOUND"},
		{"ttl at policy max", setup{policy: PolicyRequest{OfflineMaxDays: wire.Value(2)}}, map[string]any{"fingerprint": "machine-fp-1", "ttl": 2 * 86400}, 200, ""},
		{"ttl bounds", setup{policy: PolicyRequest{OfflineMaxDays: wire.Value(90)}}, map[string]any{"fingerprint": "machine-fp-1", "ttl": 7776000}, 200, ""},
		{"expired under ALLOW_ACCESS", setup{policy: PolicyRequest{ExpirationStrategy: wire.Value("ALLOW_ACCESS")}, state: "expired"}, map[string]any{"fingerprint": "machine-fp-1"}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t)
			pol := tc.setup.policy
			pol.DurationDays = wire.Value(30)
			fx := s.seed(Seed{Policy: pol})
			s.activate(fx.License.Key, "machine-fp-1")
			switch tc.setup.state {
			case "suspend":
				if _, err := s.SetLicenseStatus(EnvTest, fx.License.ID, "suspend"); err != nil {
					t.Fatal(err)
				}
			case "expired":
				s.Advance(31 * 24 * time.Hour)
			}
			st, _, m := s.do("POST", "/licenses/"+fx.License.ID+"/checkout", bearer(s.TestAPIKey()), tc.body)
			if st != tc.status || (tc.code != "" && m["code"] != tc.code) {
				t.Fatalf("checkout = %d %v, want %d %s", st, m, tc.status, tc.code)
			}
		})
	}
}

func TestCheckoutAuth(t *testing.T) {
	s := start(t)
	fx := s.seed(Seed{})
	other, err := s.AddLicense(EnvTest, fx.Policy.ID, LicenseRequest{})
	if err != nil {
		t.Fatal(err)
	}
	s.activate(fx.License.Key, "machine-fp-1")
	body := map[string]any{"fingerprint": "machine-fp-1"}
	path := "/licenses/" + fx.License.ID + "/checkout"
	s.fail(404, "NOT_FOUND", "POST", path, license(other.Key), body)
	s.fail(403, "FORBIDDEN", "POST", path, bearer(s.NewAPIKey(EnvTest, "licenses:read")), body)
	s.ok(200, "POST", path, bearer(s.NewAPIKey(EnvTest, "licenses:write")), body)
	s.fail(404, "NOT_FOUND", "POST", path, bearer(s.LiveAPIKey()), body)
	s.fail(401, "UNAUTHORIZED", "POST", path, "", body)
}
