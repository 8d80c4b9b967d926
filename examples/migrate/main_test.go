package main

import "testing"

// TestRun runs the example against the in-process server.
func TestRun(t *testing.T) {
	t.Setenv("LICENTRIC_BASE_URL", "")
	t.Setenv("LICENTRIC_API_KEY", "")
	if err := run(); err != nil {
		t.Fatal(err)
	}
}
