package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
)

var impKeygenDir = filepath.Join("..", "..", "migrate", "testdata", "keygen")

// impEnv is a command environment pointing at a fresh server.
type impEnv struct {
	srv *licentrictest.Server
	env map[string]string
	dir string
}

func newImpEnv(t *testing.T) *impEnv {
	t.Helper()
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits())
	t.Cleanup(srv.Close)
	return &impEnv{srv: srv, dir: t.TempDir(), env: map[string]string{
		"LICENTRIC_BASE_URL": srv.URL, "LICENTRIC_API_KEY": srv.TestAPIKey(),
	}}
}

func (e *impEnv) run(ctx context.Context, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := runImport(ctx, args, &out, &errOut, func(k string) string { return e.env[k] })
	return code, out.String(), errOut.String()
}

func (e *impEnv) client(t *testing.T) *licentric.Client {
	t.Helper()
	c, err := licentric.NewClient(licentric.WithBaseURL(e.srv.URL), licentric.WithAPIKey(e.srv.TestAPIKey()), licentric.WithoutRateBudget())
	require.NoError(t, err)
	return c
}

func (e *impEnv) licenses(t *testing.T) []*licentric.License {
	t.Helper()
	var out []*licentric.License
	for l, err := range e.client(t).Licenses.List(context.Background(), &licentric.LicenseListOptions{ListOptions: licentric.ListOptions{Limit: 100}}) {
		require.NoError(t, err)
		out = append(out, l)
	}
	return out
}

func impWrites(srv *licentrictest.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method != http.MethodGet {
			n++
		}
	}
	return n
}

// impCryptlex writes a clean Cryptlex export of n licenses.
func impCryptlex(t *testing.T, dir string, n int) (csvPath, productsPath string) {
	t.Helper()
	productsPath = filepath.Join(dir, "products.json")
	require.NoError(t, os.WriteFile(productsPath, []byte(`[{"id":"p1","name":"app","displayName":"App"}]`), 0o600))
	var b strings.Builder
	b.WriteString("id,key,productId,type,allowedActivations,validity,expiresAt,suspended,user.email\r\n")
	for i := range n {
		fmt.Fprintf(&b, "c-%d,KEY-%04d,p1,node-locked,2,0,,%v,u%d@example.com\r\n", i, i, i%4 == 1, i)
	}
	csvPath = filepath.Join(dir, "licenses.csv")
	require.NoError(t, os.WriteFile(csvPath, []byte(b.String()), 0o600))
	return csvPath, productsPath
}

func TestImportUsage(t *testing.T) {
	e := newImpEnv(t)
	ctx := context.Background()
	code, out, _ := e.run(ctx, "--help")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "licentric import keygen --from DIR")
	assert.Contains(t, out, "Exit codes:")
	code, out, _ = e.run(ctx, "cryptlex", "--help")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "--licenses FILE")

	for _, args := range [][]string{
		{},
		{"lemonsqueezy"},
		{"keygen"},
		{"keygen", "--from", impKeygenDir, "--keygen-account", "a"},
		{"keygen", "--keygen-url", "https://api.keygen.sh"},
		{"keygen", "--keygen-account", "a"}, // no KEYGEN_TOKEN
		{"keygen", "--from", impKeygenDir, "--bogus"},
		{"keygen", "--from", impKeygenDir, "stray"},
		{"cryptlex", "--licenses", "x.csv"},
		{"cryptlex", "--products", "x.json"},
		{"keygen", "--from", impKeygenDir, "--rate", "-1"},
		{"keygen", "--from", impKeygenDir, "--max-records", "0"},
		{"keygen", "--from", impKeygenDir, "--max-source-mb", "0"},
	} {
		code, _, errOut := e.run(ctx, args...)
		assert.Equal(t, exitUsage, code, "%q", args)
		assert.NotEmpty(t, errOut, "%q", args)
	}
	// No API key: only a dry run is possible.
	delete(e.env, "LICENTRIC_API_KEY")
	code, _, errOut := e.run(ctx, "keygen", "--from", impKeygenDir, "--journal", filepath.Join(e.dir, "j"), "--yes")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "no API key")
	code, out, _ = e.run(ctx, "keygen", "--from", impKeygenDir, "--journal", filepath.Join(e.dir, "j"), "--dry-run")
	assert.Equal(t, exitFailed, code, "the fixture has rejected records")
	assert.Contains(t, out, "not checked against a target")
	// A bad API key is a usage error too.
	e.env["LICENTRIC_API_KEY"] = "not-a-key"
	code, _, errOut = e.run(ctx, "keygen", "--from", impKeygenDir, "--dry-run")
	assert.Equal(t, exitUsage, code)
	assert.NotContains(t, errOut, "not-a-key")
}

