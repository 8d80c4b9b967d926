package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/clock"
	"github.com/licentric/licentric-go/offline"
)

func offlineCommand() *command {
	return &command{
		name:    "offline",
		summary: "license an air-gapped machine: request, fulfill, release",
		usage: `Usage: licentric offline <command> [flags]

Licenses a machine that never reaches the service, with a file carried each
way and no API key needed:

  1. on the machine:   licentric offline request --app-id ID --out request.json
  2. online:           licentric offline fulfill --public-key KEY --out license.lic request.json
  3. on the machine:   the application verifies license.lic and runs offline
                       (check it with 'licentric verify')
  4. before it expires: fulfill the same request again, carry the new file
  5. when retired:     licentric offline release request.json

request opens no network connection. fulfill activates the machine once
(again is a renewal: a new file, the same machine) and writes only a file
that verifies with the pinned key. release frees the machine's seat.
`,
		subs: []*command{
			{
				name:    "offline request",
				summary: "write this machine's activation request (no network)",
				usage:   offlineRequestUsage,
				setup:   (*cli).offlineRequest,
			},
			{
				name:    "offline fulfill",
				summary: "activate a request's machine and write its license file",
				usage:   offlineFulfillUsage,
				setup:   (*cli).offlineFulfill,
			},
			{
				name:    "offline release",
				summary: "deactivate a request's machine, freeing its seat",
				usage:   offlineReleaseUsage,
				setup:   (*cli).offlineRelease,
			},
		},
	}
}

const offlineRequestUsage = `Usage: licentric offline request (--fingerprint FP | --app-id ID [--state-dir DIR])
        [--license-key KEY] [--name N] --out request.json [--json]

Run on the air-gapped machine; it opens no network connection. Writes this
machine's activation request, atomically with mode 0600: a small JSON
document (version 1) with the machine's fingerprint and facts (hostname,
platform, core count, application ID) and, when given, the license key.
Carry it to a computer that reaches the service and run 'licentric offline
fulfill' there.

--app-id computes the fingerprint as the application does: give the
application's own ID (and its --state-dir, if it keeps one). --fingerprint
takes a fingerprint as given.

--json prints {"path", "fingerprint", "appId", "name", "hostname",
"platform", "cores", "licenseKey"} (the key redacted; absent without one).

Environment: LICENTRIC_LICENSE_KEY (used when --license-key is not given;
the request then holds that key).
`

const offlineFulfillUsage = `Usage: licentric offline fulfill --public-key KEY [--public-key KEY2] [--ttl D]
        [--license-key KEY] --out license.lic [--json]
        [--base-url URL] [--api-key KEY] [--timeout D] request.json

Run on a computer that reaches the service, with a request written by
'licentric offline request'. Activates the request's machine on the license
unless a machine of the license already has its fingerprint (never a second
machine), checks out a license file for it, verifies the file with the
pinned public key(s) and only then writes it to --out atomically with mode
0600. Carry the file to the machine. Running it again with the same request
is the renewal: a new file, the same machine.

A refusal of the service (MACHINE_LIMIT_EXCEEDED, OFFLINE_NOT_ALLOWED,
LICENSE_NOT_ACTIVE, OFFLINE_TTL_EXCEEDED, FINGERPRINT_CONFLICT, ...) exits 1
naming the code and writes nothing; a machine this run activated is
deactivated again, so a failed run takes no seat.

The license key is the request's; without one, --license-key or
LICENTRIC_LICENSE_KEY (a --license-key that differs from the request's is
refused). Every request to the service is made with it. With an API key as
well (LICENTRIC_API_KEY, scope licenses:read; a test license needs an
lk_test_ one) the license is looked up first: a renewal then sends no
activation, and the file's lifetime defaults to the policy's offlineMaxDays
when that is shorter than 14 days. Without one the default is 14 days: give
--ttl when the policy allows less.

--json prints the summary as verify --json does (path being the file
written), with "activated": whether this run activated the machine.

Environment: LICENTRIC_BASE_URL, LICENTRIC_API_KEY, LICENTRIC_LICENSE_KEY.
`

const offlineReleaseUsage = `Usage: licentric offline release [--license-key KEY] [--json]
        [--base-url URL] [--api-key KEY] [--timeout D] request.json

Deactivates the request's machine, freeing its seat on the license: for a
machine that is decommissioned or replaced. A machine already gone is
success. The license key is the request's, or --license-key (or
LICENTRIC_LICENSE_KEY) when it holds none.

The machine is found as 'licentric machines deactivate --license-key'
finds it: by validating the license key with the request's fingerprint,
which counts one use of the license (a test license, which that validation
does not see, by asking to activate the fingerprint); with an API key as
well (an lk_test_ one for a test license) by the license's machines
instead. The deactivation is made with the license key.

--json prints {"released": Machine}, the machine as it was, or
{"released": null} when no machine of the license had the fingerprint.

Environment: LICENTRIC_BASE_URL, LICENTRIC_API_KEY, LICENTRIC_LICENSE_KEY.
`

