package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go/licentrictest"
)

// TestRun runs the flow against an in-process server and reads what the
// exporters printed: the spans and metrics the README names, and no key,
// API key or fingerprint.
func TestRun(t *testing.T) {
	srv := licentrictest.NewServer()
	t.Cleanup(srv.Close)
	t.Setenv("LICENTRIC_BASE_URL", srv.URL)
	t.Setenv("LICENTRIC_API_KEY", srv.TestAPIKey())
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	got := out.String()

	for _, want := range []string{
		`"Name":"POST /api/v1/licenses/validate-key"`,
		`"Name":"POST /api/v1/machines"`,
		`"Name":"GET /api/v1/licenses/by-key/{key}"`,
		`"Key":"licentric.code","Value":{"Type":"STRING","Value":"VALID"}`,
		`"Key":"url.template"`,
		`"Name": "licentric.validations"`,
		`"Name": "http.client.request.duration"`,
		`"Name": "licentric.ratelimit.remaining"`,
		`"Name": "licentric.guard.allowed"`,
		`"Value": "cache"`, // a validation answered by the cache
	} {
		assert.Contains(t, got, want)
	}
	assert.Equal(t, 3, strings.Count(got, `"Name":"POST /api/v1/licenses/validate-key"`),
		"one span per validation the service answered; none for the cached ones")
	assert.NotContains(t, got, "TEL-", "a license key (the product's prefix)")
	assert.NotContains(t, got, srv.TestAPIKey())
	assert.NotContains(t, got, thisMachine)
}
