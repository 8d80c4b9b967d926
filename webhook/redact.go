package webhook

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"
)

// A Handler holds signing secrets, and an Event's Data holds the license
// (its key included). Both format, with every fmt verb, and log, through
// slog, as summaries without them.

func format(s fmt.State, str string) { _, _ = io.WriteString(s, str) }

// String describes the handler's settings; the secrets are only counted.
func (h *Handler) String() string {
	if h == nil {
		return "webhook.Handler(nil)"
	}
	return "webhook.Handler{secrets: " + strconv.Itoa(len(h.secrets)) + " [REDACTED], tolerance: " +
		h.tolerance.String() + ", dedup: " + strconv.Itoa(h.seen.max) + ", store: " + strconv.FormatBool(h.store != nil) + "}"
}

// GoString is String: no secret is ever printed.
func (h *Handler) GoString() string { return h.String() }

// Format implements fmt.Formatter: every verb prints String.
func (h *Handler) Format(s fmt.State, _ rune) { format(s, h.String()) }

// LogValue implements slog.LogValuer, with the fields of String.
func (h *Handler) LogValue() slog.Value {
	if h == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.Int("secrets", len(h.secrets)), slog.Duration("tolerance", h.tolerance),
		slog.Int("dedup", h.seen.max), slog.Bool("store", h.store != nil))
}

// String describes the event by id, type, createdAt and the size of its
// data; the data, which holds the license key, is left out (read Data, or
// License and Machine, for it).
func (e Event) String() string {
	return fmt.Sprintf("webhook.Event{id: %.64q, type: %.64q, createdAt: %s, data: %d bytes}",
		e.ID, e.Type, fmtTime(e.CreatedAt), len(e.Data))
}

// GoString is String: the data is never printed.
func (e Event) GoString() string { return e.String() }

// Format implements fmt.Formatter: every verb prints String.
func (e Event) Format(s fmt.State, _ rune) { format(s, e.String()) }

// LogValue implements slog.LogValuer, with the fields of String.
func (e Event) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", e.ID), slog.String("type", e.Type),
		slog.Time("createdAt", e.CreatedAt), slog.Int("dataBytes", len(e.Data)))
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.UTC().Format(time.RFC3339Nano)
}
