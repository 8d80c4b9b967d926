package licentric

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// services holds the management API services, reached as fields of Client
// (client.Products, client.Licenses, ...). Every call of every service
// authenticates with the client's API key (WithAPIKey) and fails with
// ErrNoAPIKey, before any request, on a client without one. Calls act in
// the key's environment only: test and live data never mix.
type services struct {
	// Products manages products (/products).
	Products *ProductsService
	// Policies manages policies and their entitlements (/policies).
	Policies *PoliciesService
	// Entitlements manages entitlements (/entitlements).
	Entitlements *EntitlementsService
	// Licenses manages licenses: lifecycle, renewal and entitlements (/licenses).
	Licenses *LicensesService
	// Machines lists, inspects, activates and removes machines with the
	// API key (/machines). Client apps use Activate, Deactivate and
	// Heartbeat with a license key instead.
	Machines *MachinesService
	// Webhooks manages webhook endpoints (/webhooks).
	Webhooks *WebhooksService
	// Keys fetches the account's license-file signing key (/keys/signing).
	Keys *KeysService
}

// service is what every service holds: the client it sends through.
type service struct{ client *Client }

// initServices wires every service to c.
func (c *Client) initServices() {
	c.services = services{
		Products:     &ProductsService{client: c},
		Policies:     &PoliciesService{client: c},
		Entitlements: &EntitlementsService{client: c},
		Licenses:     &LicensesService{client: c},
		Machines:     &MachinesService{client: c},
		Webhooks:     &WebhooksService{client: c},
		Keys:         &KeysService{client: c},
	}
}

// The generic calls below are shared by every service. Each checks its
// arguments before any request and the decoded resource after.

// createResource POSTs body to path and returns the created resource. A
// create is not idempotent: retried only on 429, which the server refused
// before acting, never after a 5xx or a lost response that may have
// created the resource already.
func createResource[T, B any](ctx context.Context, c *Client, path string, body *B, check func(*T) error) (*T, error) {
	if body == nil {
		return nil, fmt.Errorf("%w: nil request", ErrInvalidArgument)
	}
	return sendResource(ctx, c, &request{method: http.MethodPost, path: path, body: body, auth: authAPIKey}, check)
}

// getResource GETs one resource (retried on 429, 5xx and transport errors).
func getResource[T any](ctx context.Context, c *Client, path string, check func(*T) error) (*T, error) {
	return sendResource(ctx, c, &request{method: http.MethodGet, path: path, auth: authAPIKey}, check)
}

// updateResource PATCHes body to path. A PATCH sets the fields it names to
// the values it carries, so sending it twice leaves the same state: it is
// retried like a GET.
func updateResource[T, B any](ctx context.Context, c *Client, path string, body *B, check func(*T) error) (*T, error) {
	if body == nil {
		return nil, fmt.Errorf("%w: nil request", ErrInvalidArgument)
	}
	return sendResource(ctx, c, &request{method: http.MethodPatch, path: path, body: body, auth: authAPIKey, idempotent: true}, check)
}

// deleteResource DELETEs path (a soft delete; 204). A DELETE is retried
// like a GET; when an earlier attempt may have deleted the resource and the
// retry meets 404, the delete succeeded.
func deleteResource(ctx context.Context, c *Client, path string) error {
	r := &request{method: http.MethodDelete, path: path, auth: authAPIKey}
	res, err := c.do(ctx, r)
	if err != nil {
		if res != nil && res.Ambiguous && errors.Is(err, ErrNotFound) {
			c.afterRecoveredWrite(r, nil)
			return nil
		}
		return err
	}
	return nil
}

// sendResource sends r and decodes and checks the resource it returns.
func sendResource[T any](ctx context.Context, c *Client, r *request, check func(*T) error) (*T, error) {
	v, _, err := doData[T](ctx, c, r)
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(v); err != nil {
			return nil, fmt.Errorf("licentric: %s %s: %w", r.method, r.path, err)
		}
	}
	return v, nil
}

// needID reports a decoded resource without an id.
func needID(what, id string) error {
	if id == "" {
		return fmt.Errorf(`%w: %s has no "id"`, ErrMalformedResponse, what)
	}
	return nil
}

// checkOptionalID checks a filter id that may be empty.
func checkOptionalID(what, id string) error {
	if id == "" {
		return nil
	}
	return checkID(what, id)
}
