package licentric

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/licentric/licentric-go/internal/wire"
)

// Sentinel errors of API responses, matched with errors.Is against an
// *APIError (or *RateLimitError). Each matches its error code; the ones named
// after an HTTP status also match that status whatever the code (so a 409
// FINGERPRINT_CONFLICT is both ErrFingerprintConflict and ErrConflict, and a
// 404 with an unknown code is ErrNotFound).
var (
	// ErrInvalidRequest is the service refusing a request it received
	// (VALIDATION_ERROR, or any 400), such as a field out of range or a
	// missing name; (*APIError).FieldErrors says which fields. Compare
	// ErrInvalidArgument: the package refusing an argument before sending.
	ErrInvalidRequest      = errors.New("licentric: invalid request")                 // VALIDATION_ERROR, 400
	ErrUnauthorized        = errors.New("licentric: unauthorized")                    // UNAUTHORIZED, 401
	ErrForbidden           = errors.New("licentric: forbidden")                       // FORBIDDEN, 403
	ErrNotFound            = errors.New("licentric: not found")                       // NOT_FOUND, 404
	ErrConflict            = errors.New("licentric: conflict")                        // CONFLICT, 409
	ErrFingerprintConflict = errors.New("licentric: fingerprint already activated")   // FINGERPRINT_CONFLICT
	ErrLicenseNotActive    = errors.New("licentric: license is not active")           // LICENSE_NOT_ACTIVE
	ErrOfflineNotAllowed   = errors.New("licentric: offline use not allowed")         // OFFLINE_NOT_ALLOWED
	ErrOfflineTTLExceeded  = errors.New("licentric: offline TTL exceeds the maximum") // OFFLINE_TTL_EXCEEDED
	ErrRateLimited         = errors.New("licentric: rate limited")                    // RATE_LIMITED, 429
	ErrServer              = errors.New("licentric: server error")                    // INTERNAL_ERROR, 5xx
)

// Sentinel errors shared by API errors and validation results: an *APIError
// with the code and a *Validation whose Err reports that code both match.
var (
	ErrMachineLimitExceeded = errors.New("licentric: machine limit exceeded")    // MACHINE_LIMIT_EXCEEDED
	ErrFingerprintNotFound  = errors.New("licentric: fingerprint not activated") // FINGERPRINT_NOT_FOUND
)

// Sentinel errors of validation results, matched with errors.Is against
// (*Validation).Err().
var (
	ErrExpired             = errors.New("licentric: license expired")
	ErrSuspended           = errors.New("licentric: license suspended")
	ErrRevoked             = errors.New("licentric: license revoked")
	ErrBanned              = errors.New("licentric: license banned")
	ErrHeartbeatRequired   = errors.New("licentric: machine heartbeat required")
	ErrUsesExceeded        = errors.New("licentric: license uses exceeded")
	ErrEntitlementsMissing = errors.New("licentric: entitlements missing")
	// ErrInvalidLicense matches every non-valid validation result, including
	// codes this version of the package does not know.
	ErrInvalidLicense = errors.New("licentric: license not valid")
)

// ErrUnavailable reports that the service could not be asked or gave no
// usable answer: connection refused or reset, EOF, timeouts, DNS failures,
// TLS failures (a captive portal, an intercepting proxy, a clock far off:
// the x509 or tls error stays available to errors.As, and the request is
// not retried), a 5xx, a 429 after the retries, a success answer that is
// not what the API sends (ErrMalformedResponse), or the client's own rate
// budget spent (ErrBudgetExhausted). An application may decide from an
// offline license file or a stale result meanwhile (see Guard), since the
// file is signed and only the network failed. Refused redirects (off the
// base URL's origin) are a misconfiguration and do not match it; nor does
// the caller's own context ending.
var ErrUnavailable = errors.New("licentric: service unavailable")

// unavailableError marks a transport failure as ErrUnavailable.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string        { return e.err.Error() }
func (e *unavailableError) Unwrap() error        { return e.err }
func (e *unavailableError) Is(target error) bool { return target == ErrUnavailable }

// sentinelError is a sentinel that also matches other sentinels.
type sentinelError struct {
	msg string
	is  []error
}

func (e *sentinelError) Error() string { return e.msg }
func (e *sentinelError) Is(target error) bool {
	for _, s := range e.is {
		if s == target {
			return true
		}
	}
	return false
}

