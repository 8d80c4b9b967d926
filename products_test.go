package licentric_test

import (
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
)

func TestProductLifecycle(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	ctx := t.Context()

	p, err := c.Products.Create(ctx, &licentric.ProductRequest{
		Name:      licentric.Value("Desktop Pro"),
		Code:      licentric.Value("desktop-pro"),
		KeyPrefix: licentric.Value("DSK"),
		Metadata:  licentric.Metadata{"tier": "pro"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == "" || p.Name != "Desktop Pro" || p.Code != "desktop-pro" || p.KeyPrefix != "DSK" || p.Metadata["tier"] != "pro" {
		t.Errorf("created %+v", p)
	}
	got, err := c.Products.Get(ctx, p.ID)
	if err != nil || got.ID != p.ID || got.Code != "desktop-pro" {
		t.Fatalf("Get: %+v, %v", got, err)
	}
	ids := func() []string {
		var out []string
		for _, p := range collect(t, c.Products.List(ctx, nil)) {
			out = append(out, p.ID)
		}
		return out
	}
	if !slices.Contains(ids(), p.ID) {
		t.Error("List lacks the new product")
	}
	upd, err := c.Products.Update(ctx, p.ID, &licentric.ProductRequest{Description: licentric.Value("now with more")})
	if err != nil || upd.Description != "now with more" || upd.Name != "Desktop Pro" {
		t.Fatalf("Update: %+v, %v", upd, err)
	}
	if err := c.Products.Delete(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Products.Get(ctx, p.ID); !errors.Is(err, licentric.ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
	if err := c.Products.Delete(ctx, p.ID); !errors.Is(err, licentric.ErrNotFound) {
		t.Errorf("second Delete: %v", err)
	}
	if slices.Contains(ids(), p.ID) {
		t.Error("List still has the deleted product")
	}
}

func TestProductRefusals(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	ctx := t.Context()
	req := &licentric.ProductRequest{Name: licentric.Value("A"), Code: licentric.Value("dup")}
	if _, err := c.Products.Create(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Products.Create(ctx, req); !errors.Is(err, licentric.ErrConflict) {
		t.Errorf("duplicate code: %v", err)
	}
	// Field errors name each bad field.
	_, err := c.Products.Create(ctx, &licentric.ProductRequest{Code: licentric.Value("bad code!"), KeyPrefix: licentric.Value("x")})
	var apiErr *licentric.APIError
	if !errors.Is(err, licentric.ErrInvalidRequest) || !errors.As(err, &apiErr) {
		t.Fatalf("invalid product: %v", err)
	}
	fields := map[string]string{}
	for _, fe := range apiErr.FieldErrors() {
		fields[fe.Field] = fe.Code
		if fe.Message == "" {
			t.Errorf("field error %q has no message", fe.Field)
		}
	}
	if fields["name"] != "invalid_type" || fields["code"] != "invalid_string" || fields["keyPrefix"] != "invalid_string" || len(fields) != 3 {
		t.Errorf("field errors %v", fields)
	}
	// Arguments refused before any request.
	srv.ResetRequests()
	if _, err := c.Products.Create(ctx, nil); !errors.Is(err, licentric.ErrInvalidArgument) {
		t.Errorf("nil request: %v", err)
	}
	if _, err := c.Products.Get(ctx, ""); !errors.Is(err, licentric.ErrInvalidArgument) {
		t.Errorf("empty id: %v", err)
	}
	if _, err := c.Products.Update(ctx, "x", nil); !errors.Is(err, licentric.ErrInvalidArgument) {
		t.Errorf("nil update: %v", err)
	}
	if len(srv.Requests()) != 0 {
		t.Errorf("%d requests for refused arguments", len(srv.Requests()))
	}
}

// A create is not idempotent: a 5xx may have created the product, so it is
// not retried; a 429 was refused before acting, so it is.
func TestCreateRetriedOnlyOnRateLimit(t *testing.T) {
	srv := mgmtServer(t)
	c := mgmtClient(t, srv, srv.TestAPIKey())
	srv.InjectFault(licentrictest.Fault{Method: http.MethodPost, Path: "/products", Status: http.StatusBadGateway})
	_, err := c.Products.Create(t.Context(), &licentric.ProductRequest{Name: licentric.Value("A"), Code: licentric.Value("a")})
	if !errors.Is(err, licentric.ErrServer) || srv.CountRequests(http.MethodPost, "/products") != 1 {
		t.Errorf("after a 502: %v, %d attempts", err, srv.CountRequests(http.MethodPost, "/products"))
	}
	srv.ResetRequests()
	srv.InjectFault(licentrictest.Fault{Method: http.MethodPost, Path: "/products", Status: http.StatusTooManyRequests})
	if _, err := c.Products.Create(t.Context(), &licentric.ProductRequest{Name: licentric.Value("A"), Code: licentric.Value("a")}); err != nil {
		t.Errorf("after a 429: %v", err)
	}
	if n := srv.CountRequests(http.MethodPost, "/products"); n != 2 {
		t.Errorf("%d attempts after a 429, want 2", n)
	}
	// A lost response is not retried either.
	srv.ResetRequests()
	srv.InjectFault(licentrictest.Fault{Method: http.MethodPost, Path: "/products", DropResponse: true})
	if _, err := c.Products.Create(t.Context(), &licentric.ProductRequest{Name: licentric.Value("B"), Code: licentric.Value("b")}); err == nil {
		t.Error("lost response: no error")
	}
	if n := srv.CountRequests(http.MethodPost, "/products"); n != 1 {
		t.Errorf("%d attempts after a lost response, want 1", n)
	}
}
