// Command airgapped licenses a machine that never reaches the service, end
// to end, with a file carried each way:
//
//  1. request: on the air-gapped machine, the application writes its
//     activation request (licentric.Client.NewOfflineRequest,
//     offline.SaveRequest; `licentric offline request`). No socket is opened.
//  2. fulfil: on a computer that reaches the service, the customer's
//     operator, holding the license key and no API key, activates the
//     machine and checks out its license file
//     (licentric.Client.FulfillOfflineRequest; `licentric offline fulfill`).
//  3. carry: the file goes back to the machine (here: a copy between
//     directories).
//  4. verify and run offline: the application licenses itself with a Guard
//     that decides from the verified file alone (licentric.WithLicenseFile
//     with the pinned keys, licentric.WithOfflineOnly) and never dials.
//  5. renew: before the file expires the operator fulfils the same request
//     again: a new file, the same machine, no second seat. Without it the
//     application is denied once the file expires.
//  6. release: the machine is retired and its seat given back
//     (licentric.Client.ReleaseOfflineRequest; `licentric offline release`);
//     releasing again is success.
//
// It runs against an in-process Licentric server (licentrictest) whose clock
// it moves, so it needs no account and no network. It prints each step and
// exits 0 only if every step gave the expected result.
package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/fingerprint"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/offline"
)

// appID is the air-gapped application's ID: its machine's fingerprint is
// computed for it.
const appID = "com.example.airgapped"

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "airgapped:", err)
		os.Exit(1)
	}
}

// noNetwork is the air-gapped machine's network: every connection fails,
// and is counted, so the example can show that the machine never dialled.
type noNetwork struct{ dials atomic.Int64 }

func (n *noNetwork) RoundTripper() http.RoundTripper {
	return &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		n.dials.Add(1)
		return nil, errors.New("no network on an air-gapped machine")
	}}
}

