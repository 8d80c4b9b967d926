package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/fingerprint"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/offline"
	"github.com/stretchr/testify/assert"
)

const testFP = "cli-fingerprint-0123456789abcdef"

var tinyRetry = testkit.Retries(1)

// fixture is a server with a license that may be checked out for testFP,
// holding the entitlement "pro".
type fixture struct {
	srv    *licentrictest.Server
	fx     *licentrictest.Fixture
	client *licentric.Client
	key    string // the server's public key, base64
	dir    string
	env    map[string]string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	// A frozen clock: time moves only with Advance, so durations printed
	// ("3 days left") are exact.
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits(),
		licentrictest.WithFrozenClock(time.Now().Truncate(time.Millisecond)))
	t.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{Policy: licentrictest.PolicyRequest{
		OfflineAllowed: licentric.Value(true),
		OfflineMaxDays: licentric.Value(30),
	}})
	if err != nil {
		t.Fatal(err)
	}
	client, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithAPIKey(srv.TestAPIKey()),
		licentric.WithRetry(tinyRetry))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Entitlements.Create(ctx, &licentric.EntitlementRequest{Code: licentric.Value("pro"), Name: licentric.Value("Pro")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Licenses.AttachEntitlements(ctx, fx.License.ID, "pro"); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Activate(ctx, fx.License.Key, licentric.ActivateParams{Fingerprint: testFP, Name: "air-gapped box"}); err != nil {
		t.Fatal(err)
	}
	return &fixture{
		srv: srv, fx: fx, client: client,
		key: offline.MarshalPublicKey(srv.PublicKey()),
		dir: t.TempDir(),
		env: map[string]string{},
	}
}

// file checks out a file for fp with the given TTL and saves it.
func (f *fixture) file(t *testing.T, fp string, ttl time.Duration) string {
	t.Helper()
	co, err := f.client.Checkout(context.Background(), f.fx.License.ID, licentric.CheckoutParams{Fingerprint: fp, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(f.dir, "in-"+time.Now().Format("150405.000000000")+".lic")
	if err := offline.SaveFile(path, co.Certificate); err != nil {
		t.Fatal(err)
	}
	return path
}

// run runs the command line on the server's clock.
func (f *fixture) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := &cli{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return f.env[k] },
		now: f.srv.Clock().Now, retry: &tinyRetry}
	code := c.run(context.Background(), args)
	return code, stdout.String(), stderr.String()
}

// runPlain runs without a fixture, on the real clock.
func runPlain(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr, func(string) string { return "" })
	return code, stdout.String(), stderr.String()
}

