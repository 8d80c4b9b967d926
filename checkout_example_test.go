package licentric_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/offline"
)

// An application keeps its offline license file fresh: at start-up (and
// now and then) it refreshes the file when less than half of its lifetime
// is left, and otherwise runs from the file alone.
func ExampleClient_RefreshLicenseFile() {
	srv := licentrictest.NewServer(licentrictest.WithFrozenClock(time.Now())) // time moves only with srv.Advance
	defer srv.Close()
	fx, err := srv.Seed(licentrictest.Seed{
		Env:    licentrictest.EnvLive,
		Policy: licentric.PolicyRequest{OfflineAllowed: licentric.Value(true)},
	})
	if err != nil {
		log.Fatal(err)
	}
	const thisMachine = "example-machine-fingerprint-01"
	ctx := context.Background()

	// The application: no API key, the license key, this machine.
	client, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithClock(srv.Clock()),
		licentric.WithFingerprinter(func() (string, error) { return thisMachine, nil }))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.Activate(ctx, fx.License.Key, licentric.ActivateParams{}); err != nil {
		log.Fatal(err)
	}
	// The verifier trusts the account's public key, pinned in the
	// application (here taken from the test server).
	v, err := offline.NewVerifier(
		offline.WithPublicKey(srv.PublicKey()),
		offline.WithFingerprint(thisMachine),
		offline.WithEnvironment("live"),
		offline.WithClock(srv.Clock()),
	)
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "license.lic")
	opts := licentric.RefreshOptions{LicenseKey: fx.License.Key}
	start := srv.Now()

	for _, days := range []int{0, 3, 8} { // days since the first start
		srv.SetNow(start.Add(time.Duration(days) * 24 * time.Hour))
		f, refreshed, err := client.RefreshLicenseFile(ctx, path, fx.License.ID, v, opts)
		if f == nil {
			log.Fatal(err) // neither a stored nor a new file
		}
		if err != nil {
			log.Printf("refresh failed, running on the stored file: %v", err)
		}
		fmt.Printf("day %d: refreshed %v, %v left\n", days, refreshed, f.Remaining(srv.Now()))
	}
	// Output:
	// day 0: refreshed true, 336h0m0s left
	// day 3: refreshed false, 264h0m0s left
	// day 8: refreshed true, 336h0m0s left
}