// requestJSON is the --json document of offline request.
type requestJSON struct {
	Path        string `json:"path"`
	Fingerprint string `json:"fingerprint"`
	AppID       string `json:"appId"`
	Name        string `json:"name"`
	Hostname    string `json:"hostname"`
	Platform    string `json:"platform"`
	Cores       int    `json:"cores"`
	LicenseKey  string `json:"licenseKey,omitempty"` // redacted
}

// offlineRequest is "licentric offline request". It builds no client that
// could reach the service: nothing here opens a socket.
func (c *cli) offlineRequest(fs *flag.FlagSet) action {
	var (
		m               machineFlags
		licenseKey, out string
		name            string
	)
	m.register(fs, false)
	fs.StringVar(&licenseKey, "license-key", "", "put the license `KEY` in the request (default $"+envLicenseKey+")")
	fs.StringVar(&name, "name", "", "label the machine `N` on the license")
	fs.StringVar(&out, "out", "", "write the request to `PATH` (required)")
	asJSON := c.jsonFlag(fs)
	return func(_ context.Context, args []string) error {
		if licenseKey == "" {
			licenseKey = c.getenv(envLicenseKey)
		}
		c.secret(licenseKey)
		switch {
		case len(args) > 0:
			return usagef("unexpected argument %q", clean(args[0]))
		case out == "":
			return usagef("--out is required")
		}
		_, fp, err := m.machine("offline request")
		if err != nil {
			return err
		}
		// A client with no options only fills in this machine's facts.
		client, err := licentric.NewClient()
		if err != nil {
			return err
		}
		req, err := client.NewOfflineRequest(licenseKey, licentric.ActivateParams{Fingerprint: fp, Name: name})
		if err != nil {
			return callFailed("making the request", err)
		}
		req.AppID = m.appID
		if err := offline.SaveRequest(out, req); err != nil {
			if errors.Is(err, offline.ErrMalformedRequest) {
				return &usageError{msg: err.Error()}
			}
			return fmt.Errorf("writing the request to %s failed (nothing was written): %w", clean(out), err)
		}
		if *asJSON {
			doc := requestJSON{Path: out, Fingerprint: req.Fingerprint, AppID: req.AppID, Name: req.Name,
				Hostname: req.Hostname, Platform: req.Platform, Cores: req.Cores}
			if req.LicenseKey != "" {
				doc.LicenseKey = redactKey(req.LicenseKey)
			}
			return c.writeJSON(doc)
		}
		fmt.Fprintf(c.stdout, "Activation request written to %s (mode 0600)\n", clean(out))
		row := func(label, value string) {
			if value == "" {
				value = "-"
			}
			fmt.Fprintf(c.stdout, "  %-13s %s\n", label+":", clean(value))
		}
		row("Fingerprint", req.Fingerprint)
		row("Application", req.AppID)
		row("Name", req.Name)
		row("Hostname", req.Hostname)
		row("Platform", req.Platform)
		row("Cores", fmt.Sprint(req.Cores))
		if req.LicenseKey != "" {
			row("License key", redactKey(req.LicenseKey)+" (the file holds it: keep it private)")
		} else {
			row("License key", "none (give it with --license-key to 'licentric offline fulfill')")
		}
		fmt.Fprintf(c.stdout, "Carry it to a computer that reaches the service and run:\n  licentric offline fulfill --public-key KEY --out license.lic %s\n", clean(filepath.Base(out)))
		return nil
	}
}

