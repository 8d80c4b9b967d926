// Command provisioning shows the management API: it creates a product, a
// policy from a template and a few licenses, then suspends and reinstates
// one of them.
//
// By default it runs against an in-process licentrictest server, so it
// needs no account:
//
//	go run ./examples/provisioning
//
// To run it against a real instance (it creates real data), set
// LICENTRIC_BASE_URL and LICENTRIC_API_KEY (use an lk_test_ key).
// It exits non-zero on any unexpected result.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "provisioning:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	c, closeFn, err := newClient()
	if err != nil {
		return err
	}
	defer closeFn()

	code := fmt.Sprintf("example-%d", time.Now().UnixNano())
	product, err := c.Products.Create(ctx, &licentric.ProductRequest{
		Name:      licentric.Value("Example App"),
		Code:      licentric.Value(code),
		KeyPrefix: licentric.Value("EXA"),
	})
	if err != nil {
		return fmt.Errorf("create product: %w", err)
	}
	fmt.Printf("created product %s (code %s, key prefix %s)\n", product.ID, product.Code, product.KeyPrefix)

	policy, err := c.Policies.CreateFromTemplate(ctx, licentric.PolicyTemplateDesktopApp, &licentric.PolicyRequest{
		ProductID:    licentric.Value(product.ID),
		Name:         licentric.Value("Desktop, yearly"),
		DurationDays: licentric.Value(365),
	})
	if err != nil {
		return fmt.Errorf("create policy: %w", err)
	}
	if policy.MaxMachines == nil || *policy.MaxMachines != 2 {
		return fmt.Errorf("policy from the desktop_app template has maxMachines %v, want 2", policy.MaxMachines)
	}
	fmt.Printf("created policy %s from template %s: %d machines, %d days\n",
		policy.ID, policy.Template, *policy.MaxMachines, *policy.DurationDays)

	var licenses []*licentric.License
	for _, email := range []string{"ada@example.com", "grace@example.com", "alan@example.com"} {
		l, err := c.Licenses.Create(ctx, &licentric.LicenseRequest{
			ProductID: licentric.Value(product.ID),
			PolicyID:  licentric.Value(policy.ID),
			UserEmail: licentric.Value(email),
		})
		if err != nil {
			return fmt.Errorf("create license for %s: %w", email, err)
		}
		licenses = append(licenses, l)
		// Show only a prefix of the key: it is a secret of the customer.
		fmt.Printf("issued license %s to %s (key %.8s…, expires %s)\n", l.ID, email, l.Key, l.ExpiresAt)
	}

	target := licenses[1]
	l, err := c.Licenses.Suspend(ctx, target.ID)
	if err != nil {
		return fmt.Errorf("suspend: %w", err)
	}
	if l.Status != licentric.StatusSuspended {
		return fmt.Errorf("after suspend the status is %q", l.Status)
	}
	fmt.Printf("suspended license %s\n", l.ID)
	if _, err := c.Licenses.Suspend(ctx, target.ID); !errors.Is(err, licentric.ErrConflict) {
		return fmt.Errorf("suspending twice: got %v, want a conflict", err)
	}
	fmt.Println("suspending it again is refused as a conflict, as it should be")
	l, err = c.Licenses.Reinstate(ctx, target.ID)
	if err != nil {
		return fmt.Errorf("reinstate: %w", err)
	}
	if l.Status != licentric.StatusActive {
		return fmt.Errorf("after reinstate the status is %q", l.Status)
	}
	fmt.Printf("reinstated license %s\n", l.ID)

	n := 0
	for l, err := range c.Licenses.List(ctx, &licentric.LicenseListOptions{PolicyID: policy.ID}) {
		if err != nil {
			return fmt.Errorf("list: %w", err)
		}
		if l.Status != licentric.StatusActive {
			return fmt.Errorf("license %s is %s, want active", l.ID, l.Status)
		}
		n++
	}
	if n != len(licenses) {
		return fmt.Errorf("listed %d licenses under the policy, want %d", n, len(licenses))
	}
	fmt.Printf("listed %d active licenses under the policy\n", n)
	return nil
}

// newClient returns a client of the configured instance, or of a fresh
// in-process test server, and a function that releases it.
func newClient() (*licentric.Client, func(), error) {
	base, key := os.Getenv("LICENTRIC_BASE_URL"), os.Getenv("LICENTRIC_API_KEY")
	if base != "" || key != "" {
		if base == "" || key == "" {
			return nil, nil, errors.New("set both LICENTRIC_BASE_URL and LICENTRIC_API_KEY, or neither")
		}
		c, err := licentric.NewClient(licentric.WithBaseURL(base), licentric.WithAPIKey(key))
		if err != nil {
			return nil, nil, err
		}
		fmt.Printf("using %s (%s environment)\n", c.BaseURL(), c.Environment())
		return c, func() {}, nil
	}
	srv := licentrictest.NewServer()
	c, err := licentric.NewClient(
		licentric.WithBaseURL(srv.URL),
		licentric.WithAPIKey(srv.TestAPIKey()),
		licentric.WithHTTPClient(srv.Client()),
	)
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	fmt.Printf("using an in-process test server at %s\n", srv.URL)
	return c, srv.Close, nil
}
