package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/schollz/progressbar/v3"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/internal/atomicfile"
	"github.com/licentric/licentric-go/migrate"
)

const importUsageText = `Usage: licentric import keygen --from DIR [flags]
       licentric import keygen --keygen-url URL --keygen-account ID [flags]   (token in KEYGEN_TOKEN)
       licentric import cryptlex --licenses FILE.csv --products FILE.json [flags]

Imports products, entitlements, policies, licenses and machines from Keygen
or Cryptlex into the environment of the API key (LICENTRIC_API_KEY; use an
lk_test_ key for a rehearsal). License keys are kept byte for byte, statuses
are kept (suspended and revoked after creation, never revived), and every
record carries its source in metadata._source.

First the whole source is read, mapped and checked against the target (no
writes), and a summary is printed with every warning and rejection; then,
after a confirmation (or --yes), the records are created in dependency order
through the management API, within its 120 requests a minute (10,000
licenses take over 80 minutes; machine activations are limited to 10 a
minute). Each imported record is appended to the journal at once, so an
interrupted import (Ctrl-C, a crash, an outage) is resumed by running the
same command again: nothing is duplicated and nothing is lost.

keygen --from DIR reads a directory of saved Keygen list responses (JSON:API
pages of /products, /entitlements, /policies, /users, /licenses, /machines and
the /policies/{id}/entitlements and /licenses/{id}/entitlements lists).
keygen --keygen-account reads the same through the Keygen API
(Keygen-Version 1.8, paged by links.next; default URL https://api.keygen.sh)
with the token in KEYGEN_TOKEN. cryptlex reads the licenses CSV export and the
products JSON. The mapping and its rules are documented in package migrate
(go doc github.com/licentric/licentric-go/migrate).

Flags:
  --dry-run               read, map and check only; write nothing (not even the journal)
  --journal FILE          the journal (default licentric-import-<source>.journal)
  --report FILE           write the report as JSON lines to FILE (mode 0600)
  --yes                   import without asking after the summary
  --base-url URL          the service (default $LICENTRIC_BASE_URL, else https://licentric.com)
  --api-key KEY           the API key (default $LICENTRIC_API_KEY; prefer the variable)
  --rate N                management requests a minute (default: the service's 120); lower it
                          when other programs use the same API key meanwhile
  --max-records N         read at most N records from the source (default 300000)
  --max-source-mb N       read at most N MiB from the source (default 512)
  --product-map S=ID      use the target's product ID for the source product S (its id or
                          code) instead of creating one; repeatable. A product whose code
                          the target has already is used without it
  --from DIR              keygen: the directory of saved list responses
  --keygen-url URL        keygen: the Keygen API (default https://api.keygen.sh)
  --keygen-account ID     keygen: the Keygen account id or slug
  --skip-dead-machines    keygen: leave out machines whose heartbeat is DEAD
  --email-metadata-key K  keygen: take a license's email from metadata key K when it has no owner
  --licenses FILE         cryptlex: the licenses CSV
  --products FILE         cryptlex: the products JSON

The whole source is held in memory while it is checked: about 7 KB a record,
so the defaults (300,000 records, 512 MiB) need about 2 GB of memory and fit an
ordinary machine; a larger source stops with "source too large" before
anything is written. Raise --max-records and --max-source-mb on a machine
with the memory (a Keygen API that pages forever stops at the caps too).

Progress goes to stdout: a progress bar with rate and ETA on a terminal,
plain lines at every tenth of the records otherwise.

Exit codes:
  0  every record was imported (with --dry-run: every record would be)
  1  some records were rejected or failed, the import was interrupted or
     declined, or the source could not be read; the summary says which, and
     running the same command again resumes
  2  usage error
`

// importFlags are the flags of "licentric import <source>".
type importFlags struct {
	dryRun, yes                    bool
	journal, report                string
	baseURL, apiKey                string
	from, keygenURL, keygenAccount string
	skipDead                       bool
	emailKey                       string
	licensesCSV, productsJSON      string
	rate                           int
	maxRecords, maxSourceMB        int
	productMap                     productMapFlag
}

// productMapFlag is --product-map SOURCE=TARGET_ID, repeatable.
type productMapFlag map[string]string