// TestImportDryRun: the summary lists counts, every rejection and warning
// with its origin; the report is JSON lines with mode 0600; nothing is
// written to the target, and no journal is created.
func TestImportDryRun(t *testing.T) {
	e := newImpEnv(t)
	journal, report := filepath.Join(e.dir, "journal"), filepath.Join(e.dir, "report.jsonl")
	code, out, errOut := e.run(context.Background(), "keygen", "--from", impKeygenDir, "--dry-run",
		"--journal", journal, "--report", report)
	assert.Equal(t, exitFailed, code, "rejected records: exit 1\n%s%s", out, errOut)
	assert.Equal(t, []string{"11", "6", "5", "0", "4"}, impRow(out, "licenses"))
	for _, want := range []string{
		"Rejected (8):",
		"licenses-2.json record 1): empty_key",
		"licenses-2.json record 2): duplicate_key",
		"licenses-2.json record 3): malformed_date",
		"Warnings (14):",
		"Dry run: nothing was written.",
	} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "A1B2C3-D4E5F6", "keys are never printed")
	assert.Zero(t, impWrites(e.srv))
	_, err := os.Stat(journal)
	assert.True(t, os.IsNotExist(err), "a dry run writes no journal")
	info, err := os.Stat(report)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	lines := impJSONLines(t, report)
	assert.Equal(t, "plan", lines[0]["type"])
	rejected := 0
	for _, l := range lines {
		if l["level"] == "rejected" {
			rejected++
			assert.NotEmpty(t, l["origin"])
			assert.NotEmpty(t, l["sourceId"])
		}
	}
	assert.Equal(t, 8, rejected)
}

// impRow returns the numbers of the plan table's row for kind.
func impRow(out, kind string) []string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 6 && f[0] == kind {
			return f[1:]
		}
	}
	return nil
}

func impJSONLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		out = append(out, m)
	}
	return out
}

// TestImportKeygen imports the Keygen fixture with --yes: plain progress
// lines (stdout is not a terminal), a summary, exit 1 for the rejected
// records; a second run creates nothing.
func TestImportKeygen(t *testing.T) {
	e := newImpEnv(t)
	journal, report := filepath.Join(e.dir, "journal"), filepath.Join(e.dir, "report.jsonl")
	args := []string{"keygen", "--from", impKeygenDir, "--yes", "--journal", journal, "--report", report}
	code, out, errOut := e.run(context.Background(), args...)
	assert.Equal(t, exitFailed, code, "%s%s", out, errOut)
	assert.Contains(t, out, "progress: ")
	assert.Contains(t, out, "progress: 21/21 records (100%), 0 failed")
	assert.Contains(t, out, "Done, with 8 rejected and 0 failed record(s).")
	assert.Len(t, e.licenses(t), 6)
	outcomes := 0
	for _, l := range impJSONLines(t, report) {
		if l["type"] == "outcome" {
			outcomes++
			assert.Equal(t, "created", l["result"])
		}
	}
	assert.Equal(t, 21, outcomes)
	info, err := os.Stat(journal)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	e.srv.ResetRequests()
	code, out, _ = e.run(context.Background(), args...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, out, "To import: 0 record(s); 21 imported already; 8 rejected.")
	assert.Zero(t, impWrites(e.srv))
	assert.Len(t, e.licenses(t), 6)
}

