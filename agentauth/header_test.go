package agentauth

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sampleToken = "AGT-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"

func TestParseAuthorization(t *testing.T) {
	ok := []struct{ header, token string }{
		{"Bearer " + sampleToken, sampleToken},
		{"bearer " + sampleToken, sampleToken},
		{"BEARER   " + sampleToken + "  ", sampleToken},
		{"\tBearer " + sampleToken, sampleToken},
		{"Bearer abc==", "abc=="},
		{"Bearer a.b_c~d+e/f-g", "a.b_c~d+e/f-g"},
	}
	for _, c := range ok {
		got, err := parseAuthorization([]string{c.header})
		require.NoError(t, err, "%q", c.header)
		assert.Equal(t, c.token, got)
	}
	none := [][]string{nil, {""}, {"   "}, {"Basic dXNlcjpwYXNz"}, {"License DSK-A1B2"}}
	for _, v := range none {
		_, err := parseAuthorization(v)
		assert.ErrorIs(t, err, errNoCredential, "%q", v)
	}
	bad := [][]string{
		{"Bearer"}, {"Bearer "}, {"Bearer a b"}, {"Bearer a\x00"}, {"Bearer ü"}, {"Bearer =abc"}, {"Bearer ab=c"},
		{"Bearer\t" + sampleToken}, {"BearerAGT-abc"}, {"Bearer " + sampleToken, "Bearer " + sampleToken},
		{"Bearer " + strings.Repeat("a", maxAuthorizationLen)}, {"Bearer a,b"}, {`Bearer "abc"`}, {"Bearerx abc"},
	}
	for _, v := range bad {
		_, err := parseAuthorization(v)
		assert.ErrorIs(t, err, errMalformed, "%q", v)
	}
}

// FuzzParseAuthorization: no input panics; an accepted token is a
// non-empty b64token that parses back to itself.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"Bearer " + sampleToken, "bearer x", "Basic abc", "", "Bearer", "Bearer a==", "Bearer =",
		"Bearer\ta", " Bearer  a ", "Bearer a b", "Bearer \xff", strings.Repeat("B", 2000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, err := parseAuthorization([]string{h})
		if err != nil {
			if tok != "" {
				t.Fatalf("token %q with error %v", tok, err)
			}
			return
		}
		if tok == "" || len(tok) > maxAuthorizationLen {
			t.Fatalf("bad token %q", tok)
		}
		for i := 0; i < len(tok); i++ {
			if !isB64TokenChar(tok[i]) {
				t.Fatalf("token %q has byte %#x", tok, tok[i])
			}
		}
		again, err := parseAuthorization([]string{"Bearer " + tok})
		if err != nil || again != tok {
			t.Fatalf("round trip of %q: %q, %v", tok, again, err)
		}
	})
}
