package offline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testRequestKey = "DSK-A1B2-C3D4-E5F6-G7H8"

// fullRequest has every field set.
func fullRequest() Request {
	return Request{
		Fingerprint: testFingerprint,
		AppID:       "com.example.app",
		Name:        "lab-7",
		Hostname:    "lab-7.acme.example",
		Platform:    "linux",
		Cores:       8,
		LicenseKey:  testRequestKey,
	}
}

// TestRequestGolden: the JSON form of a full and of a minimal request is
// stable (testdata/request, -update rewrites it) and reads back equal.
func TestRequestGolden(t *testing.T) {
	for name, r := range map[string]Request{
		"request/full.json":    fullRequest(),
		"request/minimal.json": {Fingerprint: testFingerprint},
	} {
		data, err := r.Marshal()
		require.NoError(t, err, name)
		stored := compareGolden(t, name, data)
		back, err := ParseRequest(stored)
		require.NoError(t, err, name)
		assert.Equal(t, r, *back, name)
		// encoding/json sees the same document.
		viaJSON, err := json.Marshal(r)
		require.NoError(t, err)
		var compact bytes.Buffer
		require.NoError(t, json.Compact(&compact, stored))
		assert.Equal(t, compact.String(), string(viaJSON), name)
	}
	// The documented example in Request's comment is the full golden file.
	stored, err := os.ReadFile(filepath.Join("testdata", "request", "full.json"))
	require.NoError(t, err)
	src, err := os.ReadFile("request.go")
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(stored)), "\n") {
		assert.Contains(t, string(src), "//\t"+line+"\n", "Request's documented example lacks a line of testdata/request/full.json")
	}
}

func TestParseRequestAccepts(t *testing.T) {
	full := fullRequest()
	for name, in := range map[string]string{
		"unknown fields ignored": `{"v":1,"type":"licentric-activation-request","fingerprint":"` + testFingerprint + `","createdAt":"2026-01-15T10:30:00Z","extra":{"a":[1]}}`,
		"byte-order mark":        "\xef\xbb\xbf" + `{"v":1,"type":"licentric-activation-request","fingerprint":"` + testFingerprint + `"}`,
		"surrounding space":      "\r\n  " + `{"v":1,"type":"licentric-activation-request","fingerprint":"` + testFingerprint + `"}` + "\r\n",
		"empty optional fields":  `{"v":1,"type":"licentric-activation-request","fingerprint":"` + testFingerprint + `","name":"","cores":0,"licenseKey":""}`,
	} {
		r, err := ParseRequest([]byte(in))
		require.NoError(t, err, name)
		assert.Equal(t, Request{Fingerprint: testFingerprint}, *r, name)
	}
	data, err := full.Marshal()
	require.NoError(t, err)
	r, err := ParseRequest(data)
	require.NoError(t, err)
	assert.Equal(t, full, *r)
}

