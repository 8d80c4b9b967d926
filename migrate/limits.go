package migrate

import "fmt"

// Default caps on what NewPlan reads from a source (PlanOptions.MaxRecords
// and MaxSourceBytes). A source over either is ErrSourceTooLarge. They fit
// an ordinary machine: at either cap a plan needs about 2 GiB of heap while
// it is built (about 3.5 GB resident, measured on realistic Keygen
// licenses of 1.7 KB each), so that a hostile or runaway source (a Keygen
// API whose links.next never ends) cannot take more.
const (
	// DefaultMaxRecords is the most records a source may hold: Keygen
	// resources (products, entitlements, policies, users, licenses,
	// machines) or Cryptlex rows.
	DefaultMaxRecords = 300_000
	// DefaultMaxSourceBytes is the most bytes read from a source: the files
	// of a directory or an export, or the pages of the Keygen API.
	DefaultMaxSourceBytes = 512 << 20
)

// sourceLimits counts what a source has read against a plan's caps.
type sourceLimits struct {
	maxRecords int
	maxBytes   int64
	records    int
	bytes      int64
}

// newSourceLimits returns the caps of o (nil: the defaults).
func newSourceLimits(o *PlanOptions) *sourceLimits {
	l := &sourceLimits{maxRecords: DefaultMaxRecords, maxBytes: DefaultMaxSourceBytes}
	if o != nil && o.MaxRecords > 0 {
		l.maxRecords = o.MaxRecords
	}
	if o != nil && o.MaxSourceBytes > 0 {
		l.maxBytes = o.MaxSourceBytes
	}
	return l
}

// record counts one record; past the cap it is ErrSourceTooLarge.
func (l *sourceLimits) record() error {
	l.records++
	if l.records > l.maxRecords {
		return fmt.Errorf("%w: more than %d records, the cap", ErrSourceTooLarge, l.maxRecords)
	}
	return nil
}

// read counts n bytes read; past the cap it is ErrSourceTooLarge.
func (l *sourceLimits) read(n int64) error {
	l.bytes += n
	if l.bytes > l.maxBytes {
		return l.tooManyBytes()
	}
	return nil
}

// left returns how many bytes may still be read.
func (l *sourceLimits) left() int64 { return max(0, l.maxBytes-l.bytes) }

func (l *sourceLimits) tooManyBytes() error {
	return fmt.Errorf("%w: more than %d bytes, the cap", ErrSourceTooLarge, l.maxBytes)
}
