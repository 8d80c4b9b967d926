// Command desktop-app is an application licensed with licentric.Guard. Its
// licensing is the fifteen lines of license() below, errors included, plus
// message(), the table of what to tell the user, which a vendor writes in
// its own words.
//
// The guard validates, activates this machine, keeps heartbeats and an
// offline license file, falls back to the file when the service is
// unreachable (refused, hanging, DNS, TLS), gates a feature on an
// entitlement and reports every change of its state.
//
// By default it runs against an in-process Licentric server: a demo license
// with two seats, a first run online, a restart with the service refusing
// connections and one with the service hanging (both decided from the
// file), and a third computer that finds both seats taken. Set
// LICENTRIC_BASE_URL, LICENTRIC_LICENSE_KEY and LICENTRIC_PUBLIC_KEY to run
// it against a real instance.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/offline"
)

// license is all the licensing an application needs. signingKeys are the
// vendor's public keys, pinned at build time (`licentric pin-key` writes
// them as a []string).
func license(ctx context.Context, client *licentric.Client, key, configDir string, signingKeys []string) (*licentric.Guard, error) {
	g, err := licentric.NewGuard(client, key,
		licentric.WithLicenseFile(filepath.Join(configDir, "license.lic"), signingKeys...),
		licentric.OnGuardChange(func(s licentric.GuardState) { fmt.Println("license:", message(s)) }))
	if err != nil {
		return nil, err // a malformed signing key or no fingerprint source: a bug, not a license state
	}
	if _, err := g.Start(ctx); err != nil { // decides within two seconds, whatever the network does
		return nil, err // ctx ended first
	}
	return g, nil
}

// message is what the application tells its user about a state: one line
// per sentinel the Guard documents.
func message(s licentric.GuardState) string {
	switch {
	case s.Allowed && s.Source == licentric.SourceLicenseFile:
		return "licensed (offline, until " + s.Until.Format(time.DateOnly) + ")"
	case s.Allowed && s.Code == licentric.CodeExpired:
		return "licensed, but the license has expired: please renew"
	case s.Allowed:
		return "licensed"
	case errors.Is(s.Reason, offline.ErrFileExpired):
		return "offline too long: connect to the internet to renew the license"
	case errors.Is(s.Reason, offline.ErrClockRollback):
		return "the system clock was set back: correct it, or connect to the internet"
	case errors.Is(s.Reason, licentric.ErrUnavailable):
		return "can't reach the licensing service, and no offline license is stored: check the connection"
	case errors.Is(s.Reason, licentric.ErrMachineLimitExceeded):
		return fmt.Sprintf("this license allows %s; deactivate one to use this computer", computers(s.License))
	case errors.Is(s.Reason, licentric.ErrSuspended):
		return "the license is suspended: contact support"
	case errors.Is(s.Reason, licentric.ErrExpired):
		return "the license has expired: renew it to continue"
	case errors.Is(s.Reason, licentric.ErrRevoked), errors.Is(s.Reason, licentric.ErrBanned):
		return "the license is no longer valid"
	case errors.Is(s.Reason, licentric.ErrNotFound):
		return "unknown license key: check what you entered"
	case errors.Is(s.Reason, licentric.ErrEntitlementsMissing):
		return "the license does not include this product"
	default:
		return fmt.Sprintf("not licensed (%v)", s.Reason)
	}
}

// computers says how many computers a license allows.
func computers(l *licentric.License) string {
	if l == nil || l.Policy == nil || (l.MaxMachinesOverride == nil && l.Policy.MaxMachines == nil) {
		return "no more computers"
	}
	n := l.Policy.MaxMachines
	if l.MaxMachinesOverride != nil {
		n = l.MaxMachinesOverride
	}
	if *n == 1 {
		return "1 computer"
	}
	return fmt.Sprintf("%d computers", *n)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "desktop-app:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	dir, err := os.MkdirTemp("", "desktop-app-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	configDir := filepath.Join(dir, "config") // the guard creates it

	if base := getenv("LICENTRIC_BASE_URL"); base != "" {
		client, err := licentric.NewClient(licentric.WithBaseURL(base), licentric.WithAppID("com.example.desktop-app"))
		if err != nil {
			return err
		}
		g, err := license(ctx, client, getenv("LICENTRIC_LICENSE_KEY"), configDir, []string{getenv("LICENTRIC_PUBLIC_KEY")})
		if err != nil {
			return err
		}
		defer g.Close(context.Background())
		work(g)
		<-ctx.Done() // run until Ctrl-C or SIGTERM
		return nil
	}
	return demo(ctx, configDir)
}