func TestUsageAndHelp(t *testing.T) {
	cases := []struct {
		args       []string
		code       int
		out, inErr string
	}{
		{nil, exitUsage, "", "Commands:"},
		{[]string{"help"}, exitOK, "Commands:", ""},
		{[]string{"--help"}, exitOK, "Exit codes:", ""},
		{[]string{"-h"}, exitOK, "checkout", ""},
		{[]string{"help", "verify"}, exitOK, "Usage: licentric verify", ""},
		{[]string{"help", "nope"}, exitUsage, "", `unknown command "nope"`},
		{[]string{"nope"}, exitUsage, "", `unknown command "nope"`},
		{[]string{"version"}, exitOK, "licentric " + licentric.Version, ""},
		{[]string{"--version"}, exitOK, "licentric " + licentric.Version, ""},
		{[]string{"help", "--help"}, exitOK, "Usage: licentric help", ""},
		{[]string{"help", "-h"}, exitOK, "Usage: licentric help", ""},
		{[]string{"help", "help"}, exitOK, "Usage: licentric help", ""},
		{[]string{"help", "machines"}, exitOK, "Usage: licentric machines <command>", ""},
		{[]string{"help", "machines", "list"}, exitOK, "Usage: licentric machines list", ""},
		{[]string{"help", "licenses", "suspend"}, exitOK, "Usage: licentric licenses suspend", ""},
		{[]string{"help", "machines", "nope"}, exitUsage, "", `unknown command "machines nope"`},
		{[]string{"help", "verify", "extra"}, exitUsage, "", `verify has no subcommand "extra"`},
		{[]string{"machines"}, exitUsage, "", "missing command: one of list, deactivate"},
		{[]string{"machines", "nope"}, exitUsage, "", `unknown command "nope": one of list, deactivate`},
		{[]string{"licenses", "--help"}, exitOK, "get ", ""},
		{[]string{"machines", "list", "--help"}, exitOK, "-license-key", ""},
		{[]string{"licenses", "get", "-h"}, exitOK, "-show-key", ""},
		{[]string{"version", "--bogus"}, exitUsage, "", "not defined"},
	}
	cmds := commands()
	for _, name := range commandOrder {
		if cmds[name] == nil {
			t.Logf("%s is not in this build", name)
			continue
		}
		for _, h := range []string{"--help", "-h", "-help"} {
			cases = append(cases, struct {
				args       []string
				code       int
				out, inErr string
			}{[]string{name, h}, exitOK, "Usage: licentric " + name, ""})
		}
		cases = append(cases, struct {
			args       []string
			code       int
			out, inErr string
		}{[]string{"help", name}, exitOK, "Usage: licentric " + name, ""})
	}
	for _, tc := range cases {
		code, stdout, stderr := runPlain(tc.args...)
		assert.Equal(t, tc.code, code, "%q: exit code (stderr %q)", tc.args, stderr)
		if tc.out != "" {
			assert.Contains(t, stdout, tc.out, "%q: stdout", tc.args)
		}
		if tc.inErr != "" {
			assert.Contains(t, stderr, tc.inErr, "%q: stderr", tc.args)
		}
		if tc.code == exitOK {
			assert.Empty(t, stderr, "%q: stderr on success", tc.args)
		} else {
			assert.Empty(t, stdout, "%q: stdout on failure", tc.args)
		}
	}
	// The top-level help lists every command.
	_, stdout, _ := runPlain("--help")
	for _, name := range commandOrder {
		if cmds[name] != nil {
			assert.Regexp(t, `(?m)^  `+regexp.QuoteMeta(name)+` +\S`, stdout, "the command list lacks %s", name)
		}
	}
	// Every command's help lists its flags and the exit codes.
	for name, flagsWanted := range map[string][]string{
		"fingerprint":         {"-app-id", "-state-dir", "-json"},
		"verify":              {"-public-key", "-fingerprint", "-app-id", "-any-machine", "-entitlement", "-env", "-json"},
		"checkout":            {"-license-id", "-ttl", "-out", "-public-key", "-base-url", "-api-key", "-license-key", "-env", "-json"},
		"machines list":       {"-license-id", "-license-key", "-limit", "-base-url", "-api-key", "-json"},
		"machines deactivate": {"-license-id", "-fingerprint", "-api-key", "-json"},
		"licenses get":        {"-license-key", "-show-key", "-api-key", "-json"},
		"licenses suspend":    {"-show-key", "-api-key", "-json"},
		"licenses reinstate":  {"-show-key", "-api-key", "-json"},
		"pin-key":             {"-out", "-package", "-var", "-public-key", "-api-key", "-json"},
		"serve":               {"-port", "-frozen", "-no-rate-limits", "-seed"},
	} {
		if cmds[strings.Fields(name)[0]] == nil {
			continue
		}
		_, stdout, _ := runPlain(append(strings.Fields(name), "--help")...)
		for _, want := range append(flagsWanted, "3  the license file has expired") {
			assert.Contains(t, stdout, want, "%s --help", name)
		}
	}
}