// loadRequest reads the request file of fulfill and release and records
// its license key as a secret. A missing or malformed file is a failure,
// not a usage error: the command line was right.
func (c *cli) loadRequest(args []string) (*offline.Request, error) {
	switch {
	case len(args) == 0:
		return nil, usagef("no request file given")
	case len(args) > 1:
		return nil, usagef("unexpected argument %q (give one request file)", clean(args[1]))
	}
	req, err := offline.LoadRequest(args[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", clean(args[0]), err)
	}
	c.secret(req.LicenseKey)
	return req, nil
}

// requestKey resolves the license key of fulfill and release: the
// request's; without one the flag's, else the environment's. A flag that
// differs from the request's is refused; the environment's is only a
// default.
func (c *cli) requestKey(req *offline.Request, flagKey string) (string, error) {
	c.secret(flagKey)
	switch {
	case req.LicenseKey != "" && flagKey != "" && flagKey != req.LicenseKey:
		return "", usagef("--license-key differs from the license key in the request: give the request's, or none")
	case req.LicenseKey != "":
		return req.LicenseKey, nil
	case flagKey != "":
		return flagKey, nil
	}
	key := c.getenv(envLicenseKey)
	c.secret(key)
	if key == "" {
		return "", usagef("the request holds no license key: give it with --license-key (or %s)", envLicenseKey)
	}
	return key, nil
}

// fulfilledJSON is the --json document of offline fulfill.
type fulfilledJSON struct {
	fileJSON
	Activated bool `json:"activated"`
}

// offlineFulfill is "licentric offline fulfill".
func (c *cli) offlineFulfill(fs *flag.FlagSet) action {
	var (
		keys            keyList
		ttl             ttlValue
		licenseKey, out string
		cf              connFlags
	)
	keyFlag(fs, &keys)
	fs.Var(&ttl, "ttl", "the file's lifetime `TTL`, 1h to 90 days (e.g. 336h or 14d; default 14d, or the policy's maximum when shorter and an API key reads it)")
	fs.StringVar(&licenseKey, "license-key", "", "the license `KEY`, when the request holds none (default $"+envLicenseKey+")")
	fs.StringVar(&out, "out", "", "write the license file to `PATH` (required)")
	cf.register(fs)
	asJSON := c.jsonFlag(fs)
	return func(ctx context.Context, args []string) error {
		if err := cf.resolve(c); err != nil {
			return err
		}
		c.secret(licenseKey)
		switch {
		case len(keys) == 0:
			return usagef("--public-key is required: the file is verified before it is written")
		case out == "":
			return usagef("--out is required")
		case len(args) > 1:
			return usagef("unexpected argument %q (give one request file)", clean(args[1]))
		}
		if len(args) == 1 {
			// Fail before going online when the file can't be written.
			if st, err := os.Stat(filepath.Dir(out)); err != nil || !st.IsDir() {
				return fmt.Errorf("cannot write %s: its directory does not exist (nothing was done)", clean(out))
			}
		}
		req, err := c.loadRequest(args)
		if err != nil {
			return err
		}
		key, err := c.requestKey(req, licenseKey)
		if err != nil {
			return err
		}
		// The file is verified on this command's clock, as verify's are.
		client, err := c.client(&cf, cf.apiKey != "", licentric.WithClock(clock.Func(c.now)))
		if err != nil {
			return err
		}
		pinned := make([]string, len(keys))
		for i, k := range keys {
			pinned[i] = offline.MarshalPublicKey(k)
		}
		ctx, cancel := cf.withTimeout(ctx)
		defer cancel()
		got, err := client.FulfillOfflineRequest(ctx, req, licentric.FulfillParams{
			LicenseKey: key, PublicKeys: pinned, TTL: time.Duration(ttl),
		})
		if err != nil {
			return fulfillFailed(client, out, err)
		}
		if err := offline.SaveFile(out, got.Certificate); err != nil {
			return fmt.Errorf("the license file verified, but writing it to %s failed (nothing was written; the machine is active: run fulfill again for a new file): %w", clean(out), err)
		}
		if *asJSON {
			return c.writeJSON(fulfilledJSON{fileJSON: c.fileJSON(out, got.File), Activated: got.Activated})
		}
		if got.Activated {
			fmt.Fprintf(c.stdout, "Machine %s activated on license %s.\n", clean(got.Machine.ID), clean(got.Machine.LicenseID))
		} else {
			fmt.Fprintf(c.stdout, "Machine %s was already active on license %s: a renewal, no new seat taken.\n",
				clean(got.Machine.ID), clean(got.Machine.LicenseID))
		}
		fmt.Fprintf(c.stdout, "License file checked out, verified and written to %s (mode 0600): carry it to the machine.\n", clean(out))
		c.summary(c.stdout, got.File)
		return nil
	}
}

// fulfillFailed describes a failed fulfilment: what the service refused
// (the error names its code), or why the file did not verify, and that
// nothing was written.
func fulfillFailed(client *licentric.Client, out string, err error) error {
	hint := ""
	switch {
	case errors.Is(err, offline.ErrUnknownKey):
		hint = " (pass the key that signed it with --public-key)"
	case errors.Is(err, licentric.ErrOfflineTTLExceeded):
		hint = " (give --ttl within the policy's offlineMaxDays)"
	}
	return callFailed("fulfilling the request", fmt.Errorf("%w%s; nothing was written to %s", lookupHint(client, err), hint, clean(out)))
}

// offlineRelease is "licentric offline release".
func (c *cli) offlineRelease(fs *flag.FlagSet) action {
	var (
		licenseKey string
		cf         connFlags
	)
	fs.StringVar(&licenseKey, "license-key", "", "the license `KEY`, when the request holds none (default $"+envLicenseKey+")")
	cf.register(fs)
	asJSON := c.jsonFlag(fs)
	return func(ctx context.Context, args []string) error {
		if err := cf.resolve(c); err != nil {
			return err
		}
		req, err := c.loadRequest(args)
		if err != nil {
			return err
		}
		key, err := c.requestKey(req, licenseKey)
		if err != nil {
			return err
		}
		client, err := c.client(&cf, cf.apiKey != "")
		if err != nil {
			return err
		}
		ctx, cancel := cf.withTimeout(ctx)
		defer cancel()
		m, err := client.ReleaseOfflineRequest(ctx, req, key)
		if err != nil {
			return callFailed("releasing the machine", lookupHint(client, err))
		}
		if *asJSON {
			return c.writeJSON(struct {
				Released *licentric.Machine `json:"released"`
			}{m})
		}
		if m == nil {
			fmt.Fprintln(c.stdout, "No machine of the license has the request's fingerprint: its seat is already free.")
			return nil
		}
		fmt.Fprintf(c.stdout, "Machine %s released: its seat on license %s is free.\n", clean(m.ID), clean(m.LicenseID))
		return nil
	}
}
