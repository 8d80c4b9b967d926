package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/licentric/licentric-go"
)

// jsonFlag registers --json on fs. When it is set, the command prints one
// JSON document on stdout, and a failure is reported as one too.
func (c *cli) jsonFlag(fs *flag.FlagSet) *bool {
	v := fs.Bool("json", false, "print the result as one JSON document")
	c.json = v
	return v
}

// writeJSON prints v as one indented JSON document.
func (c *cli) writeJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the JSON output: %w", err)
	}
	b = append(b, '\n')
	if _, err := c.stdout.Write(b); err != nil {
		return fmt.Errorf("writing the output: %w", err)
	}
	return nil
}

// jsonError is the document a failing command prints with --json.
type jsonError struct {
	Error jsonErrorBody `json:"error"`
}

type jsonErrorBody struct {
	Message   string `json:"message"`             // what went wrong (as on stderr)
	ExitCode  int    `json:"exitCode"`            // the process's exit code
	Code      string `json:"code,omitempty"`      // the service's error code, e.g. CONFLICT
	Status    int    `json:"status,omitempty"`    // the service's HTTP status
	RequestID string `json:"requestId,omitempty"` // the service's request id
}

func (c *cli) writeJSONError(msg string, code int, err error) {
	body := jsonErrorBody{Message: msg, ExitCode: code}
	var ae *licentric.APIError
	if errors.As(err, &ae) {
		body.Code, body.Status, body.RequestID = ae.Code, ae.StatusCode, ae.RequestID
	}
	_ = c.writeJSON(jsonError{Error: body})
}

// redactKey shows a license key's prefix and its last four characters only.
func redactKey(key string) string {
	r := []rune(key)
	if len(r) < 12 {
		return "(redacted)"
	}
	prefix := ""
	if i := strings.IndexRune(key, '-'); i > 0 && i <= 8 {
		prefix = key[:i+1]
	}
	return clean(prefix + "…" + string(r[len(r)-4:]))
}
