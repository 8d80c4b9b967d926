package licentric

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go/cache"
	"github.com/licentric/licentric-go/licentrictest"
)

// fill sets every field reachable from v to a value that is not its zero,
// different from field to field, so that a field the codec forgets comes
// back zero and fails the comparison.
func fill(t testing.TB, v reflect.Value, seed *int) {
	t.Helper()
	*seed++
	switch v.Kind() {
	case reflect.String:
		v.SetString("s" + string(rune('a'+*seed%26)) + string(rune('0'+*seed%10)))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*seed * 7))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), seed)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(t, s.Index(i), seed)
		}
		v.Set(s)
	case reflect.Map: // Metadata
		v.Set(reflect.ValueOf(Metadata{"k": "v", "n": float64(*seed)}))
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[Timestamp]() {
			v.Set(reflect.ValueOf(Timestamp{Time: time.Date(2026, 1, 2, 3, 4, 5, *seed*1e6, time.UTC)}))
			return
		}
		for i := range v.NumField() {
			fill(t, v.Field(i), seed)
		}
	default:
		t.Fatalf("fill: no value for %s", v.Type())
	}
}

// The binary form carries every field of a result, its license (with the
// policy and machines) and its machine: a field added to those types and
// not to the codec fails here.
func TestEntryCodecCoversEveryField(t *testing.T) {
	seed := 0
	var lic License
	fill(t, reflect.ValueOf(&lic).Elem(), &seed)
	var m Machine
	fill(t, reflect.ValueOf(&m).Elem(), &seed)
	now := time.Unix(0, 1796192097687632313)
	e := &cacheEntry{
		v:        Validation{Valid: true, Code: CodeValid, Detail: "ok", License: &lic, Machine: &m, Entitlements: []string{"A", "B"}},
		storedAt: now, freshUntil: now.Add(time.Minute), staleUntil: now.Add(time.Hour),
	}
	b, err := e.encode()
	require.NoError(t, err)
	require.Equal(t, byte(entryFormat), b[0])
	got := decodeEntry(b)
	require.NotNil(t, got)
	assert.Equal(t, e.v, got.v)
	assert.True(t, e.storedAt.Equal(got.storedAt))
	assert.True(t, e.freshUntil.Equal(got.freshUntil))
	assert.True(t, e.staleUntil.Equal(got.staleUntil))

	// Every field of Validation beyond those of a cached result is one
	// the cache sets when it answers.
	body := map[string]bool{"Valid": true, "Code": true, "Detail": true, "License": true, "Machine": true, "Entitlements": true}
	answered := map[string]bool{"FromCache": true, "Age": true, "Stale": true, "StaleReason": true, "until": true}
	for f := range reflect.TypeFor[Validation]().Fields() {
		assert.True(t, body[f.Name] || answered[f.Name], "Validation.%s: add it to the entry codec", f.Name)
	}
}

// nil and empty stay apart, zero times stay zero, and what the JSON path
// gives for empty metadata (nil) the binary path gives too.
func TestEntryCodecKeepsNilEmptyAndZero(t *testing.T) {
	zero := 0
	e := &cacheEntry{v: Validation{Code: CodeNotFound, Entitlements: []string{},
		License: &License{ID: "lic_1", Entitlements: nil, Metadata: Metadata{}, MaxUsesOverride: &zero, Machines: []Machine{}}}}
	b, err := e.encode()
	require.NoError(t, err)
	got := decodeEntry(b)
	require.NotNil(t, got)
	assert.NotNil(t, got.v.Entitlements)
	assert.Empty(t, got.v.Entitlements)
	assert.Nil(t, got.v.License.Entitlements)
	assert.Nil(t, got.v.License.Metadata)
	assert.NotNil(t, got.v.License.Machines)
	require.NotNil(t, got.v.License.MaxUsesOverride)
	assert.Equal(t, 0, *got.v.License.MaxUsesOverride)
	assert.Nil(t, got.v.License.MaxMachinesOverride)
	assert.True(t, got.v.License.ExpiresAt.IsZero())
	assert.Nil(t, got.v.License.Policy)
	assert.Nil(t, got.v.Machine)
}

// The JSON form earlier versions stored is no entry: such entries sit
// under an older cacheKeyVersion, and are not read even if found.
func TestEntryCodecRefusesTheJSONForm(t *testing.T) {
	b := []byte(`{"v":1,"result":{"valid":true,"code":"VALID","detail":"License is valid","license":{"id":"lic_1","key":"K","status":"active","expiresAt":null,"createdAt":"2026-01-02T03:04:05.000Z"},"machine":null,"entitlements":["PRO"]},"storedAt":1,"freshUntil":2,"staleUntil":3}`)
	assert.Nil(t, decodeEntry(b))
}

