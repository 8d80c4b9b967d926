package wire

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// LicenseKeyProblem says why k cannot be a license key (docs/wire-protocol.md §13.1):
// "is empty", "is longer than 16384 bytes", "is not UTF-8", "has leading or
// trailing white space" or "contains control characters"; "" when it can.
// The key itself never appears in the answer. The client checks a key
// before sending it, and the offline activation request before accepting
// one from a file.
func LicenseKeyProblem(k string) string {
	switch {
	case k == "":
		return "is empty"
	case len(k) > MaxLicenseKeyLen:
		return "is longer than " + strconv.Itoa(MaxLicenseKeyLen) + " bytes"
	case !utf8.ValidString(k):
		return "is not UTF-8"
	case strings.TrimSpace(k) != k:
		return "has leading or trailing white space"
	}
	for _, r := range k {
		if unicode.IsControl(r) {
			return "contains control characters"
		}
	}
	return ""
}
