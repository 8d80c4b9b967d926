// Command telemetry runs the quickstart's licensing flow with OpenTelemetry:
// a client reporting to licentricotel's observer, whose metrics and spans
// go to the SDK's stdout exporters. It prints each span as it ends (one
// JSON line: name "{METHOD} {url.template}", HTTP attributes, the
// validation's licentric.code), then every metric once at the end.
//
// By default it starts an in-process Licentric server (licentrictest), so it
// needs no account and no network. With LICENTRIC_BASE_URL and
// LICENTRIC_API_KEY set (use an lk_test_ key), it runs against that instance
// instead and creates a product, policy and license there.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentricotel"
	"github.com/licentric/licentric-go/licentrictest"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "telemetry:", err)
		os.Exit(1)
	}
}

// thisMachine stands for fingerprint.Compute's answer (see the quickstart).
const thisMachine = "telemetry-example-fingerprint-0001"

// run runs the flow, writing the steps and the exporters' output to out.
func run(ctx context.Context, out io.Writer) (err error) {
	baseURL, apiKey := os.Getenv("LICENTRIC_BASE_URL"), os.Getenv("LICENTRIC_API_KEY")
	if baseURL == "" || apiKey == "" {
		srv := licentrictest.NewServer()
		defer srv.Close()
		baseURL, apiKey = srv.URL, srv.TestAPIKey()
	}

	// The application's OpenTelemetry setup: spans printed as they end,
	// metrics collected by a periodic reader (exported at the end), and the
	// W3C trace context sent with each request.
	spanExp, err := stdouttrace.New(stdouttrace.WithWriter(out))
	if err != nil {
		return err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spanExp))
	defer func() { err = errors.Join(err, tp.Shutdown(context.Background())) }()
	metricExp, err := stdoutmetric.New(stdoutmetric.WithWriter(out), stdoutmetric.WithPrettyPrint())
	if err != nil {
		return err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExp)))
	defer mp.Shutdown(context.Background()) // on an early return; the end shuts it down itself
	otel.SetTextMapPropagator(propagation.TraceContext{})

	// The licensing client reports to the observer.
	obs, err := licentricotel.NewObserver(licentricotel.WithMeterProvider(mp), licentricotel.WithTracerProvider(tp))
	if err != nil {
		return err
	}
	defer obs.Close()
	client, err := licentric.NewClient(licentric.WithBaseURL(baseURL), licentric.WithAPIKey(apiKey),
		licentric.WithObserver(obs))
	if err != nil {
		return err
	}

	key, err := provision(ctx, client)
	if err != nil {
		return err
	}
	step := func(what string, got, want licentric.Code, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		fmt.Fprintf(out, "# %s: %s\n", what, got)
		if got != want {
			return fmt.Errorf("%s: %s, expected %s", what, got, want)
		}
		return nil
	}
	validate := func(what, key string, want licentric.Code) error {
		v, err := client.Validate(ctx, key, licentric.WithFingerprint(thisMachine))
		if err != nil {
			return step(what, "", want, err)
		}
		return step(what, v.Code, want, nil)
	}
	if err := validate("validate this machine", key, licentric.CodeFingerprintNotFound); err != nil {
		return err
	}
	if _, err := client.Activate(ctx, key, licentric.ActivateParams{Fingerprint: thisMachine}); err != nil {
		return fmt.Errorf("activate: %w", err)
	}
	fmt.Fprintln(out, "# activated this machine")
	if err := validate("validate this machine (the service)", key, licentric.CodeValid); err != nil {
		return err
	}
	if err := validate("validate again (the cache: no span)", key, licentric.CodeValid); err != nil {
		return err
	}
	if _, err := client.Licenses.GetByKey(ctx, key); err != nil {
		return fmt.Errorf("get the license by key: %w", err)
	}
	fmt.Fprintln(out, "# got the license by its key (span: GET /api/v1/licenses/by-key/{key})")
	if err := validate("validate an unknown key", "TEL-UNKN-OWN0-0000-0000", licentric.CodeNotFound); err != nil {
		return err
	}

	// A guard built on the client reports its state (licentric.guard.allowed).
	g, err := licentric.NewGuard(client, key, licentric.WithActivateParams(licentric.ActivateParams{Fingerprint: thisMachine}))
	if err != nil {
		return err
	}
	defer g.Close(context.Background())
	st, err := g.Start(ctx)
	if err := step("start a guard", st.Code, licentric.CodeValid, err); err != nil {
		return err
	}

	// Shutting the meter provider down exports what it recorded, once. (The
	// deferred Closes of the guard and the observer come after it: until
	// then the guard's gauges and the validations' counter are reported.)
	fmt.Fprintln(out, "# metrics")
	return mp.Shutdown(ctx)
}

// provision creates a product, a policy allowing two machines, and a
// license; it returns the license's key.
func provision(ctx context.Context, client *licentric.Client) (string, error) {
	product, err := client.Products.Create(ctx, &licentric.ProductRequest{
		Name:      licentric.Value("Telemetry App"),
		Code:      licentric.Value("telemetry-" + rand.Text()[:8]),
		KeyPrefix: licentric.Value("TEL"),
	})
	if err != nil {
		return "", fmt.Errorf("create product: %w", err)
	}
	policy, err := client.Policies.Create(ctx, &licentric.PolicyRequest{
		ProductID:   licentric.Value(product.ID),
		Name:        licentric.Value("Two machines"),
		MaxMachines: licentric.Value(2),
	})
	if err != nil {
		return "", fmt.Errorf("create policy: %w", err)
	}
	lic, err := client.Licenses.Create(ctx, &licentric.LicenseRequest{ProductID: licentric.Value(product.ID), PolicyID: licentric.Value(policy.ID)})
	if err != nil {
		return "", fmt.Errorf("create license: %w", err)
	}
	return lic.Key, nil
}
