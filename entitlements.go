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
	return createResource(ctx, s.client, wire.PathEntitlements, req, checkEntitlementResource)
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
	return updateResource(ctx, s.client, wire.ResourcePath(wire.PathEntitlements, id), req, checkEntitlementResource)
}

// Delete deletes entitlement id (a soft delete).
func (s *EntitlementsService) Delete(ctx context.Context, id string) error {
	if err := checkID("entitlement ID", id); err != nil {
		return err
	}
	return deleteResource(ctx, s.client, wire.ResourcePath(wire.PathEntitlements, id))
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