func run(ctx context.Context) error {
	// The vendor's side: a license that allows offline files of up to 30
	// days on one machine. An application holds no API key, so its
	// licenses live in the live environment: the license is seeded there.
	srv := licentrictest.NewServer()
	defer srv.Close()
	fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive, Policy: licentric.PolicyRequest{
		OfflineAllowed: licentric.Value(true), OfflineMaxDays: licentric.Value(30), MaxMachines: licentric.Value(1),
	}})
	if err != nil {
		return err
	}
	key := fx.License.Key
	// The account's signing keys, pinned in the application and given to
	// the operator (`licentric pin-key` writes them); here from the test
	// server. Never fetch a trust anchor at run time.
	var pinned []string
	for _, k := range srv.PublicKeys() {
		pinned = append(pinned, offline.MarshalPublicKey(k))
	}

	dir, err := os.MkdirTemp("", "licentric-airgapped-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	machineDir := filepath.Join(dir, "machine")   // the air-gapped machine's disk
	stick := filepath.Join(dir, "usb-stick")      // what is carried between them
	operatorDir := filepath.Join(dir, "operator") // the connected computer's disk
	for _, d := range []string{machineDir, stick, operatorDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}

	// The air-gapped machine: the application's client fingerprints the
	// machine for its ID (the state directory gives containers, which have
	// no machine ID of their own, a stable one), holds no API key and has no
	// network at all. Its clock is the server's simulated time.
	network := &noNetwork{}
	machine, err := licentric.NewClient(
		licentric.WithAppID(appID, fingerprint.WithStateDir(filepath.Join(machineDir, "state"))),
		licentric.WithHTTPClient(&http.Client{Transport: network.RoundTripper()}),
		licentric.WithClock(srv.Clock()))
	if err != nil {
		return err
	}
	// The connected computer: the customer's operator holds the license
	// key only.
	operator, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithClock(srv.Clock()))
	if err != nil {
		return err
	}
	seats := func() int {
		l, err := srv.License(fx.Env, fx.License.ID)
		if err != nil {
			return -1
		}
		return l.MachineCount
	}
	s := &steps{}
	fmt.Printf("License %s: offline files of up to 30 days, one machine\n\n", redact(key))

	// 1. On the machine: the activation request.
	req, err := machine.NewOfflineRequest(key, licentric.ActivateParams{Name: "lab-7"})
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	req.AppID = appID
	if err := offline.SaveRequest(filepath.Join(stick, "request.json"), req); err != nil {
		return err
	}
	s.check("request: written on the machine", fmt.Sprintf("%d connections", network.dials.Load()), "0 connections")
	fmt.Printf("     fingerprint %.16s…, host %s, %s, %d cores\n", req.Fingerprint, req.Hostname, req.Platform, req.Cores)

	// 2. On the connected computer: fulfil it.
	fulfil := func() (*licentric.Fulfillment, error) {
		r, err := offline.LoadRequest(filepath.Join(stick, "request.json"))
		if err != nil {
			return nil, err
		}
		got, err := operator.FulfillOfflineRequest(ctx, r, licentric.FulfillParams{PublicKeys: pinned, TTL: 30 * 24 * time.Hour})
		if err != nil {
			return nil, err
		}
		// Verified already; saved atomically with mode 0600.
		return got, offline.SaveFile(filepath.Join(stick, "license.lic"), got.Certificate)
	}
	got, err := fulfil()
	if err != nil {
		s.check("fulfil: activate and check out", "error: "+err.Error(), "activated")
		return s.result()
	}
	s.check("fulfil: activate and check out", map[bool]string{true: "activated", false: "renewed"}[got.Activated], "activated")
	fmt.Printf("     file expires %s; seats taken: %d\n", got.File.ExpiresAt.Format(time.DateOnly), seats())

	// 3. Carry the file back to the machine.
	licensePath := filepath.Join(machineDir, "license.lic")
	if err := carry(filepath.Join(stick, "license.lic"), licensePath); err != nil {
		return err
	}

	// 4. On the machine: the application licenses itself from the file.
	g, err := licentric.NewGuard(machine, key,
		licentric.WithLicenseFile(licensePath, pinned...),
		licentric.WithOfflineOnly())
	if err != nil {
		return err
	}
	defer g.Close(context.Background())
	st, err := g.Start(ctx)
	if err != nil {
		return err
	}
	s.check("verify and run offline", message(st), "licensed (offline, until "+got.File.ExpiresAt.Format(time.DateOnly)+")")

	// Three weeks later the file is still good; the application rechecks
	// it (a restart would do the same).
	srv.Advance(21 * 24 * time.Hour)
	st, err = g.Recheck(ctx)
	if err != nil {
		return err
	}
	s.check("three weeks later", message(st), "licensed (offline, until "+got.File.ExpiresAt.Format(time.DateOnly)+")")

	// Ten more days: nobody renewed it, and it expired.
	srv.Advance(10 * 24 * time.Hour)
	st, err = g.Recheck(ctx)
	if err != nil {
		return err
	}
	s.check("31 days: not renewed", message(st), "offline too long: carry a renewed license file to this machine")

	// 5. Renew: the operator fulfils the same request again.
	got, err = fulfil()
	if err != nil {
		s.check("renew: fulfil the same request", "error: "+err.Error(), "renewed")
		return s.result()
	}
	s.check("renew: fulfil the same request", map[bool]string{true: "activated", false: "renewed"}[got.Activated], "renewed")
	s.check("renew: seats taken", fmt.Sprint(seats()), "1")
	if err := carry(filepath.Join(stick, "license.lic"), licensePath); err != nil {
		return err
	}
	st, err = g.Recheck(ctx)
	if err != nil {
		return err
	}
	s.check("carry it back: verify and run", message(st), "licensed (offline, until "+got.File.ExpiresAt.Format(time.DateOnly)+")")
	s.check("the machine's connections, all along", fmt.Sprint(network.dials.Load()), "0")

	// 6. The machine is retired: the operator releases its seat.
	if err := g.Close(ctx); err != nil {
		return err
	}
	r, err := offline.LoadRequest(filepath.Join(stick, "request.json"))
	if err != nil {
		return err
	}
	m, err := operator.ReleaseOfflineRequest(ctx, r, "")
	s.check("release: the seat is given back", released(m, err), "released")
	s.check("release: seats taken", fmt.Sprint(seats()), "0")
	m, err = operator.ReleaseOfflineRequest(ctx, r, "")
	s.check("release again", released(m, err), "already free")
	return s.result()
}

// carry copies a file from the stick to the machine, atomically, as an
// operator's copy should be: the application never reads half a file.
func carry(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return offline.SaveFile(to, data)
}

// message is what the application tells its user about a state (see
// licentric.Guard's table).
func message(st licentric.GuardState) string {
	switch {
	case st.Allowed && st.Source == licentric.SourceLicenseFile:
		return "licensed (offline, until " + st.Until.Format(time.DateOnly) + ")"
	case st.Allowed:
		return "licensed"
	case errors.Is(st.FileErr, offline.ErrFileExpired):
		return "offline too long: carry a renewed license file to this machine"
	case errors.Is(st.FileErr, offline.ErrClockRollback):
		return "the system clock was set back: correct it"
	case errors.Is(st.FileErr, fs.ErrNotExist):
		return "no license file: run 'licentric offline request' and send the request to your administrator"
	case errors.Is(st.FileErr, offline.ErrFingerprintMismatch):
		return "the license file is for another machine"
	}
	return fmt.Sprintf("not licensed (%v)", st.Reason)
}

func released(m *licentric.Machine, err error) string {
	switch {
	case err != nil:
		return "error: " + err.Error()
	case m == nil:
		return "already free"
	}
	return "released"
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
	fmt.Printf("%s %2d. %-38s %s", mark, s.n, step, got)
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

// redact shows only the start of a license key.
func redact(key string) string {
	if len(key) <= 8 {
		return key
	}
	return key[:8] + "…"
}
