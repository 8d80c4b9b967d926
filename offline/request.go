package offline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/licentric/licentric-go/internal/atomicfile"
	"github.com/licentric/licentric-go/internal/wire"
)

// The activation-request format, version 1.
const (
	// RequestVersion is the value of "v" in an activation request.
	RequestVersion = 1
	// RequestType is the value of "type" in an activation request: it tells
	// a request apart from a license file or any other JSON document.
	RequestType = "licentric-activation-request"
	// MaxRequestSize caps the input of ParseRequest and LoadRequest (64 KiB;
	// the largest valid request, with a 16 KiB license key, is far smaller).
	MaxRequestSize = 64 << 10
)

// Limits of a request's fields. The fingerprint's are the service's
// (8 to 256 bytes); a name or hostname longer than 255 bytes, which the
// service would refuse, is refused here already.
const (
	maxRequestText  = 255
	maxRequestCores = 1 << 16
)

// ErrMalformedRequest reports an activation request that is not one:
// not a JSON object, of another version or type, too large, or with a
// field that is missing, of the wrong type or out of bounds. Its messages
// name the field, never its value.
var ErrMalformedRequest = errors.New("offline: malformed activation request")

// Request is an activation request: the description of a machine that
// cannot reach the service, made on that machine (ParseRequest's input is
// what `licentric offline request` or licentric.Client.NewOfflineRequest
// wrote) and carried to a computer that can, where the machine is activated
// on the license and a license file is checked out for it
// (licentric.Client.FulfillOfflineRequest, `licentric offline fulfill`).
// Making, saving and reading a request opens no socket.
//
// Its JSON form, which Marshal writes and ParseRequest reads, is a small
// versioned document; everything but "v", "type" and "fingerprint" may be
// left out, and unknown fields are ignored:
//
//	{
//	  "v": 1,
//	  "type": "licentric-activation-request",
//	  "fingerprint": "3f2a9c1e7b8d4f6a0c5e9b2d1a7f3c8e",
//	  "appId": "com.example.app",
//	  "name": "lab-7",
//	  "hostname": "lab-7.acme.example",
//	  "platform": "linux",
//	  "cores": 8,
//	  "licenseKey": "DSK-A1B2-C3D4-E5F6-G7H8"
//	}
//
// A request that holds the license key is a credential: SaveRequest writes
// it with mode 0600, and a Request formats (every fmt verb) and logs
// (slog) without the key. The request is not signed: whoever fulfils it
// decides whether to trust what it says.
type Request struct {
	// Fingerprint is the machine's fingerprint (8 to 256 bytes), as
	// fingerprint.Compute gives it there for the application's ID.
	Fingerprint string
	// AppID is the application ID the fingerprint was computed for, to tell
	// the operator which application asks (at most 255 bytes).
	AppID string
	// Name labels the machine on the license (at most 255 bytes).
	Name string
	// Hostname is the machine's host name (at most 255 bytes).
	Hostname string
	// Platform is macos, windows, linux, docker, kubernetes or empty.
	Platform string
	// Cores is the machine's CPU core count; 0 leaves it out.
	Cores int
	// LicenseKey is the license to activate the machine on, when the
	// machine's user gave it; otherwise whoever fulfils the request does.
	LicenseKey string
}

// requestJSON is a Request's JSON form, as MarshalJSON writes it.
type requestJSON struct {
	V           *int   `json:"v"`
	Type        string `json:"type"`
	Fingerprint string `json:"fingerprint"`
	AppID       string `json:"appId,omitempty"`
	Name        string `json:"name,omitempty"`
	Hostname    string `json:"hostname,omitempty"`
	Platform    string `json:"platform,omitempty"`
	Cores       int    `json:"cores,omitempty"`
	LicenseKey  string `json:"licenseKey,omitempty"`
}

