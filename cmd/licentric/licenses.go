package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/licentric/licentric-go"
)

func licensesCommand() *command {
	return &command{
		name:    "licenses",
		summary: "show, suspend or reinstate a license (API key)",
		usage: `Usage: licentric licenses <command> [flags]

Support actions on licenses, with an API key.
`,
		subs: []*command{
			{
				name:    "licenses get",
				summary: "show a license, its policy and its machines",
				usage:   licensesGetUsage,
				setup:   (*cli).licensesGet,
			},
			{
				name:    "licenses suspend",
				summary: "suspend an active license (reinstate undoes it)",
				usage:   licensesTransitionUsage("suspend", "Suspends an active license: validations fail with SUSPENDED until it is reinstated."),
				setup:   licensesTransition("suspend"),
			},
			{
				name:    "licenses reinstate",
				summary: "reinstate a suspended license",
				usage:   licensesTransitionUsage("reinstate", "Reinstates a suspended license: it is active again."),
				setup:   licensesTransition("reinstate"),
			},
		},
	}
}

const licenseJSONText = `--json prints {"license": License}, the license as the API returns it (id,
key, name, status, productId, policyId, userEmail, userName, expiresAt,
maxMachinesOverride, maxUsesOverride, usesCount, machineCount, entitlements,
metadata, createdAt, updatedAt, deletedAt, policy, and for get machines),
with the key redacted unless --show-key is given.

Environment: LICENTRIC_BASE_URL, LICENTRIC_API_KEY.
`

const licensesGetUsage = `Usage: licentric licenses get (LICENSE_ID | --license-key KEY) [--show-key] [--json]
        [--base-url URL] [--api-key KEY]

Shows a license: its status, expiry, policy, entitlements and the machines
activated on it. Name it by its id, or by its license key with --license-key.
The key is shown redacted unless --show-key is given.

` + licenseJSONText

func licensesTransitionUsage(action, what string) string {
	return fmt.Sprintf(`Usage: licentric licenses %s LICENSE_ID [--show-key] [--json]
        [--base-url URL] [--api-key KEY]

%s A license in another state is refused with the
service's CONFLICT error.

`, action, what) + licenseJSONText
}

// licenseFlags are the output flags of the licenses commands.
type licenseFlags struct {
	showKey bool
	asJSON  *bool
	cf      connFlags
}

func (c *cli) licenseFlags(fs *flag.FlagSet) *licenseFlags {
	lf := &licenseFlags{}
	fs.BoolVar(&lf.showKey, "show-key", false, "print the license key in full")
	lf.cf.register(fs)
	lf.asJSON = c.jsonFlag(fs)
	return lf
}

// licenseArg checks that args is one license id.
func licenseArg(args []string) (string, error) {
	switch len(args) {
	case 0:
		return "", usagef("no license id given")
	case 1:
		return args[0], nil
	}
	return "", usagef("unexpected argument %q (give one license id)", clean(args[1]))
}

func (c *cli) licensesGet(fs *flag.FlagSet) action {
	var key string
	fs.StringVar(&key, "license-key", "", "find the license by its license `KEY` instead of its id")
	lf := c.licenseFlags(fs)
	return func(ctx context.Context, args []string) error {
		c.secret(key)
		var id string
		if key == "" {
			var err error
			if id, err = licenseArg(args); err != nil {
				return err
			}
		} else if len(args) > 0 {
			return usagef("give a license id or --license-key, not both")
		}
		client, err := c.apiClient(&lf.cf)
		if err != nil {
			return err
		}
		ctx, cancel := lf.cf.withTimeout(ctx)
		defer cancel()
		var l *licentric.License
		if key != "" {
			l, err = client.Licenses.GetByKey(ctx, key)
		} else {
			l, err = client.Licenses.Get(ctx, id)
		}
		if err != nil {
			return callFailed("looking up the license", err)
		}
		return c.printLicense(lf, l, "")
	}
}

