package migrate

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/licentric/licentric-go"
)

// Limits of the Licentric API (docs/wire-protocol.md §13 and the resources' rules).
const (
	// MaxKeyLength is the longest license key Licentric takes, in
	// characters (§13).
	MaxKeyLength = 16384
	// MaxMetadataBytes is the largest metadata object, serialized (§13).
	MaxMetadataBytes = 64 << 10

	maxNameLen        = 255
	maxProductCodeLen = 50
	maxEntCodeLen     = 100
	minFingerprintLen = 8
	maxFingerprintLen = 256
	// maxOfflineDays is the offlineMaxDays given to policies that allow
	// offline use without a limit: the longest license-file TTL (90 days).
	maxOfflineDays = 90
)

// fold maps common accented Latin letters to ASCII, for slugs.
var fold = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'æ': "ae", 'ç': "c", 'è': "e", 'é': "e",
	'ê': "e", 'ë': "e", 'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ñ': "n", 'ò': "o", 'ó': "o", 'ô': "o",
	'õ': "o", 'ö': "o", 'ø': "o", 'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ý': "y", 'ÿ': "y", 'ß': "ss",
}

// slug turns a name into a product code: lowercase ASCII letters and digits
// separated by '-', at most n bytes; "product" when nothing is left.
func slug(name string, n int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if f, ok := fold[r]; ok {
			if b.Len()+len(f) <= n {
				b.WriteString(f)
			}
			dash = false
			continue
		}
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case b.Len() > 0 && !dash:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= n {
			break
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > n {
		s = strings.Trim(s[:n], "-")
	}
	if s == "" {
		return "product"
	}
	return s
}

// uniqueCode returns code, or code-2, code-3, ... (within n bytes), the
// first that taken does not report.
func uniqueCode(code string, n int, taken func(string) bool) string {
	if !taken(code) {
		return code
	}
	for i := 2; ; i++ {
		suffix := "-" + strconv.Itoa(i)
		base := code
		if len(base)+len(suffix) > n {
			base = base[:n-len(suffix)]
		}
		if c := base + suffix; !taken(c) {
			return c
		}
	}
}

// validProductCode: 1 to 50 characters of A-Z, a-z, 0-9, _ and -.
func validProductCode(s string) bool {
	if len(s) < 1 || len(s) > maxProductCodeLen {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// entitlementCode makes a Licentric entitlement code (1 to 100 characters
// of a-z, 0-9, _ and -) from a source code: lowercased, other characters
// become '-'. ok is false when nothing usable is left.
func entitlementCode(s string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	c := strings.Trim(b.String(), "-")
	if len(c) > maxEntCodeLen {
		c = c[:maxEntCodeLen]
	}
	return c, c != ""
}

// checkKey returns why a license key is refused (docs/wire-protocol.md §13), or "".
func checkKey(k string) (code, msg string) {
	switch {
	case k == "":
		return "empty_key", "the license key is empty"
	case !utf8.ValidString(k):
		return "invalid_key", "the license key is not valid UTF-8"
	case utf8.RuneCountInString(k) > MaxKeyLength:
		return "key_too_long", fmt.Sprintf("the license key is %d characters, more than Licentric's %d", utf8.RuneCountInString(k), MaxKeyLength)
	case strings.TrimSpace(k) != k:
		return "invalid_key", "the license key has leading or trailing whitespace"
	}
	for _, r := range k {
		if unicode.IsControl(r) {
			return "invalid_key", "the license key contains a control character"
		}
	}
	return "", ""
}

// validEmail is the target's email check: one @, a dot in the domain, no
// whitespace, at most 255 bytes.
func validEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return len(s) <= 255 && at > 0 && at < len(s)-1 && strings.Count(s, "@") == 1 &&
		!strings.ContainsAny(s, " \t\r\n") && strings.Contains(s[at+1:], ".")
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// name fits a display name into the API's 255 bytes, with a warning.
func fitName(r *Record, field, s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > maxNameLen {
		r.warn("truncated", "%s is %d bytes, cut to %d", field, len(s), maxNameLen)
		return truncate(s, maxNameLen)
	}
	return s
}

// platform maps a source platform name to Licentric's (macos, windows,
// linux, docker, kubernetes); ok is false for anything else.
func platform(s string) (string, bool) {
	v := strings.ToLower(strings.TrimSpace(s))
	switch {
	case v == "":
		return "", true
	case v == "macos" || v == "mac" || v == "darwin" || v == "osx" || strings.HasPrefix(v, "mac os") || strings.HasPrefix(v, "macos "):
		return licentric.PlatformMacOS, true
	case v == "windows" || v == "win32" || v == "win64" || v == "win" || strings.HasPrefix(v, "windows "):
		return licentric.PlatformWindows, true
	case v == "linux" || strings.HasPrefix(v, "linux ") || v == "ubuntu" || v == "debian" || v == "fedora":
		return licentric.PlatformLinux, true
	case v == "docker":
		return licentric.PlatformDocker, true
	case v == "kubernetes" || v == "k8s":
		return licentric.PlatformKubernetes, true
	}
	return "", false
}

// ceilDiv returns ceil(a/b) for a >= 0, b > 0.
func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// parseTime reads an ISO 8601 time: RFC 3339 with up to 9 fractional
// digits, or without a zone (UTC is assumed), with 'T' or a space.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	layouts := []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999", "2006-01-02"}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			t = t.UTC()
			if y := t.Year(); y < 1 || y > 9999 {
				return time.Time{}, fmt.Errorf("year %d is out of range", y)
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 date", truncate(s, 40))
}

// isoDays converts an ISO 8601 duration (P1Y, P1M, P3M10D, P2W, PT36H) to
// days: a year is 365 days, a month 30, time parts round up to whole days.
// approx reports a year or month part, which makes the figure approximate.
func isoDays(s string) (days int, approx bool, err error) {
	v := strings.ToUpper(strings.TrimSpace(s))
	if len(v) < 2 || v[0] != 'P' {
		return 0, false, fmt.Errorf("%q is not an ISO 8601 duration", truncate(s, 40))
	}
	v = v[1:]
	var total, seconds int64
	inTime := false
	num := ""
	parts := 0
	for _, r := range v {
		switch {
		case r == 'T' && !inTime && num == "":
			inTime = true
		case r >= '0' && r <= '9':
			num += string(r)
			if len(num) > 6 {
				return 0, false, fmt.Errorf("%q is too long", truncate(s, 40))
			}
		default:
			if num == "" {
				return 0, false, fmt.Errorf("%q is not an ISO 8601 duration", truncate(s, 40))
			}
			n, _ := strconv.ParseInt(num, 10, 64)
			num = ""
			parts++
			switch {
			case !inTime && r == 'Y':
				total += 365 * n
				approx = true
			case !inTime && r == 'M':
				total += 30 * n
				approx = true
			case !inTime && r == 'W':
				total += 7 * n
			case !inTime && r == 'D':
				total += n
			case inTime && r == 'H':
				seconds += 3600 * n
			case inTime && r == 'M':
				seconds += 60 * n
			case inTime && r == 'S':
				seconds += n
			default:
				return 0, false, fmt.Errorf("%q is not an ISO 8601 duration", truncate(s, 40))
			}
		}
	}
	if num != "" || parts == 0 {
		return 0, false, fmt.Errorf("%q is not an ISO 8601 duration", truncate(s, 40))
	}
	total += ceilDiv(seconds, 86400)
	return int(total), approx, nil
}

// boolField reads a case-insensitive true/false; empty is false.
func boolField(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "false":
		return false, true
	case "true":
		return true, true
	}
	return false, false
}

// intPtr returns &v.
func intPtr(v int) *int { return &v }

// sameInt reports whether two optional ints are equal (nil = unlimited).
func sameInt(a, b *int) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}
