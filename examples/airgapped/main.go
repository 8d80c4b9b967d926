// Command airgapped walks through offline licensing for a machine without a
// network: check out a signed license file while online, verify it from disk
// with no network at all, see it refused once its TTL has run out, and
// refresh it when the network is back.
//
// By default it starts an in-process Licentric server (licentrictest), whose
// clock it controls, so it needs no account and no network. With
// LICENTRIC_BASE_URL and LICENTRIC_API_KEY set (use an lk_test_ key), it runs
// against that instance instead and creates a product, policy and license
// there; the passing of time is then simulated on this side only.
//
// It prints each step and exits 0 only if every step gave the expected result.
package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/clock"
	"github.com/licentric/licentric-go/fingerprint"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/offline"
)

const appID = "com.example.airgapped"

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "airgapped:", err)
		os.Exit(1)
	}
}

// simClock is the simulated time the example moves forward.
type simClock interface {
	clock.Clock
	Advance(d time.Duration)
}

// serverClock moves the in-process server's clock, which the server, the
// clients and the verifier all share.
type serverClock struct{ srv *licentrictest.Server }

func (c serverClock) Now() time.Time                         { return c.srv.Clock().Now() }
func (c serverClock) After(d time.Duration) <-chan time.Time { return c.srv.Clock().After(d) }
func (c serverClock) Advance(d time.Duration)                { c.srv.Advance(d) }

