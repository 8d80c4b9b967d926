package licentrictest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go/internal/wire"
)

// Contract §13.1: custom keys of 1..16384 characters round-trip byte for
// byte through create, validate-key, by-key (a ServeMux {key} wildcard),
// license-key auth and checkout.
func TestCustomLicenseKeysRoundTrip(t *testing.T) {
	s := start(t, WithoutRateLimits())
	api := bearer(s.TestAPIKey())
	fx := s.seed(Seed{Policy: PolicyRequest{RequireFingerprint: wire.Value(false)}})
	keys := map[string]string{
		"slash":       "ab/cd/../ef",
		"percent":     "100%-off-%2F-%zz",
		"spaces":      "key with  inner spaces",
		"non-ASCII":   "ключ-Ünïcødé-日本語-🔑",
		"dot":         ".",
		"dotdot":      "..",
		"query chars": "a?b#c&d=e+f;g",
		"lowercase":   "keygen-legacy-abc123",
		"max ASCII":   strings.Repeat("K", wire.MaxLicenseKeyLen),
		"max runes":   strings.Repeat("é", wire.MaxLicenseKeyLen), // 32 KiB, 16384 characters
	}
	for name, key := range keys {
		t.Run(name, func(t *testing.T) {
			created := s.ok(201, "POST", "/licenses", api, map[string]any{"productId": fx.Product.ID, "policyId": fx.Policy.ID, "key": key})
			require.Equal(t, key, created["key"])

			v := s.validate(api, map[string]any{"key": key})
			assert.Equal(t, "VALID", v["code"])
			assert.Equal(t, created["id"], v["license"].(map[string]any)["id"])

			got := s.ok(200, "GET", wire.LicenseByKeyPath(key), api, nil)
			assert.Equal(t, created["id"], got["id"])
			assert.Equal(t, key, got["key"])

			m := s.ok(201, "POST", "/machines", license(key), map[string]any{"fingerprint": "machine-fp-" + name})
			assert.Equal(t, created["id"], m["licenseId"])
			co := s.ok(200, "POST", "/licenses/"+created["id"].(string)+"/checkout", license(key), map[string]any{"fingerprint": "machine-fp-" + name})
			assert.NotEmpty(t, co["certificate"])
		})
	}
}

func TestLicenseKeyLimits(t *testing.T) {
	s := start(t, WithoutRateLimits())
	api := bearer(s.TestAPIKey())
	fx := s.seed(Seed{})
	create := func(key string) (int, map[string]any) {
		st, _, m := s.do("POST", "/licenses", api, map[string]any{"productId": fx.Product.ID, "policyId": fx.Policy.ID, "key": key})
		return st, m
	}
	tooLong := strings.Repeat("K", wire.MaxLicenseKeyLen+1)
	for name, key := range map[string]string{
		"empty": "", "too long": tooLong, "too many runes": strings.Repeat("é", wire.MaxLicenseKeyLen+1),
		"leading space": " KEY", "trailing space": "KEY ", "trailing NBSP": "KEY\u00a0", "tab": "A\tB",
		"newline": "A\nB", "NUL": "A\x00B", "DEL": "A\x7fB", "C1 control": "A\u0085B",
	} {
		st, m := create(key)
		assert.Equal(t, 400, st, name)
		assert.Equal(t, "VALIDATION_ERROR", m["code"], name)
	}
	// Longer than the maximum: 400 everywhere a key is taken.
	s.fail(400, "VALIDATION_ERROR", "POST", "/licenses/validate-key", "", map[string]any{"key": tooLong})
	s.fail(400, "VALIDATION_ERROR", "GET", wire.LicenseByKeyPath(tooLong), api, nil)
	s.fail(400, "VALIDATION_ERROR", "POST", "/machines", license(tooLong), map[string]any{"fingerprint": "machine-fp-1"})
	// Unknown keys of any allowed length: NOT_FOUND (401 as a credential).
	unknown := strings.Repeat("Z", wire.MaxLicenseKeyLen)
	assert.Equal(t, "NOT_FOUND", s.validate("", map[string]any{"key": unknown})["code"])
	s.fail(404, "NOT_FOUND", "GET", wire.LicenseByKeyPath(unknown), api, nil)
	s.fail(404, "NOT_FOUND", "GET", wire.LicenseByKeyPath("no/such key"), api, nil)
	s.fail(401, "UNAUTHORIZED", "POST", "/machines", license(unknown), map[string]any{"fingerprint": "machine-fp-1"})
	// Byte-exact: case and Unicode normalisation matter.
	st, _ := create("Café") // precomposed é
	require.Equal(t, 201, st)
	assert.Equal(t, "NOT_FOUND", s.validate("", map[string]any{"key": "Cafe\u0301"})["code"])
	assert.Equal(t, "NOT_FOUND", s.validate("", map[string]any{"key": "café"})["code"])
	st, m := create("Café")
	assert.Equal(t, http.StatusConflict, st)
	assert.Equal(t, "CONFLICT", m["code"])
}

// Contract §13.2: metadata is stored as given (numbers keep their digits)
// up to 64 KiB serialized.
func TestMetadataStoredAsGiven(t *testing.T) {
	s := start(t)
	api := bearer(s.TestAPIKey())
	fx := s.seed(Seed{})
	body := `{"productId":"` + fx.Product.ID + `","policyId":"` + fx.Policy.ID + `",` +
		`"metadata":{"_source":{"system":"keygen","id":"9f0c"},"big":12345678901234567890,"exact":0.1000000000000000055511151231257827}}`
	created := s.ok(201, "POST", "/licenses", api, body)
	_, raw := s.raw("GET", "/licenses/"+created["id"].(string), api)
	assert.Contains(t, raw, `"big":12345678901234567890`)
	assert.Contains(t, raw, `"exact":0.1000000000000000055511151231257827`)
	assert.Contains(t, raw, `"_source":{"id":"9f0c","system":"keygen"}`)

	pad := strings.Repeat("x", wire.MaxMetadataBytes-len(`{"p":""}`))
	s.ok(201, "POST", "/licenses", api, map[string]any{"productId": fx.Product.ID, "policyId": fx.Policy.ID, "metadata": map[string]any{"p": pad}})
	m := s.fail(400, "VALIDATION_ERROR", "POST", "/licenses", api, map[string]any{"productId": fx.Product.ID, "policyId": fx.Policy.ID, "metadata": map[string]any{"p": pad + "x"}})
	assert.Contains(t, m["error"], "metadata")
	s.fail(400, "VALIDATION_ERROR", "PATCH", "/licenses/"+created["id"].(string), api, map[string]any{"metadata": map[string]any{"p": pad + "x"}})
	s.fail(400, "VALIDATION_ERROR", "POST", "/products", api, map[string]any{"name": "n", "code": "c", "metadata": map[string]any{"p": pad + "x"}})
}
