package licentric

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"

	"github.com/licentric/licentric-go/internal/wire"
)

// LicensesService manages licenses: POST, GET, PATCH and DELETE /licenses,
// the lifecycle actions (suspend, reinstate, revoke, renew) and the
// license's own entitlements. Reach it as Client.Licenses.
//
// Lifecycle transitions: active → suspended (Suspend), suspended → active
// (Reinstate), active or suspended → revoked (Revoke, permanent). Any other
// transition, judged on the reported status (an expired license can't be
// suspended), is refused with an error matching ErrConflict.
type LicensesService service

// LicenseListOptions selects and pages the licenses List yields. Empty
// filters select everything.
type LicenseListOptions struct {
	ListOptions
	ProductID string // only licenses of this product
	PolicyID  string // only licenses under this policy
	// Status keeps licenses whose reported status is this one: StatusActive,
	// StatusSuspended, StatusExpired, StatusRevoked or StatusBanned.
	Status string
}

func checkLicenseResource(l *License) error { return needID("license", l.ID) }

// Create issues a license. ProductID and PolicyID are required; the server
// generates the key unless Key sets a custom one (for migrations; a taken
// key is an error matching ErrConflict). ExpiresAt defaults to now plus the
// policy's durationDays; Null() means never.
func (s *LicensesService) Create(ctx context.Context, req *LicenseRequest) (*License, error) {
	return createResource(ctx, s.client, wire.PathLicenses, req, dropsAnswer(), checkLicenseResource) // a cached NOT_FOUND of a custom key goes
}

// Get returns license id with its policy snapshot. A license of the other
// environment, a deleted one or an unknown id is an error matching
// ErrNotFound.
func (s *LicensesService) Get(ctx context.Context, id string) (*License, error) {
	if err := checkID("license ID", id); err != nil {
		return nil, err
	}
	return getResource(ctx, s.client, wire.ResourcePath(wire.PathLicenses, id), checkLicenseResource)
}

// GetByKey returns the license whose key is key, in the API key's
// environment. The key never appears in errors or logs in full.
func (s *LicensesService) GetByKey(ctx context.Context, key string) (*License, error) {
	if err := checkLicenseKey(key); err != nil {
		return nil, err
	}
	return sendResource(ctx, s.client, &request{
		method:  http.MethodGet,
		path:    wire.LicenseByKeyPath(key),
		auth:    authAPIKey,
		secrets: []string{key},
	}, checkLicenseResource)
}

// Update changes the fields req sets and returns the license. Nullable
// fields set to Null() are cleared (no expiry, no override).
func (s *LicensesService) Update(ctx context.Context, id string, req *LicenseRequest) (*License, error) {
	if err := checkID("license ID", id); err != nil {
		return nil, err
	}
	return updateResource(ctx, s.client, wire.ResourcePath(wire.PathLicenses, id), req, dropsLicenseID(id), checkLicenseResource)
}

// Delete deletes license id (a soft delete; its machines go with it).
func (s *LicensesService) Delete(ctx context.Context, id string) error {
	if err := checkID("license ID", id); err != nil {
		return err
	}
	return deleteResource(ctx, s.client, wire.ResourcePath(wire.PathLicenses, id), dropsLicenseID(id))
}

// List yields every license the options select, oldest first, fetching
// pages as the loop advances. It stops at the first error, which it yields.
func (s *LicensesService) List(ctx context.Context, opts *LicenseListOptions) iter.Seq2[*License, error] {
	return s.lister(opts).all(ctx)
}

// ListPage returns one page of the licenses the options select.
func (s *LicensesService) ListPage(ctx context.Context, opts *LicenseListOptions) (*Page[License], error) {
	return s.lister(opts).first(ctx)
}

