package main

import (
	"context"
	"testing"
)

// TestRun runs the demo against the in-process server, offline fallback
// included.
func TestRun(t *testing.T) {
	if err := run(context.Background(), func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
}
