package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/offline"
)

// maxListed caps what machines list reads, whatever --limit says.
const maxListed = 100000

func machinesCommand() *command {
	return &command{
		name:    "machines",
		summary: "activate, list or deactivate machines",
		usage: `Usage: licentric machines <command> [flags]

Support actions on machines: activate a machine that cannot activate itself
(an air-gapped one) with the license key, see which machines hold a
license's seats (API key), and free the seat of a machine that is dead, lost
or air-gapped, with the API key or the license key alone.
`,
		subs: []*command{
			{
				name:    "machines list",
				summary: "list the machines of a license (or of the account)",
				usage:   machinesListUsage,
				setup:   (*cli).machinesList,
			},
			{
				name:    "machines deactivate",
				summary: "deactivate a machine, freeing its seat at once",
				usage:   machinesDeactivateUsage,
				setup:   (*cli).machinesDeactivate,
			},
			{
				name:    "machines activate",
				summary: "activate a machine on a license with the license key",
				usage:   machinesActivateUsage,
				setup:   (*cli).machinesActivate,
			},
		},
	}
}

const machinesListUsage = `Usage: licentric machines list [--license-id ID | --license-key KEY] [--limit N] [--json]
        [--base-url URL] [--api-key KEY]

Lists machines, oldest first: those of one license, or every machine of the
API key's environment. --license-key finds the license by its key.

--json prints {"machines": [Machine, ...], "truncated": bool}, each Machine
as the API returns it (id, licenseId, fingerprint, name, platform, hostname,
cores, status, lastHeartbeatAt, createdAt, updatedAt, deletedAt, metadata);
truncated says --limit cut the list.

Environment: LICENTRIC_BASE_URL, LICENTRIC_API_KEY.
`

const machinesDeactivateUsage = `Usage: licentric machines deactivate MACHINE_ID [--json]
       licentric machines deactivate --license-id ID --fingerprint FP [--json]
       licentric machines deactivate --license-key KEY --fingerprint FP [--json]
        [--base-url URL] [--api-key KEY]

Deactivates a machine, freeing its seat on the license at once: for a
machine that is dead, lost or air-gapped and so cannot deactivate itself.
Name the machine by its id or by its license id and fingerprint (as
'licentric fingerprint' printed it on the machine), with the API key; or by
the license key and fingerprint, with the license key alone, as a
customer's operator who holds no API key does.

With --license-key the machine is found by validating the key with the
fingerprint, which counts one use of the license; a license that validation
does not see (a test license: it sees live ones only) is asked to activate
the fingerprint, which names the machine (and when the license has no such
machine, the machine that makes is deactivated at once). With an API key as
well (an lk_test_ one for a test license) the machine is found by the
license's machines instead, and no use is counted. The deactivation itself
is made with the license key. A suspended, revoked, banned or used-up
license names no machine without an API key: use the API key then.

--json prints {"deactivated": Machine}, the machine as it was.

Environment: LICENTRIC_BASE_URL, LICENTRIC_API_KEY, LICENTRIC_LICENSE_KEY
(used with --fingerprint when neither a machine id nor --license-id is given).
`

const machinesActivateUsage = `Usage: licentric machines activate --license-key KEY --fingerprint FP [--name N]
        [--platform P] [--hostname H] [--json] [--base-url URL]

Activates a machine on the license with the license's own key (no API key
needed): for a machine that cannot activate itself, such as an air-gapped
one ('licentric fingerprint --app-id ID' prints FP there). A machine of the
license that already has the fingerprint is success: it is reported as
already active, and no second machine is made. The facts given (name,
platform, hostname) are sent as they are; nothing is taken from this
computer. For the whole air-gapped flow see 'licentric offline'.

--json prints {"machine": Machine, "activated": bool}; activated is false
when the machine was already active.

Environment: LICENTRIC_BASE_URL, LICENTRIC_LICENSE_KEY (used when
--license-key is not given).
`

// machinesJSON is the --json document of machines list.
type machinesJSON struct {
	Machines  []*licentric.Machine `json:"machines"`
	Truncated bool                 `json:"truncated"`
}