// TestImportCryptlexClean: a clean export imports with exit 0.
func TestImportCryptlexClean(t *testing.T) {
	e := newImpEnv(t)
	csvPath, products := impCryptlex(t, e.dir, 20)
	code, out, errOut := e.run(context.Background(), "cryptlex", "--licenses", csvPath, "--products", products,
		"--yes", "--journal", filepath.Join(e.dir, "journal"))
	require.Equal(t, exitOK, code, "%s%s", out, errOut)
	assert.Contains(t, out, "Done: every record is imported.")
	ls := e.licenses(t)
	require.Len(t, ls, 20)
	suspended := 0
	for _, l := range ls {
		if l.Status == licentric.StatusSuspended {
			suspended++
		}
	}
	assert.Equal(t, 5, suspended)
}

// TestImportNeedsYesWithoutTerminal: without a terminal to confirm on, the
// import refuses (exit 2) and writes nothing.
func TestImportNeedsYesWithoutTerminal(t *testing.T) {
	e := newImpEnv(t)
	f, err := os.Open(filepath.Join(impKeygenDir, "products.json")) // not a terminal
	require.NoError(t, err)
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	code, out, errOut := e.run(context.Background(), "keygen", "--from", impKeygenDir, "--journal", filepath.Join(e.dir, "journal"))
	assert.Equal(t, exitUsage, code, out)
	assert.Contains(t, errOut, "pass --yes")
	assert.Contains(t, out, "To import: 21 record(s)", "the summary comes first")
	assert.Zero(t, impWrites(e.srv))
}

// TestImportInterruptedResumes: Ctrl-C (a cancelled context) in the middle
// stops with exit 1 and a hint; the same command then finishes the job
// with nothing duplicated.
func TestImportInterruptedResumes(t *testing.T) {
	e := newImpEnv(t)
	csvPath, products := impCryptlex(t, e.dir, 60)
	args := []string{"cryptlex", "--licenses", csvPath, "--products", products, "--yes", "--journal", filepath.Join(e.dir, "journal")}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Cancel once some licenses have been created.
		deadline := time.Now().Add(time.Minute)
		for e.srv.CountRequests(http.MethodPost, "/licenses") < 15 && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Millisecond):
			}
		}
		cancel()
	}()
	code, out, errOut := e.run(ctx, args...)
	require.Equal(t, exitFailed, code, "%s%s", out, errOut)
	assert.Contains(t, errOut, "interrupted")
	assert.Contains(t, errOut, "run the same command again")
	n := len(e.licenses(t))
	assert.Less(t, n, 60)

	code, out, errOut = e.run(context.Background(), args...)
	require.Equal(t, exitOK, code, "%s%s", out, errOut)
	ls := e.licenses(t)
	require.Len(t, ls, 60)
	keys := map[string]bool{}
	for _, l := range ls {
		assert.False(t, keys[l.Key], "duplicate %s", l.Key)
		keys[l.Key] = true
	}
}

// TestImportKeygenAPI reads through a (fake) Keygen API with the token from
// KEYGEN_TOKEN; a refused token fails without printing it.
func TestImportKeygenAPI(t *testing.T) {
	const token = "prod-token-0123456789"
	files := map[string][]string{
		"products": {"products.json"}, "entitlements": {"entitlements.json"}, "policies": {"policies.json"},
		"users": {"users.json"}, "licenses": {"licenses-1.json", "licenses-2.json"}, "machines": {"machines.json"},
	}
	keygen := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token || r.Header.Get("Keygen-Version") != "1.8" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		rest := strings.TrimPrefix(r.URL.Path, "/v1/accounts/acct/")
		if strings.HasSuffix(rest, "/entitlements") {
			_, _ = w.Write([]byte(`{"data":[],"links":{"next":null}}`))
			return
		}
		pages := files[rest]
		n := 1
		fmt.Sscanf(r.URL.Query().Get("page[number]"), "%d", &n)
		if n < 1 || n > len(pages) {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		b, err := os.ReadFile(filepath.Join(impKeygenDir, pages[n-1]))
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		// The fixture's links name account acct-1f2e; serve them as ours.
		_, _ = w.Write(bytes.ReplaceAll(b, []byte("/v1/accounts/acct-1f2e/"), []byte("/v1/accounts/acct/")))
	}))
	defer keygen.Close()

	e := newImpEnv(t)
	e.env["KEYGEN_TOKEN"] = token
	code, out, errOut := e.run(context.Background(), "keygen", "--keygen-url", keygen.URL, "--keygen-account", "acct",
		"--dry-run", "--journal", filepath.Join(e.dir, "journal"))
	assert.Equal(t, exitFailed, code, "%s%s", out, errOut)
	assert.Equal(t, []string{"10", "5", "5", "0", "3"}, impRow(out, "licenses"), "both pages of licenses were read")
	assert.Contains(t, out, "GET /v1/accounts/acct/licenses?page[number]=2")

	e.env["KEYGEN_TOKEN"] = "wrong-token-9876"
	code, out, errOut = e.run(context.Background(), "keygen", "--keygen-url", keygen.URL, "--keygen-account", "acct", "--dry-run")
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errOut, "refused the token")
	assert.NotContains(t, out+errOut, "wrong-token-9876")
}

