package migrate

import "errors"

// Errors callers can branch on with errors.Is.
var (
	// ErrMalformedSource reports a source that cannot be read as its
	// format at all: a file that is not JSON, a CSV without a key column, a
	// Keygen page without "data". Bad records are not errors; they are
	// rejections inside the plan.
	ErrMalformedSource = errors.New("migrate: malformed source")
	// ErrSourceTooLarge reports a source file, page or directory over the
	// importer's size caps.
	ErrSourceTooLarge = errors.New("migrate: source too large")
	// ErrSource reports a Keygen API that refused or failed (authentication,
	// a non-2xx answer after retries, a link to another host).
	ErrSource = errors.New("migrate: source API error")
	// ErrJournalCorrupt reports a journal line, other than a torn last one,
	// that cannot be read.
	ErrJournalCorrupt = errors.New("migrate: journal is corrupt")
	// ErrJournalMismatch reports a journal written for another source
	// system, environment or service.
	ErrJournalMismatch = errors.New("migrate: journal belongs to another import")
	// ErrTargetUnavailable reports that Apply stopped because the target
	// kept failing (5xx, transport errors) or refused the API key; the
	// journal is consistent and a re-run continues.
	ErrTargetUnavailable = errors.New("migrate: target unavailable")
)
