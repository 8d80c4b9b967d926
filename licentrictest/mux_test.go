package licentrictest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go/internal/wire"
)

// ServeMux answers some requests itself (405 with Allow, 404 text, 307 to a
// cleaned path); none of that may reach a client (docs/wire-protocol.md §11.2).
func TestUnknownRoutesAnswerTheEnvelopeNotServeMux(t *testing.T) {
	s := start(t)
	fx := s.seed(Seed{})
	api := bearer(s.TestAPIKey())
	for _, tc := range []struct{ method, path string }{
		{"PUT", "/api/v1/licenses"},                            // known path, unknown method: ServeMux says 405
		{"DELETE", "/api/v1/licenses/validate-key"},            // likewise
		{"HEAD", "/api/v1/licenses"},                           // GET patterns match HEAD in ServeMux
		{"OPTIONS", "/api/v1/products"},                        //
		{"GET", "/api/v1/nothing"},                             // unknown path
		{"GET", "/api/v1/licenses/"},                           // empty wildcard
		{"GET", "/api/v1//licenses"},                           // unclean: ServeMux redirects
		{"GET", "/api/v1/licenses/../products"},                // unclean
		{"GET", "/api/v1/licenses/" + fx.License.ID + "/"},     // trailing slash
		{"POST", "/api/v1/licenses/" + fx.License.ID + "/zap"}, // unknown action
		{"GET", "/api/v2/licenses"},                            // other version
		{"GET", "/"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, s.URL+tc.path, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", api)
			resp, err := s.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, 404, resp.StatusCode)
			assert.Empty(t, resp.Header.Get("Allow"))
			assert.Empty(t, resp.Header.Get("Location"))
			assert.NotEmpty(t, resp.Header.Get("X-Request-Id"))
			assert.NotEmpty(t, resp.Header.Get("X-RateLimit-Limit"))
			if tc.method == "HEAD" {
				return
			}
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			var m map[string]any
			require.NoError(t, json.Unmarshal(raw, &m), "body %q", raw)
			assert.Equal(t, "NOT_FOUND", m["code"])
			assert.Equal(t, 404.0, m["status"])
			assert.Equal(t, resp.Header.Get("X-Request-Id"), m["requestId"])
		})
	}
}

// The server's limiter and the client's budget read the same tier mapping.
func TestRateTiersComeFromWireTierOf(t *testing.T) {
	s := start(t, WithRateLimits(2, 3, 4))
	fx := s.seed(Seed{})
	want := map[string]string{wire.TierValidation: "2", wire.TierActivation: "3", wire.TierManagement: "4"}
	for _, tc := range []struct {
		method, path, auth string
		body               any
	}{
		{"POST", wire.PathValidateKey, "", map[string]any{"key": fx.License.Key, "fingerprint": "machine-fp-1"}},
		{"POST", wire.PathMachines, license(fx.License.Key), map[string]any{"fingerprint": "machine-fp-1"}},
		{"GET", wire.PathMachines, bearer(s.TestAPIKey()), nil},
		{"GET", wire.PathValidateKey, bearer(s.TestAPIKey()), nil},
		{"POST", wire.PathVerify, "", nil},
		{"GET", "/nothing", "", nil},
	} {
		_, h, _ := s.do(tc.method, tc.path, tc.auth, tc.body)
		assert.Equal(t, want[wire.TierOf(tc.method, tc.path)], h.Get("X-RateLimit-Limit"), "%s %s", tc.method, tc.path)
	}
}

func TestRoutesMatchOnlyTheirMethodAndPath(t *testing.T) {
	s := start(t)
	api := bearer(s.TestAPIKey())
	// Every route of the table answers something other than the router's 404.
	for _, rt := range routes() {
		path := strings.NewReplacer("{id}", "x", "{key}", "x", "{name}", "x").Replace(rt.path)
		st, _, m := s.do(rt.method, path, api, "{}")
		if st == 404 {
			assert.NotContains(t, m["error"], "No route", "%s %s", rt.method, rt.path)
		}
	}
}