func TestParseRequestRefuses(t *testing.T) {
	const secretish = "SECRET-VALUE-0123456789"
	doc := func(fields string) string {
		return `{"v":1,"type":"licentric-activation-request","fingerprint":"` + testFingerprint + `"` + fields + `}`
	}
	valid, err := os.ReadFile(filepath.Join("testdata", "valid.lic"))
	require.NoError(t, err)
	for name, tc := range map[string]struct{ in, msg string }{
		"empty":               {``, "not valid JSON"},
		"not JSON":            {`fingerprint=` + secretish, "not valid JSON"},
		"array":               {`[1,2]`, "not a JSON object"},
		"null":                {`null`, "not a JSON object"},
		"string":              {`"` + secretish + `"`, "not a JSON object"},
		"two objects":         {doc("") + doc(""), "not valid JSON"},
		"license file":        {string(valid), "this is a license file"},
		"armoured file":       {ArmorBegin + "\n" + string(valid) + "\n" + ArmorEnd + "\n", "this is a license file"},
		"no version":          {`{"type":"licentric-activation-request","fingerprint":"` + testFingerprint + `"}`, `no "v"`},
		"newer version":       {`{"v":2,"type":"licentric-activation-request","fingerprint":"` + testFingerprint + `"}`, "version 2 is newer than 1: upgrade"},
		"version zero":        {`{"v":0,"type":"licentric-activation-request","fingerprint":"` + testFingerprint + `"}`, `"v" is not 1`},
		"version as string":   {`{"v":"1","type":"licentric-activation-request","fingerprint":"` + testFingerprint + `"}`, "v has the wrong type"},
		"fractional version":  {`{"v":1.5,"type":"licentric-activation-request","fingerprint":"` + testFingerprint + `"}`, "v has the wrong type"},
		"type in other case":  {`{"v":1,"tYpe":"licentric-activation-request","fingerprint":"` + testFingerprint + `"}`, `"type" is not`},
		"fingerprint in caps": {`{"v":1,"type":"licentric-activation-request","Fingerprint":"` + testFingerprint + `"}`, "no fingerprint"},
		"repeated field":      {doc(`,"fingerprint":"` + strings.Repeat("b", 32) + `"`), "repeats the field fingerprint"},
		"repeated unknown":    {doc(`,"x":1,"x":2`), "repeats the field x"},
		"null field":          {doc(`,"name":null`), "name has the wrong type"},
		"no type":             {`{"v":1,"fingerprint":"` + testFingerprint + `"}`, `"type" is not`},
		"other type":          {`{"v":1,"type":"license","fingerprint":"` + testFingerprint + `"}`, `"type" is not`},
		"no fingerprint":      {`{"v":1,"type":"licentric-activation-request"}`, "no fingerprint"},
		"short fingerprint":   {`{"v":1,"type":"licentric-activation-request","fingerprint":"abc"}`, "fingerprint must be 8 to 256 bytes"},
		"long fingerprint":    {`{"v":1,"type":"licentric-activation-request","fingerprint":"` + strings.Repeat("f", 257) + `"}`, "fingerprint must be 8 to 256 bytes"},
		"padded fingerprint":  {`{"v":1,"type":"licentric-activation-request","fingerprint":" ` + testFingerprint + `"}`, "fingerprint has leading or trailing white space"},
		"fingerprint control": {`{"v":1,"type":"licentric-activation-request","fingerprint":"` + testFingerprint + `\u001b[31m"}`, "fingerprint contains control characters"},
		"fingerprint number":  {`{"v":1,"type":"licentric-activation-request","fingerprint":12345678}`, "fingerprint has the wrong type"},
		"long name":           {doc(`,"name":"` + strings.Repeat("n", 256) + `"`), "name is longer than 255 bytes"},
		"long hostname":       {doc(`,"hostname":"` + strings.Repeat("h", 256) + `"`), "hostname is longer than 255 bytes"},
		"long app id":         {doc(`,"appId":"` + strings.Repeat("a", 256) + `"`), "appId is longer than 255 bytes"},
		"name control":        {doc(`,"name":"lab\n7` + secretish + `"`), "name contains control characters"},
		"hostname bad utf-8":  {doc(`,"hostname":"` + "h\xffst" + `"`), "not UTF-8"},
		"unknown platform":    {doc(`,"platform":"` + secretish + `"`), "platform is not one of"},
		"negative cores":      {doc(`,"cores":-1`), "cores must be 0 to 65536"},
		"absurd cores":        {doc(`,"cores":1000000`), "cores must be 0 to 65536"},
		"cores as string":     {doc(`,"cores":"8"`), "cores has the wrong type"},
		"cores fraction":      {doc(`,"cores":8.5`), "cores has the wrong type"},
		"key control":         {doc(`,"licenseKey":"` + secretish + `\u0007"`), "licenseKey contains control characters"},
		"key padded":          {doc(`,"licenseKey":" ` + secretish + `"`), "licenseKey has leading or trailing white space"},
		"key too long":        {doc(`,"licenseKey":"` + strings.Repeat("K", 16385) + `"`), "licenseKey is longer than 16384 bytes"},
		"key as object":       {doc(`,"licenseKey":{"k":"` + secretish + `"}`), "licenseKey has the wrong type"},
		"too large":           {doc(`,"pad":"` + strings.Repeat(" ", MaxRequestSize) + `"`), "larger than 64 KiB"},
	} {
		r, err := ParseRequest([]byte(tc.in))
		assert.Nil(t, r, name)
		require.ErrorIs(t, err, ErrMalformedRequest, name)
		assert.Contains(t, err.Error(), tc.msg, name)
		assert.NotContains(t, err.Error(), secretish, "%s: the error quotes the input", name)
		assert.NotContains(t, err.Error(), "requestJSON", "%s: the error names a Go type", name)
	}
}

