package wire

import (
	"time"

	"github.com/licentric/licentric-go/resource"
)

// TimeLayout is the wire form of every timestamp: RFC 3339, UTC, milliseconds.
const TimeLayout = resource.TimeLayout

// Timestamp is a time on the wire (resource.Timestamp).
type Timestamp = resource.Timestamp

// NewTimestamp returns t as a Timestamp truncated to the wire's milliseconds.
func NewTimestamp(t time.Time) Timestamp { return resource.NewTimestamp(t) }
