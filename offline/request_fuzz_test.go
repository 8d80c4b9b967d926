package offline

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseRequest feeds arbitrary input to ParseRequest. It must never
// panic; every error matches ErrMalformedRequest and quotes no input; and
// any input it accepts is, read independently with encoding/json, a
// version-1 activation request with the same fields, that passes Validate
// and survives Marshal and ParseRequest unchanged.
func FuzzParseRequest(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "request", "*.json"))
	for _, name := range seeds {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	valid, err := os.ReadFile(filepath.Join("testdata", "valid.lic"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		``,
		`{}`,
		`null`,
		`[]`,
		`{"v":1,"type":"licentric-activation-request","fingerprint":"` + testFingerprint + `"}`,
		"\xef\xbb\xbf" + `{"v":1,"type":"licentric-activation-request","fingerprint":"` + testFingerprint + `","cores":8}`,
		`{"v":1,"type":"licentric-activation-request","fingerprint":"` + testFingerprint + `","V":2,"Type":"x"}`,
		`{"v":2,"type":"licentric-activation-request","fingerprint":"` + testFingerprint + `"}`,
		`{"v":1,"type":"licentric-activation-request","fingerprint":"` + testFingerprint + `","licenseKey":"K\u0000"}`,
		`{"v":1,"type":"licentric-activation-request","fingerprint":"\ud800\udc00abcdefgh","platform":"linux"}`,
		`{"v":1e0,"type":"licentric-activation-request","fingerprint":"` + testFingerprint + `"}`,
		`{"v":1,"type":"licentric-activation-request","fingerprint":"` + testFingerprint + `","cores":-0}`,
		string(valid),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := ParseRequest(in)
		if err != nil {
			if r != nil {
				t.Fatal("a Request was returned with an error")
			}
			if !errors.Is(err, ErrMalformedRequest) {
				t.Fatalf("error %v does not match ErrMalformedRequest", err)
			}
			if len(in) >= 12 && strings.Contains(err.Error(), string(in)) {
				t.Fatalf("error %q quotes the input", err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("accepted a request that fails Validate: %v", err)
		}
		// Independent reading of what was accepted.
		var m map[string]any
		body := strings.TrimPrefix(string(in), "\xef\xbb\xbf")
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("accepted input encoding/json can't read: %v", err)
		}
		if m["type"] != RequestType || m["fingerprint"] != r.Fingerprint {
			t.Fatalf("accepted %v as %v", m, r)
		}
		if v, ok := m["v"].(float64); !ok || v != 1 {
			t.Fatalf(`accepted "v" %v`, m["v"])
		}
		out, err := r.Marshal()
		if err != nil {
			t.Fatalf("an accepted request does not marshal: %v", err)
		}
		back, err := ParseRequest(out)
		if err != nil || *back != *r {
			t.Fatalf("round trip changed the request: %v, %v", back, err)
		}
	})
}