func TestRequestMarshalValidates(t *testing.T) {
	for name, r := range map[string]Request{
		"no fingerprint":   {},
		"bad platform":     {Fingerprint: testFingerprint, Platform: "solaris"},
		"negative cores":   {Fingerprint: testFingerprint, Cores: -2},
		"control in key":   {Fingerprint: testFingerprint, LicenseKey: "K\x00EY-0000"},
		"name over limit":  {Fingerprint: testFingerprint, Name: strings.Repeat("x", 300)},
		"invalid app UTF8": {Fingerprint: testFingerprint, AppID: "app\xfe"},
	} {
		_, err := r.Marshal()
		assert.ErrorIs(t, err, ErrMalformedRequest, name)
		_, err = json.Marshal(r)
		assert.ErrorIs(t, err, ErrMalformedRequest, "%s: json.Marshal", name)
		path := filepath.Join(t.TempDir(), "request.json")
		assert.ErrorIs(t, SaveRequest(path, &r), ErrMalformedRequest, name)
		_, statErr := os.Stat(path)
		assert.True(t, os.IsNotExist(statErr), "%s: an invalid request was written", name)
	}
	assert.ErrorIs(t, SaveRequest(filepath.Join(t.TempDir(), "x.json"), nil), ErrMalformedRequest)
}

func TestRequestUnmarshalLeavesTargetOnError(t *testing.T) {
	r := fullRequest()
	err := json.Unmarshal([]byte(`{"v":1,"type":"licentric-activation-request","fingerprint":"short"}`), &r)
	require.ErrorIs(t, err, ErrMalformedRequest)
	assert.Equal(t, fullRequest(), r)
	// Called directly, it refuses data after the object too.
	err = r.UnmarshalJSON([]byte(`{"v":1,"type":"licentric-activation-request","fingerprint":"` + testFingerprint + `"} {}`))
	require.ErrorIs(t, err, ErrMalformedRequest)
	assert.Equal(t, fullRequest(), r)
	// Inside another document, as a vendor's portal might carry it.
	var upload struct {
		Request Request `json:"request"`
	}
	full, err := json.Marshal(fullRequest())
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal([]byte(`{"request":`+string(full)+`}`), &upload))
	assert.Equal(t, fullRequest(), upload.Request)
}

func TestSaveAndLoadRequest(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "request.json")
	r := fullRequest()
	require.NoError(t, SaveRequest(path, &r))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "the request may hold the license key")
	want, err := r.Marshal()
	require.NoError(t, err)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
	back, err := LoadRequest(path)
	require.NoError(t, err)
	assert.Equal(t, r, *back)

	// Saving again replaces the file whole; no temporary file stays.
	r.Name = "lab-8"
	require.NoError(t, SaveRequest(path, &r))
	back, err = LoadRequest(path)
	require.NoError(t, err)
	assert.Equal(t, "lab-8", back.Name)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1)

	// A missing file, a directory, an oversized file.
	_, err = LoadRequest(filepath.Join(dir, "none.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	_, err = LoadRequest(dir)
	assert.Error(t, err)
	big := filepath.Join(dir, "big.json")
	require.NoError(t, os.WriteFile(big, bytes.Repeat([]byte(" "), MaxRequestSize+1), 0o600))
	_, err = LoadRequest(big)
	assert.ErrorIs(t, err, ErrMalformedRequest)
	assert.Contains(t, err.Error(), "larger than 64 KiB")
	// Into a missing directory: an error, nothing written.
	assert.Error(t, SaveRequest(filepath.Join(dir, "missing", "request.json"), &r))
}

func TestRequestFormatsWithoutTheKey(t *testing.T) {
	r := fullRequest()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		for _, v := range []any{r, &r} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, testRequestKey, verb)
			assert.NotContains(t, out, "C3D4", verb)
		}
	}
	assert.Equal(t, "offline.Request{fingerprint: "+testFingerprint+", appId: com.example.app, name: lab-7, "+
		"hostname: lab-7.acme.example, platform: linux, cores: 8, licenseKey: [REDACTED]}", r.String())
	assert.Contains(t, Request{Fingerprint: testFingerprint}.String(), "licenseKey: none")

	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("request", "req", r, "ptr", &r)
	assert.NotContains(t, logged.String(), "C3D4")
	assert.Contains(t, logged.String(), `"licenseKey":"[REDACTED]"`)
	assert.Contains(t, logged.String(), `"fingerprint":"`+testFingerprint+`"`)
}

// TestOfflineOpensNoSocket: package offline, requests included, links no
// networking code (the air-gapped machine's half of the flow runs it).
func TestOfflineOpensNoSocket(t *testing.T) {
	// go test puts the go tool that runs it first on PATH.
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to list the imports with")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/licentric/licentric-go/offline", "go list listed something else")
	for _, forbidden := range []string{"net", "net/http", "crypto/tls", "crypto/x509", "os/exec"} {
		assert.NotContains(t, deps, forbidden, "package offline depends on %s", forbidden)
	}
}
