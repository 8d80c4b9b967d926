package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/offline"
)

const serveUsage = `Usage: licentric serve [--port N] [--frozen] [--no-rate-limits] [--seed FILE.json]

Runs the Licentric test server (package licentrictest: the whole wire
contract, with signed license files, webhooks, environments, scopes and
rate limits) as a standalone process on 127.0.0.1, so that tests in any
language can run against it. It prints one JSON line on stdout and serves
until it is interrupted (SIGINT or SIGTERM), then stops cleanly (exit 0):

  {"url": "http://127.0.0.1:PORT", "testKey": "lk_test_…", "liveKey": "lk_live_…",
   "publicKey": "<standard base64 of the raw 32-byte signing key>",
   "control": "<control URL>"}

url is the base URL without /api/v1; testKey and liveKey are full-access API
keys of this server only. The control API, on the same listener:

  POST {control}/advance?seconds=N             move the server's clock forward
  POST {control}/ratelimits?enabled=0|1        turn rate limiting off or on
  POST {control}/keys?env=test|live&scopes=a,b → {"key": "..."}  a new API key
  POST {control}/ban?licenseId=ID              ban a license (no API does)
  GET  {control}/requests                      → [{"method", "path", "status"}]

--port 0 (the default) picks a free port. The server's clock runs with real
time from the start, and advance moves it forward; --frozen stops it at the
start, so that it moves only with advance. --seed creates fixtures from a
JSON file (see licentrictest.Server.SeedFile).
`

func serveCommand() *command {
	return &command{
		name:    "serve",
		summary: "run a local Licentric test server for other languages' tests",
		usage:   serveUsage,
		setup:   (*cli).serve,
	}
}

// serveInfo is the JSON line serve prints.
type serveInfo struct {
	URL       string `json:"url"`
	TestKey   string `json:"testKey"`
	LiveKey   string `json:"liveKey"`
	PublicKey string `json:"publicKey"`
	Control   string `json:"control"`
}

func (c *cli) serve(fs *flag.FlagSet) action {
	var (
		port             int
		frozen, noLimits bool
		seed             string
	)
	fs.IntVar(&port, "port", 0, "listen on 127.0.0.1:`N` (0: a free port)")
	fs.BoolVar(&frozen, "frozen", false, "stop the server's clock; only the control API's advance moves it")
	fs.BoolVar(&noLimits, "no-rate-limits", false, "turn rate limiting off (the headers are still sent)")
	fs.StringVar(&seed, "seed", "", "create fixtures from the JSON `FILE` first")
	// serve always prints JSON; --json is accepted for uniformity.
	c.jsonFlag(fs)
	return func(ctx context.Context, args []string) error {
		switch {
		case len(args) > 0:
			return usagef("unexpected argument %q", clean(args[0]))
		case port < 0 || port > 65535:
			return usagef("--port must be 0 to 65535")
		}
		opts := []licentrictest.Option{licentrictest.WithAddr(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))}
		if frozen {
			opts = append(opts, licentrictest.WithFrozenClock(c.now().UTC().Truncate(time.Millisecond)))
		}
		if noLimits {
			opts = append(opts, licentrictest.WithoutRateLimits())
		}
		srv, err := licentrictest.Start(opts...)
		if err != nil {
			return fmt.Errorf("starting the server: %w", err)
		}
		defer srv.Close()
		if seed != "" {
			if err := srv.SeedFile(seed); err != nil {
				return fmt.Errorf("seeding from %s: %w", clean(seed), err)
			}
		}
		line, err := json.Marshal(serveInfo{
			URL:       srv.URL,
			TestKey:   srv.TestAPIKey(),
			LiveKey:   srv.LiveAPIKey(),
			PublicKey: offline.MarshalPublicKey(srv.PublicKey()),
			Control:   srv.ControlURL(),
		})
		if err != nil {
			return err
		}
		// stderr first: a reader that has the line has the notice too.
		fmt.Fprintf(c.stderr, "licentric serve: serving on %s; stop with Ctrl-C or SIGTERM\n", srv.URL)
		if _, err := c.stdout.Write(append(line, '\n')); err != nil {
			return fmt.Errorf("writing the server's address: %w", err)
		}
		<-ctx.Done()
		return nil
	}
}
