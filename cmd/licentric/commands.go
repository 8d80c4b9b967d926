package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/clock"
	"github.com/licentric/licentric-go/fingerprint"
	"github.com/licentric/licentric-go/offline"
)

const fingerprintUsage = `Usage: licentric fingerprint --app-id ID [--state-dir DIR] [--json]

Prints this machine's fingerprint for application ID, the value a license
file for this machine must be checked out for. For an air-gapped machine,
'licentric offline request --app-id ID --out request.json' writes it there
together with the machine's facts and the license key, and 'licentric
offline fulfill' activates the machine and checks its file out online (see
'licentric offline --help'). With the fingerprint alone, activate the
machine with 'licentric machines activate --license-key KEY --fingerprint FP'
before 'licentric checkout --fingerprint FP'.

--json prints {"fingerprint": FP, "appId": ID}.
`

const verifyUsage = `Usage: licentric verify --public-key KEY [--public-key KEY2]
        (--fingerprint FP | --app-id ID [--state-dir DIR] | --any-machine)
        [--entitlement CODE]... [--env live|test] [--json] license.lic

Verifies a license file without any network: the signature against the
pinned public key(s), the file's own expiry, the license's status and expiry,
the machine, and the required entitlements. Prints what the file grants.
--any-machine skips the machine check, to inspect another machine's file.

--json prints the summary as one JSON document: path, env, keyId,
fingerprint, issuedAt, expiresAt, ttlSeconds, remainingSeconds, refreshDue,
license {id, name, key (redacted), status, expired, productId, policyId,
policyName, expiresAt}, machine {id, name}, entitlements.
`

const checkoutUsage = `Usage: licentric checkout [--license-id ID] --public-key KEY [--public-key KEY2]
        (--fingerprint FP | --app-id ID [--state-dir DIR])
        [--ttl 336h] [--out license.lic] [--env live|test] [--json]
        [--base-url URL] [--api-key KEY | --license-key KEY]

Checks out a signed license file for a machine that is activated on the
license (online), verifies it with the pinned public key(s) and only then
writes it atomically with mode 0600. A file that does not verify is never
written, and an existing file is then left as it was.

With the license key alone, --license-id may be left out: the license is
looked up by validating the key (which counts as one use of the license).
Without an API key the lookup finds live licenses only; for a test license
set an lk_test_ API key too (it is used for the lookup only) or pass
--license-id.

--json prints the summary as verify --json does, path being the file written.

Environment: LICENTRIC_BASE_URL, LICENTRIC_API_KEY, LICENTRIC_LICENSE_KEY
(used when the flags are not given; prefer them to the flags, whose values
other users of the machine can see).
`

func fingerprintCommand() *command {
	return &command{
		name:    "fingerprint",
		summary: "print this machine's fingerprint for an application ID",
		usage:   fingerprintUsage,
		setup:   (*cli).fingerprint,
	}
}

func verifyCommand() *command {
	return &command{
		name:    "verify",
		summary: "verify a license file offline and print what it grants",
		usage:   verifyUsage,
		setup:   (*cli).verify,
	}
}

func checkoutCommand() *command {
	return &command{
		name:    "checkout",
		summary: "check out a license file (online), verify it and save it",
		usage:   checkoutUsage,
		setup:   (*cli).checkout,
	}
}

// fingerprint is "licentric fingerprint".
func (c *cli) fingerprint(fs *flag.FlagSet) action {
	var appID, stateDir string
	fs.StringVar(&appID, "app-id", "", "the application `ID` (required; the one the application itself uses)")
	fs.StringVar(&stateDir, "state-dir", "", "keep a random machine ID in `DIR` when the OS has none")
	asJSON := c.jsonFlag(fs)
	return func(_ context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("unexpected argument %q", clean(args[0]))
		}
		if appID == "" {
			return usagef("--app-id is required")
		}
		fp, err := computeFingerprint(appID, stateDir)
		if err != nil {
			return err
		}
		if *asJSON {
			return c.writeJSON(struct {
				Fingerprint string `json:"fingerprint"`
				AppID       string `json:"appId"`
			}{fp, appID})
		}
		fmt.Fprintln(c.stdout, fp)
		return nil
	}
}

func computeFingerprint(appID, stateDir string) (string, error) {
	var opts []fingerprint.Option
	if stateDir != "" {
		opts = append(opts, fingerprint.WithStateDir(stateDir))
	}
	return fingerprint.Compute(appID, opts...)
}

// machine resolves the machine flags to a verifier option and the
// fingerprint (empty with --any-machine).
func (m *machineFlags) machine(name string) (offline.Option, string, error) {
	n := 0
	for _, set := range []bool{m.fingerprint != "", m.appID != "", m.anyMachine} {
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
		return nil, "", usagef("one of %s is required", flags)
	case n > 1:
		return nil, "", usagef("give only one of %s", flags)
	case m.stateDir != "" && m.appID == "":
		return nil, "", usagef("--state-dir needs --app-id")
	case m.anyMachine:
		return offline.WithoutFingerprintCheck(), "", nil
	case m.fingerprint != "":
		return offline.WithFingerprint(m.fingerprint), m.fingerprint, nil
	}
	fp, err := computeFingerprint(m.appID, m.stateDir)
	if err != nil {
		return nil, "", err
	}
	return offline.WithFingerprint(fp), fp, nil
}

