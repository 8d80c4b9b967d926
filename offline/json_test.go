package offline

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// stdDecode decodes a payload with encoding/json, the reference.
func stdDecode(t testing.TB, s string) *Payload {
	t.Helper()
	var p Payload
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	return &p
}

func TestDecodePayloadMatchesEncodingJSON(t *testing.T) {
	canonical, _ := json.Marshal(testPayload())
	indented, _ := json.MarshalIndent(testPayload(), "", "\t")
	escapes := testPayload()
	escapes.License.Name = "Ünïcödé <b>&amp;</b> \"quoted\" \\ back\tslash\n\u2028 \U0001F600 \x7f"
	escapes.License.Metadata = map[string]any{
		"nested": map[string]any{"list": []any{1.5, "two", nil, true, map[string]any{}}, "empty": []any{}},
		"big":    1e300, "neg": -0.25, "int": 12345678901234.0, "str": "\u00e9",
	}
	escapes.Machine.Metadata = map[string]any{}
	escaped, _ := json.Marshal(escapes)
	inputs := map[string]string{
		"canonical": string(canonical),
		"indented":  string(indented),
		"escapes":   string(escaped),
		"surrogates and escaped slash": `{"v":1,"env":"live","fingerprint":"a\/b\ud83d\ude00\ud800x\udc00\u00e9",` +
			`"license":{"name":"\uD83D","key":"\uD83D\u0041"}}`,
		"nulls everywhere": `{"v":1,"env":null,"issuedAt":null,"ttl":null,"fingerprint":null,"license":{"id":null,` +
			`"maxMachinesOverride":null,"entitlements":null,"metadata":null,"policy":null,"usesCount":null,"status":null},` +
			`"machine":null,"entitlements":[null,"a"]}`,
		"unknown fields": `{"v":1,"future":{"a":[1,{"b":"c"}],"d":-1.5e-3},"license":{"extra":true,"policy":{"x":null}},"zz":"\u0041"}`,
		"zero timestamps and precision": `{"issuedAt":"2026-01-15T10:30:00Z","expiresAt":"2026-01-15T10:30:00.123456789+02:00",` +
			`"license":{"expiresAt":"2024-02-29T23:59:59.999Z","createdAt":"2026-01-15T10:30:00.000Z"}}`,
		"empty lists": `{"entitlements":[],"license":{"entitlements":[],"metadata":{}}}`,
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			var got Payload
			if msg := decodePayload(in, &got); msg != "" {
				t.Fatalf("decodePayload: %s", msg)
			}
			if want := stdDecode(t, in); !reflect.DeepEqual(&got, want) {
				t.Errorf("decoders differ:\n got %+v\nwant %+v", got, *want)
			}
		})
	}
}

func TestDecodePayloadRefusesInvalidJSON(t *testing.T) {
	for _, in := range []string{
		``, ` `, `{`, `}`, `{"v":1`, `{"v":1,}`, `{"v" 1}`, `{v:1}`, `{"v":01}`, `{"v":-}`, `{"v":1.}`,
		`{"v":.5}`, `{"v":1e}`, `{"v":+1}`, `{"env":"a` + "\n" + `"}`, `{"env":"\x"}`, `{"env":"\u12"}`,
		`{"env":'a'}`, `{"license":{"metadata":{"a":tru}}}`, `{"license":{"metadata":{"a":[1,]}}}`,
		`{"license":{"metadata":{"a":nul}}}`, `{"v":1}{}`, `[]`, `null`, `{"entitlements":[1]}`,
		`{"license":{"metadata":{"a":1e999}}}`, `{"license":{"floating":true}, "license":3}`,
		`{"license":{"policy":{"floating":"yes"}}}`, `{"machine":{"cores":1.5}}`,
		`{"v":1` + strings.Repeat(`,"x":[`, 70) + strings.Repeat("]", 70) + "}",
		`{"issuedAt":"2026-02-30T10:30:00.000Z"}`, `{"issuedAt":1}`,
	} {
		var p Payload
		if msg := decodePayload(in, &p); msg == "" {
			t.Errorf("decodePayload(%.60q) accepted", in)
		}
	}
}

func TestParseWireTimeMatchesTimeParse(t *testing.T) {
	inputs := []string{
		"2026-01-15T10:30:00.000Z", "2024-02-29T23:59:59.999Z", "2023-02-29T00:00:00.000Z",
		"2100-02-29T00:00:00.000Z", "2000-02-29T00:00:00.000Z", "2026-04-31T00:00:00.000Z",
		"2026-13-01T00:00:00.000Z", "2026-00-01T00:00:00.000Z", "2026-01-00T00:00:00.000Z",
		"2026-01-01T24:00:00.000Z", "2026-01-01T00:60:00.000Z", "2026-01-01T00:00:60.000Z",
		"0000-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z", "2026-01-01T00:00:00.00aZ",
		"2026-01-01 00:00:00.000Z", "2026-01-01T00:00:00.000+", "-026-01-01T00:00:00.000Z",
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		d := time.Duration(r.Int64N(int64(250 * 365 * 24 * time.Hour)))
		inputs = append(inputs, time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).Add(d).Format("2006-01-02T15:04:05.000Z"))
	}
	for _, in := range inputs {
		want, werr := time.Parse(time.RFC3339Nano, in)
		got, ok := parseWireTime(in)
		if ok && (werr != nil || !got.Equal(want)) {
			t.Errorf("parseWireTime(%q) = %v; time.Parse = %v, %v", in, got, want, werr)
		}
		if !ok && werr == nil && len(in) == len("2006-01-02T15:04:05.000Z") && in[0] != '-' {
			t.Errorf("parseWireTime(%q) refused a time time.Parse reads as %v", in, want)
		}
	}
}

func TestPlainRun(t *testing.T) {
	naive := func(s string) int {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == '"' || c == '\\' || c < 0x20 {
				return i
			}
		}
		return len(s)
	}
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("abcXYZ019+/=\"\\\x00\x1f\x20\x7f\x80\xff\xde\x21\x5b\x5d")
	for range 20000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			if r.IntN(8) == 0 {
				b[i] = alphabet[r.IntN(len(alphabet))]
			} else {
				b[i] = byte('A' + r.IntN(26))
			}
		}
		if got, want := plainRun(string(b)), naive(string(b)); got != want {
			t.Fatalf("plainRun(%q) = %d, want %d", b, got, want)
		}
	}
	for c := range 256 {
		s := strings.Repeat("a", 11) + string([]byte{byte(c)}) + "aaaa"
		if got, want := plainRun(s), naive(s); got != want {
			t.Fatalf("plainRun with byte %#x = %d, want %d", c, got, want)
		}
	}
}
