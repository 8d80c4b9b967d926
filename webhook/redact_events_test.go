package webhook

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go/cache"
	"github.com/licentric/licentric-go/internal/wire"
)

// TestEventConstants: the exported event types are wire's, in the same
// order, and compare with Event.Type as plain strings.
func TestEventConstants(t *testing.T) {
	assert.Equal(t, wire.EventTypes(), EventTypes())
	assert.Equal(t, wire.EventAll, EventAll)
	types := EventTypes()
	types[0] = "changed"
	assert.Equal(t, EventLicenseCreated, EventTypes()[0], "EventTypes shares its slice")
	for _, typ := range EventTypes() {
		assert.True(t, knownEvent(typ), typ)
	}
	assert.False(t, knownEvent(EventAll))
	e, err := Parse(eventBody("evt_1", "license.suspended", licenseData))
	require.NoError(t, err)
	var s string = e.Type
	assert.True(t, s == EventLicenseSuspended)
}

// TestFormattingRedactsSecrets formats a Handler and an Event with every
// verb, nested, and through slog's JSON and text handlers: no secret, and
// none of the license data an event carries, appears.
func TestFormattingRedactsSecrets(t *testing.T) {
	store, err := cache.NewFile(filepath.Join(t.TempDir(), "ids"), []byte("file secret"))
	require.NoError(t, err)
	h, err := NewHandler(func(context.Context, *Event) error { return nil },
		WithSecrets(oldSecret, testSecret), WithDedupStore(store))
	require.NoError(t, err)
	e, err := Parse(eventBody("evt_1", EventLicenseSuspended, licenseData))
	require.NoError(t, err)
	cases := map[string]struct {
		v       any
		secrets []string
	}{
		"*Handler": {h, []string{oldSecret, testSecret, "file secret"}},
		"Event":    {*e, []string{"ABCD-EFGH-IJKL", "a@example.com"}},
		"*Event":   {e, []string{"ABCD-EFGH-IJKL", "a@example.com"}},
	}
	for name, c := range cases {
		var outs []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			outs = append(outs, fmt.Sprintf(verb, c.v), fmt.Sprintf(verb, struct{ V any }{c.v}), fmt.Sprintf(verb, []any{c.v}))
		}
		for _, mk := range []func(io.Writer) slog.Handler{
			func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
			func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
		} {
			var buf bytes.Buffer
			slog.New(mk(&buf)).Info("msg", "v", c.v)
			outs = append(outs, buf.String())
		}
		for _, out := range outs {
			for _, secret := range c.secrets {
				for _, form := range []string{secret, hex.EncodeToString([]byte(secret)), strings.Trim(fmt.Sprint([]byte(secret)[:6]), "[]")} {
					require.NotContains(t, out, form, "%s leaks a secret in %q", name, out)
				}
			}
		}
	}
	assert.Equal(t, "webhook.Handler{secrets: 2 [REDACTED], tolerance: 5m0s, dedup: 1024, store: true}", fmt.Sprint(h))
	assert.Contains(t, fmt.Sprint(e), `id: "evt_1"`)
}
