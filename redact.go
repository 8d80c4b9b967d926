package licentric

import (
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Secrets never leave the client in an error, a log line or a formatted
// value. Text that came from the server (error messages, request ids,
// validation details) is redacted first and truncated after, so a secret
// straddling the cut cannot survive in part; what remains is scrubbed of
// anything shaped like an API key or a license key, whole or cut short.

// apiKeyShape matches an API key, whole or cut: the prefix and any key
// characters after it.
var apiKeyShape = regexp.MustCompile(`lk_(?:live|test)_[A-Za-z0-9_\-]*`)

// licenseKeyShape matches the service's license-key shape (PREFIX-XXXX-...,
// the prefix starting with a letter so dates are left alone) with at least
// two groups after the prefix, whole or cut.
var licenseKeyShape = regexp.MustCompile(`\b[A-Z][A-Z0-9]{1,11}(?:-[A-Z0-9]{1,4}){2,}`)

// redactor replaces known secrets (raw, path- and query-escaped) by short
// prefixes. The zero value redacts nothing.
type redactor struct{ rep *strings.Replacer }

// newRedactor returns a redactor of the given secrets; strings shorter
// than 4 bytes are not secrets worth hiding (and would garble text).
func newRedactor(secrets ...string) redactor {
	var pairs []string
	for _, s := range secrets {
		if len(s) < 4 {
			continue
		}
		red := redactKey(s)
		for _, v := range []string{s, url.PathEscape(s), url.QueryEscape(s)} {
			pairs = append(pairs, v, red)
		}
	}
	if len(pairs) == 0 {
		return redactor{}
	}
	return redactor{rep: strings.NewReplacer(pairs...)}
}

// redact replaces the known secrets in s.
func (r redactor) redact(s string) string {
	if r.rep == nil {
		return s
	}
	return r.rep.Replace(s)
}

// clean turns server text into something safe to show: known secrets
// redacted, control characters replaced, at most n runes, and any key shape
// left (a key the client does not know, or one cut by the truncation)
// reduced to its prefix.
func (r redactor) clean(s string, n int) string {
	if s == "" {
		return ""
	}
	return scrubKeyShapes(sanitize(r.redact(s), n))
}

// scrubKeyShapes reduces every API-key or license-key shape in s to a short
// prefix.
func scrubKeyShapes(s string) string {
	if strings.Contains(s, "lk_") {
		s = apiKeyShape.ReplaceAllStringFunc(s, func(k string) string { return k[:len("lk_live_")] + "…" })
	}
	return licenseKeyShape.ReplaceAllStringFunc(s, func(k string) string {
		first, _, _ := strings.Cut(k, "-")
		return first + "-…"
	})
}

// redactKey shows at most a short prefix of a secret: "DSK-A1B2-…".
func redactKey(k string) string {
	n := min(len(k)*2/5, 9)
	for n > 0 && !utf8.RuneStart(k[n]) {
		n--
	}
	return k[:n] + "…"
}

// redactedError has the same chain as err but redacted text.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactError returns err, or an error with the same chain but redacted
// text when its text contains a secret.
func (r redactor) redactError(err error) error {
	if err == nil {
		return nil
	}
	if s := err.Error(); r.redact(s) != s {
		return &redactedError{msg: r.redact(s), err: err}
	}
	return err
}
