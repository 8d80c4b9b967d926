package licentrictest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/licentric/licentric-go/internal/wire"
)

// apiError is an error answer in the contract's envelope. It also serves as
// the error of the Go seeding methods.
type apiError struct {
	status  int
	code    string
	msg     string
	details map[string]any
}

func (e *apiError) Error() string {
	return fmt.Sprintf("licentrictest: %d %s: %s", e.status, e.code, e.msg)
}

// Issue is one field error inside details.issues of a 400 answer.
type issue struct {
	Path    []any  `json:"path"`
	Message string `json:"message"`
	Code    string `json:"code"`
}

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

func notFound(what string) *apiError {
	return errf(http.StatusNotFound, wire.ErrCodeNotFound, "%s not found", what)
}

func conflict(format string, args ...any) *apiError {
	return errf(http.StatusConflict, wire.ErrCodeConflict, format, args...)
}

func unprocessable(code, format string, args ...any) *apiError {
	return errf(http.StatusUnprocessableEntity, code, format, args...)
}

// issues collects field errors; err turns them into a 400 (or nil).
type issues []issue

func (is *issues) add(field, code, format string, args ...any) {
	var path []any
	if field != "" {
		for _, p := range strings.Split(field, ".") {
			path = append(path, p)
		}
	} else {
		path = []any{}
	}
	*is = append(*is, issue{Path: path, Message: fmt.Sprintf(format, args...), Code: code})
}

func (is issues) err() *apiError {
	if len(is) == 0 {
		return nil
	}
	msg := "Validation failed"
	if len(is) == 1 {
		if len(is[0].Path) > 0 {
			msg = fmt.Sprintf("%v: %s", is[0].Path[0], is[0].Message)
		} else {
			msg = is[0].Message
		}
	}
	return &apiError{
		status:  http.StatusBadRequest,
		code:    wire.ErrCodeValidation,
		msg:     msg,
		details: map[string]any{"issues": []issue(is)},
	}
}

func validationError(field, code, format string, args ...any) *apiError {
	var is issues
	is.add(field, code, format, args...)
	return is.err()
}

// decodeBody decodes a JSON object into *T. Type errors are reported per
// field: each member is decoded on its own so every bad field is named.
// Unknown members are ignored. An empty body decodes as {} when allowEmpty.
func decodeBody[T any](body []byte, out *T, allowEmpty bool) *apiError {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		if allowEmpty {
			return nil
		}
		return validationError("", "invalid_type", "Request body must be a JSON object")
	}
	if !json.Valid(trimmed) {
		return validationError("", "invalid_json", "Malformed JSON in request body")
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &members); err != nil || members == nil {
		return validationError("", "invalid_type", "Request body must be a JSON object")
	}
	keys := make([]string, 0, len(members))
	for k := range members {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var is issues
	for _, k := range keys {
		one, _ := json.Marshal(map[string]json.RawMessage{k: members[k]})
		var tmp T
		if err := json.Unmarshal(one, &tmp); err != nil {
			field := k
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field != "" && strings.HasPrefix(te.Field, k) {
				field = te.Field
			}
			is.add(field, "invalid_type", "%s", typeMessage(err))
		}
	}
	if e := is.err(); e != nil {
		return e
	}
	// json.Number keeps metadata numbers as sent (no float64 rounding).
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return validationError("", "invalid_type", "%s", typeMessage(err))
	}
	return nil
}

func typeMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("Expected %s, received %s", te.Type.String(), te.Value)
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "json: ")
	msg = strings.TrimPrefix(msg, "wire: ")
	return "Invalid value: " + msg
}

// writeJSON writes v with status; the request id header is already set.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var body []byte
	if raw, ok := v.(json.RawMessage); ok {
		body = raw // already JSON (the OpenAPI document)
	} else if v != nil {
		var err error
		body, err = json.Marshal(v)
		if err != nil {
			status = http.StatusInternalServerError
			body = []byte(`{"error":"Internal server error","code":"INTERNAL_ERROR","status":500}`)
		}
	}
	if body != nil {
		w.Header().Set(wire.HeaderContentType, wire.ContentTypeJSON)
	}
	w.WriteHeader(status)
	if body != nil {
		_, _ = w.Write(body)
	}
}

type errorBody struct {
	Error     string         `json:"error"`
	Code      string         `json:"code"`
	Status    int            `json:"status"`
	RequestID string         `json:"requestId"`
	Details   map[string]any `json:"details,omitempty"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, errorBody{
		Error:     e.msg,
		Code:      e.code,
		Status:    e.status,
		RequestID: w.Header().Get(wire.HeaderRequestID),
		Details:   e.details,
	})
}
