// Command quickstart walks through the licensing flow an application goes
// through: validate, activate, hit the machine limit, free a slot, and see a
// suspension take effect.
//
// By default it starts an in-process Licentric server (licentrictest), so it
// needs no account and no network. With LICENTRIC_BASE_URL and
// LICENTRIC_API_KEY set (use an lk_test_ key), it runs against that instance
// instead and creates a product, policy and license there.
//
// It prints each step and exits 0 only if every step gave the expected result.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/fingerprint"
	"github.com/licentric/licentric-go/licentrictest"
)

const appID = "com.example.quickstart"

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	baseURL, apiKey := os.Getenv("LICENTRIC_BASE_URL"), os.Getenv("LICENTRIC_API_KEY")
	if baseURL == "" || apiKey == "" {
		srv := licentrictest.NewServer()
		defer srv.Close()
		baseURL, apiKey = srv.URL, srv.TestAPIKey()
		fmt.Println("Using an in-process Licentric server at", baseURL)
	} else {
		fmt.Println("Using the Licentric instance at", baseURL)
	}

	// A vendor's back end and the licensed application would each have a
	// client; here one client with a test API key plays both parts, so it
	// sees the test environment's licenses.
	client, err := licentric.NewClient(
		licentric.WithBaseURL(baseURL),
		licentric.WithAPIKey(apiKey),
	)
	if err != nil {
		return err
	}

	// This machine's fingerprint: a hash of the OS machine ID keyed to this
	// application, or of a random ID kept in a state directory where the OS
	// has none (containers).
	thisMachine, err := fingerprint.Compute(appID,
		fingerprint.WithStateDir(filepath.Join(os.TempDir(), "licentric-quickstart")))
	if err != nil {
		return fmt.Errorf("fingerprint: %w", err)
	}
	laptop, desktop := "laptop-fingerprint-0002", "desktop-fingerprint-0003"

	lic, err := provision(ctx, client)
	if err != nil {
		return err
	}
	fmt.Printf("Created license %s (policy: at most 2 machines)\n\n", redact(lic.Key))

	s := &steps{}
	validate := func(step, fp string, want licentric.Code) {
		v, err := client.Validate(ctx, lic.Key, licentric.WithFingerprint(fp))
		if err != nil {
			s.check(step, "error: "+err.Error(), string(want))
			return
		}
		s.check(step, string(v.Code), string(want))
	}
	activate := func(step, fp string, wantErr error) *licentric.Machine {
		m, err := client.Activate(ctx, lic.Key, licentric.ActivateParams{Fingerprint: fp, Name: step})
		switch {
		case wantErr == nil && err == nil:
			s.check(step, "activated", "activated")
		case wantErr == nil:
			s.check(step, "error: "+err.Error(), "activated")
		case errors.Is(err, wantErr):
			// Print the service's code (MACHINE_LIMIT_EXCEEDED), as a
			// support person would look it up.
			code := wantErr.Error()
			var apiErr *licentric.APIError
			if errors.As(err, &apiErr) && apiErr.Code != "" {
				code = apiErr.Code
			}
			s.check(step, "refused: "+code, "refused: "+code)
		default:
			s.check(step, fmt.Sprintf("%v", err), "refused: "+wantErr.Error())
		}
		return m
	}

	validate("validate this machine", thisMachine, licentric.CodeFingerprintNotFound)
	activate("activate this machine", thisMachine, nil)
	validate("validate this machine", thisMachine, licentric.CodeValid)
	second := activate("activate a laptop", laptop, nil)
	activate("activate a third machine", desktop, licentric.ErrMachineLimitExceeded)
	if second != nil {
		err := client.Deactivate(ctx, lic.Key, second.ID)
		s.check("deactivate the laptop", errString(err, "deactivated"), "deactivated")
	}
	activate("activate the third machine again", desktop, nil)

	_, err = client.Licenses.Suspend(ctx, lic.ID)
	s.check("suspend the license", errString(err, "suspended"), "suspended")
	validate("validate this machine", thisMachine, licentric.CodeSuspended)
	_, err = client.Licenses.Reinstate(ctx, lic.ID)
	s.check("reinstate the license", errString(err, "reinstated"), "reinstated")
	validate("validate this machine", thisMachine, licentric.CodeValid)

	if s.failed > 0 {
		return fmt.Errorf("%d of %d steps did not give the expected result", s.failed, s.n)
	}
	fmt.Printf("\nAll %d steps gave the expected result.\n", s.n)
	return nil
}

// provision creates a product, a policy allowing two machines, and a license.
func provision(ctx context.Context, client *licentric.Client) (*licentric.License, error) {
	product, err := client.Products.Create(ctx, &licentric.ProductRequest{
		Name:      licentric.Value("Quickstart App"),
		Code:      licentric.Value("quickstart-" + rand.Text()[:8]),
		KeyPrefix: licentric.Value("QS"),
	})
	if err != nil {
		return nil, fmt.Errorf("create product: %w", err)
	}
	policy, err := client.Policies.Create(ctx, &licentric.PolicyRequest{
		ProductID:   licentric.Value(product.ID),
		Name:        licentric.Value("Two machines"),
		MaxMachines: licentric.Value(2),
	})
	if err != nil {
		return nil, fmt.Errorf("create policy: %w", err)
	}
	lic, err := client.Licenses.Create(ctx, &licentric.LicenseRequest{
		ProductID: licentric.Value(product.ID),
		PolicyID:  licentric.Value(policy.ID),
		Name:      licentric.Value("Quickstart customer"),
	})
	if err != nil {
		return nil, fmt.Errorf("create license: %w", err)
	}
	return lic, nil
}

// steps prints each step's outcome and counts the unexpected ones.
type steps struct{ n, failed int }

func (s *steps) check(step, got, want string) {
	s.n++
	mark := "ok  "
	if got != want {
		mark = "FAIL"
		s.failed++
	}
	fmt.Printf("%s %2d. %-34s %s", mark, s.n, step, got)
	if got != want {
		fmt.Printf(" (expected %s)", want)
	}
	fmt.Println()
}

func errString(err error, ok string) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return ok
}

// redact shows only the start of a license key.
func redact(key string) string {
	if len(key) <= 8 {
		return key
	}
	return key[:8] + "…"
}
