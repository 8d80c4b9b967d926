package wire

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLicenseKeyProblem(t *testing.T) {
	for key, want := range map[string]string{
		"DSK-A1B2-C3D4-E5F6-G7H8":               "",
		"légacy-kéy ünïcode":                    "",
		strings.Repeat("k", MaxLicenseKeyLen):   "",
		"":                                      "is empty",
		strings.Repeat("k", MaxLicenseKeyLen+1): "is longer than 16384 bytes",
		"bad-\xff-utf8":                         "is not UTF-8",
		" DSK-A1B2":                             "has leading or trailing white space",
		"DSK-A1B2\n":                            "has leading or trailing white space",
		"DSK-\x1b[31m-A1B2":                     "contains control characters",
		"DSK-\u0085-A1B2":                       "contains control characters",
	} {
		got := LicenseKeyProblem(key)
		assert.Equal(t, want, got, "%q", key)
		if len(key) > 3 {
			assert.NotContains(t, got, key, "the key is never quoted")
		}
	}
}