func TestFingerprintCommand(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runPlain("fingerprint", "--app-id", "com.example.cli", "--state-dir", dir)
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	want, err := fingerprint.Compute("com.example.cli", fingerprint.WithStateDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if stdout != want+"\n" || !regexp.MustCompile(`^[0-9a-f]{64}\n$`).MatchString(stdout) {
		t.Fatalf("stdout %q, want %q", stdout, want)
	}
	// Another application ID gives another fingerprint.
	if _, other, _ := runPlain("fingerprint", "--app-id", "com.example.other", "--state-dir", dir); other == stdout {
		t.Fatal("two application IDs share a fingerprint")
	}
	for _, args := range [][]string{
		{"fingerprint"},
		{"fingerprint", "--state-dir", dir},
		{"fingerprint", "--app-id", "x", "extra"},
		{"fingerprint", "--bogus"},
		{"fingerprint", "--app-id"},
	} {
		if code, stdout, stderr := runPlain(args...); code != exitUsage || stdout != "" || !strings.Contains(stderr, "--help") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
}

func TestVerifyCommand(t *testing.T) {
	f := newFixture(t)
	path := f.file(t, testFP, 10*24*time.Hour)
	code, stdout, stderr := f.run(t, "verify", "--public-key", f.key, "--fingerprint", testFP, "--env", "test", path)
	if code != exitOK || stderr != "" {
		t.Fatalf("verify: exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{
		f.fx.License.ID, f.fx.License.Status, f.fx.Product.ID, f.fx.Policy.ID, testFP, "air-gapped box",
		"Entitlements:", "pro", "(10 days left)", offline.KeyID(f.srv.PublicKey()),
		f.srv.Now().Add(10 * 24 * time.Hour).UTC().Format(time.RFC3339),
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if !hasRow(stdout, "Environment", "test") || !hasRow(stdout, "Status", "active") {
		t.Errorf("summary rows:\n%s", stdout)
	}
	key := f.fx.License.Key
	if strings.Contains(stdout, key) || strings.Contains(stdout, key[5:]) {
		t.Errorf("summary shows the license key:\n%s", stdout)
	}
	if !strings.Contains(stdout, "…"+key[len(key)-4:]) {
		t.Errorf("summary lacks the redacted key:\n%s", stdout)
	}

	// The other key forms, positional argument first, and a rotation pair.
	pub := f.srv.PublicKey()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pemFile := filepath.Join(f.dir, "key.pem")
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	for name, keyArgs := range map[string][]string{
		"hex":         {"--public-key", hex.EncodeToString(pub)},
		"@pem file":   {"--public-key", "@" + pemFile},
		"two keys":    {"--public-key", offline.MarshalPublicKey(otherPub), "--public-key", f.key},
		"double-dash": {"-public-key=" + f.key},
	} {
		args := append([]string{"verify", path, "--fingerprint", testFP, "--env=test"}, keyArgs...)
		if code, _, stderr := f.run(t, args...); code != exitOK {
			t.Errorf("%s: exit %d, stderr %q", name, code, stderr)
		}
	}

	other := offline.MarshalPublicKey(otherPub)
	tampered := filepath.Join(f.dir, "tampered.lic")
	b, _ := os.ReadFile(path)
	b[len(b)/2] ^= 1
	if err := os.WriteFile(tampered, b, 0o600); err != nil {
		t.Fatal(err)
	}
	base := func(extra ...string) []string {
		return append([]string{"verify", "--public-key", f.key, "--env", "test"}, extra...)
	}
	for name, tc := range map[string]struct {
		args []string
		code int
		msg  string
	}{
		"entitlement present":    {base("--fingerprint", testFP, "--entitlement", "pro", path), exitOK, ""},
		"any machine":            {base("--any-machine", path), exitOK, ""},
		"entitlement missing":    {base("--fingerprint", testFP, "--entitlement", "pro", "--entitlement", "enterprise", path), exitFailed, "entitlements"},
		"other machine":          {base("--fingerprint", testFP+"-other", path), exitFailed, "another machine"},
		"wrong key":              {[]string{"verify", "--public-key", other, "--fingerprint", testFP, "--env", "test", path}, exitFailed, "unknown key"},
		"live required":          {[]string{"verify", "--public-key", f.key, "--fingerprint", testFP, path}, exitFailed, "--env test"},
		"missing file":           {base("--fingerprint", testFP, filepath.Join(f.dir, "none.lic")), exitFailed, "none.lic"},
		"tampered":               {base("--fingerprint", testFP, tampered), exitFailed, "tampered.lic"},
		"no file":                {base("--fingerprint", testFP), exitUsage, "no license file"},
		"two files":              {base("--fingerprint", testFP, path, path), exitUsage, "one license file"},
		"no key":                 {[]string{"verify", "--fingerprint", testFP, path}, exitUsage, "--public-key is required"},
		"bad key":                {[]string{"verify", "--public-key", "nonsense", "--fingerprint", testFP, path}, exitUsage, "not an Ed25519 public key"},
		"missing key file":       {[]string{"verify", "--public-key", "@" + filepath.Join(f.dir, "nokey"), "--fingerprint", testFP, path}, exitUsage, "key file"},
		"no machine flag":        {base(path), exitUsage, "one of --fingerprint, --app-id or --any-machine"},
		"two machine flags":      {base("--fingerprint", testFP, "--any-machine", path), exitUsage, "only one"},
		"state dir alone":        {base("--fingerprint", testFP, "--state-dir", f.dir, path), exitUsage, "--state-dir needs --app-id"},
		"bad env":                {base("--fingerprint", testFP, "--env", "prod", path), exitUsage, "live or test"},
		"empty entitlement flag": {base("--fingerprint", testFP, "--entitlement=", path), exitUsage, "empty value"},
	} {
		code, stdout, stderr := f.run(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%s: exit %d (want %d), stderr %q (want %q)", name, code, tc.code, stderr, tc.msg)
		}
		if code != exitOK && stdout != "" {
			t.Errorf("%s: stdout %q on failure", name, stdout)
		}
	}

	// Past the file's TTL: exit code 3.
	f.srv.Advance(10*24*time.Hour + time.Second)
	code, _, stderr = f.run(t, "verify", "--public-key", f.key, "--fingerprint", testFP, "--env", "test", path)
	if code != exitExpired || !strings.Contains(stderr, "expired") || !strings.Contains(stderr, "licentric checkout") {
		t.Fatalf("expired file: exit %d, stderr %q", code, stderr)
	}
}

func TestVerifyWithAppID(t *testing.T) {
	f := newFixture(t)
	stateDir := filepath.Join(f.dir, "state")
	fp, err := fingerprint.Compute("com.example.cli", fingerprint.WithStateDir(stateDir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.Activate(context.Background(), f.fx.License.Key, licentric.ActivateParams{Fingerprint: fp}); err != nil {
		t.Fatal(err)
	}
	path := f.file(t, fp, time.Hour)
	code, stdout, stderr := f.run(t, "verify", "--public-key", f.key, "--app-id", "com.example.cli", "--state-dir", stateDir, "--env", "test", path)
	if code != exitOK || !strings.Contains(stdout, fp) || !strings.Contains(stdout, "less than an hour left") && !strings.Contains(stdout, "1 hour left") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// A file for another machine is refused on this one.
	code, _, _ = f.run(t, "verify", "--public-key", f.key, "--app-id", "com.example.cli", "--state-dir", stateDir, "--env", "test", f.file(t, testFP, time.Hour))
	if code != exitFailed {
		t.Fatalf("another machine's file: exit %d", code)
	}
}

func TestVerifyRealClock(t *testing.T) {
	// run itself, with time.Now: the server's clock starts at the real time.
	f := newFixture(t)
	path := f.file(t, testFP, 0)
	code, stdout, stderr := runPlain("verify", "--public-key", f.key, "--fingerprint", testFP, "--env", "test", path)
	if code != exitOK || !strings.Contains(stdout, "(13 days left)") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestCheckoutCommand(t *testing.T) {
	f := newFixture(t)
	f.env["LICENTRIC_BASE_URL"] = f.srv.URL
	f.env["LICENTRIC_API_KEY"] = f.srv.TestAPIKey()
	out := filepath.Join(f.dir, "license.lic")
	code, stdout, stderr := f.run(t, "checkout", "--license-id", f.fx.License.ID, "--public-key", f.key,
		"--fingerprint", testFP, "--ttl", "3d", "--out", out)
	if code != exitOK || stderr != "" {
		t.Fatalf("checkout: exit %d, stderr %q", code, stderr)
	}
	st, err := os.Stat(out)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("written file: %v, mode %v", err, st.Mode())
	}
	for _, want := range []string{"written to " + out, f.fx.License.ID, "(3 days left)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !hasRow(stdout, "Environment", "test") {
		t.Errorf("stdout lacks the environment:\n%s", stdout)
	}
	for _, secret := range []string{f.srv.TestAPIKey(), f.fx.License.Key} {
		if strings.Contains(stdout+stderr, secret) {
			t.Errorf("output contains a secret")
		}
	}
	// What was written verifies with the verify command.
	if code, _, stderr := f.run(t, "verify", "--public-key", f.key, "--fingerprint", testFP, "--env", "test", out); code != exitOK {
		t.Fatalf("verify of the written file: exit %d, %q", code, stderr)
	}
	reqs := f.srv.Requests()
	if last := reqs[len(reqs)-1]; last.Scheme != "Bearer" || last.Path != "/licenses/"+f.fx.License.ID+"/checkout" {
		t.Fatalf("last request %+v", last)
	}
}

func TestCheckoutLicenseKeyAuth(t *testing.T) {
	f := newFixture(t)
	f.env["LICENTRIC_BASE_URL"] = f.srv.URL
	f.env["LICENTRIC_LICENSE_KEY"] = f.fx.License.Key
	out := filepath.Join(f.dir, "license.lic")
	args := []string{"checkout", "--license-id", f.fx.License.ID, "--public-key", f.key, "--fingerprint", testFP, "--out", out}
	// Without an API key the environment defaults to live, and this test
	// license's file does not verify there: nothing is written.
	code, stdout, stderr := f.run(t, args...)
	if code != exitFailed || stdout != "" || !strings.Contains(stderr, "--env test") || !strings.Contains(stderr, "nothing was written") {
		t.Fatalf("live default: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a file was written: %v", err)
	}
	code, stdout, stderr = f.run(t, append(args, "--env", "test")...)
	if code != exitOK || strings.Contains(stdout+stderr, f.fx.License.Key) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	reqs := f.srv.Requests()
	if last := reqs[len(reqs)-1]; last.Scheme != "License" {
		t.Fatalf("checkout used %q auth", last.Scheme)
	}
}

func TestCheckoutFailures(t *testing.T) {
	f := newFixture(t)
	f.env["LICENTRIC_BASE_URL"] = f.srv.URL
	f.env["LICENTRIC_API_KEY"] = f.srv.TestAPIKey()
	out := filepath.Join(f.dir, "license.lic")
	good := []byte("previous file")
	if err := os.WriteFile(out, good, 0o600); err != nil {
		t.Fatal(err)
	}
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	noOffline, err := f.srv.Seed(licentrictest.Seed{Policy: licentrictest.PolicyRequest{OfflineAllowed: licentric.Value(false)}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := "http://" + l.Addr().String()
	_ = l.Close()

	args := func(extra ...string) []string {
		return append([]string{"checkout", "--out", out, "--fingerprint", testFP}, extra...)
	}
	id, key := f.fx.License.ID, f.key
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		code int
		msg  string
	}{
		"wrong pinned key":      {args("--license-id", id, "--public-key", offline.MarshalPublicKey(otherPub)), nil, exitFailed, "nothing was written"},
		"offline not allowed":   {args("--license-id", noOffline.License.ID, "--public-key", key), nil, exitFailed, "OFFLINE_NOT_ALLOWED"},
		"not activated":         {[]string{"checkout", "--out", out, "--fingerprint", testFP + "-other", "--license-id", id, "--public-key", key}, nil, exitFailed, "FINGERPRINT_NOT_FOUND"},
		"ttl above policy":      {args("--license-id", id, "--public-key", key, "--ttl", "31d"), nil, exitFailed, "OFFLINE_TTL_EXCEEDED"},
		"unknown API key":       {args("--license-id", id, "--public-key", key), map[string]string{"LICENTRIC_API_KEY": "lk_test_unknownkey0123456789"}, exitFailed, "UNAUTHORIZED"},
		"unreachable":           {args("--license-id", id, "--public-key", key, "--base-url", unreachable), nil, exitFailed, "checkout failed"},
		"ttl too short":         {args("--license-id", id, "--public-key", key, "--ttl", "30m"), nil, exitUsage, "TTL"},
		"ttl not a duration":    {args("--license-id", id, "--public-key", key, "--ttl", "soon"), nil, exitUsage, "duration"},
		"no license id":         {args("--public-key", key), nil, exitUsage, "--license-id is required"},
		"no public key":         {args("--license-id", id), nil, exitUsage, "--public-key is required"},
		"no machine":            {[]string{"checkout", "--license-id", id, "--public-key", key}, nil, exitUsage, "--fingerprint or --app-id"},
		"any machine refused":   {args("--license-id", id, "--public-key", key, "--any-machine"), nil, exitUsage, "not defined"},
		"no credentials":        {args("--license-id", id, "--public-key", key), map[string]string{"LICENTRIC_API_KEY": ""}, exitUsage, "no credentials"},
		"malformed API key":     {args("--license-id", id, "--public-key", key, "--api-key", "sk_secretvalue"), nil, exitUsage, "API key"},
		"plain http off host":   {args("--license-id", id, "--public-key", key, "--base-url", "http://example.com"), nil, exitUsage, "base URL"},
		"bad env":               {args("--license-id", id, "--public-key", key, "--env", "staging"), nil, exitUsage, "live or test"},
		"short fingerprint":     {[]string{"checkout", "--out", out, "--fingerprint", "ab", "--license-id", id, "--public-key", key}, nil, exitUsage, "fingerprint"},
		"unexpected positional": {args("--license-id", id, "--public-key", key, "extra"), nil, exitUsage, "unexpected argument"},
	} {
		saved := map[string]string{}
		for k, v := range tc.env {
			saved[k] = f.env[k]
			f.env[k] = v
		}
		f.srv.ResetRequests()
		code, stdout, stderr := f.run(t, tc.args...)
		for k, v := range saved {
			f.env[k] = v
		}
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%s: exit %d (want %d), stderr %q (want %q)", name, code, tc.code, stderr, tc.msg)
		}
		if stdout != "" {
			t.Errorf("%s: stdout %q", name, stdout)
		}
		if strings.Contains(stderr, "lk_test_unknownkey") || strings.Contains(stderr, "sk_secretvalue") || strings.Contains(stderr, f.srv.TestAPIKey()) {
			t.Errorf("%s: stderr shows an API key: %q", name, stderr)
		}
		if tc.code == exitUsage && f.srv.CountRequests(http.MethodPost, "/licenses/"+id+"/checkout") != 0 {
			t.Errorf("%s: a usage error sent a request", name)
		}
		if b, err := os.ReadFile(out); err != nil || !bytes.Equal(b, good) {
			t.Fatalf("%s: the existing file was replaced (%v)", name, err)
		}
	}
}

func TestRedactKeyAndClean(t *testing.T) {
	for in, want := range map[string]string{
		"LIC-ABCD-EFGH-IJKL-MNOP":  "LIC-…MNOP",
		"short":                    "(redacted)",
		"NODASHESATALL123456":      "…3456",
		"VERYLONGPREFIX-ABCD-WXYZ": "…WXYZ",
	} {
		if got := redactKey(in); got != want {
			t.Errorf("redactKey(%q) = %q, want %q", in, got, want)
		}
	}
	if got := clean("a\x1b[31mb\u202ec\n"); got != "a?[31mb?c?" {
		t.Errorf("clean = %q", got)
	}
	if got := clean(strings.Repeat("x", 300)); len([]rune(got)) != 201 {
		t.Errorf("clean did not cut: %d runes", len([]rune(got)))
	}
}

// hasRow reports whether a summary has the row "label: value".
func hasRow(out, label, value string) bool {
	return regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(label) + `: +` + regexp.QuoteMeta(value) + `$`).MatchString(out)
}
