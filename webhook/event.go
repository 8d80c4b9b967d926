package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/resource"
)

// MaxBodyBytes caps the body Parse and ConstructEvent accept (1 MiB).
const MaxBodyBytes = 1 << 20

// Event is one webhook delivery.
//
// Data is the resource the event is about, as raw JSON: the License for
// license.* and validation.* events, the Machine for machine.* events.
// License and Machine decode it. Unknown event types are kept as they are,
// for forward compatibility. An Event marshals back to the wire form, so
// tests can build deliveries with json.Marshal and Sign.
type Event struct {
	ID        string          // event id, "evt_…"; the key to dedupe on
	Type      string          // event type, e.g. EventLicenseCreated; compare with the Event* constants
	CreatedAt time.Time       // when the event happened (UTC); zero if absent
	Data      json.RawMessage // the resource; nil if absent or null
}

// Parse decodes a delivery body. It does not check the signature: use
// ConstructEvent (or Verify first) on bytes from the network.
//
// The body must be a JSON object with a non-empty id and type, and at most
// MaxBodyBytes long. For the documented event types, data must decode as the
// resource the type implies (or be null); for other types it is kept raw.
// Errors match ErrInvalidEvent or ErrBodyTooLarge.
func Parse(body []byte) (*Event, error) {
	if len(body) > MaxBodyBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBodyTooLarge, len(body), MaxBodyBytes)
	}
	return parse(body)
}

// ConstructEvent verifies signature over body with Verify, then parses body
// with Parse. Nothing of the body is decoded until the signature holds. It
// does not check the event's age: call Event.CheckTimestamp (as Handler
// does) to refuse replays.
func ConstructEvent(body []byte, signature string, secrets ...string) (*Event, error) {
	if len(body) > MaxBodyBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBodyTooLarge, len(body), MaxBodyBytes)
	}
	if err := Verify(body, signature, secrets...); err != nil {
		return nil, err
	}
	return parse(body)
}

// parse is Parse without the size cap (the Handler has its own).
func parse(body []byte) (*Event, error) {
	var w wire.Event
	if err := decodeJSON(body, &w); err != nil {
		return nil, err
	}
	if w.ID == "" {
		return nil, fmt.Errorf("%w: missing id", ErrInvalidEvent)
	}
	if w.Type == "" {
		return nil, fmt.Errorf("%w: missing type", ErrInvalidEvent)
	}
	// An offset can move a year-0000 time to year -1 in UTC, which the wire
	// form cannot write back; refuse it so every parsed event re-encodes.
	if y := w.CreatedAt.Year(); !w.CreatedAt.IsZero() && (y < 0 || y > 9999) {
		return nil, fmt.Errorf("%w: createdAt out of range", ErrInvalidEvent)
	}
	e := &Event{ID: w.ID, Type: w.Type, CreatedAt: w.CreatedAt.Time, Data: w.Data}
	if bytes.Equal(e.Data, []byte("null")) {
		e.Data = nil
	}
	if e.Data != nil && knownEvent(e.Type) {
		var err error
		switch resourceOf(e.Type) {
		case resLicense:
			_, err = e.License()
		case resMachine:
			_, err = e.Machine()
		}
		if err != nil {
			return nil, err
		}
	}
	return e, nil
}

// License decodes Data as the License of a license.* or validation.*
// event. It returns an error matching ErrNoResource for other event types
// or when data is null, and one matching ErrInvalidEvent when Data does not
// decode. Each call returns a fresh copy.
func (e Event) License() (*resource.License, error) {
	return decodeResource[resource.License](e, resLicense, "license")
}

// Machine decodes Data as the Machine of a machine.* event. Errors are as
// for License.
func (e Event) Machine() (*resource.Machine, error) {
	return decodeResource[resource.Machine](e, resMachine, "machine")
}

// decodeResource decodes Data as a T when e's type carries resource want,
// called name in errors.
func decodeResource[T any](e Event, want resourceKind, name string) (*T, error) {
	if resourceOf(e.Type) != want {
		return nil, fmt.Errorf("%w: %.64q events carry no %s", ErrNoResource, e.Type, name)
	}
	if isNull(e.Data) {
		return nil, fmt.Errorf("%w: data is null", ErrNoResource)
	}
	var v T
	if err := decodeJSON(e.Data, &v); err != nil {
		return nil, fmt.Errorf("%s data: %w", name, err)
	}
	return &v, nil
}

// LicenseID returns the id of the license the event concerns: the
// License's id for license.* and validation.* events, the Machine's
// licenseId for machine.* events, and "" when there is none (unknown event
// group, null or undecodable data). A cache keyed by license id can drop
// that entry on every event.
func (e Event) LicenseID() string {
	switch resourceOf(e.Type) {
	case resLicense:
		if l, err := e.License(); err == nil {
			return l.ID
		}
	case resMachine:
		if m, err := e.Machine(); err == nil {
			return m.LicenseID
		}
	}
	return ""
}

// MarshalJSON encodes the event in its wire form, CreatedAt with
// millisecond precision (null when zero).
func (e Event) MarshalJSON() ([]byte, error) {
	data := e.Data
	if data == nil {
		data = json.RawMessage("null")
	}
	return json.Marshal(wire.Event{
		ID:        e.ID,
		Type:      e.Type,
		CreatedAt: wire.NewTimestamp(e.CreatedAt),
		Data:      data,
	})
}

type resourceKind int

const (
	resNone resourceKind = iota
	resLicense
	resMachine
)

// resourceOf tells which resource an event type's data holds, by its group.
func resourceOf(eventType string) resourceKind {
	switch {
	case strings.HasPrefix(eventType, "license."), strings.HasPrefix(eventType, "validation."):
		return resLicense
	case strings.HasPrefix(eventType, "machine."):
		return resMachine
	}
	return resNone
}

func isNull(data json.RawMessage) bool {
	return len(data) == 0 || bytes.Equal(data, []byte("null"))
}

// decodeJSON unmarshals data into v. Its errors match ErrInvalidEvent and
// never quote the input (which holds license keys).
func decodeJSON(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("%w: JSON syntax error at offset %d", ErrInvalidEvent, syn.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Errorf("%w: field %.64q has the wrong JSON type", ErrInvalidEvent, typ.Field)
	case errors.As(err, &typ):
		return fmt.Errorf("%w: not a JSON object", ErrInvalidEvent)
	}
	// What remains comes from wire's decoders, whose messages are fixed.
	return fmt.Errorf("%w: %v", ErrInvalidEvent, err)
}