// verifier builds the verifier for the keys, environment and entitlements.
func (c *cli) verifier(keys keyList, env string, entitlements []string, machine offline.Option) (*offline.Verifier, error) {
	opts := []offline.Option{machine, offline.WithEnvironment(env), offline.WithClock(clock.Func(c.now))}
	for _, k := range keys {
		opts = append(opts, offline.WithPublicKey(k))
	}
	if len(entitlements) > 0 {
		opts = append(opts, offline.WithEntitlements(entitlements...))
	}
	v, err := offline.NewVerifier(opts...)
	if err != nil {
		return nil, &usageError{msg: err.Error()}
	}
	return v, nil
}

func checkEnv(env string) bool { return env == "live" || env == "test" }

// verify is "licentric verify".
func (c *cli) verify(fs *flag.FlagSet) action {
	var (
		keys         keyList
		m            machineFlags
		entitlements stringList
		env          string
	)
	keyFlag(fs, &keys)
	m.register(fs, true)
	fs.Var(&entitlements, "entitlement", "require entitlement `CODE`; may be repeated")
	fs.StringVar(&env, "env", "live", "the `ENV` the file must come from: live or test")
	asJSON := c.jsonFlag(fs)
	return func(_ context.Context, args []string) error {
		switch {
		case len(args) == 0:
			return usagef("no license file given")
		case len(args) > 1:
			return usagef("unexpected argument %q (give one license file)", clean(args[1]))
		case len(keys) == 0:
			return usagef("--public-key is required")
		case !checkEnv(env):
			return usagef("--env must be live or test")
		}
		machine, _, err := m.machine("verify")
		if err != nil {
			return err
		}
		v, err := c.verifier(keys, env, entitlements, machine)
		if err != nil {
			return err
		}
		path := args[0]
		f, err := v.VerifyFile(path)
		if err != nil {
			return verifyFailed(clean(path), env, err)
		}
		if *asJSON {
			return c.writeJSON(c.fileJSON(path, f))
		}
		fmt.Fprintf(c.stdout, "License file verified: %s\n", clean(path))
		c.summary(c.stdout, f)
		return nil
	}
}

// verifyFailed describes a verification error, with a hint where one
// helps; an expired file is exit code 3.
func verifyFailed(what, env string, err error) error {
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
	return &exitError{code: code, err: fmt.Errorf("%s: %w%s", what, err, hint)}
}

// checkout is "licentric checkout".
func (c *cli) checkout(fs *flag.FlagSet) action {
	var (
		licenseID, out, env, licenseKey string
		keys                            keyList
		m                               machineFlags
		cf                              connFlags
		ttl                             = ttlValue(14 * 24 * time.Hour)
	)
	fs.StringVar(&licenseID, "license-id", "", "the license's `ID` (default: looked up from the license key)")
	keyFlag(fs, &keys)
	m.register(fs, false)
	fs.Var(&ttl, "ttl", "the file's lifetime `TTL`, 1h to 90 days (e.g. 336h or 14d)")
	fs.StringVar(&out, "out", "license.lic", "write the license file to `PATH`")
	fs.StringVar(&env, "env", "", "the `ENV` the file must come from: live or test (default: the API key's, else live)")
	cf.register(fs)
	fs.StringVar(&licenseKey, "license-key", "", "authenticate with the license's own `KEY` instead of an API key (default $"+envLicenseKey+")")
	asJSON := c.jsonFlag(fs)
	return func(ctx context.Context, args []string) error {
		if err := cf.resolve(c); err != nil {
			return err
		}
		if licenseKey == "" {
			licenseKey = c.getenv(envLicenseKey)
		}
		c.secret(licenseKey)
		switch {
		case len(args) > 0:
			return usagef("unexpected argument %q", clean(args[0]))
		case licenseID == "" && licenseKey == "":
			return usagef("--license-id is required (or give the license key with --license-key or %s)", envLicenseKey)
		case len(keys) == 0:
			return usagef("--public-key is required: the file is verified before it is written")
		case out == "":
			return usagef("--out must not be empty")
		case env != "" && !checkEnv(env):
			return usagef("--env must be live or test")
		case cf.apiKey == "" && licenseKey == "":
			return usagef("no credentials: set %s (or --api-key), or %s (or --license-key)", envAPIKey, envLicenseKey)
		}
		machine, fp, err := m.machine("checkout")
		if err != nil {
			return err
		}
		// With a license key the checkout authenticates with it, so the API
		// key is used (and parsed) only to look the license up.
		client, err := c.client(&cf, licenseKey == "" || licenseID == "")
		if err != nil {
			return err
		}
		if env == "" {
			env = "live"
			if client.Environment() == licentric.EnvironmentTest {
				env = "test"
			}
		}
		v, err := c.verifier(keys, env, nil, machine)
		if err != nil {
			return err
		}

		ctx, cancel := cf.withTimeout(ctx)
		defer cancel()
		if licenseID == "" {
			if licenseID, err = lookUpLicenseID(ctx, client, licenseKey); err != nil {
				return err
			}
		}
		co, err := client.Checkout(ctx, licenseID, licentric.CheckoutParams{
			Fingerprint: fp,
			TTL:         time.Duration(ttl),
			LicenseKey:  licenseKey,
		})
		if err != nil {
			return callFailed("checkout", err)
		}
		f, err := v.Verify(co.Certificate)
		if err != nil {
			return verifyFailed("the checked-out file did not verify, nothing was written to "+clean(out), env, err)
		}
		if err := offline.SaveFile(out, co.Certificate); err != nil {
			return fmt.Errorf("the checked-out file verified, but writing it to %s failed (nothing was written): %w", clean(out), err)
		}
		if *asJSON {
			return c.writeJSON(c.fileJSON(out, f))
		}
		fmt.Fprintf(c.stdout, "License file checked out, verified and written to %s (mode 0600)\n", clean(out))
		c.summary(c.stdout, f)
		return nil
	}
}

