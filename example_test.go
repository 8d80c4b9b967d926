package licentric_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/internal/clocktest"
	"github.com/licentric/licentric-go/licentrictest"
)

// exampleServer starts an in-process server with one live license whose
// policy allows two machines and needs a heartbeat every 10 minutes.
func exampleServer() (*licentrictest.Server, *licentrictest.Fixture) {
	srv := licentrictest.NewServer(licentrictest.WithFrozenClock(time.Now())) // time moves only with srv.Advance
	fx, err := srv.Seed(licentrictest.Seed{
		Env:     licentrictest.EnvLive,
		Product: licentric.ProductRequest{KeyPrefix: licentric.Value("DSK")},
		Policy: licentric.PolicyRequest{
			MaxMachines:              licentric.Value(2),
			RequireHeartbeat:         licentric.Value(true),
			HeartbeatIntervalMinutes: licentric.Value(10),
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	return srv, fx
}

func ExampleClient_Validate() {
	srv, fx := exampleServer()
	defer srv.Close()
	client, err := licentric.NewClient(licentric.WithBaseURL(srv.URL)) // no API key: live licenses
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	v, err := client.Validate(ctx, fx.License.Key, licentric.WithFingerprint("f1e2d3c4b5a69788"))
	if err != nil {
		log.Fatal(err) // the request failed; a non-valid license is not an error
	}
	fmt.Println(v.Valid, v.Code)
	if errors.Is(v.Err(), licentric.ErrFingerprintNotFound) {
		fmt.Println("this machine must be activated first")
	}

	v, err = client.Validate(ctx, "DSK-0000-0000-0000-0000")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v.Valid, v.Code)
	// Output:
	// false FINGERPRINT_NOT_FOUND
	// this machine must be activated first
	// false NOT_FOUND
}

func ExampleClient_Activate() {
	srv, fx := exampleServer()
	defer srv.Close()
	client, err := licentric.NewClient(licentric.WithBaseURL(srv.URL),
		licentric.WithFingerprinter(func() (string, error) { return "f1e2d3c4b5a69788", nil }))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	m, err := client.Activate(ctx, fx.License.Key, licentric.ActivateParams{Name: "build-box"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Name, m.Status, m.Fingerprint)

	fp, _ := client.Fingerprint()
	v, err := client.Validate(ctx, fx.License.Key, licentric.WithFingerprint(fp))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v.Valid, v.Code, v.Machine.ID == m.ID)

	_, err = client.Activate(ctx, fx.License.Key, licentric.ActivateParams{})
	fmt.Println(errors.Is(err, licentric.ErrFingerprintConflict))
	// Output:
	// build-box active f1e2d3c4b5a69788
	// true VALID true
	// true
}

func ExampleClient_StartHeartbeat() {
	srv, fx := exampleServer()
	defer srv.Close()
	// A fake clock drives the monitor here; real code leaves the default.
	clock := clocktest.New(srv.Now())
	client, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	m, err := client.Activate(ctx, fx.License.Key, licentric.ActivateParams{Fingerprint: "f1e2d3c4b5a69788"})
	if err != nil {
		log.Fatal(err)
	}

	mon, err := client.StartHeartbeat(ctx, fx.License.Key, m.ID,
		licentric.WithHeartbeatPolicy(fx.License.Policy),
		licentric.OnHeartbeatError(func(err error) { fmt.Println("heartbeat failed:", errors.Is(err, licentric.ErrNotFound)) }))
	if err != nil {
		log.Fatal(err)
	}
	defer mon.Stop()
	fmt.Println("beats every", mon.Interval())

	clock.BlockUntil(1) // the first heartbeat went out at once
	for range 6 {       // half an hour passes
		srv.Advance(mon.Interval())
		clock.Advance(mon.Interval())
		clock.BlockUntil(1)
	}
	v, _ := client.Validate(ctx, fx.License.Key, licentric.WithFingerprint("f1e2d3c4b5a69788"))
	fmt.Println(v.Code, "after", srv.Now().Sub(m.CreatedAt.Time))

	_ = client.Deactivate(ctx, fx.License.Key, m.ID) // e.g. from another process
	clock.Advance(mon.Interval())
	<-mon.Done()
	fmt.Println("monitor stopped:", mon.Err() != nil)
	// Output:
	// beats every 5m0s
	// VALID after 30m0s
	// heartbeat failed: true
	// monitor stopped: true
}