// Client-side errors, reported before any request is sent or after a
// response could not be understood.
var (
	// ErrMalformedResponse reports a success response whose body is not
	// what the API sends: not JSON, wrong types, missing fields, or larger
	// than the body cap (a captive portal's page, say). It matches
	// ErrUnavailable.
	ErrMalformedResponse error = &sentinelError{msg: "licentric: malformed response", is: []error{ErrUnavailable}}
	// ErrNoAPIKey reports a management call on a client built without
	// WithAPIKey.
	ErrNoAPIKey = errors.New("licentric: no API key configured")
	// ErrNoFingerprinter reports that a fingerprint was needed but neither
	// given nor configured (WithAppID or WithFingerprinter).
	ErrNoFingerprinter = errors.New("licentric: no fingerprint source configured")
	// ErrInvalidArgument reports an argument refused before any request
	// (empty license key, fingerprint of the wrong length, ...). Compare
	// ErrInvalidRequest: a request the service received and refused.
	ErrInvalidArgument = errors.New("licentric: invalid argument")
)

var codeSentinels = map[string]error{
	wire.ErrCodeValidation:          ErrInvalidRequest,
	wire.ErrCodeUnauthorized:        ErrUnauthorized,
	wire.ErrCodeForbidden:           ErrForbidden,
	wire.ErrCodeNotFound:            ErrNotFound,
	wire.ErrCodeConflict:            ErrConflict,
	wire.ErrCodeFingerprintConflict: ErrFingerprintConflict,
	wire.ErrCodeMachineLimit:        ErrMachineLimitExceeded,
	wire.ErrCodeLicenseNotActive:    ErrLicenseNotActive,
	wire.ErrCodeOfflineNotAllowed:   ErrOfflineNotAllowed,
	wire.ErrCodeOfflineTTLExceeded:  ErrOfflineTTLExceeded,
	wire.ErrCodeFingerprintNotFound: ErrFingerprintNotFound,
	wire.ErrCodeRateLimited:         ErrRateLimited,
	wire.ErrCodeInternal:            ErrServer,
}

func statusSentinel(status int) error {
	switch {
	case status == http.StatusBadRequest:
		return ErrInvalidRequest
	case status == http.StatusUnauthorized:
		return ErrUnauthorized
	case status == http.StatusForbidden:
		return ErrForbidden
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusConflict:
		return ErrConflict
	case status == http.StatusTooManyRequests:
		return ErrRateLimited
	case status >= 500 && status <= 599:
		return ErrServer
	}
	return nil
}

// APIError is a non-2xx response. Code, Message, RequestID and Details come
// from the error envelope when there is one; StatusCode always comes from the
// response. Message never contains the configured API key or a license key
// in full.
type APIError struct {
	StatusCode int             // HTTP status
	Code       string          // error code, e.g. "FINGERPRINT_CONFLICT"; "" when the body had none
	Message    string          // human-readable message
	RequestID  string          // body requestId, else the X-Request-Id header
	Details    json.RawMessage // the envelope's details object, if any
}

// Error implements error.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "licentric: HTTP %d", e.StatusCode)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request " + e.RequestID + ")")
	}
	return b.String()
}

// Is reports whether target is the sentinel of e's code or of its HTTP
// status; a 5xx or 429 also matches ErrUnavailable.
func (e *APIError) Is(target error) bool {
	if target == ErrUnavailable {
		return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests
	}
	if s, ok := codeSentinels[e.Code]; ok && s == target {
		return true
	}
	s := statusSentinel(e.StatusCode)
	return s != nil && s == target
}

// MachineID returns details.machineId: for FINGERPRINT_CONFLICT, the machine
// of the same license that already has the fingerprint.
func (e *APIError) MachineID() string {
	if len(e.Details) == 0 {
		return ""
	}
	var d struct {
		MachineID string `json:"machineId"`
	}
	if json.Unmarshal(e.Details, &d) != nil {
		return ""
	}
	return d.MachineID
}

// RateLimitError is a 429 response. It wraps the *APIError, so errors.As
// finds either type and errors.Is(err, ErrRateLimited) holds.
type RateLimitError struct {
	*APIError
	RetryAfter time.Duration // from Retry-After; zero when absent
	Limit      int           // X-RateLimit-Limit; zero when absent
	Remaining  int           // X-RateLimit-Remaining
	Reset      time.Time     // X-RateLimit-Reset; zero when absent
}

// Error implements error.
func (e *RateLimitError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("%s (retry after %s)", e.APIError.Error(), e.RetryAfter)
	}
	return e.APIError.Error()
}

// Unwrap returns the underlying *APIError.
func (e *RateLimitError) Unwrap() error { return e.APIError }

