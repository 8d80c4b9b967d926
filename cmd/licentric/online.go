package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/licentric/licentric-go"
)

// Environment variables the online commands read when the flags are not
// given.
const (
	envBaseURL    = "LICENTRIC_BASE_URL"
	envAPIKey     = "LICENTRIC_API_KEY"
	envLicenseKey = "LICENTRIC_LICENSE_KEY"
)

// connFlags are the flags of every command that talks to the service.
type connFlags struct {
	baseURL, apiKey string
	timeout         time.Duration
}

// register adds --base-url, --api-key and --timeout.
func (cf *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&cf.baseURL, "base-url", "", "the service's `URL` (default $"+envBaseURL+", else https://licentric.com)")
	fs.StringVar(&cf.apiKey, "api-key", "", "the API key `KEY` (default $"+envAPIKey+"; prefer the variable)")
	fs.DurationVar(&cf.timeout, "timeout", time.Minute, "give up on the service after this `duration`")
}

// resolve fills what the flags left empty from the environment, records
// the API key as a secret and checks the timeout.
func (cf *connFlags) resolve(c *cli) error {
	if cf.baseURL == "" {
		cf.baseURL = c.getenv(envBaseURL)
	}
	if cf.apiKey == "" {
		cf.apiKey = c.getenv(envAPIKey)
	}
	c.secret(cf.apiKey)
	if cf.timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	return nil
}

// client builds an SDK client for cf, with extra options last; withAPIKey
// leaves the API key out when false. A bad base URL or API key is a usage
// error.
func (c *cli) client(cf *connFlags, withAPIKey bool, extra ...licentric.Option) (*licentric.Client, error) {
	opts := []licentric.Option{licentric.WithUserAgent("licentric-cli/" + licentric.Version)}
	if cf.baseURL != "" {
		opts = append(opts, licentric.WithBaseURL(cf.baseURL))
	}
	if withAPIKey && cf.apiKey != "" {
		opts = append(opts, licentric.WithAPIKey(cf.apiKey))
	}
	if c.retry != nil {
		opts = append(opts, licentric.WithRetry(*c.retry))
	}
	client, err := licentric.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, &usageError{msg: err.Error()}
	}
	return client, nil
}

// apiClient builds a client for a management command, which needs an API
// key.
func (c *cli) apiClient(cf *connFlags) (*licentric.Client, error) {
	if err := cf.resolve(c); err != nil {
		return nil, err
	}
	if cf.apiKey == "" {
		return nil, usagef("no API key: set %s (or --api-key)", envAPIKey)
	}
	return c.client(cf, true)
}

// withTimeout bounds ctx by the --timeout.
func (cf *connFlags) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, cf.timeout)
}

// callFailed wraps the error of a request: an argument the SDK refused
// before sending is a usage error, anything else a failure of what.
func callFailed(what string, err error) error {
	if errors.Is(err, licentric.ErrInvalidArgument) {
		return &usageError{msg: err.Error()}
	}
	return fmt.Errorf("%s failed: %w", what, err)
}
