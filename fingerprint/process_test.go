package fingerprint

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/denisbrodbeck/machineid"
)

// Environment of the helper process started by runHelper.
const (
	helperEnv    = "FINGERPRINT_TEST_HELPER" // "statedir" or "machineid"
	helperDirEnv = "FINGERPRINT_TEST_DIR"
	helperApp    = "com.example.cross-process"
	helperPrefix = "FINGERPRINT="
)

// TestHelperProcess is not a test: runHelper re-executes the test binary to
// run it as a separate process, which prints one fingerprint and exits.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process for TestFingerprintStableAcrossProcesses")
	}
	var opts []Option
	if mode == "statedir" {
		opts = append(opts, WithSource(StateDir(os.Getenv(helperDirEnv))))
	}
	fp, err := Compute(helperApp, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println(helperPrefix + fp)
	os.Exit(0)
}

func runHelper(t *testing.T, mode, dir string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperDirEnv+"="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Errorf("helper process: %v; stderr: %s", err, stderr.String())
		return ""
	}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if fp, ok := strings.CutPrefix(line, helperPrefix); ok {
			return fp
		}
	}
	t.Errorf("helper printed no fingerprint; stdout: %q", stdout.String())
	return ""
}

func TestFingerprintStableAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	t.Run("state dir", func(t *testing.T) {
		dir := t.TempDir()
		// Four processes race to create the state file, then a fifth
		// reads it: all must report one fingerprint.
		fps := make([]string, 4)
		var wg sync.WaitGroup
		for i := range fps {
			wg.Go(func() { fps[i] = runHelper(t, "statedir", dir) })
		}
		wg.Wait()
		fps = append(fps, runHelper(t, "statedir", dir))
		want, err := Compute(helperApp, WithSource(StateDir(dir)))
		if err != nil {
			t.Fatal(err)
		}
		for i, fp := range fps {
			if fp != want {
				t.Errorf("process %d printed %q, this process computed %q", i, fp, want)
			}
		}
		if id := readStateID(t, dir); strings.Contains(strings.Join(fps, ""), id) {
			t.Error("a process printed the raw state ID")
		}
	})
	t.Run("machine ID", func(t *testing.T) {
		if _, err := machineid.ID(); err != nil {
			t.Skipf("no machine ID on this host: %v", err)
		}
		want, err := Compute(helperApp)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if fp := runHelper(t, "machineid", ""); fp != want {
				t.Errorf("process %d printed %q, this process computed %q", i, fp, want)
			}
		}
	})
}
