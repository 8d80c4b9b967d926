package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/fingerprint"
	"github.com/licentric/licentric-go/offline"
)

const fingerprintUsage = `Usage: licentric fingerprint --app-id ID [--state-dir DIR]

Prints this machine's fingerprint for application ID, the value a license
file for this machine must be checked out for. Run it on the air-gapped
machine and carry the output to 'licentric checkout --fingerprint'.
`

const verifyUsage = `Usage: licentric verify --public-key KEY [--public-key KEY2]
        (--fingerprint FP | --app-id ID [--state-dir DIR] | --any-machine)
        [--entitlement CODE]... [--env live|test] license.lic

Verifies a license file without any network: the signature against the
pinned public key(s), the file's own expiry, the license's status and expiry,
the machine, and the required entitlements. Prints what the file grants.
--any-machine skips the machine check, to inspect another machine's file.
`

const checkoutUsage = `Usage: licentric checkout --license-id ID --public-key KEY [--public-key KEY2]
        (--fingerprint FP | --app-id ID [--state-dir DIR])
        [--ttl 336h] [--out license.lic] [--env live|test]
        [--base-url URL] [--api-key KEY | --license-key KEY]

Checks out a signed license file for a machine that is activated on the
license (online), verifies it with the pinned public key(s) and only then
writes it atomically with mode 0600. A file that does not verify is never
written, and an existing file is then left as it was.

Environment: LICENTRIC_BASE_URL, LICENTRIC_API_KEY, LICENTRIC_LICENSE_KEY
(used when the flags are not given; prefer them to the flags, whose values
other users of the machine can see).
`

// fingerprint is "licentric fingerprint".
func (c *cli) fingerprint(_ context.Context, name string, args []string) int {
	o, pos, code, ok := c.parse(name, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return c.usageError(name, "unexpected argument %q", clean(pos[0]))
	}
	if o.appID == "" {
		return c.usageError(name, "--app-id is required")
	}
	fp, err := computeFingerprint(o.appID, o.stateDir)
	if err != nil {
		return c.fail(name, exitFailed, err)
	}
	fmt.Fprintln(c.stdout, fp)
	return exitOK
}

func computeFingerprint(appID, stateDir string) (string, error) {
	var opts []fingerprint.Option
	if stateDir != "" {
		opts = append(opts, fingerprint.WithStateDir(stateDir))
	}
	return fingerprint.Compute(appID, opts...)
}

// machine resolves the machine flags to a verifier option and the
// fingerprint (empty with --any-machine). It reports usage errors itself.
func (c *cli) machine(name string, o *options) (offline.Option, string, int, bool) {
	n := 0
	for _, set := range []bool{o.fingerprint != "", o.appID != "", o.anyMachine} {
		if set {
			n++
		}
	}
	flags := "--fingerprint or --app-id"
	if name == "verify" {
		flags = "--fingerprint, --app-id or --any-machine"
	}
	switch {
	case n == 0:
		return nil, "", c.usageError(name, "one of %s is required", flags), false
	case n > 1:
		return nil, "", c.usageError(name, "give only one of %s", flags), false
	case o.stateDir != "" && o.appID == "":
		return nil, "", c.usageError(name, "--state-dir needs --app-id"), false
	case o.anyMachine:
		return offline.WithoutFingerprintCheck(), "", 0, true
	case o.fingerprint != "":
		return offline.WithFingerprint(o.fingerprint), o.fingerprint, 0, true
	}
	fp, err := computeFingerprint(o.appID, o.stateDir)
	if err != nil {
		return nil, "", c.fail(name, exitFailed, err), false
	}
	return offline.WithFingerprint(fp), fp, 0, true
}

// verifier builds the verifier for the parsed flags.
func (c *cli) verifier(o *options, machine offline.Option) (*offline.Verifier, error) {
	opts := []offline.Option{machine, offline.WithEnvironment(o.env), offline.WithClock(c.now)}
	for _, k := range o.keys {
		opts = append(opts, offline.WithPublicKey(k))
	}
	if len(o.entitlements) > 0 {
		opts = append(opts, offline.WithEntitlements(o.entitlements...))
	}
	return offline.NewVerifier(opts...)
}

