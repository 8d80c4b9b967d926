package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/licentric/licentric-go/clock"
	"github.com/licentric/licentric-go/internal/wire"
)

const licenseData = `{"id":"lic_1","key":"ABCD-EFGH-IJKL","name":"Pro","status":"active","productId":"prod_1","policyId":"pol_1","userEmail":"a@example.com","userName":"A","expiresAt":null,"maxMachinesOverride":null,"maxUsesOverride":null,"usesCount":3,"machineCount":1,"entitlements":["pro"],"metadata":{},"createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-02T00:00:00.000Z","deletedAt":null,"policy":{"id":"pol_1","maxMachines":3}}`

const machineData = `{"id":"mach_1","licenseId":"lic_9","fingerprint":"fp-0123456789","name":"laptop","platform":"linux","hostname":"h","cores":8,"status":"active","lastHeartbeatAt":"2026-01-15T10:00:00.000Z","createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z","deletedAt":null,"metadata":{"k":"v"}}`

// eventTime is the createdAt of eventBody's events; eventClock stands
// there, so Handlers in tests accept them.
var (
	eventTime  = time.Date(2026, 1, 15, 10, 30, 0, 123e6, time.UTC)
	eventClock = clock.Func(func() time.Time { return eventTime })
)

func eventBody(id, typ, data string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"type":%q,"createdAt":"2026-01-15T10:30:00.123Z","data":%s}`, id, typ, data)
}

func TestParseLicenseEvent(t *testing.T) {
	for _, typ := range []string{wire.EventLicenseCreated, wire.EventLicenseRevoked, wire.EventValidationSuccess} {
		e, err := Parse(eventBody("evt_1", typ, licenseData))
		if err != nil {
			t.Fatalf("%s: Parse: %v", typ, err)
		}
		if e.ID != "evt_1" || e.Type != typ {
			t.Errorf("%s: got id %q type %q", typ, e.ID, e.Type)
		}
		want := time.Date(2026, 1, 15, 10, 30, 0, 123e6, time.UTC)
		if !e.CreatedAt.Equal(want) || e.CreatedAt.Location() != time.UTC {
			t.Errorf("%s: CreatedAt = %v, want %v", typ, e.CreatedAt, want)
		}
		l, err := e.License()
		if err != nil {
			t.Fatalf("%s: License: %v", typ, err)
		}
		if l.ID != "lic_1" || l.Key != "ABCD-EFGH-IJKL" || l.UsesCount != 3 || l.Policy == nil || *l.Policy.MaxMachines != 3 {
			t.Errorf("%s: License = %+v", typ, l)
		}
		if got := e.LicenseID(); got != "lic_1" {
			t.Errorf("%s: LicenseID = %q", typ, got)
		}
		if _, err := e.Machine(); !errors.Is(err, ErrNoResource) {
			t.Errorf("%s: Machine = %v, want ErrNoResource", typ, err)
		}
	}
}

func TestParseMachineEvent(t *testing.T) {
	e, err := Parse(eventBody("evt_2", wire.EventMachineDead, machineData))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	m, err := e.Machine()
	if err != nil {
		t.Fatalf("Machine: %v", err)
	}
	if m.ID != "mach_1" || m.LicenseID != "lic_9" || m.Cores != 8 || m.Metadata["k"] != "v" {
		t.Errorf("Machine = %+v", m)
	}
	if got := e.LicenseID(); got != "lic_9" {
		t.Errorf("LicenseID = %q, want lic_9", got)
	}
	if _, err := e.License(); !errors.Is(err, ErrNoResource) {
		t.Errorf("License = %v, want ErrNoResource", err)
	}
}

func TestParseForwardCompatible(t *testing.T) {
	// An unknown group: kept raw, no resource, no license id.
	e, err := Parse(eventBody("evt_3", "subscription.created", `{"plan":"gold"}`))
	if err != nil {
		t.Fatalf("unknown type: %v", err)
	}
	if string(e.Data) != `{"plan":"gold"}` || e.LicenseID() != "" {
		t.Errorf("unknown type: Data %s, LicenseID %q", e.Data, e.LicenseID())
	}
	if _, err := e.License(); !errors.Is(err, ErrNoResource) {
		t.Errorf("unknown type: License = %v, want ErrNoResource", err)
	}
	// An unknown type in a known group whose data is not a License still
	// parses (a new event must not be refused); License reports the problem.
	e, err = Parse(eventBody("evt_4", "license.transferred", `"not an object"`))
	if err != nil {
		t.Fatalf("unknown license.* type: %v", err)
	}
	if _, err := e.License(); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("unknown license.* type: License = %v, want ErrInvalidEvent", err)
	}
	if e.LicenseID() != "" {
		t.Errorf("LicenseID = %q, want empty", e.LicenseID())
	}
	// Unknown fields are ignored.
	e, err = Parse([]byte(`{"id":"evt_5","type":"license.updated","apiVersion":2,"data":{"id":"lic_5","newField":[1]}}`))
	if err != nil || e.LicenseID() != "lic_5" {
		t.Fatalf("unknown fields: %v, LicenseID %q", err, e.LicenseID())
	}
}

func TestParseNullData(t *testing.T) {
	for _, body := range [][]byte{
		eventBody("evt_6", wire.EventValidationFailed, "null"),
		[]byte(`{"id":"evt_6","type":"validation.failed"}`),
	} {
		e, err := Parse(body)
		if err != nil {
			t.Fatalf("Parse(%s): %v", body, err)
		}
		if e.Data != nil {
			t.Errorf("Data = %s, want nil", e.Data)
		}
		if _, err := e.License(); !errors.Is(err, ErrNoResource) {
			t.Errorf("License = %v, want ErrNoResource", err)
		}
		if e.LicenseID() != "" {
			t.Errorf("LicenseID = %q", e.LicenseID())
		}
		if !bytes.Contains(body, []byte("createdAt")) && !e.CreatedAt.IsZero() {
			t.Errorf("CreatedAt = %v, want zero when absent", e.CreatedAt)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	cases := map[string][]byte{
		"empty":              nil,
		"not JSON":           []byte("hello"),
		"JSON null":          []byte("null"),
		"array":              []byte(`[{"id":"evt_1","type":"license.created"}]`),
		"missing id":         []byte(`{"type":"license.created","data":null}`),
		"empty id":           []byte(`{"id":"","type":"license.created"}`),
		"missing type":       []byte(`{"id":"evt_1"}`),
		"id not a string":    []byte(`{"id":7,"type":"license.created"}`),
		"bad createdAt":      []byte(`{"id":"evt_1","type":"license.created","createdAt":"yesterday"}`),
		"createdAt year -1":  []byte(`{"id":"evt_1","type":"license.created","createdAt":"0000-01-01T00:00:00+01:00"}`),
		"createdAt a number": []byte(`{"id":"evt_1","type":"license.created","createdAt":1700000000}`),
		"trailing garbage":   append(eventBody("evt_1", "license.created", licenseData), '}'),
		"truncated":          eventBody("evt_1", "license.created", licenseData)[:50],
		"license data wrong": eventBody("evt_1", "license.created", `"lic_1"`),
		"license field type": eventBody("evt_1", "license.created", `{"id":"lic_1","usesCount":"three"}`),
		"machine data wrong": eventBody("evt_1", "machine.activated", `[1,2]`),
		"machine timestamp":  eventBody("evt_1", "machine.heartbeat", `{"id":"m","lastHeartbeatAt":"soon"}`),
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			e, err := Parse(body)
			if !errors.Is(err, ErrInvalidEvent) || e != nil {
				t.Fatalf("Parse = %v, %v; want nil, ErrInvalidEvent", e, err)
			}
		})
	}
}

func TestParseErrorsDoNotQuoteBody(t *testing.T) {
	const key = "SECRET-LICENSE-KEY-0001"
	for _, data := range []string{
		`{"id":"lic_1","key":"` + key + `","usesCount":"` + key + `"}`,
		`{"id":"lic_1","key":"` + key + `","createdAt":"` + key + `"}`,
		`{"id":"lic_1","key":"` + key + `","entitlements":"` + key + `"}`,
		`{"id":"lic_1","key":"` + key + `","metadata":["` + key + `"]}`,
	} {
		_, err := Parse(eventBody("evt_1", wire.EventLicenseUpdated, data))
		if err == nil {
			t.Fatalf("Parse(%s) succeeded", data)
		}
		assertNoLeak(t, err.Error(), key)
	}
}

func TestParseSizeCap(t *testing.T) {
	pad := strings.Repeat("x", MaxBodyBytes)
	body := eventBody("evt_1", "custom.big", `{"pad":"`+pad+`"}`)
	if _, err := Parse(body); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("Parse of %d bytes = %v, want ErrBodyTooLarge", len(body), err)
	}
	if _, err := ConstructEvent(body, Sign(body, testSecret), testSecret); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("ConstructEvent of %d bytes = %v, want ErrBodyTooLarge", len(body), err)
	}
	// Exactly at the cap is accepted.
	fit := eventBody("evt_1", "custom.big", `{"pad":""}`)
	fit = eventBody("evt_1", "custom.big", `{"pad":"`+strings.Repeat("x", MaxBodyBytes-len(fit))+`"}`)
	if len(fit) != MaxBodyBytes {
		t.Fatalf("test body is %d bytes", len(fit))
	}
	if _, err := Parse(fit); err != nil {
		t.Fatalf("Parse at the cap: %v", err)
	}
}

func TestConstructEvent(t *testing.T) {
	body := eventBody("evt_1", wire.EventLicenseCreated, licenseData)
	e, err := ConstructEvent(body, Sign(body, newSecret), oldSecret, newSecret)
	if err != nil || e.ID != "evt_1" || e.LicenseID() != "lic_1" {
		t.Fatalf("ConstructEvent = %+v, %v", e, err)
	}
	e, err = ConstructEvent(body, Sign(body, "whsec_attacker"), testSecret)
	if !errors.Is(err, ErrSignatureMismatch) || e != nil {
		t.Fatalf("forged: %v, %v", e, err)
	}
	// The signature is checked before the body is parsed.
	garbage := []byte("not json")
	if _, err := ConstructEvent(garbage, "", testSecret); !errors.Is(err, ErrMissingSignature) {
		t.Fatalf("garbage without signature: %v, want ErrMissingSignature", err)
	}
	if _, err := ConstructEvent(garbage, Sign(garbage, testSecret), testSecret); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("signed garbage: %v, want ErrInvalidEvent", err)
	}
	if _, err := ConstructEvent(body, Sign(body, ""), ""); !errors.Is(err, ErrNoSecret) {
		t.Fatalf("empty secret: %v, want ErrNoSecret", err)
	}
}

func TestEventMarshalRoundTrip(t *testing.T) {
	in := Event{
		ID:        "evt_7",
		Type:      wire.EventMachineActivated,
		CreatedAt: time.Date(2026, 2, 3, 4, 5, 6, 789e6, time.UTC),
		Data:      json.RawMessage(machineData),
	}
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(body, []byte(`"createdAt":"2026-02-03T04:05:06.789Z"`)) {
		t.Errorf("wire form of createdAt missing in %s", body)
	}
	out, err := Parse(body)
	if err != nil {
		t.Fatalf("Parse(Marshal(e)): %v", err)
	}
	if out.ID != in.ID || out.Type != in.Type || !out.CreatedAt.Equal(in.CreatedAt) || out.LicenseID() != "lic_9" {
		t.Errorf("round trip: %+v", out)
	}
	// No data and no time marshal as null.
	body, err = json.Marshal(&Event{ID: "evt_8", Type: "validation.failed"})
	if err != nil || string(body) != `{"id":"evt_8","type":"validation.failed","createdAt":null,"data":null}` {
		t.Errorf("Marshal = %s, %v", body, err)
	}
}

func TestNewRequest(t *testing.T) {
	body := eventBody("evt_9", wire.EventLicenseRenewed, licenseData)
	req, err := NewRequest(context.Background(), "http://127.0.0.1:1/hook", body, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != "POST" ||
		req.Header.Get(wire.HeaderWebhookSignature) != Sign(body, testSecret) ||
		req.Header.Get(wire.HeaderWebhookID) != "evt_9" ||
		req.Header.Get(wire.HeaderWebhookEvent) != wire.EventLicenseRenewed ||
		req.Header.Get(wire.HeaderContentType) != wire.ContentTypeJSON {
		t.Errorf("request = %s %v", req.Method, req.Header)
	}
	if _, err := NewRequest(context.Background(), "http://127.0.0.1:1/hook", body, ""); !errors.Is(err, ErrNoSecret) {
		t.Errorf("empty secret: %v, want ErrNoSecret", err)
	}
	if _, err := NewRequest(context.Background(), "http://127.0.0.1:1/hook", []byte("{}"), testSecret); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("bad body: %v, want ErrInvalidEvent", err)
	}
}

// MaxBodyBytes spells out its value; it must stay the wire's.
func TestMaxBodyBytesMatchesTheWire(t *testing.T) {
	if MaxBodyBytes != wire.MaxBodyBytes {
		t.Fatalf("MaxBodyBytes %d, the wire's %d", MaxBodyBytes, wire.MaxBodyBytes)
	}
}
