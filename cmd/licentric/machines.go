package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/licentric/licentric-go"
)

// maxListed caps what machines list reads, whatever --limit says.
const maxListed = 100000

func machinesCommand() *command {
	return &command{
		name:    "machines",
		summary: "list a license's machines, or deactivate one (API key)",
		usage: `Usage: licentric machines <command> [flags]

Support actions on machines, with an API key: see which machines hold a
license's seats, and free the seat of a machine that is dead, lost or
air-gapped (it cannot deactivate itself).
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
        [--base-url URL] [--api-key KEY]

Deactivates a machine with the API key, freeing its seat on the license at
once: for a machine that is dead, lost or air-gapped and so cannot
deactivate itself. Name the machine by its id, or by its license and
fingerprint (as 'licentric fingerprint' printed it on the machine).

--json prints {"deactivated": Machine}, the machine as it was.

Environment: LICENTRIC_BASE_URL, LICENTRIC_API_KEY.
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
		licenseID, fp string
		cf            connFlags
	)
	fs.StringVar(&licenseID, "license-id", "", "with --fingerprint: the license `ID` the machine is activated on")
	fs.StringVar(&fp, "fingerprint", "", "deactivate the license's machine with fingerprint `FP`")
	cf.register(fs)
	asJSON := c.jsonFlag(fs)
	return func(ctx context.Context, args []string) error {
		byID := len(args) == 1
		switch {
		case len(args) > 1:
			return usagef("unexpected argument %q (give one machine id)", clean(args[1]))
		case byID && (licenseID != "" || fp != ""):
			return usagef("give a machine id, or --license-id and --fingerprint, not both")
		case !byID && (licenseID == "" || fp == ""):
			return usagef("give the machine's id, or --license-id and --fingerprint")
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
		if *asJSON {
			return c.writeJSON(struct {
				Deactivated *licentric.Machine `json:"deactivated"`
			}{m})
		}
		fmt.Fprintf(c.stdout, "Machine %s deactivated: its seat on license %s is free.\n", clean(m.ID), clean(m.LicenseID))
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