func checkEnv(env string) bool { return env == "live" || env == "test" }

// verify is "licentric verify".
func (c *cli) verify(_ context.Context, name string, args []string) int {
	o, pos, code, ok := c.parse(name, args)
	if !ok {
		return code
	}
	switch {
	case len(pos) == 0:
		return c.usageError(name, "no license file given")
	case len(pos) > 1:
		return c.usageError(name, "unexpected argument %q (give one license file)", clean(pos[1]))
	case len(o.keys) == 0:
		return c.usageError(name, "--public-key is required")
	case !checkEnv(o.env):
		return c.usageError(name, "--env must be live or test")
	}
	machine, _, code, ok := c.machine(name, o)
	if !ok {
		return code
	}
	v, err := c.verifier(o, machine)
	if err != nil {
		return c.usageError(name, "%v", err)
	}
	path := pos[0]
	f, err := v.VerifyFile(path)
	if err != nil {
		return c.verifyFailed(name, path, o.env, err)
	}
	fmt.Fprintf(c.stdout, "License file verified: %s\n", clean(path))
	c.summary(c.stdout, f)
	return exitOK
}

// verifyFailed reports a verification error with a hint where one helps.
func (c *cli) verifyFailed(name, path, env string, err error) int {
	hint, code := "", exitFailed
	switch {
	case errors.Is(err, offline.ErrFileExpired):
		hint, code = " (check out a new file with 'licentric checkout')", exitExpired
	case errors.Is(err, offline.ErrEnvironment):
		other := "test"
		if env == "test" {
			other = "live"
		}
		hint = fmt.Sprintf(" (is it a %s file? then pass --env %s)", other, other)
	case errors.Is(err, offline.ErrUnknownKey):
		hint = " (pass the key that signed it with --public-key)"
	}
	fmt.Fprintf(c.stderr, "licentric %s: %s: %v%s\n", name, clean(path), err, hint)
	return code
}

// checkout is "licentric checkout".
func (c *cli) checkout(ctx context.Context, name string, args []string) int {
	o, pos, code, ok := c.parse(name, args)
	if !ok {
		return code
	}
	fromEnv := func(v *string, key string) {
		if *v == "" {
			*v = c.getenv(key)
		}
	}
	fromEnv(&o.baseURL, "LICENTRIC_BASE_URL")
	fromEnv(&o.apiKey, "LICENTRIC_API_KEY")
	fromEnv(&o.licenseKey, "LICENTRIC_LICENSE_KEY")
	switch {
	case len(pos) > 0:
		return c.usageError(name, "unexpected argument %q", clean(pos[0]))
	case o.licenseID == "":
		return c.usageError(name, "--license-id is required")
	case len(o.keys) == 0:
		return c.usageError(name, "--public-key is required: the file is verified before it is written")
	case o.out == "":
		return c.usageError(name, "--out must not be empty")
	case o.env != "" && !checkEnv(o.env):
		return c.usageError(name, "--env must be live or test")
	case o.apiKey == "" && o.licenseKey == "":
		return c.usageError(name, "no credentials: set LICENTRIC_API_KEY (or --api-key), or LICENTRIC_LICENSE_KEY (or --license-key)")
	case o.timeout <= 0:
		return c.usageError(name, "--timeout must be positive")
	}
	machine, fp, code, ok := c.machine(name, o)
	if !ok {
		return code
	}

	copts := []licentric.Option{licentric.WithUserAgent("licentric-cli/" + licentric.Version)}
	if o.baseURL != "" {
		copts = append(copts, licentric.WithBaseURL(o.baseURL))
	}
	// With a license key the API key is not used, so it is not even parsed.
	if o.licenseKey == "" {
		copts = append(copts, licentric.WithAPIKey(o.apiKey))
	}
	if c.retry != nil {
		copts = append(copts, licentric.WithRetry(*c.retry))
	}
	client, err := licentric.NewClient(copts...)
	if err != nil {
		return c.usageError(name, "%v", err)
	}
	if o.env == "" {
		o.env = "live"
		if client.Environment() == licentric.EnvironmentTest {
			o.env = "test"
		}
	}
	v, err := c.verifier(o, machine)
	if err != nil {
		return c.usageError(name, "%v", err)
	}

	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	co, err := client.Checkout(ctx, o.licenseID, licentric.CheckoutParams{
		Fingerprint: fp,
		TTL:         time.Duration(o.ttl),
		LicenseKey:  o.licenseKey,
	})
	if errors.Is(err, licentric.ErrInvalidArgument) {
		return c.usageError(name, "%v", err)
	}
	if err != nil {
		return c.fail(name, exitFailed, fmt.Errorf("checkout failed: %w", err))
	}
	f, err := v.VerifyAndSave(o.out, co.Certificate)
	if err != nil {
		return c.verifyFailed(name, "the checked-out file did not verify, nothing was written to "+o.out, o.env, err)
	}
	fmt.Fprintf(c.stdout, "License file checked out, verified and written to %s (mode 0600)\n", clean(o.out))
	c.summary(c.stdout, f)
	return exitOK
}