// lookUpLicenseID finds the id of the license whose key is key by
// validating it: with an API key in that key's environment, else in live.
func lookUpLicenseID(ctx context.Context, client *licentric.Client, key string) (string, error) {
	res, err := client.Validate(ctx, key)
	if err != nil {
		return "", callFailed("looking up the license by its key", err)
	}
	if res.License == nil || res.License.ID == "" {
		if client.Environment() == licentric.EnvironmentNone {
			return "", errors.New("no live license has this license key; for a test license set an lk_test_ API key too, or pass --license-id")
		}
		return "", fmt.Errorf("no %s license has this license key", client.Environment())
	}
	return res.License.ID, nil
}

// summary prints what a verified file grants. Every string from the file is
// cleaned; the license key is redacted.
func (c *cli) summary(w io.Writer, f *offline.File) {
	now := c.now()
	row := func(label, format string, a ...any) {
		fmt.Fprintf(w, "  %-17s %s\n", label+":", fmt.Sprintf(format, a...))
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

// fileJSON is the --json document of verify and checkout.
type fileJSON struct {
	Path             string          `json:"path"`
	Env              string          `json:"env"`
	KeyID            string          `json:"keyId"`
	Fingerprint      string          `json:"fingerprint"`
	IssuedAt         time.Time       `json:"issuedAt"`
	ExpiresAt        time.Time       `json:"expiresAt"`
	TTLSeconds       int64           `json:"ttlSeconds"`
	RemainingSeconds int64           `json:"remainingSeconds"`
	RefreshDue       bool            `json:"refreshDue"` // less than half of the file's lifetime is left
	License          fileLicenseJSON `json:"license"`
	Machine          fileMachineJSON `json:"machine"`
	Entitlements     []string        `json:"entitlements"`
}

type fileLicenseJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Key        string     `json:"key"` // redacted
	Status     string     `json:"status"`
	Expired    bool       `json:"expired"` // past its expiry, allowed by ALLOW_ACCESS
	ProductID  string     `json:"productId"`
	PolicyID   string     `json:"policyId"`
	PolicyName string     `json:"policyName"`
	ExpiresAt  *time.Time `json:"expiresAt"` // null: never
}

type fileMachineJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (c *cli) fileJSON(path string, f *offline.File) fileJSON {
	now := c.now()
	remaining := f.Remaining(now)
	doc := fileJSON{
		Path:             path,
		Env:              f.Env,
		KeyID:            f.KeyID,
		Fingerprint:      f.Fingerprint,
		IssuedAt:         f.IssuedAt.UTC(),
		ExpiresAt:        f.ExpiresAt.UTC(),
		TTLSeconds:       int64(f.TTL / time.Second),
		RemainingSeconds: int64(max(remaining, 0) / time.Second),
		RefreshDue:       remaining < f.TTL/2,
		License: fileLicenseJSON{
			ID:        f.License.ID,
			Name:      f.License.Name,
			Key:       redactKey(f.License.Key),
			Status:    f.License.Status,
			Expired:   f.LicenseExpired,
			ProductID: f.License.ProductID,
			PolicyID:  f.License.PolicyID,
		},
		Machine:      fileMachineJSON{ID: f.Machine.ID, Name: f.Machine.Name},
		Entitlements: append([]string{}, f.Entitlements...),
	}
	if p := f.License.Policy; p != nil {
		doc.License.PolicyName = p.Name
	}
	if exp := f.License.ExpiresAt; !exp.IsZero() {
		t := exp.UTC()
		doc.License.ExpiresAt = &t
	}
	return doc
}
