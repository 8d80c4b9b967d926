package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/licentric/licentric-go"
)

// Exit codes (see the package documentation).
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	exitExpired = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run executes the command line args (without the program name) and returns
// the exit code. Everything it touches comes in through its arguments, so it
// runs in-process in tests. It returns when the command is done; serve runs
// until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{stdout: stdout, stderr: stderr, getenv: getenv, now: time.Now}
	return c.run(ctx, args)
}

// cli is one invocation's environment. It is used by one goroutine.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// now is the verifier's clock (and the start of serve --frozen).
	now func() time.Time
	// retry, when set, replaces the SDK's retry policy (tests).
	retry *licentric.RetryPolicy

	// secrets are credentials this invocation read; every message is
	// scrubbed of them before it is printed.
	secrets []string
	// json points at the running command's --json flag, if it has one: a
	// failure is then also reported as a JSON document on stdout.
	json *bool
}

// An action runs a command with its parsed flags and positional arguments.
type action func(ctx context.Context, args []string) error

// command is a subcommand, or a group of them ("machines list").
type command struct {
	name    string // the full name, e.g. "machines list"
	summary string // one line, for the command list
	usage   string // the synopsis and description --help prints
	// setup registers the command's flags on its own flag set and returns
	// the action that runs once they are parsed.
	setup func(c *cli, fs *flag.FlagSet) action
	// subs makes the command a group of subcommands.
	subs []*command
	// raw, when set, takes the arguments unparsed and returns an exit code
	// (import parses its own flags and prints its own messages).
	raw func(c *cli, ctx context.Context, args []string) int
	// noExitCodes leaves the exit-code table out of the help (help, version).
	noExitCodes bool
}

// commandOrder lists the top-level commands in the order the usage shows them.
var commandOrder = [...]string{
	"fingerprint", "checkout", "verify", "offline", "machines", "licenses", "pin-key", "serve", "import", "help", "version",
}

// commands returns the top-level commands by name. It builds them afresh,
// so nothing is shared between invocations.
func commands() map[string]*command {
	list := []*command{
		fingerprintCommand(), checkoutCommand(), verifyCommand(), offlineCommand(), machinesCommand(), licensesCommand(),
		pinKeyCommand(), serveCommand(), importCommand(), helpCommand(), versionCommand(),
	}
	m := make(map[string]*command, len(list))
	for _, cmd := range list {
		if cmd != nil {
			m[cmd.name] = cmd
		}
	}
	return m
}

// sub returns group cmd's subcommand named name.
func (cmd *command) sub(name string) *command {
	for _, s := range cmd.subs {
		if s.name == cmd.name+" "+name {
			return s
		}
	}
	return nil
}

const exitCodesText = `Exit codes:
  0  success
  1  verification or the operation failed (the reason is on stderr)
  2  usage error
  3  the license file has expired: check out a new one
`

func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		c.usage(c.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		c.usage(c.stdout)
		return exitOK
	case "--version", "-version":
		args = append([]string{"version"}, args[1:]...)
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(c.stderr, "licentric: unknown command %q\nRun 'licentric help' for usage.\n", clean(args[0]))
		return exitUsage
	}
	return c.exec(ctx, cmd, args[1:])
}

// exec runs cmd with args and reports its outcome.
func (c *cli) exec(ctx context.Context, cmd *command, args []string) int {
	switch {
	case cmd.raw != nil:
		return cmd.raw(c, ctx, args)
	case cmd.subs != nil:
		if len(args) == 0 {
			return c.report(cmd, usagef("missing command: one of %s", subNames(cmd)))
		}
		if isHelpFlag(args[0]) {
			c.commandUsage(c.stdout, cmd)
			return exitOK
		}
		sub := cmd.sub(args[0])
		if sub == nil {
			return c.report(cmd, usagef("unknown command %q: one of %s", clean(args[0]), subNames(cmd)))
		}
		return c.exec(ctx, sub, args[1:])
	}
	fs := newFlagSet(cmd.name)
	act := cmd.setup(c, fs)
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		c.commandUsage(c.stdout, cmd)
		return exitOK
	}
	if err != nil {
		return c.report(cmd, &usageError{msg: err.Error()})
	}
	return c.report(cmd, act(ctx, pos))
}