// TestImportSourceCaps: a source over --max-records or --max-source-mb
// stops before anything is written, with exit 1 and a hint at the flags;
// the help names the defaults.
func TestImportSourceCaps(t *testing.T) {
	e := newImpEnv(t)
	ctx := context.Background()
	_, help, _ := e.run(ctx, "--help")
	assert.Contains(t, help, "--max-records N")
	assert.Contains(t, help, "(default 300000)")
	assert.Contains(t, help, "--max-source-mb N")

	csvPath, products := impCryptlex(t, e.dir, 20)
	journal := filepath.Join(e.dir, "journal")
	code, out, errOut := e.run(ctx, "cryptlex", "--licenses", csvPath, "--products", products, "--yes",
		"--journal", journal, "--max-records", "10")
	assert.Equal(t, exitFailed, code, "%s%s", out, errOut)
	assert.Contains(t, errOut, "more than 10 records")
	assert.Contains(t, errOut, "raise --max-records")
	assert.Zero(t, impWrites(e.srv))

	code, out, errOut = e.run(ctx, "keygen", "--from", impKeygenDir, "--dry-run", "--max-source-mb", "1")
	assert.Equal(t, exitFailed, code, "the fixture's rejections, not the cap: %s%s", out, errOut)
	assert.NotContains(t, errOut, "too large")

	code, out, errOut = e.run(ctx, "cryptlex", "--licenses", csvPath, "--products", products, "--yes",
		"--journal", journal, "--max-records", "20")
	assert.Equal(t, exitOK, code, "%s%s", out, errOut)
}

// TestImportProductMap: --product-map puts a source product's licenses
// under a product the account has with another code; a map naming no
// product of the source, or without '=', is a usage error.
func TestImportProductMap(t *testing.T) {
	e := newImpEnv(t)
	ctx := context.Background()
	mine, err := e.client(t).Products.Create(ctx, &licentric.ProductRequest{Name: licentric.Value("Mine"), Code: licentric.Value("my-app")})
	require.NoError(t, err)
	csvPath, products := impCryptlex(t, e.dir, 6)
	for _, bad := range []string{"app", "=" + mine.ID, "nope=" + mine.ID} {
		code, _, errOut := e.run(ctx, "cryptlex", "--licenses", csvPath, "--products", products, "--dry-run",
			"--journal", filepath.Join(e.dir, "journal"), "--product-map", bad)
		assert.Equal(t, exitUsage, code, bad)
		assert.Contains(t, errOut, "product", bad)
	}
	code, out, errOut := e.run(ctx, "cryptlex", "--licenses", csvPath, "--products", products, "--yes",
		"--journal", filepath.Join(e.dir, "journal"), "--product-map", "p1="+mine.ID)
	require.Equal(t, exitOK, code, "%s%s", out, errOut)
	assert.Contains(t, out, "product_mapped")
	ls := e.licenses(t)
	require.Len(t, ls, 6)
	for _, l := range ls {
		assert.Equal(t, mine.ID, l.ProductID)
	}
}
