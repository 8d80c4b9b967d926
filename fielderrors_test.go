package licentric_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/licentric/licentric-go"
)

func TestFieldErrors(t *testing.T) {
	cases := map[string]struct {
		details string
		want    []licentric.FieldError
	}{
		"none":          {"", nil},
		"not an object": {`[1,2]`, nil},
		"no issues":     {`{"machineId":"m"}`, nil},
		"nested path": {`{"issues":[{"path":["events",1],"code":"invalid_enum_value","message":"Unknown event"},{"path":[],"code":"invalid_json","message":"Malformed"}]}`,
			[]licentric.FieldError{{Field: "events.1", Code: "invalid_enum_value", Message: "Unknown event"}, {Code: "invalid_json", Message: "Malformed"}}},
		"control chars": {`{"issues":[{"path":["na\u001bme"],"code":"x","message":"bad\nline"}]}`,
			[]licentric.FieldError{{Field: "na me", Code: "x", Message: "bad line"}}},
	}
	for name, tc := range cases {
		e := &licentric.APIError{StatusCode: 400, Code: "VALIDATION_ERROR"}
		if tc.details != "" {
			e.Details = json.RawMessage(tc.details)
		}
		got := e.FieldErrors()
		if len(got) != len(tc.want) {
			t.Errorf("%s: %+v", name, got)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: %+v, want %+v", name, got[i], tc.want[i])
			}
		}
	}
	var nilErr *licentric.APIError
	if nilErr.FieldErrors() != nil {
		t.Error("nil *APIError has field errors")
	}
	// A flood of issues is capped.
	many := `{"issues":[` + strings.TrimSuffix(strings.Repeat(`{"path":["a"],"code":"c","message":"m"},`, 500), ",") + `]}`
	if n := len((&licentric.APIError{Details: json.RawMessage(many)}).FieldErrors()); n != 100 {
		t.Errorf("%d field errors from 500, want the cap of 100", n)
	}
}
