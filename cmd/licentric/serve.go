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
protocol, with signed license files, webhooks, environments, scopes and
rate limits) as a standalone process on 127.0.0.1, so that tests in any
language can run against it. It prints one JSON line on stdout and serves
until it is interrupted (SIGINT or SIGTERM), then stops cleanly (exit 0):

  {"url": "http://127.0.0.1:PORT", "testKey": "lk_test_…", "liveKey": "lk_live_…",
   "publicKey": "<standard base64 of the raw 32-byte signing key>",
   "control": "<control URL>", "openapi": "<URL of the OpenAPI document>"}

url is the base URL without /api/v1; testKey and liveKey are full-access API
keys of this server only.

The API is served under {url}/api/v1. Its OpenAPI 3.1 document, at
{url}/api/v1/openapi.json (the "openapi" member; no authentication), lists
every path, method, parameter, request body and answer with its schema.
Three authentication schemes, in the Authorization header:

  Bearer lk_test_… / lk_live_…  an API key: management (products, policies,
                                licenses, ...), in the key's environment
  License <LICENSE-KEY>         the license's own key: what an application
                                does (activate, heartbeat, deactivate, check
                                out a license file)
  Bearer AGT-…                  an AI-agent token: POST /mcp/verify only

POST /api/v1/licenses/validate-key takes no authentication, or an API key.

Environments: every resource lives in "test" or "live". A license seeded
with --seed is in "test" unless the seed says "env": "live". An
unauthenticated validate-key, as an application client without an API key
sends it, looks the key up in "live", so it answers NOT_FOUND for a test
license: seed the license with "env": "live", or validate with testKey.

The control API, on the same listener (no authentication; it refuses
requests from web pages, and the server refuses a Host other than
127.0.0.1:PORT, localhost:PORT or [::1]:PORT):

  POST {control}/advance?seconds=N             move the server's clock forward
  POST {control}/ratelimits?enabled=0|1        turn rate limiting off or on
  POST {control}/keys?env=test|live&scopes=a,b → {"key": "..."}  a new API key
  POST {control}/ban?licenseId=ID              ban a license (no API does)
  GET  {control}/requests                      → [{"method", "path", "status"}]

--port 0 (the default) picks a free port. The server's clock runs with real
time from the start, and advance moves it forward; --frozen stops it at the
start, so that it moves only with advance. --seed creates fixtures from a
JSON file (see licentrictest.Server.SeedFile), for example:

  {"products": [{"name": "App", "code": "app", "policies": [{"name": "Std", "requireFingerprint": false,
    "licenses": [{"key": "APP-TEST-0001"}]}]}]}

The SDK's README ("Testing from another language") walks through it with
curl; docs/licentrictest.md says where this server differs from the live
service.
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
	OpenAPI   string `json:"openapi"`
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
			OpenAPI:   srv.OpenAPIURL(),
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
