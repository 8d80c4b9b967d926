package offline

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// secretForms returns the ways a secret could show up in formatted text.
func secretForms(secret []byte) []string {
	dec := strings.Trim(fmt.Sprint(secret[:min(8, len(secret))]), "[]")
	return []string{string(secret), hex.EncodeToString(secret), strings.ToUpper(hex.EncodeToString(secret)),
		base64.StdEncoding.EncodeToString(secret), base64.RawStdEncoding.EncodeToString(secret), dec}
}

// assertNoSecret formats v with every verb, inside a struct and a slice,
// and through slog's JSON and text handlers, and fails when any form of a
// secret appears.
func assertNoSecret(t *testing.T, name string, v any, secrets ...[]byte) {
	t.Helper()
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
		outs = append(outs, fmt.Sprintf(verb, v), fmt.Sprintf(verb, struct{ V any }{v}), fmt.Sprintf(verb, []any{v}))
	}
	outs = append(outs, fmt.Sprint(v), fmt.Sprintln(v))
	for _, h := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var buf bytes.Buffer
		slog.New(h(&buf)).Info("msg", "v", v, slog.Any("any", v), slog.Group("g", "v", v))
		outs = append(outs, buf.String())
	}
	for _, out := range outs {
		for _, s := range secrets {
			for _, form := range secretForms(s) {
				require.NotContains(t, out, form, "%s leaks a secret", name)
			}
		}
	}
}

func TestFormattingRedactsSecrets(t *testing.T) {
	signer := testSigner(t, testSeed)
	g, err := NewRollbackGuard(t.TempDir()+"/state", rollbackKey)
	require.NoError(t, err)
	f, err := newTestVerifier(t).Verify(validFile(t, nil))
	require.NoError(t, err)
	licenseKey := []byte(f.License.Key)
	require.NotEmpty(t, licenseKey)

	cases := map[string]struct {
		v       any
		secrets [][]byte
	}{
		"*Signer":        {signer, [][]byte{signer.priv, signer.priv.Seed()}},
		"Signer":         {*signer, [][]byte{signer.priv, signer.priv.Seed()}},
		"*RollbackGuard": {g, [][]byte{rollbackKey}},
		"*File":          {f, [][]byte{licenseKey}},
		"File":           {*f, [][]byte{licenseKey}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) { assertNoSecret(t, name, c.v, c.secrets...) })
	}
	// The summaries still say what the value is.
	assert.Contains(t, fmt.Sprint(signer), signer.KeyID())
	assert.Contains(t, fmt.Sprintf("%+v", f), f.License.ID)
	assert.Contains(t, fmt.Sprintf("%#v", g), "offline.RollbackGuard{")
	var nilGuard *RollbackGuard
	assert.Equal(t, "offline.RollbackGuard(nil)", fmt.Sprint(nilGuard))
}
