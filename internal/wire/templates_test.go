package wire

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fill replaces a template's wildcards by escaped values.
func fill(template string, vals ...string) string {
	for _, v := range vals {
		i := strings.IndexByte(template, '{')
		j := strings.IndexByte(template, '}')
		if i < 0 || j < i {
			break
		}
		template = template[:i] + EscapeSegment(v) + template[j+1:]
	}
	return template
}

func TestTemplateOfEveryRoute(t *testing.T) {
	for _, rt := range Routes() {
		for _, v := range []string{"x", "LIC-ABCD-1234", "a/b", "..", "ключ", "%zz"} {
			path := fill(rt.Template, v, v)
			got, ok := TemplateOf(rt.Method, path)
			assert.True(t, ok, "%s %s", rt.Method, path)
			assert.Equal(t, rt.Template, got, "%s %s", rt.Method, path)
		}
		// A value equal to another route's literal segment may make that
		// route win, as in the server's ServeMux; it is still a template.
		for _, v := range []string{SegmentByKey, "validate-key", SegmentCheckout} {
			got, ok := TemplateOf(rt.Method, fill(rt.Template, v, v))
			require.True(t, ok)
			assert.Contains(t, Routes(), Route{rt.Method, got})
		}
	}
}

func TestTemplateOfKeysAndPrecedence(t *testing.T) {
	cases := []struct{ method, path, want string }{
		{"POST", "/licenses/validate-key", "/licenses/validate-key"},
		{"GET", "/licenses/validate-key", "/licenses/{id}"},
		{"GET", "/licenses/by-key/DSK-A1B2-C3D4", "/licenses/by-key/{key}"},
		{"GET", LicenseByKeyPath("a/b?c#d"), "/licenses/by-key/{key}"},
		{"GET", LicenseByKeyPath(".."), "/licenses/by-key/{key}"},
		{"GET", LicenseByKeyPath("checkout"), "/licenses/by-key/{key}"},
		{"POST", SubPath(PathLicenses, "by-key", SegmentCheckout), "/licenses/{id}/checkout"},
		{"POST", SubPath(PathMachines, "m1", SegmentHeartbeat), "/machines/{id}/heartbeat"},
		{"PUT", PathAgents + "/agt_1/meters/api_calls", "/mcp/agents/{id}/meters/{name}"},
		{"GET", "/keys/signing", "/keys/signing"},
	}
	for _, c := range cases {
		got, ok := TemplateOf(c.method, c.path)
		assert.True(t, ok, "%s %s", c.method, c.path)
		assert.Equal(t, c.want, got, "%s %s", c.method, c.path)
	}
	for _, bad := range []struct{ method, path string }{
		{"GET", "/licenses/by-key/"},    // an empty segment is no key
		{"GET", "/licenses/by-key/a/b"}, // one segment too many
		{"HEAD", "/licenses"},
		{"POST", "/unknown"},
		{"GET", "licenses"},
		{"GET", ""},
		{"GET", "/"},
	} {
		got, ok := TemplateOf(bad.method, bad.path)
		assert.False(t, ok, "%s %q gave %q", bad.method, bad.path, got)
	}
}

func TestRoutesIsACopy(t *testing.T) {
	rs := Routes()
	rs[0].Template = "/changed"
	assert.NotEqual(t, "/changed", Routes()[0].Template)
}

func FuzzTemplateOf(f *testing.F) {
	f.Add("GET", "/licenses/by-key/LIC-1")
	f.Add("POST", "/licenses/validate-key")
	f.Add("PUT", "/mcp/agents/a/meters/b")
	f.Add("GET", "//")
	f.Fuzz(func(t *testing.T, method, path string) {
		got, ok := TemplateOf(method, path)
		if !ok {
			return
		}
		// A template is one of the routes', never built from the path.
		found := false
		for _, rt := range routes {
			found = found || (rt.Method == method && rt.Template == got)
		}
		if !found {
			t.Fatalf("TemplateOf(%q, %q) = %q, not a route", method, path, got)
		}
	})
}