// InvalidLicenseError is the error of a validation result that is not valid;
// see (*Validation).Err. It matches ErrInvalidLicense and the sentinel of its
// code (ErrExpired, ErrSuspended, ...).
type InvalidLicenseError struct {
	Code   Code
	Detail string
}

// Error implements error.
func (e *InvalidLicenseError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("licentric: license not valid: %s: %s", e.Code, e.Detail)
	}
	return fmt.Sprintf("licentric: license not valid: %s", e.Code)
}

// Is matches ErrInvalidLicense and the sentinel of e.Code.
func (e *InvalidLicenseError) Is(target error) bool {
	if target == ErrInvalidLicense {
		return true
	}
	s, ok := validationSentinels[e.Code]
	return ok && s == target
}

var validationSentinels = map[Code]error{
	CodeExpired:              ErrExpired,
	CodeSuspended:            ErrSuspended,
	CodeRevoked:              ErrRevoked,
	CodeBanned:               ErrBanned,
	CodeNotFound:             ErrNotFound,
	CodeFingerprintNotFound:  ErrFingerprintNotFound,
	CodeMachineLimitExceeded: ErrMachineLimitExceeded,
	CodeHeartbeatRequired:    ErrHeartbeatRequired,
	CodeUsesExceeded:         ErrUsesExceeded,
	CodeEntitlementsMissing:  ErrEntitlementsMissing,
}

// Limits on what an error keeps from an untrusted body.
const (
	maxMessageRunes   = 300
	maxRequestIDRunes = 128
)

// decodeAPIError builds the error of a non-2xx response from its status,
// headers and (capped) body. tooLarge reports that the body exceeded the cap.
// redact removes secrets from text that came from the server. It never fails:
// whatever the body, the result carries the status.
func decodeAPIError(status int, h http.Header, body []byte, tooLarge bool, red redactor) *APIError {
	e := &APIError{StatusCode: status}
	switch {
	case tooLarge:
		e.Message = fmt.Sprintf("error response larger than %d bytes (HTTP %d)", wire.MaxBodyBytes, status)
	case len(bytes.TrimSpace(body)) == 0:
		e.Message = fmt.Sprintf("empty error response (HTTP %d)", status)
	case !looksJSON(h, body):
		e.Message = fmt.Sprintf("unexpected non-JSON response (HTTP %d%s)", status, describeContentType(h))
	default:
		var eb wire.ErrorBody
		if err := json.Unmarshal(body, &eb); err != nil {
			e.Message = fmt.Sprintf("malformed error response (HTTP %d)", status)
			break
		}
		e.Code = scrubKeyShapes(sanitize(eb.Code, 64))
		e.Message = red.clean(eb.Error, maxMessageRunes)
		e.RequestID = red.clean(eb.RequestID, maxRequestIDRunes)
		if d := bytes.TrimSpace(eb.Details); len(d) > 0 && !bytes.Equal(d, []byte("null")) && json.Valid(d) {
			if r := red.redact(string(d)); r == string(d) && scrubKeyShapes(r) == r {
				e.Details = json.RawMessage(d)
			}
		}
		if e.Code == "" && e.Message == "" {
			e.Message = fmt.Sprintf("unexpected error response (HTTP %d)", status)
		}
	}
	if e.RequestID == "" && h != nil {
		e.RequestID = red.clean(h.Get(wire.HeaderRequestID), maxRequestIDRunes)
	}
	return e
}

// looksJSON reports whether body is probably a JSON document: the content
// type says so, or (no content type) it starts like an object.
func looksJSON(h http.Header, body []byte) bool {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return false
	}
	if h == nil || h.Get(wire.HeaderContentType) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(h.Get(wire.HeaderContentType))
	return err == nil && (mt == wire.ContentTypeJSON || strings.HasSuffix(mt, "+json"))
}

func describeContentType(h http.Header) string {
	if h == nil {
		return ""
	}
	mt, _, err := mime.ParseMediaType(h.Get(wire.HeaderContentType))
	if err != nil || mt == "" {
		return ""
	}
	return ", " + sanitize(mt, 40)
}

// sanitize keeps at most n runes of s with control characters and invalid
// UTF-8 replaced, so that server text cannot forge log lines or terminal
// escapes.
func sanitize(s string, n int) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	count := 0
	for _, r := range s {
		if count == n {
			b.WriteString("…")
			break
		}
		switch {
		case r == utf8.RuneError:
			b.WriteRune('?')
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
		count++
	}
	return strings.TrimSpace(b.String())
}