// summary prints what a verified file grants. Every string from the file is
// cleaned; the license key is redacted.
func (c *cli) summary(w io.Writer, f *offline.File) {
	now := c.now()
	row := func(label, format string, a ...any) {
		fmt.Fprintf(w, "  %-17s %s\n", label+":", fmt.Sprintf(format, a...))
	}
	named := func(id, name string) string {
		if name == "" {
			return clean(id)
		}
		return clean(id) + " (" + clean(name) + ")"
	}
	row("License", "%s", named(f.License.ID, f.License.Name))
	row("Key", "%s", redactKey(f.License.Key))
	status := clean(f.License.Status)
	if f.LicenseExpired {
		status += " (the license has expired; its ALLOW_ACCESS strategy lets the file verify)"
	}
	row("Status", "%s", status)
	row("Product", "%s", clean(f.License.ProductID))
	if p := f.License.Policy; p != nil {
		row("Policy", "%s", named(p.ID, p.Name))
	} else {
		row("Policy", "%s", clean(f.License.PolicyID))
	}
	row("Machine", "%s", named(f.Machine.ID, f.Machine.Name))
	row("Fingerprint", "%s", clean(f.Fingerprint))
	ents := make([]string, len(f.Entitlements))
	for i, e := range f.Entitlements {
		ents[i] = clean(e)
	}
	if len(ents) == 0 {
		row("Entitlements", "(none)")
	} else {
		row("Entitlements", "%s", strings.Join(ents, ", "))
	}
	if exp := f.License.ExpiresAt; exp.IsZero() {
		row("License expires", "never")
	} else {
		row("License expires", "%s", exp.UTC().Format(time.RFC3339))
	}
	row("File issued", "%s", f.IssuedAt.UTC().Format(time.RFC3339))
	row("File expires", "%s (%s left)", f.ExpiresAt.UTC().Format(time.RFC3339), daysLeft(f.Remaining(now)))
	if f.Remaining(now) < f.TTL/2 {
		row("Refresh", "due: less than half of the file's lifetime is left")
	}
	row("Key ID", "%s", clean(f.KeyID))
	row("Environment", "%s", clean(f.Env))
}

// daysLeft writes a remaining time in days, or hours under two days.
func daysLeft(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
	h := int(d / time.Hour)
	if h == 1 {
		return "1 hour"
	}
	if h == 0 {
		return "less than an hour"
	}
	return fmt.Sprintf("%d hours", h)
}

// redactKey shows a license key's prefix and its last four characters only.
func redactKey(key string) string {
	r := []rune(key)
	if len(r) < 12 {
		return "(redacted)"
	}
	prefix := ""
	if i := strings.IndexRune(key, '-'); i > 0 && i <= 8 {
		prefix = key[:i+1]
	}
	return clean(prefix + "…" + string(r[len(r)-4:]))
}
