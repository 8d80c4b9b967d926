package licentric

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// service is what every service holds: the client it sends through.
type service struct{ client *Client }

// The generic calls below are shared by every service. Each checks its
// arguments before any request and the decoded resource after.

// call sends r through the transport, decodes the "data" of its answer
// into out (when not nil) and then drops the cached results r.drops names:
// every write says, where it builds its request, what it invalidates.
func (c *Client) call(ctx context.Context, r *request, out any) (*response, error) {
	ctx, oc := c.transport.begin(ctx, r)
	res, err := c.transport.send(ctx, r)
	if err != nil {
		oc.end(res, err, "")
		return res, err
	}
	if out != nil {
		if err := decodeDataInto(res.Body, out); err != nil {
			err = fmt.Errorf("%w: %s: %s", ErrMalformedResponse, c.transport.opName(r), err.Error())
			oc.end(res, err, "")
			return nil, err
		}
	}
	oc.end(res, nil, "")
	c.results.drop(r.drops, out)
	return res, nil
}

// recovered drops what r.drops names for a write that failed on its retry
// because a lost earlier attempt had already acted (see Activate,
// Deactivate, deleteResource, LicensesService.transition); out is the
// resource the recovery found, or nil.
func (c *Client) recovered(r *request, out any) { c.results.drop(r.drops, out) }

// callData sends r and returns the decoded "data" of its 2xx answer.
func callData[T any](ctx context.Context, c *Client, r *request) (*T, *response, error) {
	out := new(T)
	res, err := c.call(ctx, r, out)
	if err != nil {
		return nil, res, err
	}
	return out, res, nil
}

// createResource POSTs body to path and returns the created resource. A
// create is not idempotent: retried only on 429, which the server refused
// before acting, never after a 5xx or a lost response that may have
// created the resource already.
func createResource[T, B any](ctx context.Context, c *Client, path string, body *B, drops invalidation, check func(*T) error) (*T, error) {
	if body == nil {
		return nil, fmt.Errorf("%w: nil request", ErrInvalidArgument)
	}
	return sendResource(ctx, c, &request{method: http.MethodPost, path: path, body: body, auth: authAPIKey, drops: drops}, check)
}

// getResource GETs one resource (retried on 429, 5xx and transport errors).
func getResource[T any](ctx context.Context, c *Client, path string, check func(*T) error) (*T, error) {
	return sendResource(ctx, c, &request{method: http.MethodGet, path: path, auth: authAPIKey}, check)
}

// updateResource PATCHes body to path. A PATCH sets the fields it names to
// the values it carries, so sending it twice leaves the same state: it is
// retried like a GET.
func updateResource[T, B any](ctx context.Context, c *Client, path string, body *B, drops invalidation, check func(*T) error) (*T, error) {
	if body == nil {
		return nil, fmt.Errorf("%w: nil request", ErrInvalidArgument)
	}
	return sendResource(ctx, c, &request{method: http.MethodPatch, path: path, body: body, auth: authAPIKey, idempotent: true, drops: drops}, check)
}

// deleteResource DELETEs path (a soft delete; 204). A DELETE is retried
// like a GET; when an earlier attempt may have deleted the resource and the
// retry meets 404, the delete succeeded.
func deleteResource(ctx context.Context, c *Client, path string, drops invalidation) error {
	r := &request{method: http.MethodDelete, path: path, auth: authAPIKey, drops: drops}
	res, err := c.call(ctx, r, nil)
	if err != nil {
		if res != nil && res.Ambiguous && errors.Is(err, ErrNotFound) {
			c.recovered(r, nil)
			return nil
		}
		return err
	}
	return nil
}

// sendResource sends r and decodes and checks the resource it returns.
func sendResource[T any](ctx context.Context, c *Client, r *request, check func(*T) error) (*T, error) {
	v, _, err := callData[T](ctx, c, r)
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(v); err != nil {
			return nil, fmt.Errorf("licentric: %s: %w", c.transport.opName(r), err)
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
