package licentric

import (
	"context"
	"fmt"
	"iter"

	"github.com/licentric/licentric-go/internal/wire"
)

// EntitlementsService manages entitlements, the named features a policy or
// a license grants: POST, GET, PATCH and DELETE /entitlements. Reach it as
// Client.Entitlements; attach them with Policies.AttachEntitlements or
// Licenses.AttachEntitlements.
type EntitlementsService service

func checkEntitlementResource(e *Entitlement) error { return needID("entitlement", e.ID) }

// Create creates an entitlement. Code (lowercase letters, digits, - and _;
// unique in the environment, else ErrConflict) and Name are required.
func (s *EntitlementsService) Create(ctx context.Context, req *EntitlementRequest) (*Entitlement, error) {
	return createResource(ctx, s.client, wire.PathEntitlements, req, dropsNothing(), checkEntitlementResource)
}

// Get returns entitlement id, or an error matching ErrNotFound.
func (s *EntitlementsService) Get(ctx context.Context, id string) (*Entitlement, error) {
	if err := checkID("entitlement ID", id); err != nil {
		return nil, err
	}
	return getResource(ctx, s.client, wire.ResourcePath(wire.PathEntitlements, id), checkEntitlementResource)
}

// Update changes the fields req sets and returns the entitlement.
func (s *EntitlementsService) Update(ctx context.Context, id string, req *EntitlementRequest) (*Entitlement, error) {
	if err := checkID("entitlement ID", id); err != nil {
		return nil, err
	}
	return updateResource(ctx, s.client, wire.ResourcePath(wire.PathEntitlements, id), req, dropsAll(), checkEntitlementResource)
}

// Delete deletes entitlement id (a soft delete).
func (s *EntitlementsService) Delete(ctx context.Context, id string) error {
	if err := checkID("entitlement ID", id); err != nil {
		return err
	}
	return deleteResource(ctx, s.client, wire.ResourcePath(wire.PathEntitlements, id), dropsAll())
}

// List yields every entitlement, oldest first; see ListOptions.
func (s *EntitlementsService) List(ctx context.Context, opts *ListOptions) iter.Seq2[*Entitlement, error] {
	return s.lister(opts).all(ctx)
}

// ListPage returns one page of entitlements.
func (s *EntitlementsService) ListPage(ctx context.Context, opts *ListOptions) (*Page[Entitlement], error) {
	return s.lister(opts).first(ctx)
}

func (s *EntitlementsService) lister(opts *ListOptions) *lister[Entitlement] {
	return newLister(s.client, wire.PathEntitlements, opts, nil, checkEntitlementResource)
}

// setEntitlements attaches (POST) or detaches (DELETE) the entitlements
// with codes on resource id of collection (licenses or policies) and
// returns the updated resource; what names the resource in errors. Attach
// and detach have set semantics: repeating one leaves the same set, so a
// retry after a lost response is harmless.
func setEntitlements[T any](ctx context.Context, c *Client, method, collection, what, id string, codes []string, drops invalidation, check func(*T) error) (*T, error) {
	if err := checkID(what+" ID", id); err != nil {
		return nil, err
	}
	body, err := entitlementCodes(codes)
	if err != nil {
		return nil, err
	}
	return sendResource(ctx, c, &request{
		method:     method,
		path:       wire.SubPath(collection, id, wire.SegmentEntitlements),
		body:       body,
		auth:       authAPIKey,
		idempotent: true,
		drops:      drops,
	}, check)
}

// entitlementCodes checks codes and returns the attach/detach body. At
// least one code is needed; codes are sent as given.
func entitlementCodes(codes []string) (*wire.EntitlementCodesRequest, error) {
	if len(codes) == 0 {
		return nil, fmt.Errorf("%w: no entitlement codes", ErrInvalidArgument)
	}
	for _, c := range codes {
		if c == "" || len(c) > 100 {
			return nil, fmt.Errorf("%w: entitlement codes must be 1 to 100 characters", ErrInvalidArgument)
		}
	}
	return &wire.EntitlementCodesRequest{EntitlementCodes: append([]string(nil), codes...)}, nil
}