func (c *cli) machinesList(fs *flag.FlagSet) action {
	var (
		licenseID, licenseKey string
		limit                 int
		cf                    connFlags
	)
	fs.StringVar(&licenseID, "license-id", "", "list the machines of the license `ID`")
	fs.StringVar(&licenseKey, "license-key", "", "list the machines of the license whose key is `KEY`")
	fs.IntVar(&limit, "limit", 1000, "print at most `N` machines")
	cf.register(fs)
	asJSON := c.jsonFlag(fs)
	return func(ctx context.Context, args []string) error {
		c.secret(licenseKey)
		switch {
		case len(args) > 0:
			return usagef("unexpected argument %q", clean(args[0]))
		case licenseID != "" && licenseKey != "":
			return usagef("give only one of --license-id and --license-key")
		case limit < 1 || limit > maxListed:
			return usagef("--limit must be 1 to %d", maxListed)
		}
		client, err := c.apiClient(&cf)
		if err != nil {
			return err
		}
		ctx, cancel := cf.withTimeout(ctx)
		defer cancel()
		if licenseKey != "" {
			l, err := client.Licenses.GetByKey(ctx, licenseKey)
			if err != nil {
				return callFailed("looking up the license by its key", err)
			}
			licenseID = l.ID
		}
		doc := machinesJSON{Machines: []*licentric.Machine{}}
		opts := &licentric.MachineListOptions{LicenseID: licenseID, ListOptions: licentric.ListOptions{Limit: 100}}
		for m, err := range client.Machines.List(ctx, opts) {
			if err != nil {
				return callFailed("listing the machines", err)
			}
			if len(doc.Machines) == limit {
				doc.Truncated = true
				break
			}
			doc.Machines = append(doc.Machines, m)
		}
		if *asJSON {
			return c.writeJSON(doc)
		}
		machineTable(c.stdout, doc.Machines, licenseID == "")
		if doc.Truncated {
			fmt.Fprintf(c.stdout, "(only the first %d; raise --limit for more)\n", limit)
		}
		return nil
	}
}

// machineTable prints machines as a table; withLicense adds their license.
func machineTable(w io.Writer, ms []*licentric.Machine, withLicense bool) {
	if len(ms) == 0 {
		fmt.Fprintln(w, "No machines.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if withLicense {
		fmt.Fprint(tw, "LICENSE\t")
	}
	fmt.Fprintln(tw, "MACHINE\tSTATUS\tFINGERPRINT\tLAST HEARTBEAT\tACTIVATED\tNAME")
	for _, m := range ms {
		if withLicense {
			fmt.Fprintf(tw, "%s\t", cell(m.LicenseID))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cell(m.ID), cell(m.Status), cell(m.Fingerprint),
			when(m.LastHeartbeatAt.Time), when(m.CreatedAt.Time), cell(m.Name))
	}
	_ = tw.Flush()
}

// cell is a cleaned table cell: never empty, no tabs or newlines.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return clean(s)
}

// when formats a time for a table, "-" for none.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func (c *cli) machinesDeactivate(fs *flag.FlagSet) action {
	var (
		licenseID, licenseKey, fp string
		cf                        connFlags
	)
	fs.StringVar(&licenseID, "license-id", "", "with --fingerprint: the license `ID` the machine is activated on (API key)")
	fs.StringVar(&licenseKey, "license-key", "", "with --fingerprint: the license's own `KEY`, instead of an API key (default $"+envLicenseKey+")")
	fs.StringVar(&fp, "fingerprint", "", "deactivate the license's machine with fingerprint `FP`")
	cf.register(fs)
	asJSON := c.jsonFlag(fs)
	return func(ctx context.Context, args []string) error {
		byID := len(args) == 1
		if licenseKey == "" && !byID && licenseID == "" && fp != "" {
			licenseKey = c.getenv(envLicenseKey)
		}
		c.secret(licenseKey)
		switch {
		case len(args) > 1:
			return usagef("unexpected argument %q (give one machine id)", clean(args[1]))
		case byID && (licenseID != "" || licenseKey != "" || fp != ""):
			return usagef("give a machine id, or a license and --fingerprint, not both")
		case licenseID != "" && licenseKey != "":
			return usagef("give only one of --license-id and --license-key")
		case !byID && (licenseID == "" && licenseKey == "" || fp == ""):
			return usagef("give the machine's id, --license-id and --fingerprint, or --license-key and --fingerprint")
		}
		if licenseKey != "" {
			return c.deactivateWithLicenseKey(ctx, &cf, licenseKey, fp, *asJSON)
		}
		client, err := c.apiClient(&cf)
		if err != nil {
			return err
		}
		ctx, cancel := cf.withTimeout(ctx)
		defer cancel()
		var m *licentric.Machine
		if byID {
			if m, err = client.Machines.Get(ctx, args[0]); err != nil {
				return callFailed("looking up the machine", err)
			}
		} else if m, err = findMachine(ctx, client, licenseID, fp); err != nil {
			return err
		}
		if err := client.Machines.Delete(ctx, m.ID); err != nil {
			return callFailed("deactivating the machine", err)
		}
		return c.deactivated(m, *asJSON)
	}
}

// deactivateWithLicenseKey is machines deactivate --license-key: the
// license key deactivates; an API key, when there is one, finds the
// machine.
func (c *cli) deactivateWithLicenseKey(ctx context.Context, cf *connFlags, key, fp string, asJSON bool) error {
	if err := cf.resolve(c); err != nil {
		return err
	}
	client, err := c.client(cf, cf.apiKey != "")
	if err != nil {
		return err
	}
	ctx, cancel := cf.withTimeout(ctx)
	defer cancel()
	m, err := client.DeactivateFingerprint(ctx, key, fp)
	if err != nil {
		return callFailed("deactivating the machine", lookupHint(client, err))
	}
	return c.deactivated(m, asJSON)
}

