package licentrictest

import (
	"net/http"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

func validEntitlementCode(s string) bool {
	if len(s) < 1 || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func checkEntitlement(req *wire.EntitlementRequest, create bool) *apiError {
	var is issues
	if has(req.Code) {
		if !validEntitlementCode(get(req.Code)) {
			is.add("code", "invalid_string", "Code must be 1 to 100 characters of a-z, 0-9, _ and -")
		}
	} else if create {
		is.add("code", "invalid_type", "Required")
	}
	checkName(&is, req.Name, create)
	checkMetadata(&is, req.Metadata)
	return is.err()
}

// createEntitlement is POST /entitlements and the seeding path.
func (s *Server) createEntitlement(st *state, env string, req wire.EntitlementRequest, now time.Time) (*entitlementRec, *apiError) {
	if e := checkEntitlement(&req, true); e != nil {
		return nil, e
	}
	if st.entitlementByCode(env, get(req.Code)) != nil {
		return nil, conflict("An entitlement with code %q already exists", get(req.Code))
	}
	e := &entitlementRec{base: st.newBase(env, now, req.Metadata), code: get(req.Code), name: get(req.Name)}
	st.entitlements = append(st.entitlements, e)
	st.byID[e.id] = e
	return e, nil
}

func entitlementData(c *call, e *entitlementRec) wire.Data[*wire.Entitlement] {
	return wire.Data[*wire.Entitlement]{Data: entitlementView(e, c.s.accountID)}
}

func hCreateEntitlement(c *call) (int, any, *apiError) {
	var req wire.EntitlementRequest
	if e := decodeBody(c.body, &req, false); e != nil {
		return 0, nil, e
	}
	ent, e := c.s.createEntitlement(c.st, c.env, req, c.now)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusCreated, entitlementData(c, ent), nil
}

func hListEntitlements(c *call) (int, any, *apiError) {
	return listPage(c, c.st.entitlements, nil, func(e *entitlementRec) any { return entitlementView(e, c.s.accountID) })
}

func entitlementParam(c *call) (*entitlementRec, *apiError) {
	return param[*entitlementRec](c, "Entitlement")
}

func hUpdateEntitlement(c *call) (int, any, *apiError) {
	ent, e := entitlementParam(c)
	if e != nil {
		return 0, nil, e
	}
	var req wire.EntitlementRequest
	if e := decodeBody(c.body, &req, true); e != nil {
		return 0, nil, e
	}
	if e := checkEntitlement(&req, false); e != nil {
		return 0, nil, e
	}
	if has(req.Code) {
		if other := c.st.entitlementByCode(c.env, get(req.Code)); other != nil && other != ent {
			return 0, nil, conflict("An entitlement with code %q already exists", get(req.Code))
		}
		ent.code = get(req.Code)
	}
	set(&ent.name, req.Name)
	if req.Metadata != nil {
		ent.metadata = req.Metadata
	}
	ent.updatedAt = c.now
	return http.StatusOK, entitlementData(c, ent), nil
}
