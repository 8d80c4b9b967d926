package main

import (
	"context"
	"os"
	"os/exec"
	"testing"
)

// TestRun runs the example against the in-process server and a
// redis-server of its own.
func TestRun(t *testing.T) {
	if os.Getenv("REDIS_ADDR") == "" {
		if _, err := exec.LookPath("redis-server"); err != nil {
			t.Skip("redis-server is not installed (apt-get install redis-server; .ci/run installs it)")
		}
	}
	if err := run(context.Background()); err != nil {
		t.Fatal(err)
	}
}
