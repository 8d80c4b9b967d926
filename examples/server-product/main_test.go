package main

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// TestRun runs the example against the in-process server and a
// redis-server of its own: every step must do what it prints.
func TestRun(t *testing.T) {
	if os.Getenv("REDIS_ADDR") == "" {
		if _, err := exec.LookPath("redis-server"); err != nil {
			t.Skip("redis-server is not installed (apt-get install redis-server; .ci/run installs it)")
		}
	}
	var out bytes.Buffer
	if err := run(t.Context(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log(out.String())
}