func isHelpFlag(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

func subNames(cmd *command) string {
	names := make([]string, len(cmd.subs))
	for i, s := range cmd.subs {
		names[i] = strings.TrimPrefix(s.name, cmd.name+" ")
	}
	return strings.Join(names, ", ")
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args with fs, allowing positional arguments between
// flags, and returns the positional arguments. Everything after "--" is
// positional.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageError is a bad command line: exit code 2, with a pointer to --help.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a usage error.
func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// exitError is a failure with a particular exit code. A nil err means the
// command has already said why (or has nothing to say).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// report prints err, if any, and returns its exit code: 0 for nil, 2 for a
// usageError, the code of an exitError, else 1. Messages are scrubbed of the
// invocation's secrets and cleaned of control characters.
func (c *cli) report(cmd *command, err error) int {
	if err == nil {
		return exitOK
	}
	code := exitFailed
	var ue *usageError
	var ee *exitError
	switch {
	case errors.As(err, &ue):
		code = exitUsage
	case errors.As(err, &ee):
		code = ee.code
		if ee.err == nil {
			return code
		}
	}
	msg := c.redact(err.Error())
	fmt.Fprintf(c.stderr, "licentric %s: %s\n", cmd.name, cleanMessage(msg))
	if code == exitUsage {
		fmt.Fprintf(c.stderr, "Run 'licentric %s --help' for usage.\n", cmd.name)
	}
	if c.json != nil && *c.json {
		c.writeJSONError(msg, code, err)
	}
	return code
}

// secret records a credential so that no message shows it.
func (c *cli) secret(s string) {
	if len(s) >= 4 {
		c.secrets = append(c.secrets, s)
	}
}

// redact replaces every recorded secret in s by its redacted form.
func (c *cli) redact(s string) string {
	for _, k := range c.secrets {
		s = strings.ReplaceAll(s, k, redactKey(k))
	}
	return s
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprint(w, `licentric is the command-line tool for Licentric licensing: offline license
files for air-gapped machines, support actions on licenses and machines, key
pinning, and a local test server.

Usage:
  licentric <command> [flags] [arguments]

Commands:
`)
	cmds := commands()
	for _, name := range commandOrder {
		if cmd := cmds[name]; cmd != nil {
			fmt.Fprintf(w, "  %-12s %s\n", name, cmd.summary)
		}
	}
	fmt.Fprint(w, "\nRun 'licentric help <command>' or 'licentric <command> --help' for a command's flags.\n\n", exitCodesText)
}

// commandUsage prints cmd's help: its usage text, its flags or
// subcommands, and the exit codes.
func (c *cli) commandUsage(w io.Writer, cmd *command) {
	fmt.Fprint(w, cmd.usage)
	switch {
	case cmd.subs != nil:
		fmt.Fprint(w, "\nCommands:\n")
		for _, s := range cmd.subs {
			fmt.Fprintf(w, "  %-12s %s\n", strings.TrimPrefix(s.name, cmd.name+" "), s.summary)
		}
		fmt.Fprintf(w, "\nRun 'licentric %s <command> --help' for a command's flags.\n", cmd.name)
	case cmd.setup != nil:
		fs := newFlagSet(cmd.name)
		// A throwaway cli: registering flags must not touch this one.
		cmd.setup(&cli{stdout: io.Discard, stderr: io.Discard, getenv: c.getenv, now: c.now}, fs)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprint(w, "\nFlags:\n")
			fs.SetOutput(w)
			fs.PrintDefaults()
		}
	}
	if !cmd.noExitCodes {
		fmt.Fprint(w, "\n", exitCodesText)
	}
}

func helpCommand() *command {
	return &command{
		name:    "help",
		summary: "show help for a command",
		usage: `Usage: licentric help [command [subcommand]]

Prints the help of a command ('licentric help machines list'), or the list of
commands.
`,
		noExitCodes: true,
		setup: func(c *cli, fs *flag.FlagSet) action {
			return func(ctx context.Context, args []string) error {
				if len(args) == 0 {
					c.usage(c.stdout)
					return nil
				}
				cmd := commands()[args[0]]
				if cmd == nil {
					return usagef("unknown command %q", clean(args[0]))
				}
				for _, name := range args[1:] {
					if cmd.raw != nil || cmd.subs == nil {
						return usagef("%s has no subcommand %q", cmd.name, clean(name))
					}
					sub := cmd.sub(name)
					if sub == nil {
						return usagef("unknown command %q", clean(cmd.name+" "+name))
					}
					cmd = sub
				}
				if cmd.raw != nil {
					if code := cmd.raw(c, ctx, []string{"--help"}); code != exitOK {
						return &exitError{code: code}
					}
					return nil
				}
				c.commandUsage(c.stdout, cmd)
				return nil
			}
		},
	}
}

func versionCommand() *command {
	return &command{
		name:        "version",
		summary:     "print the version",
		usage:       "Usage: licentric version [--json]\n\nPrints the version of licentric (and of the SDK it is built from).\n",
		noExitCodes: true,
		setup: func(c *cli, fs *flag.FlagSet) action {
			asJSON := c.jsonFlag(fs)
			return func(_ context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", clean(args[0]))
				}
				if *asJSON {
					return c.writeJSON(struct {
						Version string `json:"version"`
					}{licentric.Version})
				}
				fmt.Fprintf(c.stdout, "licentric %s\n", licentric.Version)
				return nil
			}
		},
	}
}

// clean makes untrusted text (from arguments or a license file) safe to
// print on a terminal: control and formatting characters (such as
// bidirectional overrides) become '?', and it is cut at 200 runes.
func clean(s string) string { return cleanN(s, 200) }

// cleanMessage cleans an error message, which may be longer.
func cleanMessage(s string) string { return cleanN(s, 2000) }

func cleanN(s string, limit int) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == limit {
			b.WriteString("…")
			break
		}
		if !unicode.IsPrint(r) {
			r = '?'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
