package wire_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/licentrictest"
)

// Every route the client names in telemetry is one the server serves: no
// request to it meets the router's catch-all 404.
func TestRoutesAreServed(t *testing.T) {
	srv := licentrictest.NewServer()
	t.Cleanup(srv.Close)
	fill := strings.NewReplacer(wire.WildcardID, "x", wire.WildcardKey, "x", wire.WildcardName, "x")
	for _, rt := range wire.Routes() {
		req, err := http.NewRequest(rt.Method, srv.URL+wire.APIPrefix+fill.Replace(rt.Template), strings.NewReader("{}"))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+srv.TestAPIKey())
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		var body struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		_ = resp.Body.Close()
		assert.NotContains(t, body.Error, "No route", "%s %s", rt.Method, rt.Template)
	}
}
