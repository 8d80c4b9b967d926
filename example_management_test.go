package licentric_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
)

// managementClient returns a test server with n licenses under one policy
// and a client with its test API key.
func managementClient(n int) (*licentrictest.Server, *licentric.Client, *licentrictest.Fixture) {
	srv := licentrictest.NewServer()
	fx, err := srv.Seed(licentrictest.Seed{})
	if err != nil {
		panic(err)
	}
	for i := 1; i < n; i++ {
		if _, err := srv.AddLicense(licentrictest.EnvTest, fx.Policy.ID, licentric.LicenseRequest{}); err != nil {
			panic(err)
		}
	}
	c, err := licentric.NewClient(
		licentric.WithBaseURL(srv.URL), // in production: your instance, e.g. https://acme.licentric.com
		licentric.WithAPIKey(srv.TestAPIKey()),
		licentric.WithHTTPClient(srv.Client()),
	)
	if err != nil {
		panic(err)
	}
	return srv, c, fx
}

func ExampleLicensesService_List() {
	srv, c, _ := managementClient(60)
	defer srv.Close()

	// The loop fetches pages of 25 as it goes; break to stop early.
	n := 0
	for l, err := range c.Licenses.List(context.Background(), &licentric.LicenseListOptions{Status: licentric.StatusActive}) {
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		_ = l
		n++
	}
	fmt.Println("active licenses:", n)
	fmt.Println("pages fetched:", srv.CountRequests("GET", "/licenses"))
	// Output:
	// active licenses: 60
	// pages fetched: 3
}

func ExampleLicensesService_Suspend() {
	srv, c, fx := managementClient(1)
	defer srv.Close()
	ctx := context.Background()

	l, err := c.Licenses.Suspend(ctx, fx.License.ID)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println("status:", l.Status)
	if _, err := c.Licenses.Suspend(ctx, fx.License.ID); err != nil {
		fmt.Println("suspend again is a conflict:", errors.Is(err, licentric.ErrConflict))
	}
	l, _ = c.Licenses.Reinstate(ctx, fx.License.ID)
	fmt.Println("status:", l.Status)
	// Output:
	// status: suspended
	// suspend again is a conflict: true
	// status: active
}

func ExamplePoliciesService_CreateFromTemplate() {
	srv, c, fx := managementClient(1)
	defer srv.Close()

	p, err := c.Policies.CreateFromTemplate(context.Background(), licentric.PolicyTemplateCLITool, &licentric.PolicyRequest{
		ProductID: licentric.Value(fx.Product.ID),
		Name:      licentric.Value("CLI"),
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(p.Template, *p.MaxMachines, p.OfflineMaxDays)
	// Output: cli_tool 3 7
}
