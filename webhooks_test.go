package licentric_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
)

func TestWebhookLifecycle(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	ctx := t.Context()

	w, err := c.Webhooks.Create(ctx, &licentric.WebhookRequest{URL: licentric.Value("http://127.0.0.1:9/hooks")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(w.Secret, "whsec_") || len(w.Secret) < len("whsec_")+16 {
		t.Errorf("secret %q", w.Secret)
	}
	if len(w.Events) != 1 || w.Events[0] != "*" {
		t.Errorf("default events %v", w.Events)
	}
	got, err := c.Webhooks.Get(ctx, w.ID)
	if err != nil || got.URL != w.URL || got.Secret != "" {
		t.Fatalf("Get: %+v, %v (the secret comes with create only)", got, err)
	}
	listed := collect(t, c.Webhooks.List(ctx, nil))
	if len(listed) != 1 || listed[0].ID != w.ID || listed[0].Secret != "" {
		t.Errorf("List: %+v", listed)
	}
	upd, err := c.Webhooks.Update(ctx, w.ID, &licentric.WebhookRequest{Events: []string{"license.suspended", "license.revoked"}})
	if err != nil || len(upd.Events) != 2 || upd.URL != w.URL || upd.Secret != "" {
		t.Fatalf("Update: %+v, %v", upd, err)
	}
	if err := c.Webhooks.Delete(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Webhooks.Get(ctx, w.ID); !errors.Is(err, licentric.ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
}

func TestWebhookRefusals(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	_, err := c.Webhooks.Create(t.Context(), &licentric.WebhookRequest{
		URL:    licentric.Value("http://hooks.example.com/x"),
		Events: []string{"license.created", "license.exploded"},
	})
	var apiErr *licentric.APIError
	if !errors.Is(err, licentric.ErrInvalidRequest) || !errors.As(err, &apiErr) {
		t.Fatalf("bad webhook: %v", err)
	}
	fields := map[string]bool{}
	for _, fe := range apiErr.FieldErrors() {
		fields[fe.Field] = true
	}
	if !fields["url"] || !fields["events.1"] || len(fields) != 2 {
		t.Errorf("field errors %v", apiErr.FieldErrors())
	}
	// Create is not retried after a 5xx: the endpoint may exist already.
	srv.InjectFault(licentrictest.Fault{Method: http.MethodPost, Path: "/webhooks", Status: http.StatusInternalServerError})
	if _, err := c.Webhooks.Create(t.Context(), &licentric.WebhookRequest{URL: licentric.Value("https://hooks.example.com/x")}); !errors.Is(err, licentric.ErrServer) {
		t.Errorf("after a 500: %v", err)
	}
	if n := srv.CountRequests(http.MethodPost, "/webhooks"); n != 2 {
		t.Errorf("%d POSTs, want 2 (one refused, one 500 not retried)", n)
	}
	// A read-only key lists but can't register.
	ro := mgmtClient(t, srv, srv.NewAPIKey(licentrictest.EnvTest, "webhooks:read"))
	if _, err := ro.Webhooks.ListPage(t.Context(), nil); err != nil {
		t.Errorf("read-only list: %v", err)
	}
	if _, err := ro.Webhooks.Create(t.Context(), &licentric.WebhookRequest{URL: licentric.Value("https://hooks.example.com/y")}); !errors.Is(err, licentric.ErrForbidden) {
		t.Errorf("read-only create: %v", err)
	}
}
