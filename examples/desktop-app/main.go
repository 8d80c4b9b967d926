// Command desktop-app is an application licensed with licentric.Guard: the
// licensing code is the fifteen lines of license() below (plus the
// Close in run). It validates,
// activates this machine, keeps heartbeats and an offline license file,
// falls back to the file when the service is unreachable, gates a feature
// on an entitlement and prints its state on each change.
//
// By default it runs against an in-process Licentric server (a demo
// license is created for it, and the service is briefly cut off to show
// the offline fallback); set LICENTRIC_BASE_URL, LICENTRIC_LICENSE_KEY and
// LICENTRIC_PUBLIC_KEY to run it against a real instance.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/offline"
)

// license is all the licensing an application needs: a verifier pinned to
// the vendor's signing key and this machine, and a guard.
func license(ctx context.Context, client *licentric.Client, key, dir, publicKey string) (*licentric.Guard, error) {
	pub, err := offline.ParsePublicKey(publicKey)
	if err != nil {
		return nil, err
	}
	fp, err := client.Fingerprint()
	if err != nil {
		return nil, err
	}
	verifier, err := offline.NewVerifier(offline.WithPublicKey(pub), offline.WithFingerprint(fp))
	if err != nil {
		return nil, err
	}
	g, err := licentric.NewGuard(client, key, licentric.WithLicenseFile(filepath.Join(dir, "license.lic"), verifier),
		licentric.OnGuardChange(func(s licentric.GuardState) {
			fmt.Printf("license: allowed=%t code=%s source=%s\n", s.Allowed, s.Code, s.Source)
		}))
	if err != nil {
		return nil, err
	}
	_, err = g.Start(ctx)
	return g, err
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "desktop-app:", err)
		os.Exit(1)
	}
}

// offSwitch cuts the demo's network, to show the offline fallback.
type offSwitch struct {
	next http.RoundTripper
	off  bool
}

func (o *offSwitch) RoundTrip(r *http.Request) (*http.Response, error) {
	if o.off {
		return nil, fmt.Errorf("dial tcp: connection refused (demo outage)")
	}
	return o.next.RoundTrip(r)
}

func run(ctx context.Context, getenv func(string) string) error {
	dir, err := os.MkdirTemp("", "desktop-app-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	appID := licentric.WithAppID("com.example.desktop-app")

	if base := getenv("LICENTRIC_BASE_URL"); base != "" {
		client, err := licentric.NewClient(licentric.WithBaseURL(base), appID)
		if err != nil {
			return err
		}
		g, err := license(ctx, client, getenv("LICENTRIC_LICENSE_KEY"), dir, getenv("LICENTRIC_PUBLIC_KEY"))
		if err != nil {
			return err
		}
		defer g.Close(context.Background())
		work(g)
		<-ctx.Done() // run until Ctrl-C or SIGTERM
		return nil
	}

	// The demo: an in-process service with a license that grants pdf-export.
	srv := licentrictest.NewServer()
	defer srv.Close()
	fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive,
		Policy: licentric.PolicyRequest{OfflineAllowed: licentric.Ptr(true), MaxMachines: licentric.Value(3)}})
	if err != nil {
		return err
	}
	admin, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithHTTPClient(srv.Client()), licentric.WithAPIKey(srv.LiveAPIKey()))
	if err != nil {
		return err
	}
	if _, err := admin.Entitlements.Create(ctx, &licentric.EntitlementRequest{Code: licentric.Ptr("pdf-export"), Name: licentric.Ptr("PDF export")}); err != nil {
		return err
	}
	if _, err := admin.Licenses.AttachEntitlements(ctx, fx.License.ID, "pdf-export"); err != nil {
		return err
	}
	sw := &offSwitch{next: srv.Client().Transport}
	newClient := func() (*licentric.Client, error) { // one per run of the application
		return licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithHTTPClient(&http.Client{Transport: sw}),
			licentric.WithFingerprinter(func() (string, error) { return "desktop-app-demo-machine", nil }))
	}
	client, err := newClient()
	if err != nil {
		return err
	}
	pub := fmt.Sprintf("%x", []byte(srv.PublicKey()))
	g, err := license(ctx, client, fx.License.Key, dir, pub)
	if err != nil {
		return err
	}
	work(g)
	_ = g.Close(context.Background())

	fmt.Println("-- the service is unreachable; the application restarts --")
	sw.off = true
	if client, err = newClient(); err != nil {
		return err
	}
	start := time.Now()
	g, err = license(ctx, client, fx.License.Key, dir, pub)
	if err != nil {
		return err
	}
	defer g.Close(context.Background())
	fmt.Printf("decided in %v from %s\n", time.Since(start).Round(time.Millisecond), g.State().Source)
	work(g)
	if st := g.State(); !st.Allowed || st.Source != licentric.SourceLicenseFile {
		return fmt.Errorf("the offline fallback did not allow the application: %+v", st)
	}
	return nil
}

// work is the application: one feature gated on an entitlement.
func work(g *licentric.Guard) {
	if !g.Allows("") {
		fmt.Println("not licensed:", g.State().Reason)
		return
	}
	if g.Allows("pdf-export") {
		fmt.Println("exporting a PDF")
	} else {
		fmt.Println("PDF export needs the pdf-export entitlement")
	}
}
