package cache

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

// File holds the key that seals its file, and both stores hold keys that
// may name licenses (a ValueStore's keys carry the license key itself) and
// cached results. They format, with every fmt verb, and log, through slog,
// as a summary without any of that.

func format(s fmt.State, str string) { _, _ = io.WriteString(s, str) }

// String describes the store by its path and entry count.
func (f *File) String() string {
	if f == nil {
		return "cache.File(nil)"
	}
	return "cache.File{path: " + f.path + ", entries: " + strconv.Itoa(len(f.snapshot())) + ", key: [REDACTED]}"
}

// GoString is String: neither the key nor an entry is ever printed.
func (f *File) GoString() string { return f.String() }

// Format implements fmt.Formatter: every verb prints String.
func (f *File) Format(s fmt.State, _ rune) { format(s, f.String()) }

// LogValue implements slog.LogValuer: the path and entry count.
func (f *File) LogValue() slog.Value {
	if f == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.String("path", f.path), slog.Int("entries", len(f.snapshot())),
		slog.String("key", "[REDACTED]"))
}

// String describes the store by its entry count and cap.
func (m *Memory) String() string {
	if m == nil {
		return "cache.Memory(nil)"
	}
	return "cache.Memory{entries: " + strconv.Itoa(m.Len()) + ", max: " + strconv.Itoa(m.max) + "}"
}

// GoString is String: no key or value is ever printed.
func (m *Memory) GoString() string { return m.String() }

// Format implements fmt.Formatter: every verb prints String.
func (m *Memory) Format(s fmt.State, _ rune) { format(s, m.String()) }

// LogValue implements slog.LogValuer: the entry count and cap.
func (m *Memory) LogValue() slog.Value {
	if m == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.Int("entries", m.Len()), slog.Int("max", m.max))
}
