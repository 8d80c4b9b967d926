package licentric

import (
	"context"
	"fmt"
	"iter"
	"net/http"

	"github.com/licentric/licentric-go/internal/wire"
)

// PoliciesService manages policies, the rules licenses are issued under:
// POST, GET, PATCH and DELETE /policies, and their entitlements. Reach it
// as Client.Policies.
type PoliciesService service

// PolicyTemplate names a set of policy defaults the server fills in
// (docs: /docs/resources/templates). A field the request sets wins over the
// template's value.
type PolicyTemplate string

// Policy templates. Their defaults, as the service documents them:
//
//	desktop_app  maxMachines 2, requireFingerprint, offline up to 14 days
//	cli_tool     maxMachines 3, requireFingerprint, offline up to 7 days
//	saas         unlimited machines, no fingerprint, no offline, 30-day
//	             duration, heartbeat every 1440 minutes, floating
//	trial        maxMachines 1, requireFingerprint, no offline, isTrial
//	custom       no defaults beyond the policy's own; maxMachines required
const (
	PolicyTemplateDesktopApp PolicyTemplate = "desktop_app"
	PolicyTemplateCLITool    PolicyTemplate = "cli_tool"
	PolicyTemplateSaaS       PolicyTemplate = "saas"
	PolicyTemplateTrial      PolicyTemplate = "trial"
	PolicyTemplateCustom     PolicyTemplate = "custom"
)

// Valid reports whether t is one of the templates above.
func (t PolicyTemplate) Valid() bool {
	switch t {
	case PolicyTemplateDesktopApp, PolicyTemplateCLITool, PolicyTemplateSaaS, PolicyTemplateTrial, PolicyTemplateCustom:
		return true
	}
	return false
}

func checkPolicyResource(p *Policy) error { return needID("policy", p.ID) }

// Create creates a policy. ProductID and Name are required, and so is
// MaxMachines unless the template sets it: Value(0) allows no machines,
// Null() (with AllowUnlimitedActivations: Value(true)) allows any number.
func (s *PoliciesService) Create(ctx context.Context, req *PolicyRequest) (*Policy, error) {
	return createResource(ctx, s.client, wire.PathPolicies, req, dropsNothing(), checkPolicyResource)
}

// CreateFromTemplate creates a policy from template t: req supplies at
// least ProductID and Name, and any field it sets overrides the template's
// default. req is not modified.
func (s *PoliciesService) CreateFromTemplate(ctx context.Context, t PolicyTemplate, req *PolicyRequest) (*Policy, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("%w: unknown policy template %q", ErrInvalidArgument, sanitize(string(t), 40))
	}
	if req == nil {
		return nil, fmt.Errorf("%w: nil request", ErrInvalidArgument)
	}
	r := *req
	r.Template = Value(string(t))
	return s.Create(ctx, &r)
}

// Get returns policy id, or an error matching ErrNotFound.
func (s *PoliciesService) Get(ctx context.Context, id string) (*Policy, error) {
	if err := checkID("policy ID", id); err != nil {
		return nil, err
	}
	return getResource(ctx, s.client, wire.ResourcePath(wire.PathPolicies, id), checkPolicyResource)
}

// Update changes the fields req sets and returns the policy. Unset fields
// are left alone; Nullable fields set to Null() are cleared (unlimited or
// never).
func (s *PoliciesService) Update(ctx context.Context, id string, req *PolicyRequest) (*Policy, error) {
	if err := checkID("policy ID", id); err != nil {
		return nil, err
	}
	return updateResource(ctx, s.client, wire.ResourcePath(wire.PathPolicies, id), req, dropsAll(), checkPolicyResource)
}

// Delete deletes policy id (a soft delete).
func (s *PoliciesService) Delete(ctx context.Context, id string) error {
	if err := checkID("policy ID", id); err != nil {
		return err
	}
	return deleteResource(ctx, s.client, wire.ResourcePath(wire.PathPolicies, id), dropsAll())
}

// List yields every policy, oldest first; see ListOptions.
func (s *PoliciesService) List(ctx context.Context, opts *ListOptions) iter.Seq2[*Policy, error] {
	return s.lister(opts).all(ctx)
}

// ListPage returns one page of policies.
func (s *PoliciesService) ListPage(ctx context.Context, opts *ListOptions) (*Page[Policy], error) {
	return s.lister(opts).first(ctx)
}

func (s *PoliciesService) lister(opts *ListOptions) *lister[Policy] {
	return newLister(s.client, wire.PathPolicies, opts, nil, checkPolicyResource)
}

// AttachEntitlements grants the entitlements with the given codes to every
// license under policy id and returns the policy. An unknown code is an
// error matching ErrNotFound; codes already attached stay as they are.
func (s *PoliciesService) AttachEntitlements(ctx context.Context, id string, codes ...string) (*Policy, error) {
	return setEntitlements(ctx, s.client, http.MethodPost, wire.PathPolicies, "policy", id, codes, dropsAll(), checkPolicyResource)
}

// DetachEntitlements removes the entitlements with the given codes from
// policy id and returns the policy. Detaching a code that is not attached
// is not an error.
func (s *PoliciesService) DetachEntitlements(ctx context.Context, id string, codes ...string) (*Policy, error) {
	return setEntitlements(ctx, s.client, http.MethodDelete, wire.PathPolicies, "policy", id, codes, dropsAll(), checkPolicyResource)
}
