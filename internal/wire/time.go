package wire

import (
	"bytes"
	"errors"
	"time"
)

// TimeLayout is the wire form of every timestamp: RFC 3339, UTC, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Timestamp is a time on the wire. It encodes as TimeLayout in UTC and as
// JSON null when zero, and decodes any RFC 3339 string or null. It embeds
// time.Time, so its methods (Before, IsZero, ...) are available directly.
type Timestamp struct {
	time.Time
}

// NewTimestamp returns t as a Timestamp truncated to the wire's milliseconds.
func NewTimestamp(t time.Time) Timestamp {
	if t.IsZero() {
		return Timestamp{}
	}
	return Timestamp{t.UTC().Truncate(time.Millisecond)}
}

// String formats the timestamp as on the wire, or "null" when zero.
func (t Timestamp) String() string {
	if t.IsZero() {
		return "null"
	}
	return t.UTC().Format(TimeLayout)
}

// MarshalJSON implements json.Marshaler.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Timestamp) UnmarshalJSON(data []byte) error {
	if bytes.Equal(data, []byte("null")) {
		*t = Timestamp{}
		return nil
	}
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return errors.New("wire: timestamp is not a JSON string")
	}
	parsed, err := time.Parse(time.RFC3339Nano, string(data[1:len(data)-1]))
	if err != nil {
		return errors.New("wire: timestamp is not RFC 3339")
	}
	parsed = parsed.UTC()
	if y := parsed.Year(); y < 0 || y > 9999 {
		return errors.New("wire: timestamp is out of range")
	}
	t.Time = parsed
	return nil
}