// Validate reports the first field of r that a request may not hold, as an
// error matching ErrMalformedRequest that names the field: a fingerprint
// that is missing, shorter than 8 or longer than 256 bytes, or with
// surrounding white space; an app ID, name or hostname over 255 bytes; an
// unknown platform; a negative or absurd core count; a license key the
// service cannot have; or text that is not UTF-8 or holds control
// characters.
func (r Request) Validate() error {
	switch n := len(r.Fingerprint); {
	case n == 0:
		return errorf(ErrMalformedRequest, "no fingerprint")
	case n < wire.MinFingerprintLen || n > wire.MaxFingerprintLen:
		return errorf(ErrMalformedRequest, "fingerprint must be "+strconv.Itoa(wire.MinFingerprintLen)+
			" to "+strconv.Itoa(wire.MaxFingerprintLen)+" bytes")
	case strings.TrimSpace(r.Fingerprint) != r.Fingerprint:
		return errorf(ErrMalformedRequest, "fingerprint has leading or trailing white space")
	}
	for _, f := range []struct{ name, value string }{
		{"fingerprint", r.Fingerprint}, {"appId", r.AppID}, {"name", r.Name}, {"hostname", r.Hostname},
	} {
		if problem := textProblem(f.value); problem != "" {
			return errorf(ErrMalformedRequest, f.name+" "+problem)
		}
		if f.name != "fingerprint" && len(f.value) > maxRequestText {
			return errorf(ErrMalformedRequest, f.name+" is longer than "+strconv.Itoa(maxRequestText)+" bytes")
		}
	}
	switch r.Platform {
	case "", wire.PlatformMacOS, wire.PlatformWindows, wire.PlatformLinux, wire.PlatformDocker, wire.PlatformKubernetes:
	default:
		return errorf(ErrMalformedRequest, "platform is not one of macos, windows, linux, docker, kubernetes")
	}
	if r.Cores < 0 || r.Cores > maxRequestCores {
		return errorf(ErrMalformedRequest, "cores must be 0 to "+strconv.Itoa(maxRequestCores))
	}
	if r.LicenseKey != "" {
		if problem := wire.LicenseKeyProblem(r.LicenseKey); problem != "" {
			return errorf(ErrMalformedRequest, "licenseKey "+problem)
		}
	}
	return nil
}

// textProblem says why s is no text for a request field, or "".
func textProblem(s string) string {
	if !utf8.ValidString(s) {
		return "is not UTF-8"
	}
	for _, c := range s {
		if unicode.IsControl(c) {
			return "contains control characters"
		}
	}
	return ""
}

// MarshalJSON returns r's JSON form (see Request), after Validate; the
// license key, when r holds one, is in it.
func (r Request) MarshalJSON() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	v := RequestVersion
	return json.Marshal(requestJSON{
		V: &v, Type: RequestType,
		Fingerprint: r.Fingerprint, AppID: r.AppID, Name: r.Name, Hostname: r.Hostname,
		Platform: r.Platform, Cores: r.Cores, LicenseKey: r.LicenseKey,
	})
}

