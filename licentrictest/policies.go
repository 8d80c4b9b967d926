package licentrictest

import (
	"net/http"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

func intp(v int) *int { return &v }

// templateDefaults returns the values a template fills (docs-facts §4),
// applied to a policy only where the request leaves them unset.
func templateDefaults(template string) (p wire.Policy, setsMaxMachines bool) {
	p = wire.Policy{
		ExpirationStrategy:       wire.StrategyRestrictAccess,
		HeartbeatIntervalMinutes: 60,
		HeartbeatCullStrategy:    wire.CullDeactivateDead,
		RequireFingerprint:       true,
		FingerprintUniqueness:    wire.UniquePerLicense,
		OfflineAllowed:           true,
		OfflineMaxDays:           14,
	}
	switch template {
	case wire.TemplateDesktopApp:
		p.MaxMachines, setsMaxMachines = intp(2), true
	case wire.TemplateCLITool:
		p.MaxMachines, setsMaxMachines = intp(3), true
		p.OfflineMaxDays = 7
	case wire.TemplateSaaS:
		p.MaxMachines, setsMaxMachines = nil, true
		p.RequireFingerprint = false
		p.OfflineAllowed = false
		p.DurationDays = intp(30)
		p.RequireHeartbeat = true
		p.HeartbeatIntervalMinutes = 1440
		p.Floating = true
	case wire.TemplateTrial:
		p.MaxMachines, setsMaxMachines = intp(1), true
		p.OfflineAllowed = false
		p.IsTrial = true
	}
	return p, setsMaxMachines
}

var (
	templates   = map[string]bool{wire.TemplateDesktopApp: true, wire.TemplateCLITool: true, wire.TemplateSaaS: true, wire.TemplateTrial: true, wire.TemplateCustom: true}
	strategies  = map[string]bool{wire.StrategyRestrictAccess: true, wire.StrategyAllowAccess: true, wire.StrategyRevoke: true}
	culls       = map[string]bool{wire.CullDeactivateDead: true, wire.CullKeepDead: true}
	uniquenesss = map[string]bool{wire.UniquePerLicense: true, wire.UniquePerPolicy: true, wire.UniquePerAccount: true}
)

// applyPolicy validates req and writes its set fields into p. On create,
// p already holds the template's defaults.
func applyPolicy(p *wire.Policy, req *wire.PolicyRequest, create, seeding bool, setsMax bool) *apiError {
	var is issues
	checkName(&is, req.Name, create)
	if has(req.Template) && !templates[get(req.Template)] {
		is.add("template", "invalid_enum_value", "Template must be one of desktop_app, cli_tool, saas, trial, custom")
	}
	unlimitedOK := seeding || get(req.AllowUnlimitedActivations)
	switch v, ok := req.MaxMachines.Get(); {
	case ok && v < 0:
		is.add("maxMachines", "too_small", "maxMachines must not be negative")
	case req.MaxMachines.IsNull() && !unlimitedOK:
		is.add("maxMachines", "invalid_type", "maxMachines may be null only with allowUnlimitedActivations: true")
	case req.MaxMachines.IsZero() && create && !setsMax && !seeding:
		is.add("maxMachines", "invalid_type", "Required")
	}
	if v, ok := req.MaxUses.Get(); ok && v < 0 {
		is.add("maxUses", "too_small", "maxUses must not be negative")
	}
	if v, ok := req.DurationDays.Get(); ok && v < 1 {
		is.add("durationDays", "too_small", "durationDays must be at least 1")
	}
	if v, ok := req.TrialDurationDays.Get(); ok && v < 1 {
		is.add("trialDurationDays", "too_small", "trialDurationDays must be at least 1")
	}
	if has(req.ExpirationStrategy) && !strategies[get(req.ExpirationStrategy)] {
		is.add("expirationStrategy", "invalid_enum_value", "expirationStrategy must be RESTRICT_ACCESS, ALLOW_ACCESS or REVOKE")
	}
	if has(req.HeartbeatCullStrategy) && !culls[get(req.HeartbeatCullStrategy)] {
		is.add("heartbeatCullStrategy", "invalid_enum_value", "heartbeatCullStrategy must be DEACTIVATE_DEAD or KEEP_DEAD")
	}
	if has(req.FingerprintUniqueness) && !uniquenesss[get(req.FingerprintUniqueness)] {
		is.add("fingerprintUniqueness", "invalid_enum_value", "fingerprintUniqueness must be PER_LICENSE, PER_POLICY or PER_ACCOUNT")
	}
	if has(req.HeartbeatIntervalMinutes) && get(req.HeartbeatIntervalMinutes) < 1 {
		is.add("heartbeatIntervalMinutes", "too_small", "heartbeatIntervalMinutes must be at least 1")
	}
	if has(req.OfflineMaxDays) && get(req.OfflineMaxDays) < 1 {
		is.add("offlineMaxDays", "too_small", "offlineMaxDays must be at least 1")
	}
	checkMetadata(&is, req.Metadata)
	if e := is.err(); e != nil {
		return e
	}
	set(&p.Name, req.Name)
	set(&p.Template, req.Template)
	setNullable(&p.MaxMachines, req.MaxMachines)
	setNullable(&p.MaxUses, req.MaxUses)
	setNullable(&p.DurationDays, req.DurationDays)
	setNullable(&p.TrialDurationDays, req.TrialDurationDays)
	set(&p.ExpirationStrategy, req.ExpirationStrategy)
	set(&p.HeartbeatCullStrategy, req.HeartbeatCullStrategy)
	set(&p.FingerprintUniqueness, req.FingerprintUniqueness)
	set(&p.Floating, req.Floating)
	set(&p.RequireHeartbeat, req.RequireHeartbeat)
	set(&p.RequireFingerprint, req.RequireFingerprint)
	set(&p.OfflineAllowed, req.OfflineAllowed)
	set(&p.AllowMachineTransfer, req.AllowMachineTransfer)
	set(&p.IsTrial, req.IsTrial)
	set(&p.Overridable, req.Overridable)
	set(&p.HeartbeatIntervalMinutes, req.HeartbeatIntervalMinutes)
	set(&p.OfflineMaxDays, req.OfflineMaxDays)
	return nil
}

// createPolicy is POST /policies and the seeding path. When seeding, an
// unset maxMachines means unlimited and null needs no flag.
func (s *Server) createPolicy(st *state, env string, req wire.PolicyRequest, now time.Time, seeding bool) (*policyRec, *apiError) {
	template := wire.TemplateCustom
	if has(req.Template) && templates[get(req.Template)] {
		template = get(req.Template)
	}
	p, setsMax := templateDefaults(template)
	p.Template = template
	if !has(req.ProductID) || get(req.ProductID) == "" {
		e := applyPolicy(&p, &req, true, seeding, setsMax)
		var is issues
		is.add("productId", "invalid_type", "Required")
		if e != nil {
			if prev, ok := e.details["issues"].([]issue); ok {
				is = append(is, prev...)
			}
		}
		return nil, is.err()
	}
	if e := applyPolicy(&p, &req, true, seeding, setsMax); e != nil {
		return nil, e
	}
	prod := st.product(env, get(req.ProductID))
	if prod == nil {
		return nil, notFound("Product")
	}
	p.ProductID = prod.id
	rec := &policyRec{base: st.newBase(env, now, req.Metadata), p: p}
	st.policies = append(st.policies, rec)
	st.byID[rec.id] = rec
	return rec, nil
}

func policyData(c *call, p *policyRec) wire.Data[*wire.Policy] {
	return wire.Data[*wire.Policy]{Data: c.st.policyView(p)}
}

func hCreatePolicy(c *call) (int, any, *apiError) {
	var req wire.PolicyRequest
	if e := decodeBody(c.body, &req, false); e != nil {
		return 0, nil, e
	}
	p, e := c.s.createPolicy(c.st, c.env, req, c.now, false)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusCreated, policyData(c, p), nil
}

func hListPolicies(c *call) (int, any, *apiError) {
	productID := c.query.Get(wire.QueryProductID)
	return listPage(c, c.st.policies, func(p *policyRec) bool {
		return productID == "" || p.p.ProductID == productID
	}, func(p *policyRec) any { return c.st.policyView(p) })
}

func policyParam(c *call) (*policyRec, *apiError) { return param[*policyRec](c, "Policy") }

func hUpdatePolicy(c *call) (int, any, *apiError) {
	p, e := policyParam(c)
	if e != nil {
		return 0, nil, e
	}
	var req wire.PolicyRequest
	if e := decodeBody(c.body, &req, true); e != nil {
		return 0, nil, e
	}
	next := p.p
	if e := applyPolicy(&next, &req, false, false, true); e != nil {
		return 0, nil, e
	}
	p.p = next
	if req.Metadata != nil {
		p.metadata = req.Metadata
	}
	p.updatedAt = c.now
	return http.StatusOK, policyData(c, p), nil
}

func hPolicyEntitlements(attach bool) func(c *call) (int, any, *apiError) {
	return func(c *call) (int, any, *apiError) {
		p, e := policyParam(c)
		if e != nil {
			return 0, nil, e
		}
		ids, e := entitlementCodes(c)
		if e != nil {
			return 0, nil, e
		}
		p.entitlementIDs = attachIDs(p.entitlementIDs, ids, attach)
		p.updatedAt = c.now
		return http.StatusOK, policyData(c, p), nil
	}
}
