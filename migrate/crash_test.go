package migrate

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
)

// The crash test re-executes the test binary as the importer; these
// variables tell the child what to do.
const (
	envChild   = "MIGRATE_CRASH_CHILD"
	envURL     = "MIGRATE_CRASH_URL"
	envKey     = "MIGRATE_CRASH_KEY"
	envDir     = "MIGRATE_CRASH_DIR"
	envJournal = "MIGRATE_CRASH_JOURNAL"
)

// TestCrashHelperProcess is the child of TestCrashResume: an import run
// against the parent's server. It does nothing in a normal test run.
func TestCrashHelperProcess(t *testing.T) {
	if os.Getenv(envChild) != "1" {
		t.Skip("helper process of TestCrashResume")
	}
	c, err := licentric.NewClient(licentric.WithBaseURL(os.Getenv(envURL)), licentric.WithAPIKey(os.Getenv(envKey)),
		licentric.WithoutRateBudget())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	ctx := context.Background()
	j, err := OpenJournal(os.Getenv(envJournal))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	p, err := NewPlan(ctx, &Keygen{Dir: os.Getenv(envDir)}, c, &PlanOptions{Journal: j})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	res, err := Apply(ctx, c, p, j, WithRetry(20, time.Millisecond, 5*time.Millisecond))
	if err != nil || res.Failed() > 0 {
		fmt.Fprintln(os.Stderr, err, failures(res))
		os.Exit(4)
	}
	os.Exit(0)
}

// countLines counts the complete lines of the journal file.
func countLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte("\n"))
}

type child struct {
	cmd  *exec.Cmd
	done chan error
	out  bytes.Buffer
}

func startChild(t *testing.T, srv *licentrictest.Server, dir, journal string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChild+"=1", envURL+"="+srv.URL, envKey+"="+srv.TestAPIKey(),
		envDir+"="+dir, envJournal+"="+journal)
	ch := &child{cmd: cmd, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = &ch.out, &ch.out
	require.NoError(t, cmd.Start())
	go func() { ch.done <- cmd.Wait() }()
	return ch
}

// killAt waits until the journal has at least lines lines (or the child
// ends on its own) and kills the child with SIGKILL. It reports whether
// the child was killed.
func (ch *child) killAt(t *testing.T, journal string, lines int) bool {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for countLines(journal) < lines {
		select {
		case err := <-ch.done:
			require.NoError(t, err, "child ended before it was killed: %s", ch.out.String())
			return false
		case <-time.After(200 * time.Microsecond):
		}
		if time.Now().After(deadline) {
			_ = ch.cmd.Process.Kill()
			<-ch.done
			t.Fatalf("the journal stopped growing at %d lines: %s", countLines(journal), ch.out.String())
		}
	}
	require.NoError(t, ch.cmd.Process.Signal(syscall.SIGKILL))
	err := <-ch.done
	return err != nil
}

// checkNoDuplicates is what must hold at any moment, even right after a
// crash: no source record twice in the target, and every journal entry
// names a target record that carries its source.
func checkNoDuplicates(t *testing.T, c *licentric.Client, journal string) {
	t.Helper()
	st := readTarget(t, c)
	seen := map[string]string{}
	ids := map[string]licentric.Metadata{}
	add := func(kind Kind, id string, md licentric.Metadata) {
		_, src, ok := sourceOf(md)
		require.True(t, ok, "%s %s has no _source", kind, id)
		k := string(kind) + ":" + src
		require.NotContains(t, seen, k, "%s %s is in the target twice", kind, src)
		seen[k] = id
		ids[id] = md
	}
	for _, p := range st.products {
		add(KindProduct, p.ID, p.Metadata)
	}
	for _, p := range st.policies {
		add(KindPolicy, p.ID, p.Metadata)
	}
	for _, l := range st.licenseList {
		add(KindLicense, l.ID, l.Metadata)
	}
	for _, m := range st.machineList {
		add(KindMachine, m.ID, m.Metadata)
	}
	j, err := ReadJournal(journal)
	require.NoError(t, err, "the journal is readable after SIGKILL")
	for _, e := range j.Entries() {
		if e.Kind == KindEntitlement {
			continue
		}
		assert.Equal(t, e.ID, seen[string(e.Kind)+":"+e.SourceID], "journal entry %s %s", e.Kind, e.SourceID)
	}
}

// TestCrashResume imports 1,000 licenses (with machines, suspensions,
// revocation-free terminal states and expiries) in a child process that is
// killed with SIGKILL at 10 random points; each re-run resumes from the
// journal. After every kill nothing is duplicated; after the last re-run
// the target holds exactly one record per accepted source record, with the
// right fields, and the journal matches it.
//
// With LICENTRIC_SLOW_TESTS=1 it also runs 10 separate trials, each on a
// fresh server: kill once at a random point, re-run to completion, check.
func TestCrashResume(t *testing.T) {
	if os.Getenv(envChild) == "1" {
		t.Skip("in the helper process")
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	genKeygen(t, dir, 1000)
	plan := planOf(t, &Keygen{Dir: dir})
	records := plan.ToImport()
	seed := uint64(time.Now().UnixNano())
	rnd := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d; %d records", seed, records)

	srv, c := newTarget(t)
	journal := filepath.Join(t.TempDir(), "journal")
	points := make([]int, 10)
	for i := range points {
		points[i] = 2 + rnd.IntN(records)
	}
	sort.Ints(points)
	killed := 0
	for _, at := range points {
		ch := startChild(t, srv, dir, journal)
		if ch.killAt(t, journal, at) {
			killed++
		}
		checkNoDuplicates(t, c, journal)
	}
	t.Logf("killed at journal lines %v (%d kills)", points, killed)
	assert.GreaterOrEqual(t, killed, 5)
	ch := startChild(t, srv, dir, journal)
	require.NoError(t, <-ch.done, "final run: %s", ch.out.String())
	p, err := NewPlan(context.Background(), &Keygen{Dir: dir}, c, nil)
	require.NoError(t, err)
	checkAgainstPlan(t, c, p, journal)
	assert.Equal(t, 1000-countRejected(p), len(readTarget(t, c).licenseList))

	if os.Getenv("LICENTRIC_SLOW_TESTS") != "1" {
		return
	}
	for trial := range 10 {
		srv, c := newTarget(t)
		journal := filepath.Join(t.TempDir(), "journal")
		at := 2 + rnd.IntN(records)
		startChild(t, srv, dir, journal).killAt(t, journal, at)
		checkNoDuplicates(t, c, journal)
		ch := startChild(t, srv, dir, journal)
		require.NoError(t, <-ch.done, "trial %d: %s", trial, ch.out.String())
		checkAgainstPlan(t, c, p, journal)
	}
}

func countRejected(p *Plan) int {
	return p.Counts(KindLicense).Rejected
}
