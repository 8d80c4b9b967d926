package licentric

import (
	"encoding/json"
	"fmt"
	"strings"
)

// FieldError is one field the server refused, from a VALIDATION_ERROR's
// details.issues.
type FieldError struct {
	Field   string // dotted path of the field, e.g. "maxMachines" or "events.1"; "" for the whole body
	Code    string // machine-readable reason, e.g. "invalid_type"
	Message string // human-readable reason
}

// maxFieldErrors bounds how many field errors FieldErrors returns.
const maxFieldErrors = 100

// FieldErrors returns the field errors of a VALIDATION_ERROR response
// (details.issues), or nil when it has none. Text from the server is
// sanitized and shortened.
func (e *APIError) FieldErrors() []FieldError {
	if e == nil || len(e.Details) == 0 {
		return nil
	}
	var d struct {
		Issues []struct {
			Path    []any  `json:"path"`
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"issues"`
	}
	if json.Unmarshal(e.Details, &d) != nil || len(d.Issues) == 0 {
		return nil
	}
	out := make([]FieldError, 0, min(len(d.Issues), maxFieldErrors))
	for _, is := range d.Issues[:min(len(d.Issues), maxFieldErrors)] {
		parts := make([]string, 0, len(is.Path))
		for _, p := range is.Path {
			switch v := p.(type) {
			case string:
				parts = append(parts, v)
			case float64:
				parts = append(parts, fmt.Sprint(v))
			}
		}
		out = append(out, FieldError{
			Field:   sanitize(strings.Join(parts, "."), 200),
			Code:    sanitize(is.Code, 64),
			Message: sanitize(is.Message, maxMessageRunes),
		})
	}
	return out
}