// demo runs the application four times against an in-process service.
func demo(ctx context.Context, configDir string) error {
	// An application client has no API key, so its licenses live in the
	// live environment: the demo license is seeded there.
	srv := licentrictest.NewServer()
	defer srv.Close()
	fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive,
		Policy: licentric.PolicyRequest{OfflineAllowed: licentric.Value(true), MaxMachines: licentric.Value(2)}})
	if err != nil {
		return err
	}
	admin, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithHTTPClient(srv.Client()), licentric.WithAPIKey(srv.LiveAPIKey()))
	if err != nil {
		return err
	}
	if _, err := admin.Entitlements.Create(ctx, &licentric.EntitlementRequest{Code: licentric.Value("pdf-export"), Name: licentric.Value("PDF export")}); err != nil {
		return err
	}
	if _, err := admin.Licenses.AttachEntitlements(ctx, fx.License.ID, "pdf-export"); err != nil {
		return err
	}
	keys := []string{offline.MarshalPublicKey(srv.PublicKey())} // what `licentric pin-key` pins
	network := &demoNetwork{next: srv.Client().Transport}
	computer := func(name string) (*licentric.Client, error) { // one run of the application
		return licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithHTTPClient(&http.Client{Transport: network}),
			licentric.WithFingerprinter(func() (string, error) { return "desktop-app-demo-" + name, nil }))
	}
	runOnce := func(title, machine string, check func(licentric.GuardState) error) error {
		fmt.Println("--", title, "--")
		client, err := computer(machine)
		if err != nil {
			return err
		}
		start := time.Now()
		g, err := license(ctx, client, fx.License.Key, filepath.Join(configDir, machine), keys)
		if err != nil {
			return err
		}
		defer g.Close(context.Background())
		fmt.Printf("decided in %v\n", time.Since(start).Round(10*time.Millisecond))
		work(g)
		return check(g.State())
	}

	if err := runOnce("first run, online", "laptop", func(s licentric.GuardState) error {
		return want(s.Allowed && s.Source == licentric.SourceService, s)
	}); err != nil {
		return err
	}
	network.set(refused)
	if err := runOnce("restart: the service refuses connections", "laptop", func(s licentric.GuardState) error {
		return want(s.Allowed && s.Source == licentric.SourceLicenseFile, s)
	}); err != nil {
		return err
	}
	network.set(hanging)
	if err := runOnce("restart: the service accepts connections and never answers", "laptop", func(s licentric.GuardState) error {
		return want(s.Allowed && s.Source == licentric.SourceLicenseFile, s)
	}); err != nil {
		return err
	}
	network.set(up)
	if err := runOnce("a second computer", "desktop", func(s licentric.GuardState) error {
		return want(s.Allowed, s)
	}); err != nil {
		return err
	}
	return runOnce("a third computer: both seats are taken", "workstation", func(s licentric.GuardState) error {
		return want(!s.Allowed && s.Code == licentric.CodeMachineLimitExceeded && s.License != nil, s)
	})
}

func want(ok bool, s licentric.GuardState) error {
	if !ok {
		return fmt.Errorf("unexpected state: allowed=%t code=%s source=%s reason=%v", s.Allowed, s.Code, s.Source, s.Reason)
	}
	return nil
}

// work is the application: one feature gated on an entitlement.
func work(g *licentric.Guard) {
	switch {
	case !g.Allows(""):
		fmt.Println("not running:", message(g.State()))
	case g.Allows("pdf-export"):
		fmt.Println("exporting a PDF")
	default:
		fmt.Println("PDF export needs the pdf-export entitlement")
	}
}

// The demo's network: up, refusing connections, or hanging.
const (
	up int32 = iota
	refused
	hanging
)

type demoNetwork struct {
	next  http.RoundTripper
	state atomic.Int32
}

func (n *demoNetwork) set(state int32) { n.state.Store(state) }

func (n *demoNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	switch n.state.Load() {
	case refused:
		return nil, fmt.Errorf("dial tcp: connection refused (demo outage)")
	case hanging:
		<-r.Context().Done() // accepted, never answered
		return nil, r.Context().Err()
	}
	return n.next.RoundTrip(r)
}
