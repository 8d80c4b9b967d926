package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/licentric/licentric-go/webhook"
)

const body = `{"id":"evt_a1b2","type":"license.suspended","createdAt":"2026-01-15T10:30:00.000Z",` +
	`"data":{"id":"lic_42","key":"ACME-1234-5678","status":"suspended"}}`

func ExampleVerify() {
	secret := "whsec_example" // in production: os.Getenv("LICENTRIC_WEBHOOK_SECRET")
	sig := webhook.Sign([]byte(body), secret)

	fmt.Println(webhook.Verify([]byte(body), sig, secret))

	forged := webhook.Sign([]byte(body), "whsec_guess")
	err := webhook.Verify([]byte(body), forged, secret)
	fmt.Println(errors.Is(err, webhook.ErrInvalidSignature))

	// An unset environment variable never becomes a usable key.
	err = webhook.Verify([]byte(body), webhook.Sign([]byte(body), ""), os.Getenv("LICENTRIC_UNSET_VARIABLE"))
	fmt.Println(errors.Is(err, webhook.ErrNoSecret))
	// Output:
	// <nil>
	// true
	// true
}

func ExampleConstructEvent() {
	secret := "whsec_example"
	sig := webhook.Sign([]byte(body), secret)

	e, err := webhook.ConstructEvent([]byte(body), sig, "whsec_previous", secret)
	if err != nil {
		fmt.Println(err)
		return
	}
	lic, err := e.License()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.ID, e.Type, e.CreatedAt.Format("2006-01-02"))
	fmt.Println(lic.ID, lic.Status)
	// Output:
	// evt_a1b2 license.suspended 2026-01-15
	// lic_42 suspended
}

func ExampleHandler() {
	secret := "whsec_example"
	h, err := webhook.NewHandler(func(ctx context.Context, e *webhook.Event) error {
		fmt.Println("received", e.Type, "for", e.LicenseID())
		return nil
	}, webhook.WithSecrets(secret))
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(h) // in production: http.Handle("/webhooks/licentric", h)
	defer srv.Close()

	// A delivery as the service sends it, created just now (a delivery
	// older than webhook.DefaultTolerance is refused as a replay).
	fresh := fmt.Sprintf(`{"id":"evt_c3d4","type":%q,"createdAt":%q,"data":{"id":"lic_42","key":"ACME-1234-5678","status":"suspended"}}`,
		webhook.EventLicenseSuspended, time.Now().UTC().Format(time.RFC3339Nano))

	// The same delivery twice: the callback runs once.
	for range 2 {
		req, err := webhook.NewRequest(context.Background(), srv.URL, []byte(fresh), secret)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(resp.Status)
	}
	// Output:
	// received license.suspended for lic_42
	// 200 OK
	// 200 OK
}
