package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRun runs the example against the in-process server: every step gives
// the expected status, the meter ends at its hard limit, and the token is
// never printed.
func TestRun(t *testing.T) {
	t.Setenv("LICENTRIC_BASE_URL", "")
	t.Setenv("LICENTRIC_API_KEY", "")
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), &out), out.String())
	s := out.String()
	assert.Regexp(t, `paid call 4 \(would pass the hard limit\): +402 ok`, s)
	assert.Contains(t, s, `"code":"METER_LIMIT_EXCEEDED"`)
	assert.Contains(t, s, `Meter "tool-calls": 3 of 3 used this month`)
	assert.NotRegexp(t, `AGT-[A-Za-z0-9_-]{8}`, s, "the token is never printed")
}