func (s *LicensesService) lister(opts *LicenseListOptions) *lister[License] {
	if opts == nil {
		return newLister(s.client, wire.PathLicenses, nil, nil, checkLicenseResource)
	}
	switch opts.Status {
	case "", StatusActive, StatusSuspended, StatusExpired, StatusRevoked, StatusBanned:
	default:
		return failedLister[License](fmt.Errorf("%w: unknown license status %q", ErrInvalidArgument, sanitize(opts.Status, 40)))
	}
	if err := checkOptionalID("product ID", opts.ProductID); err != nil {
		return failedLister[License](err)
	}
	if err := checkOptionalID("policy ID", opts.PolicyID); err != nil {
		return failedLister[License](err)
	}
	f := url.Values{}
	f.Set(wire.QueryProductID, opts.ProductID)
	f.Set(wire.QueryPolicyID, opts.PolicyID)
	f.Set(wire.QueryStatus, opts.Status)
	return newLister(s.client, wire.PathLicenses, &opts.ListOptions, f, checkLicenseResource)
}

// Suspend suspends an active license and returns it. Validations then
// report SUSPENDED until Reinstate.
func (s *LicensesService) Suspend(ctx context.Context, id string) (*License, error) {
	return s.transition(ctx, id, wire.ActionSuspend, StatusSuspended)
}

// Reinstate makes a suspended license active again and returns it.
func (s *LicensesService) Reinstate(ctx context.Context, id string) (*License, error) {
	return s.transition(ctx, id, wire.ActionReinstate, StatusActive)
}

// Revoke revokes an active or suspended license for good and returns it.
func (s *LicensesService) Revoke(ctx context.Context, id string) (*License, error) {
	return s.transition(ctx, id, wire.ActionRevoke, StatusRevoked)
}

// Renew extends license id by its policy's durationDays, from its expiry or
// from now when that is later, reactivating an expired license (a
// suspended one stays suspended). A license whose policy has no
// durationDays is an error matching ErrInvalidRequest; a revoked or banned one
// matches ErrConflict.
//
// Renew is not idempotent (each call extends again), so it is retried only
// on 429, never after a response that may have been lost.
func (s *LicensesService) Renew(ctx context.Context, id string) (*License, error) {
	if err := checkID("license ID", id); err != nil {
		return nil, err
	}
	return sendResource(ctx, s.client, &request{
		method: http.MethodPost,
		path:   wire.SubPath(wire.PathLicenses, id, wire.ActionRenew),
		auth:   authAPIKey,
		drops:  dropsLicenseID(id),
	}, checkLicenseResource)
}

// transition runs a status action. Suspend, reinstate and revoke move to a
// fixed status, so they are retried on 5xx and transport errors too: when
// an earlier attempt may have acted and the retry is refused as a conflict,
// the license is fetched and, if it already has status want, returned.
func (s *LicensesService) transition(ctx context.Context, id, action, want string) (*License, error) {
	if err := checkID("license ID", id); err != nil {
		return nil, err
	}
	r := &request{
		method:     http.MethodPost,
		path:       wire.SubPath(wire.PathLicenses, id, action),
		auth:       authAPIKey,
		idempotent: true,
		drops:      dropsLicenseID(id),
	}
	l, res, err := callData[License](ctx, s.client, r)
	if err != nil {
		if res != nil && res.Ambiguous && errors.Is(err, ErrConflict) {
			if cur, gerr := s.Get(ctx, id); gerr == nil && cur.Status == want {
				s.client.recovered(r, cur)
				return cur, nil
			}
		}
		return nil, err
	}
	if err := checkLicenseResource(l); err != nil {
		return nil, fmt.Errorf("licentric: POST %s: %w", r.path, err)
	}
	return l, nil
}

// AttachEntitlements grants the entitlements with the given codes to
// license id (on top of its policy's) and returns the license. An unknown
// code is an error matching ErrNotFound.
func (s *LicensesService) AttachEntitlements(ctx context.Context, id string, codes ...string) (*License, error) {
	return setEntitlements(ctx, s.client, http.MethodPost, wire.PathLicenses, "license", id, codes, dropsLicenseID(id), checkLicenseResource)
}

// DetachEntitlements removes the entitlements with the given codes from
// license id's own set and returns the license. Entitlements the license
// inherits from its policy are not affected.
func (s *LicensesService) DetachEntitlements(ctx context.Context, id string, codes ...string) (*License, error) {
	return setEntitlements(ctx, s.client, http.MethodDelete, wire.PathLicenses, "license", id, codes, dropsLicenseID(id), checkLicenseResource)
}
