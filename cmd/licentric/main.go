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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run executes the command line args (without the program name) and returns
// the exit code. Everything it touches comes in through its arguments, so it
// runs in-process in tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{stdout: stdout, stderr: stderr, getenv: getenv, now: time.Now}
	return c.run(ctx, args)
}

// cli is one invocation's environment.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// now is the verifier's clock.
	now func() time.Time
	// retry, when set, replaces the SDK's retry policy (tests).
	retry *licentric.RetryPolicy
}

// command is a subcommand: its one-line summary, usage text and action.
type command struct {
	summary string
	usage   string // the synopsis and description printed by --help
	run     func(c *cli, ctx context.Context, name string, args []string) int
}

func commands() map[string]*command {
	return map[string]*command{
		"fingerprint": {
			summary: "print this machine's fingerprint for an application ID",
			usage:   fingerprintUsage,
			run:     (*cli).fingerprint,
		},
		"verify": {
			summary: "verify a license file offline and print what it grants",
			usage:   verifyUsage,
			run:     (*cli).verify,
		},
		"checkout": {
			summary: "check out a license file (online), verify it and save it",
			usage:   checkoutUsage,
			run:     (*cli).checkout,
		},
	}
}

// commandOrder lists the commands in the order the usage shows them.
var commandOrder = [...]string{"fingerprint", "checkout", "verify"}

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
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			c.usage(c.stdout)
			return exitOK
		}
		cmd, ok := commands()[rest[0]]
		if !ok || len(rest) > 1 {
			fmt.Fprintf(c.stderr, "licentric help: unknown command %q\nRun 'licentric help' for usage.\n", clean(rest[0]))
			return exitUsage
		}
		c.commandUsage(c.stdout, rest[0], cmd, nil)
		return exitOK
	case "version", "--version", "-version":
		fmt.Fprintf(c.stdout, "licentric %s\n", licentric.Version)
		return exitOK
	}
	cmd, ok := commands()[name]
	if !ok {
		fmt.Fprintf(c.stderr, "licentric: unknown command %q\nRun 'licentric help' for usage.\n", clean(name))
		return exitUsage
	}
	return cmd.run(c, ctx, name, rest)
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprint(w, "licentric handles Licentric offline license files.\n\nUsage:\n  licentric <command> [flags] [arguments]\n\nCommands:\n")
	cmds := commands()
	for _, name := range commandOrder {
		fmt.Fprintf(w, "  %-12s %s\n", name, cmds[name].summary)
	}
	fmt.Fprintf(w, "  %-12s %s\n  %-12s %s\n\n", "help", "show help for a command", "version", "print the version")
	fmt.Fprint(w, "Run 'licentric <command> --help' for a command's flags.\n\n", exitCodesText)
}

// commandUsage prints a command's help; fs, when given, adds its flags.
func (c *cli) commandUsage(w io.Writer, name string, cmd *command, fs *flag.FlagSet) {
	if fs == nil {
		fs = flag.NewFlagSet(name, flag.ContinueOnError)
		newFlags(fs, name)
	}
	fmt.Fprint(w, cmd.usage, "\nFlags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprint(w, "\n", exitCodesText)
}

// parse parses args with command name's flags, allowing positional
// arguments between flags. It returns the flags' values and the positional
// arguments, or an exit code when the command should stop: exitOK after
// --help, exitUsage after a bad flag.
func (c *cli) parse(name string, args []string) (*options, []string, int, bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	o := newFlags(fs, name)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			c.commandUsage(c.stdout, name, commands()[name], fs)
			return nil, nil, exitOK, false
		}
		if err != nil {
			return nil, nil, c.usageError(name, "%v", err), false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return o, pos, 0, true
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return o, append(pos, rest...), 0, true
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageError reports a usage error and returns exitUsage.
func (c *cli) usageError(name, format string, a ...any) int {
	fmt.Fprintf(c.stderr, "licentric %s: %s\nRun 'licentric %s --help' for usage.\n", name, fmt.Sprintf(format, a...), name)
	return exitUsage
}

// fail reports a failure and returns code.
func (c *cli) fail(name string, code int, err error) int {
	fmt.Fprintf(c.stderr, "licentric %s: %v\n", name, err)
	return code
}

// clean makes untrusted text (from arguments or a license file) safe to
// print on a terminal: control and formatting characters (such as
// bidirectional overrides) become '?', and it is cut at 200 runes.
func clean(s string) string {
	const limit = 200
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
