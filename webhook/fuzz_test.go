package webhook

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzVerify checks that Verify accepts exactly the HMAC of the body, in
// lowercase hex, and never panics.
func FuzzVerify(f *testing.F) {
	good := Sign(testBody, testSecret)
	for _, sig := range []string{
		good, strings.ToUpper(good), "sha256=" + good, good[:63], good + "0", "",
		strings.Repeat("0", 64), strings.Repeat("g", 64), good[:63] + "\x00", " " + good[1:],
		Sign(testBody, ""), Sign(testBody, oldSecret),
	} {
		f.Add(testBody, sig)
	}
	f.Add([]byte{}, Sign(nil, testSecret))
	f.Add([]byte("\xff\x00"), Sign([]byte("\xff\x00"), testSecret))
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		want := Sign(body, testSecret)
		err := Verify(body, sig, testSecret)
		if (err == nil) != (sig == want) {
			t.Fatalf("Verify(%q, %q) = %v; the HMAC is %s", body, sig, err, want)
		}
		if err != nil && !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("Verify error %v does not match ErrInvalidSignature", err)
		}
		if err != nil && strings.Contains(err.Error(), testSecret) {
			t.Fatalf("error %q contains the secret", err)
		}
		// With rotation, a signature passes iff it is the HMAC under one secret.
		err = Verify(body, sig, oldSecret, testSecret)
		if (err == nil) != (sig == want || sig == Sign(body, oldSecret)) {
			t.Fatalf("rotation: Verify(%q, %q) = %v", body, sig, err)
		}
		// An empty secret is always refused.
		if err := Verify(body, sig, testSecret, ""); !errors.Is(err, ErrNoSecret) {
			t.Fatalf("empty secret: %v", err)
		}
	})
}

// FuzzParse checks that Parse never panics, that what it accepts has an id
// and a type, and that an accepted event survives a marshal round trip.
func FuzzParse(f *testing.F) {
	f.Add(testBody)
	f.Add(eventBody("evt_1", "license.created", licenseData))
	f.Add(eventBody("evt_2", "machine.dead", machineData))
	f.Add(eventBody("evt_3", "validation.failed", "null"))
	f.Add(eventBody("evt_4", "unknown.kind", `[1,2,3]`))
	f.Add(eventBody("evt_5", "license.created", `{"id":5}`))
	f.Add([]byte(`{"id":"e","type":"t","createdAt":"2026-13-01T00:00:00Z"}`))
	f.Add([]byte(`{"id":"e","type":"license.x","data":{"policy":{"maxMachines":"x"}}}`))
	f.Add([]byte(`{"id":"e","type":"t","createdAt":"0000-01-01T00:00:00+01:00"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := Parse(body)
		if err != nil {
			if e != nil {
				t.Fatalf("Parse returned both an event and %v", err)
			}
			if !errors.Is(err, ErrInvalidEvent) && !errors.Is(err, ErrBodyTooLarge) {
				t.Fatalf("Parse error %v matches no sentinel", err)
			}
			return
		}
		if e.ID == "" || e.Type == "" {
			t.Fatalf("Parse accepted an event without id or type: %+v", e)
		}
		_, _ = e.License()
		_, _ = e.Machine()
		id := e.LicenseID()
		again, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("Marshal of a parsed event: %v", err)
		}
		e2, err := Parse(again)
		if err != nil {
			t.Fatalf("Parse(Marshal(e)) = %v for %s", err, again)
		}
		if e2.ID != e.ID || e2.Type != e.Type || e2.LicenseID() != id {
			t.Fatalf("round trip changed the event: %+v -> %+v", e, e2)
		}
	})
}