func (m *productMapFlag) String() string { return "" }

func (m *productMapFlag) Set(v string) error {
	src, target, ok := strings.Cut(v, "=")
	src, target = strings.TrimSpace(src), strings.TrimSpace(target)
	if !ok || src == "" || target == "" {
		return errors.New("--product-map takes SOURCE=TARGET_ID (a source product's id or code, and the target product's id)")
	}
	if *m == nil {
		*m = productMapFlag{}
	}
	if _, dup := (*m)[src]; dup {
		return fmt.Errorf("--product-map maps %q twice", src)
	}
	(*m)[src] = target
	return nil
}

// runImport is "licentric import keygen|cryptlex ...": it returns the exit
// code and prints everything itself.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	r := &importRun{stdout: stdout, stderr: stderr, getenv: getenv}
	return r.run(ctx, args)
}

type importRun struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	secrets        []string
}

func (r *importRun) usageError(format string, a ...any) int {
	fmt.Fprintf(r.stderr, "licentric import: %s\nRun 'licentric import --help' for usage.\n", truncateRunes(r.scrub(fmt.Sprintf(format, a...)), 2000))
	return exitUsage
}

func (r *importRun) fail(format string, a ...any) int {
	fmt.Fprintf(r.stderr, "licentric import: %s\n", truncateRunes(r.scrub(fmt.Sprintf(format, a...)), 2000))
	return exitFailed
}

// scrub removes the credentials this run read from s and makes it safe to
// print on a terminal.
func (r *importRun) scrub(s string) string {
	for _, sec := range r.secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return importPrintable(s)
}

// importPrintable replaces control and formatting characters with '?',
// keeping newlines.
func importPrintable(s string) string {
	return strings.Map(func(c rune) rune {
		if c != '\n' && !unicode.IsPrint(c) {
			return '?'
		}
		return c
	}, s)
}

