package agentauth

import (
	"errors"
	"strings"
)

// maxAuthorizationLen caps the Authorization header the middleware reads;
// agent tokens are 47 bytes.
const maxAuthorizationLen = 1024

var (
	// errNoCredential: no Authorization header, or one of another scheme.
	errNoCredential = errors.New("no bearer credential")
	// errMalformed: a Bearer credential that is not a token.
	errMalformed = errors.New("malformed bearer credential")
)

// parseAuthorization returns the bearer token of a request's Authorization
// header values (RFC 6750 §2.1: the scheme, matched case-insensitively,
// one or more spaces and a b64token; surrounding spaces and tabs are
// ignored). No header, an empty one or another scheme is errNoCredential;
// several headers, an over-long one, or a Bearer credential that is empty
// or has characters a b64token cannot is errMalformed.
func parseAuthorization(values []string) (string, error) {
	switch len(values) {
	case 0:
		return "", errNoCredential
	case 1:
	default:
		return "", errMalformed
	}
	h := values[0]
	if len(h) > maxAuthorizationLen {
		return "", errMalformed
	}
	h = strings.Trim(h, " \t")
	if h == "" {
		return "", errNoCredential
	}
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		if len(scheme) > len("Bearer") && strings.EqualFold(scheme[:len("Bearer")], "Bearer") {
			return "", errMalformed // "BearerAGT-…", "Bearer\tAGT-…"
		}
		return "", errNoCredential
	}
	token := strings.TrimLeft(rest, " ")
	if token == "" {
		return "", errMalformed
	}
	for i := 0; i < len(token); i++ {
		if !isB64TokenChar(token[i]) {
			return "", errMalformed
		}
	}
	// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
	if eq := strings.IndexByte(token, '='); eq >= 0 && strings.Trim(token[eq:], "=") != "" || token[0] == '=' {
		return "", errMalformed
	}
	return token, nil
}

// isB64TokenChar reports a character of RFC 6750's b64token.
func isB64TokenChar(c byte) bool {
	switch {
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~+/=", c) >= 0
}