// UnmarshalJSON reads r's JSON form (see Request): an object whose "v" is
// 1 and whose "type" is RequestType, keys matched exactly (case included)
// and none repeated, holding fields that pass Validate. Unknown fields are
// ignored. On error r is left as it was.
func (r *Request) UnmarshalJSON(data []byte) error {
	if trimmed := bytes.TrimSpace(data); len(trimmed) == 0 || trimmed[0] != '{' {
		return errorf(ErrMalformedRequest, "not a JSON object")
	}
	if !utf8.Valid(data) {
		// encoding/json would replace the bad bytes, changing a
		// fingerprint or key silently.
		return errorf(ErrMalformedRequest, "not UTF-8")
	}
	var (
		req     Request
		version *int
		typ     string
	)
	fields := map[string]any{
		"v": &version, "type": &typ, "fingerprint": &req.Fingerprint, "appId": &req.AppID, "name": &req.Name,
		"hostname": &req.Hostname, "platform": &req.Platform, "cores": &req.Cores, "licenseKey": &req.LicenseKey,
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // the '{' checked above
		return errorf(ErrMalformedRequest, "not valid JSON")
	}
	seen := make(map[string]bool, len(fields))
	for dec.More() {
		tok, err := dec.Token()
		key, ok := tok.(string)
		if err != nil || !ok {
			return errorf(ErrMalformedRequest, "not valid JSON")
		}
		if seen[key] {
			return errorf(ErrMalformedRequest, "repeats the field "+safeText(key))
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return errorf(ErrMalformedRequest, "not valid JSON")
		}
		if dst, known := fields[key]; known {
			if bytes.Equal(raw, []byte("null")) || json.Unmarshal(raw, dst) != nil {
				return errorf(ErrMalformedRequest, key+" has the wrong type")
			}
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return errorf(ErrMalformedRequest, "not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf(ErrMalformedRequest, "not valid JSON: data after the object")
	}
	switch {
	case version == nil:
		return errorf(ErrMalformedRequest, `no "v"`)
	case *version > RequestVersion:
		return errorf(ErrMalformedRequest, "version "+strconv.Itoa(*version)+" is newer than 1: upgrade licentric to read it")
	case *version != RequestVersion:
		return errorf(ErrMalformedRequest, `"v" is not 1`)
	case typ != RequestType:
		return errorf(ErrMalformedRequest, `"type" is not "`+RequestType+`"`)
	}
	if err := req.Validate(); err != nil {
		return err
	}
	*r = req
	return nil
}

// Marshal returns r's JSON form, indented for a person to read, with a
// final newline: the bytes SaveRequest writes.
func (r Request) Marshal() ([]byte, error) {
	compact, err := r.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact, "", "  "); err != nil {
		return nil, fmt.Errorf("offline: indent request: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// utf8BOM is the byte-order mark some editors put at the start of a file.
const utf8BOM = "\xef\xbb\xbf"

// ParseRequest reads an activation request (see Request): at most
// MaxRequestSize bytes of UTF-8 holding one JSON object, optionally after a
// byte-order mark. Every error matches ErrMalformedRequest and quotes none
// of the input.
func ParseRequest(data []byte) (*Request, error) {
	if len(data) > MaxRequestSize {
		return nil, errorf(ErrMalformedRequest, "larger than "+strconv.Itoa(MaxRequestSize>>10)+" KiB")
	}
	data = bytes.TrimPrefix(data, []byte(utf8BOM))
	if !json.Valid(data) {
		if looksLikeLicenseFile(data) {
			return nil, errorf(ErrMalformedRequest, "this is a license file, not an activation request")
		}
		return nil, errorf(ErrMalformedRequest, "not valid JSON")
	}
	r := new(Request)
	if err := r.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return r, nil
}

// looksLikeLicenseFile reports whether data starts like a license file,
// which is armour or base64, never JSON.
func looksLikeLicenseFile(data []byte) bool {
	body := bytes.TrimSpace(data)
	return bytes.HasPrefix(body, []byte(ArmorBegin)) || bytes.HasPrefix(body, []byte("eyJ")) // base64 of `{"`
}

// SaveRequest writes r's JSON form (Marshal) to path atomically with mode
// 0600, the request possibly holding the license key: a crash leaves the
// old file or the new one, never a torn one. It opens no socket.
func SaveRequest(path string, r *Request) error {
	if r == nil {
		return errorf(ErrMalformedRequest, "nil request")
	}
	data, err := r.Marshal()
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, data, atomicfile.DefaultPerm); err != nil {
		return fmt.Errorf("offline: save activation request: %w", err)
	}
	return nil
}

// LoadRequest reads an activation request from path with ParseRequest,
// refusing a file over MaxRequestSize without reading it in full.
func LoadRequest(path string) (*Request, error) {
	data, err := atomicfile.ReadCapped(path, MaxRequestSize)
	if errors.Is(err, atomicfile.ErrTooLarge) {
		return nil, errorf(ErrMalformedRequest, "larger than "+strconv.Itoa(MaxRequestSize>>10)+" KiB")
	}
	if err != nil {
		return nil, fmt.Errorf("offline: load activation request: %w", err)
	}
	return ParseRequest(data)
}

// String summarises the request; the license key is left out (read
// Request.LicenseKey for it).
func (r Request) String() string {
	key := "none"
	if r.LicenseKey != "" {
		key = redacted
	}
	return fmt.Sprintf("offline.Request{fingerprint: %s, appId: %s, name: %s, hostname: %s, platform: %s, cores: %d, licenseKey: %s}",
		r.Fingerprint, r.AppID, r.Name, r.Hostname, r.Platform, r.Cores, key)
}

// GoString is String: the license key is never printed.
func (r Request) GoString() string { return r.String() }

// Format implements fmt.Formatter, so that no verb prints the license key.
func (r Request) Format(st fmt.State, verb rune) { format(st, verb, r.String(), r.GoString()) }

// LogValue implements slog.LogValuer, with the fields of String.
func (r Request) LogValue() slog.Value {
	key := "none"
	if r.LicenseKey != "" {
		key = redacted
	}
	return slog.GroupValue(
		slog.String("fingerprint", r.Fingerprint), slog.String("appId", r.AppID), slog.String("name", r.Name),
		slog.String("hostname", r.Hostname), slog.String("platform", r.Platform), slog.Int("cores", r.Cores),
		slog.String("licenseKey", key))
}