// A stored entry is checked as a service's answer is: one claiming valid
// with a code that does not allow it, a code that is not one, trailing
// bytes, or any cut of a good entry is no entry.
func TestEntryCodecRefusesBadEntries(t *testing.T) {
	enc := func(v Validation) []byte {
		b, err := (&cacheEntry{v: v}).encode()
		require.NoError(t, err)
		return b
	}
	assert.Nil(t, decodeEntry(enc(Validation{Valid: true, Code: CodeSuspended})))
	assert.Nil(t, decodeEntry(enc(Validation{Code: "not a code"})))
	good := enc(Validation{Valid: true, Code: CodeValid, License: &License{ID: "lic_1", Policy: &Policy{ID: "pol_1"}}})
	require.NotNil(t, decodeEntry(good))
	assert.Nil(t, decodeEntry(append(append([]byte{}, good...), 0)))
	for n := range len(good) {
		assert.Nil(t, decodeEntry(good[:n]), "cut at %d", n)
	}
	assert.Nil(t, decodeEntry(nil))
}

func FuzzDecodeEntry(f *testing.F) {
	seed := 0
	var lic License
	fill(f, reflect.ValueOf(&lic).Elem(), &seed)
	full, err := (&cacheEntry{v: Validation{Valid: true, Code: CodeValid, License: &lic, Entitlements: []string{"A"}}}).encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	small, _ := (&cacheEntry{v: Validation{Code: CodeNotFound}}).encode()
	f.Add(small)
	f.Add([]byte(`{"v":1,"result":{"valid":false,"code":"NOT_FOUND"},"storedAt":1,"freshUntil":2,"staleUntil":3}`)) // the JSON form of v1: no entry
	f.Add([]byte{entryFormat, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		e := decodeEntry(b)
		if e == nil {
			return
		}
		// What decodes encodes again and decodes to the same result.
		again, err := e.encode()
		if err != nil {
			return // metadata JSON cannot re-encode (e.g. a NaN is impossible from JSON; nothing else fails)
		}
		e2 := decodeEntry(again)
		if e2 == nil {
			t.Fatalf("a decoded entry does not decode after encoding: %x", b)
		}
		if e.v.Valid && e.v.Code != CodeValid && e.v.Code != CodeExpired {
			t.Fatalf("an entry grants with code %s", e.v.Code)
		}
		if !reflect.DeepEqual(normalizeJSON(t, e.v), normalizeJSON(t, e2.v)) {
			t.Fatalf("round trip changed the result")
		}
	})
}

// normalizeJSON compares results through their JSON, where metadata's
// numbers and the like have one form.
func normalizeJSON(t *testing.T, v Validation) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// After an upgrade, what an earlier version stored (its JSON form, under a
// "v1/" key) is not served: the client asks the service.
func TestEntriesOfEarlierVersionsAreNotServed(t *testing.T) {
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits())
	t.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive})
	require.NoError(t, err)
	store, err := cache.NewFile(t.TempDir()+"/c", []byte("secret"))
	require.NoError(t, err)
	c, err := NewClient(WithBaseURL(srv.URL), WithHTTPClient(srv.Client()), WithValidationCache(store), WithCacheTTL(time.Hour))
	require.NoError(t, err)
	const fp = "fingerprint-0123456789"
	_, err = c.Activate(t.Context(), fx.License.Key, ActivateParams{Fingerprint: fp})
	require.NoError(t, err)

	_, rest, ok := strings.Cut(c.results.cacheKey(fx.License.Key, fp, nil), "/")
	require.True(t, ok)
	now := time.Now().UnixNano()
	old := fmt.Sprintf(`{"v":1,"result":{"valid":false,"code":"SUSPENDED","detail":"stored by 0.1"},"storedAt":%d,"freshUntil":%d,"staleUntil":%d}`,
		now, now+int64(time.Hour), now+int64(time.Hour))
	require.NoError(t, store.Set("v1/"+rest, []byte(old), time.Hour))

	v, err := c.Validate(t.Context(), fx.License.Key, WithFingerprint(fp))
	require.NoError(t, err)
	assert.False(t, v.FromCache)
	assert.Equal(t, CodeValid, v.Code)
	assert.True(t, v.Valid)
}