func (r *importRun) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(r.stderr, importUsageText)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(r.stdout, importUsageText)
		return exitOK
	case migrate.SystemKeygen, migrate.SystemCryptlex:
	default:
		return r.usageError("unknown source %q: use keygen or cryptlex", importPrintable(truncateRunes(args[0], 40)))
	}
	system := args[0]
	var o importFlags
	fs := flag.NewFlagSet("import "+system, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.BoolVar(&o.dryRun, "dry-run", false, "")
	fs.BoolVar(&o.yes, "yes", false, "")
	fs.StringVar(&o.journal, "journal", "", "")
	fs.StringVar(&o.report, "report", "", "")
	fs.StringVar(&o.baseURL, "base-url", "", "")
	fs.StringVar(&o.apiKey, "api-key", "", "")
	fs.IntVar(&o.rate, "rate", 0, "")
	fs.IntVar(&o.maxRecords, "max-records", migrate.DefaultMaxRecords, "")
	fs.IntVar(&o.maxSourceMB, "max-source-mb", migrate.DefaultMaxSourceBytes>>20, "")
	fs.Var(&o.productMap, "product-map", "")
	if system == migrate.SystemKeygen {
		fs.StringVar(&o.from, "from", "", "")
		fs.StringVar(&o.keygenURL, "keygen-url", "", "")
		fs.StringVar(&o.keygenAccount, "keygen-account", "", "")
		fs.BoolVar(&o.skipDead, "skip-dead-machines", false, "")
		fs.StringVar(&o.emailKey, "email-metadata-key", "", "")
	} else {
		fs.StringVar(&o.licensesCSV, "licenses", "", "")
		fs.StringVar(&o.productsJSON, "products", "", "")
	}
	err := fs.Parse(args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(r.stdout, importUsageText)
		return exitOK
	}
	if err != nil {
		return r.usageError("%v", err)
	}
	if fs.NArg() > 0 {
		return r.usageError("unexpected argument %q", importPrintable(truncateRunes(fs.Arg(0), 60)))
	}
	switch {
	case o.rate < 0:
		return r.usageError("--rate must be positive")
	case o.maxRecords < 1:
		return r.usageError("--max-records must be at least 1")
	case o.maxSourceMB < 1 || o.maxSourceMB > 1<<30:
		return r.usageError("--max-source-mb must be from 1 to %d", 1<<30)
	}
	if o.baseURL == "" {
		o.baseURL = r.getenv("LICENTRIC_BASE_URL")
	}
	if o.apiKey == "" {
		o.apiKey = r.getenv("LICENTRIC_API_KEY")
	}
	r.secrets = append(r.secrets, o.apiKey)

	src, code, ok := r.source(system, &o)
	if !ok {
		return code
	}
	if o.journal == "" {
		o.journal = "licentric-import-" + system + ".journal"
	}

	var client *licentric.Client
	switch {
	case o.apiKey == "" && !o.dryRun:
		return r.usageError("no API key: set LICENTRIC_API_KEY (or --api-key); --dry-run works without one, but then does not check the target")
	case o.apiKey != "":
		opts := []licentric.Option{licentric.WithUserAgent("licentric-cli/" + licentric.Version + " import"), licentric.WithAPIKey(o.apiKey)}
		if o.baseURL != "" {
			opts = append(opts, licentric.WithBaseURL(o.baseURL))
		}
		if o.rate > 0 {
			opts = append(opts, licentric.WithRateBudget(licentric.TierManagement, o.rate))
		}
		client, err = licentric.NewClient(opts...)
		if err != nil {
			return r.usageError("%v", err)
		}
	}

	var journal *migrate.Journal
	if o.dryRun {
		journal, err = migrate.ReadJournal(o.journal)
	} else {
		journal, err = migrate.OpenJournal(o.journal)
	}
	if err != nil {
		return r.fail("%v", err)
	}
	defer journal.Close()

	fmt.Fprintf(r.stdout, "Reading the %s export and checking it against the target...\n", system)
	plan, err := migrate.NewPlan(ctx, src, client, &migrate.PlanOptions{
		Journal: journal, MaxRecords: o.maxRecords, MaxSourceBytes: int64(o.maxSourceMB) << 20,
		ProductMap: o.productMap,
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return r.fail("interrupted while reading the source; nothing was imported")
	case errors.Is(err, licentric.ErrInvalidArgument):
		return r.usageError("%v", err)
	case errors.Is(err, migrate.ErrSourceTooLarge):
		return r.fail("%v; nothing was imported. On a machine with the memory (about 7 KB a record), raise --max-records or --max-source-mb", err)
	case err != nil:
		return r.fail("%v", err)
	}
	if client == nil {
		fmt.Fprintln(r.stdout, "No API key: the plan is not checked against a target.")
	}
	var out bytes.Buffer
	_ = plan.WriteText(&out)
	fmt.Fprint(r.stdout, r.scrub(out.String()))

	var report bytes.Buffer
	_ = plan.WriteJSONLines(&report)
	writeReport := func() int {
		if o.report == "" {
			return exitOK
		}
		if err := atomicfile.Write(o.report, report.Bytes(), atomicfile.DefaultPerm); err != nil {
			return r.fail("write the report: %v", err)
		}
		fmt.Fprintf(r.stdout, "Report written to %s.\n", importPrintable(o.report))
		return exitOK
	}

	if o.dryRun {
		fmt.Fprintln(r.stdout, "Dry run: nothing was written.")
		if c := writeReport(); c != exitOK {
			return c
		}
		if plan.Rejected() > 0 {
			return exitFailed
		}
		return exitOK
	}

	if n := plan.ToImport(); n > 0 && !o.yes {
		code, ok := r.confirm(fmt.Sprintf("Import %d record(s) into the %s? [y/N] ", n, plan.Target))
		if !ok {
			_ = writeReport()
			return code
		}
	}

	fmt.Fprintf(r.stdout, "Importing; the journal is %s (run the same command again to resume).\n", importPrintable(o.journal))
	prog := newImportProgress(r.stdout)
	res, err := migrate.Apply(ctx, client, plan, journal, migrate.WithProgress(prog.update))
	prog.finish()
	if res != nil {
		out.Reset()
		_ = res.WriteText(&out)
		fmt.Fprint(r.stdout, r.scrub(out.String()))
		_ = res.WriteJSONLines(&report)
	}
	if c := writeReport(); c != exitOK {
		return c
	}
	switch {
	case err != nil && ctx.Err() != nil:
		return r.fail("interrupted; the journal %s is consistent: run the same command again to finish", importPrintable(o.journal))
	case err != nil:
		return r.fail("%v; run the same command again to resume", err)
	case plan.Rejected() > 0 || res.Failed() > 0:
		fmt.Fprintf(r.stdout, "Done, with %d rejected and %d failed record(s).\n", plan.Rejected(), res.Failed())
		return exitFailed
	}
	fmt.Fprintln(r.stdout, "Done: every record is imported.")
	return exitOK
}

// source builds the migration source from the flags.
func (r *importRun) source(system string, o *importFlags) (migrate.Source, int, bool) {
	if system == migrate.SystemCryptlex {
		switch {
		case o.licensesCSV == "":
			return nil, r.usageError("--licenses FILE.csv is required"), false
		case o.productsJSON == "":
			return nil, r.usageError("--products FILE.json is required"), false
		}
		return &migrate.Cryptlex{LicensesCSV: o.licensesCSV, ProductsJSON: o.productsJSON}, 0, true
	}
	k := &migrate.Keygen{SkipDeadMachines: o.skipDead, EmailMetadataKey: o.emailKey}
	switch {
	case o.from != "" && (o.keygenURL != "" || o.keygenAccount != ""):
		return nil, r.usageError("give either --from DIR or --keygen-account (with --keygen-url), not both"), false
	case o.from != "":
		k.Dir = o.from
	case o.keygenAccount != "":
		k.BaseURL, k.Account = o.keygenURL, o.keygenAccount
		k.Token = r.getenv("KEYGEN_TOKEN")
		r.secrets = append(r.secrets, k.Token)
		if k.Token == "" {
			return nil, r.usageError("reading the Keygen API needs a token in KEYGEN_TOKEN"), false
		}
	case o.keygenURL != "":
		return nil, r.usageError("--keygen-url needs --keygen-account"), false
	default:
		return nil, r.usageError("give --from DIR or --keygen-account ID"), false
	}
	return k, 0, true
}

// confirm asks on the terminal; without one, --yes is needed.
func (r *importRun) confirm(question string) (int, bool) {
	if !isTerminal(os.Stdin) {
		return r.usageError("standard input is not a terminal, so the import cannot be confirmed: pass --yes"), false
	}
	fmt.Fprint(r.stdout, question)
	line, _ := bufio.NewReader(io.LimitReader(os.Stdin, 256)).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return 0, true
	}
	fmt.Fprintln(r.stdout, "Nothing was imported.")
	return exitFailed, false
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	if f == nil {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// importProgress shows Apply's progress: a bar with rate and ETA on a
// terminal, a plain line at every tenth of the records (and at the end)
// otherwise.
type importProgress struct {
	w        io.Writer
	bar      *progressbar.ProgressBar
	lastStep int
	last     migrate.Progress
	started  bool
}

func newImportProgress(w io.Writer) *importProgress {
	p := &importProgress{w: w}
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		p.bar = progressbar.NewOptions(1,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("importing"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("records"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetWidth(30),
		)
	}
	return p
}

func (p *importProgress) update(pr migrate.Progress) {
	p.last, p.started = pr, true
	if p.bar != nil {
		if p.bar.GetMax() != pr.Total && pr.Total > 0 {
			p.bar.ChangeMax(pr.Total)
		}
		p.bar.Describe("importing " + string(pr.Kind) + "s")
		_ = p.bar.Set(pr.Done)
		return
	}
	if pr.Total == 0 {
		return
	}
	step := pr.Done * 10 / pr.Total
	if step > p.lastStep {
		p.lastStep = step
		p.line(pr)
	}
}

func (p *importProgress) line(pr migrate.Progress) {
	rate := 0.0
	if m := pr.Elapsed.Minutes(); m > 0 {
		rate = float64(pr.Done) / m
	}
	eta := "unknown"
	if rate > 0 {
		eta = (time.Duration(float64(pr.Total-pr.Done) / rate * float64(time.Minute))).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "progress: %d/%d records (%d%%), %d failed, %.1f records/min, ETA %s\n",
		pr.Done, pr.Total, pr.Done*100/pr.Total, pr.Failed, rate, eta)
}

func (p *importProgress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
		return
	}
	if p.started && p.lastStep < 10 {
		p.line(p.last)
	}
}