func licensesTransition(act string) func(c *cli, fs *flag.FlagSet) action {
	return func(c *cli, fs *flag.FlagSet) action {
		lf := c.licenseFlags(fs)
		return func(ctx context.Context, args []string) error {
			id, err := licenseArg(args)
			if err != nil {
				return err
			}
			client, err := c.apiClient(&lf.cf)
			if err != nil {
				return err
			}
			ctx, cancel := lf.cf.withTimeout(ctx)
			defer cancel()
			var l *licentric.License
			if act == "suspend" {
				l, err = client.Licenses.Suspend(ctx, id)
			} else {
				l, err = client.Licenses.Reinstate(ctx, id)
			}
			if err != nil {
				return callFailed(act, err)
			}
			past := map[string]string{"suspend": "suspended", "reinstate": "reinstated"}[act]
			return c.printLicense(lf, l, fmt.Sprintf("License %s %s.\n", clean(l.ID), past))
		}
	}
}

// printLicense prints l as --json or as text after headline.
func (c *cli) printLicense(lf *licenseFlags, l *licentric.License, headline string) error {
	out := *l
	if !lf.showKey {
		out.Key = redactKey(l.Key)
	}
	if *lf.asJSON {
		return c.writeJSON(struct {
			License *licentric.License `json:"license"`
		}{&out})
	}
	fmt.Fprint(c.stdout, headline)
	c.licenseSummary(c.stdout, &out)
	return nil
}

// licenseSummary prints a license (whose key is already redacted or not)
// as rows; every string is cleaned.
func (c *cli) licenseSummary(w io.Writer, l *licentric.License) {
	row := func(label, value string) {
		fmt.Fprintf(w, "  %-17s %s\n", label+":", value)
	}
	row("License", named(l.ID, l.Name))
	row("Key", clean(l.Key))
	row("Status", clean(l.Status))
	row("Product", clean(l.ProductID))
	p := l.Policy
	if p != nil {
		row("Policy", named(p.ID, p.Name))
	} else {
		row("Policy", clean(l.PolicyID))
	}
	if l.UserName != "" || l.UserEmail != "" {
		user := clean(l.UserName)
		if l.UserEmail != "" {
			user = strings.TrimSpace(user + " <" + clean(l.UserEmail) + ">")
		}
		row("User", user)
	}
	if l.ExpiresAt.IsZero() {
		row("Expires", "never")
	} else {
		row("Expires", l.ExpiresAt.UTC().Format(time.RFC3339))
	}
	limit := "unlimited"
	switch {
	case l.MaxMachinesOverride != nil:
		limit = strconv.Itoa(*l.MaxMachinesOverride) + " (override)"
	case p != nil && p.MaxMachines != nil:
		limit = strconv.Itoa(*p.MaxMachines)
	}
	row("Machines", fmt.Sprintf("%d of %s", l.MachineCount, limit))
	uses := strconv.Itoa(l.UsesCount)
	switch {
	case l.MaxUsesOverride != nil:
		uses += " of " + strconv.Itoa(*l.MaxUsesOverride) + " (override)"
	case p != nil && p.MaxUses != nil:
		uses += " of " + strconv.Itoa(*p.MaxUses)
	}
	row("Uses", uses)
	ents := append([]string{}, l.Entitlements...)
	if p != nil {
		ents = append(ents, p.Entitlements...)
	}
	slices.Sort(ents)
	ents = slices.Compact(ents)
	for i, e := range ents {
		ents[i] = clean(e)
	}
	if len(ents) == 0 {
		row("Entitlements", "(none)")
	} else {
		row("Entitlements", strings.Join(ents, ", "))
	}
	row("Created", l.CreatedAt.UTC().Format(time.RFC3339))
	if l.Machines != nil {
		ms := make([]*licentric.Machine, len(l.Machines))
		for i := range l.Machines {
			ms[i] = &l.Machines[i]
		}
		fmt.Fprintln(w)
		machineTable(w, ms, false)
	}
}

// named writes an id with its name, if it has one.
func named(id, name string) string {
	if name == "" {
		return clean(id)
	}
	return clean(id) + " (" + clean(name) + ")"
}
