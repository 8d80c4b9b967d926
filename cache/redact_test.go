package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/hkdf"
)

func secretForms(secret []byte) []string {
	dec := strings.Trim(fmt.Sprint(secret[:min(8, len(secret))]), "[]")
	return []string{string(secret), hex.EncodeToString(secret), base64.StdEncoding.EncodeToString(secret), dec}
}

// TestFormattingRedactsSecrets formats the stores with every verb, nested,
// and through slog's JSON and text handlers: no key, sealing key or value
// appears.
func TestFormattingRedactsSecrets(t *testing.T) {
	const licenseKey = "DSK-A1B2-C3D4-E5F6-G7H8"
	clk := newFakeClock()
	f := newTestFile(t, filepath.Join(t.TempDir(), "cache"), testSecret, clk)
	mustSet(t, f, "v1/live/"+licenseKey, "VALID-RESULT-BYTES", time.Hour)
	sealKey := make([]byte, 32)
	_, err := io.ReadFull(hkdf.New(sha256.New, testSecret, nil, []byte(hkdfInfo)), sealKey)
	require.NoError(t, err)
	m := NewMemory()
	require.NoError(t, m.SetValue("v1/live/"+licenseKey, &struct{ Key string }{licenseKey}, time.Hour))
	require.NoError(t, m.Set("v1/live/other", []byte("VALID-RESULT-BYTES"), time.Hour))

	cases := map[string]struct {
		v       any
		secrets [][]byte
	}{
		"*File":   {f, [][]byte{[]byte(licenseKey), []byte("VALID-RESULT-BYTES"), testSecret, sealKey}},
		"*Memory": {m, [][]byte{[]byte(licenseKey), []byte("VALID-RESULT-BYTES")}},
	}
	for name, c := range cases {
		var outs []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			outs = append(outs, fmt.Sprintf(verb, c.v), fmt.Sprintf(verb, struct{ V any }{c.v}), fmt.Sprintf(verb, []any{c.v}))
		}
		for _, h := range []func(io.Writer) slog.Handler{
			func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
			func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
		} {
			var buf bytes.Buffer
			slog.New(h(&buf)).Info("msg", "store", c.v)
			outs = append(outs, buf.String())
		}
		for _, out := range outs {
			for _, s := range c.secrets {
				for _, form := range secretForms(s) {
					require.NotContains(t, out, form, "%s leaks a secret in %q", name, out)
				}
			}
		}
	}
	assert.Equal(t, "cache.Memory{entries: 2, max: 10000}", fmt.Sprint(m))
	assert.Contains(t, fmt.Sprintf("%+v", f), "entries: 1")
}
