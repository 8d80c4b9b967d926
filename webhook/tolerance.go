package webhook

import (
	"errors"
	"fmt"
	"time"
)

// DefaultTolerance is how far an event's signed createdAt may lie from the
// receiver's clock, in the past or the future, before a Handler refuses the
// delivery. The service makes up to three attempts within seconds (1 s and
// 2 s backoff, 10 s timeouts; wire docs/wire-protocol.md §8), so five minutes is well
// past its retry schedule while leaving room for clock skew; a delivery
// older than that is a replay.
const DefaultTolerance = 5 * time.Minute

// ErrTimestamp is matched (with errors.Is) by every refusal of an event's
// createdAt: ErrNoTimestamp, ErrTooOld and ErrFutureTimestamp.
var ErrTimestamp = errors.New("webhook: event timestamp outside the tolerance")

// Timestamp refusals. Each also matches ErrTimestamp.
var (
	// ErrNoTimestamp: the event has no createdAt (absent or null), so its
	// age cannot be checked. Licentric always sends one.
	ErrNoTimestamp error = &timestampError{"webhook: event has no createdAt"}
	// ErrTooOld: createdAt lies further in the past than the tolerance,
	// as in a replayed delivery.
	ErrTooOld error = &timestampError{"webhook: event is older than the tolerance"}
	// ErrFutureTimestamp: createdAt lies further in the future than the
	// tolerance (a replay prepared for later, or a receiver clock far
	// behind).
	ErrFutureTimestamp error = &timestampError{"webhook: event is dated in the future beyond the tolerance"}
)

type timestampError struct{ msg string }

func (e *timestampError) Error() string { return e.msg }
func (e *timestampError) Unwrap() error { return ErrTimestamp }

// CheckTimestamp checks the event's createdAt against now: it must be
// present and within tolerance of now, either way. createdAt is inside the
// signed body, so after Verify or ConstructEvent it is the time the service
// signed, not something a replayer can change; no header is consulted. A
// tolerance <= 0 gives an error (use DefaultTolerance). Errors match
// ErrTimestamp and one of ErrNoTimestamp, ErrTooOld and ErrFutureTimestamp.
//
// Handler calls it on every delivery; call it after ConstructEvent when
// receiving deliveries without Handler.
func (e Event) CheckTimestamp(now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		return fmt.Errorf("webhook: tolerance %v is not positive", tolerance)
	}
	if e.CreatedAt.IsZero() {
		return ErrNoTimestamp
	}
	switch age := now.Sub(e.CreatedAt); {
	case age > tolerance:
		return fmt.Errorf("%w: created %v before now, tolerance %v", ErrTooOld, age.Round(time.Second), tolerance)
	case age < -tolerance:
		return fmt.Errorf("%w: created %v after now, tolerance %v", ErrFutureTimestamp, (-age).Round(time.Second), tolerance)
	}
	return nil
}