// deactivated reports a deactivated machine.
func (c *cli) deactivated(m *licentric.Machine, asJSON bool) error {
	if asJSON {
		return c.writeJSON(struct {
			Deactivated *licentric.Machine `json:"deactivated"`
		}{m})
	}
	fmt.Fprintf(c.stdout, "Machine %s deactivated: its seat on license %s is free.\n", clean(m.ID), clean(m.LicenseID))
	return nil
}

// lookupHint adds to err what to do when a license key was not found with
// an API key, which looks in its own environment only. (With the license
// key alone, licenses of both environments are found.)
func lookupHint(client *licentric.Client, err error) error {
	if !errors.Is(err, licentric.ErrNotFound) || errors.Is(err, licentric.ErrFingerprintNotFound) ||
		client.Environment() == licentric.EnvironmentNone {
		return err
	}
	return fmt.Errorf("%w (the API key finds %s licenses only)", err, client.Environment())
}

func (c *cli) machinesActivate(fs *flag.FlagSet) action {
	var (
		licenseKey string
		mr         licentric.MachineRequest
		cf         connFlags
	)
	fs.StringVar(&licenseKey, "license-key", "", "the license's own `KEY`, which authenticates (default $"+envLicenseKey+")")
	fs.StringVar(&mr.Fingerprint, "fingerprint", "", "the machine's fingerprint `FP` (required)")
	fs.StringVar(&mr.Name, "name", "", "label the machine `N`")
	fs.StringVar(&mr.Platform, "platform", "", "the machine's platform `P`: macos, windows, linux, docker or kubernetes")
	fs.StringVar(&mr.Hostname, "hostname", "", "the machine's host name `H`")
	cf.register(fs)
	asJSON := c.jsonFlag(fs)
	return func(ctx context.Context, args []string) error {
		if licenseKey == "" {
			licenseKey = c.getenv(envLicenseKey)
		}
		c.secret(licenseKey)
		switch {
		case len(args) > 0:
			return usagef("unexpected argument %q", clean(args[0]))
		case licenseKey == "":
			return usagef("--license-key is required (or set %s)", envLicenseKey)
		case mr.Fingerprint == "":
			return usagef("--fingerprint is required")
		}
		// The request's checks, for the same messages as offline request.
		facts := offline.Request{Fingerprint: mr.Fingerprint, Name: mr.Name, Platform: mr.Platform, Hostname: mr.Hostname}
		if err := facts.Validate(); err != nil {
			return usagef("%s", strings.TrimPrefix(err.Error(), offline.ErrMalformedRequest.Error()+": "))
		}
		if err := cf.resolve(c); err != nil {
			return err
		}
		client, err := c.client(&cf, false)
		if err != nil {
			return err
		}
		ctx, cancel := cf.withTimeout(ctx)
		defer cancel()
		m, activated, err := client.EnsureActivated(ctx, licenseKey, &mr)
		if err != nil {
			return callFailed("activation", err)
		}
		if *asJSON {
			return c.writeJSON(struct {
				Machine   *licentric.Machine `json:"machine"`
				Activated bool               `json:"activated"`
			}{m, activated})
		}
		if activated {
			fmt.Fprintf(c.stdout, "Machine %s activated on license %s (fingerprint %s).\n", clean(m.ID), clean(m.LicenseID), clean(m.Fingerprint))
		} else {
			fmt.Fprintf(c.stdout, "Machine %s was already active on license %s with this fingerprint: nothing changed (no second machine).\n",
				clean(m.ID), clean(m.LicenseID))
		}
		return nil
	}
}

// errNoSuchMachine reports a fingerprint no live machine of the license has.
var errNoSuchMachine = errors.New("no machine of the license has this fingerprint")

// findMachine returns license licenseID's machine with fingerprint fp.
func findMachine(ctx context.Context, client *licentric.Client, licenseID, fp string) (*licentric.Machine, error) {
	opts := &licentric.MachineListOptions{LicenseID: licenseID, ListOptions: licentric.ListOptions{Limit: 100}}
	n := 0
	for m, err := range client.Machines.List(ctx, opts) {
		if err != nil {
			return nil, callFailed("listing the license's machines", err)
		}
		if m.Fingerprint == fp {
			return m, nil
		}
		if n++; n == maxListed {
			break
		}
	}
	if n == 0 {
		// An unknown license id lists nothing: say which it may be.
		if _, err := client.Licenses.Get(ctx, licenseID); err != nil {
			return nil, callFailed("looking up the license", err)
		}
	}
	return nil, errNoSuchMachine
}