// offsetClock is the real time plus an offset, for a real instance whose
// clock the example can't move: only this side's time jumps ahead.
type offsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}
func (c *offsetClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (c *offsetClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

func run(ctx context.Context) error {
	baseURL, apiKey := os.Getenv("LICENTRIC_BASE_URL"), os.Getenv("LICENTRIC_API_KEY")
	var (
		clock  simClock
		srv    *licentrictest.Server
		vendor *licentric.Client
		err    error
	)
	if baseURL == "" || apiKey == "" {
		srv = licentrictest.NewServer()
		defer srv.Close()
		baseURL, apiKey = srv.URL, srv.TestAPIKey()
		clock = serverClock{srv}
		fmt.Println("Using an in-process Licentric server at", baseURL)
	} else {
		clock = &offsetClock{}
		fmt.Println("Using the Licentric instance at", baseURL)
	}
	// The vendor's back end holds the API key: it provisions the license.
	vendor, err = licentric.NewClient(licentric.WithBaseURL(baseURL), licentric.WithAPIKey(apiKey),
		licentric.WithClock(clock))
	if err != nil {
		return err
	}
	lic, err := provision(ctx, vendor)
	if err != nil {
		return err
	}
	fmt.Printf("Created license %s (policy: offline use allowed, at most 30 days per file)\n\n", redact(lic.Key))

	// This machine's fingerprint: a hash of the OS machine ID keyed to this
	// application, or of a random ID kept in a state directory where the OS
	// has none (containers).
	stateDir := fingerprint.WithStateDir(filepath.Join(os.TempDir(), "licentric-airgapped"))
	thisMachine, err := fingerprint.Compute(appID, stateDir)
	if err != nil {
		return fmt.Errorf("fingerprint: %w", err)
	}

	// The application holds no API key; it authenticates with its license
	// key and fingerprints its machine itself (WithAppID). Its retries are
	// kept short so that the offline steps fail fast.
	retry := licentric.WithRetry(licentric.RetryPolicy{MaxRetries: 1, MinWait: 50 * time.Millisecond, MaxWait: 100 * time.Millisecond})
	online, err := licentric.NewClient(licentric.WithBaseURL(baseURL), licentric.WithClock(clock), retry,
		licentric.WithAppID(appID, stateDir))
	if err != nil {
		return err
	}
	// "Offline" is simulated honestly: this client points at a loopback
	// port on which nothing listens, so every request it makes fails to
	// connect, as it would on a machine without a network.
	deadAddr, err := unreachableAddr()
	if err != nil {
		return err
	}
	offlineClient, err := licentric.NewClient(licentric.WithBaseURL("http://"+deadAddr), licentric.WithClock(clock), retry,
		licentric.WithAppID(appID, stateDir))
	if err != nil {
		return err
	}

	// The trust anchor. A real application pins the account's public key in
	// its code (from the dashboard, or fetched once at build time with
	// client.Keys.GetSigningKey): fetching it at run time would let a network
	// attacker hand it any key. This demo takes it from the test server, or
	// fetches it from the instance, only because it has no key to pin.
	var pinned ed25519.PublicKey
	if srv != nil {
		pinned = srv.PublicKey()
	} else {
		sk, err := vendor.Keys.GetSigningKey(ctx)
		if err != nil {
			return fmt.Errorf("get signing key: %w", err)
		}
		pinned = sk.PublicKey
	}
	newVerifier := func() (*offline.Verifier, error) {
		return offline.NewVerifier(
			offline.WithPublicKey(pinned),
			offline.WithFingerprint(thisMachine),
			offline.WithEnvironment(vendor.Environment().String()), // "test" with an lk_test_ key
			offline.WithClockSource(clock),                         // the simulated time
		)
	}
	v, err := newVerifier()
	if err != nil {
		return err
	}

	dir, err := os.MkdirTemp("", "licentric-airgapped-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "license.lic")
	s := &steps{}

	// 1. Online: activate this machine and check out a file for it.
	_, err = online.Activate(ctx, lic.Key, licentric.ActivateParams{Name: "air-gapped box"})
	s.check("activate this machine", errString(err, "activated"), "activated")
	co, err := online.Checkout(ctx, lic.ID, licentric.CheckoutParams{
		TTL:        licentric.MinCheckoutTTL, // one hour, so the story can outlive it
		LicenseKey: lic.Key,
	})
	if err != nil {
		s.check("check out a license file (TTL 1h)", "error: "+err.Error(), "checked out")
		return s.result()
	}
	s.check("check out a license file (TTL 1h)", "checked out", "checked out")
	// Verify before saving: a bad download never replaces a good file.
	f, err := v.VerifyAndSave(path, co.Certificate)
	s.check("verify it and save it (0600)", errString(err, "saved"), "saved")
	if err != nil {
		return s.result()
	}
	fmt.Printf("     file expires %s\n", f.ExpiresAt.Format(time.RFC3339))

	// 2. Offline: the network is gone.
	_, err = offlineClient.Checkout(ctx, lic.ID, licentric.CheckoutParams{LicenseKey: lic.Key})
	s.check("go offline (checkout now fails)", failString(err), "network error")

	// A fresh verifier, as after a restart, reads the file from disk.
	v2, err := newVerifier()
	if err != nil {
		return err
	}
	f, err = v2.VerifyFile(path)
	s.check("verify the file from disk, offline", errString(err, "valid"), "valid")
	if f != nil {
		fmt.Printf("     license %s, status %s, %v left\n", f.License.ID, f.License.Status, f.Remaining(clock.Now()).Round(time.Minute))
	}
	_, refreshed, err := offlineClient.RefreshLicenseFile(ctx, path, lic.ID, v2, licentric.RefreshOptions{LicenseKey: lic.Key})
	s.check("refresh while fresh (no network needed)", refreshString(refreshed, err), "kept")

	// 3. Time passes beyond the file's TTL.
	clock.Advance(time.Hour + time.Second)
	_, err = v2.VerifyFile(path)
	s.check("advance 1h: verify from disk", expiredString(err), "refused: file expired")

	// Still offline, the refresh fails and leaves the stored file alone.
	before, _ := os.ReadFile(path)
	got, _, err := offlineClient.RefreshLicenseFile(ctx, path, lic.ID, v2, licentric.RefreshOptions{LicenseKey: lic.Key})
	after, _ := os.ReadFile(path)
	outcome := "failed, file kept"
	if err == nil || got != nil || !errors.Is(err, offline.ErrFileExpired) || !bytes.Equal(before, after) {
		outcome = fmt.Sprintf("unexpected: file %v, err %v", got != nil, err)
	}
	s.check("refresh while still offline", outcome, "failed, file kept")

	// 4. Back online: the refresh checks out a new file (14 days by
	// default), verifies it and only then replaces the old one.
	_, refreshed, err = online.RefreshLicenseFile(ctx, path, lic.ID, v2, licentric.RefreshOptions{LicenseKey: lic.Key})
	s.check("back online: refresh", refreshString(refreshed, err), "refreshed")
	f, err = v2.VerifyFile(path)
	s.check("verify the new file from disk", errString(err, "valid"), "valid")
	if f != nil {
		fmt.Printf("     file expires %s (%v left)\n", f.ExpiresAt.Format(time.RFC3339), f.Remaining(clock.Now()).Round(time.Hour))
	}
	return s.result()
}

// provision creates a product, a policy that allows offline use, and a
// license.
func provision(ctx context.Context, client *licentric.Client) (*licentric.License, error) {
	product, err := client.Products.Create(ctx, &licentric.ProductRequest{
		Name:      licentric.Ptr("Air-gapped App"),
		Code:      licentric.Ptr("airgapped-" + rand.Text()[:8]),
		KeyPrefix: licentric.Ptr("AG"),
	})
	if err != nil {
		return nil, fmt.Errorf("create product: %w", err)
	}
	policy, err := client.Policies.Create(ctx, &licentric.PolicyRequest{
		ProductID:      &product.ID,
		Name:           licentric.Ptr("Offline, one machine"),
		MaxMachines:    licentric.Value(1),
		OfflineAllowed: licentric.Ptr(true),
		OfflineMaxDays: licentric.Ptr(30),
	})
	if err != nil {
		return nil, fmt.Errorf("create policy: %w", err)
	}
	lic, err := client.Licenses.Create(ctx, &licentric.LicenseRequest{
		ProductID: &product.ID,
		PolicyID:  &policy.ID,
		Name:      licentric.Ptr("Air-gapped customer"),
	})
	if err != nil {
		return nil, fmt.Errorf("create license: %w", err)
	}
	return lic, nil
}

// unreachableAddr returns a loopback address on which nothing listens.
func unreachableAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
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
	fmt.Printf("%s %2d. %-40s %s", mark, s.n, step, got)
	if got != want {
		fmt.Printf(" (expected %s)", want)
	}
	fmt.Println()
}

func (s *steps) result() error {
	if s.failed > 0 {
		return fmt.Errorf("%d of %d steps did not give the expected result", s.failed, s.n)
	}
	fmt.Printf("\nAll %d steps gave the expected result.\n", s.n)
	return nil
}

func errString(err error, ok string) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return ok
}

// failString describes the failure of a request made without a network.
func failString(err error) string {
	var opErr *net.OpError
	switch {
	case err == nil:
		return "succeeded"
	case errors.As(err, &opErr):
		return "network error"
	}
	return "error: " + err.Error()
}

func expiredString(err error) string {
	switch {
	case err == nil:
		return "valid"
	case errors.Is(err, offline.ErrFileExpired):
		return "refused: file expired"
	}
	return "error: " + err.Error()
}

func refreshString(refreshed bool, err error) string {
	switch {
	case err != nil:
		return "error: " + err.Error()
	case refreshed:
		return "refreshed"
	}
	return "kept"
}

// redact shows only the start of a license key.
func redact(key string) string {
	if len(key) <= 8 {
		return key
	}
	return key[:8] + "…"
}
