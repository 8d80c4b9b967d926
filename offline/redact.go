package offline

import (
	"fmt"
	"io"
	"log/slog"
	"time"
)

// The types below hold secrets (a signing key, a rollback key, a license
// key). Each formats, with every fmt verb, and logs, through slog, as a
// summary that leaves the secret out: a value printed by mistake never
// leaks it.

// redacted is what stands for a secret in those summaries.
const redacted = "[REDACTED]"

// format writes the summary for every verb; %#v gets the Go-syntax one.
func format(s fmt.State, verb rune, str, goStr string) {
	if verb == 'v' && s.Flag('#') {
		_, _ = io.WriteString(s, goStr)
		return
	}
	_, _ = io.WriteString(s, str)
}

// String describes the signer by its key id; the private key is left out.
func (s Signer) String() string { return "offline.Signer{kid: " + s.kid + ", key: " + redacted + "}" }

// GoString is String: the private key is never printed.
func (s Signer) GoString() string { return s.String() }

// Format implements fmt.Formatter, so that no verb prints the private key.
func (s Signer) Format(st fmt.State, verb rune) { format(st, verb, s.String(), s.GoString()) }

// LogValue implements slog.LogValuer: the key id only.
func (s Signer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kid", s.kid), slog.String("key", redacted))
}

// String describes the guard by its state file and high-water mark; the
// key is left out.
func (g *RollbackGuard) String() string {
	if g == nil {
		return "offline.RollbackGuard(nil)"
	}
	return "offline.RollbackGuard{path: " + g.path + ", mark: " + fmtTime(g.HighWaterMark()) + ", key: " + redacted + "}"
}

// GoString is String: the key is never printed.
func (g *RollbackGuard) GoString() string { return g.String() }

// Format implements fmt.Formatter, so that no verb prints the key.
func (g *RollbackGuard) Format(st fmt.State, verb rune) { format(st, verb, g.String(), g.GoString()) }

// LogValue implements slog.LogValuer: the path and the mark, not the key.
func (g *RollbackGuard) LogValue() slog.Value {
	if g == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.String("path", g.path), slog.Time("mark", g.HighWaterMark()),
		slog.String("key", redacted))
}

// String summarises a verified file: license id and status, environment,
// key id, fingerprint and lifetime. The license key, which authenticates
// as the license, is left out; read File.License.Key for it.
func (f File) String() string {
	return fmt.Sprintf("offline.File{license: %s, status: %s, key: %s, env: %s, kid: %s, fingerprint: %s, issuedAt: %s, expiresAt: %s}",
		f.License.ID, f.License.Status, redacted, f.Env, f.KeyID, f.Fingerprint, fmtTime(f.IssuedAt), fmtTime(f.ExpiresAt))
}

// GoString is String: the license key is never printed.
func (f File) GoString() string { return f.String() }

// Format implements fmt.Formatter, so that no verb prints the license key.
func (f File) Format(st fmt.State, verb rune) { format(st, verb, f.String(), f.GoString()) }

// LogValue implements slog.LogValuer, with the fields of String.
func (f File) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("license", f.License.ID), slog.String("status", f.License.Status),
		slog.String("key", redacted), slog.String("env", f.Env), slog.String("kid", f.KeyID),
		slog.String("fingerprint", f.Fingerprint), slog.Time("issuedAt", f.IssuedAt),
		slog.Time("expiresAt", f.ExpiresAt))
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.UTC().Format(time.RFC3339)
}
