package licentrictest

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/licentric/licentric-go/internal/wire"
)

const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newLicenseKey returns PREFIX-XXXX-XXXX-XXXX-XXXX, unused so far.
func (st *state) newLicenseKey(prefix string) string {
	for {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic("licentrictest: crypto/rand: " + err.Error())
		}
		var sb strings.Builder
		sb.WriteString(prefix)
		for i, c := range b {
			if i%4 == 0 {
				sb.WriteByte('-')
			}
			sb.WriteByte(keyAlphabet[int(c)%len(keyAlphabet)])
		}
		if k := sb.String(); st.licenseKeys[k] == nil {
			return k
		}
	}
}

func validEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.Count(s, "@") == 1 && !strings.ContainsAny(s, " \t\r\n") &&
		strings.Contains(s[at+1:], ".")
}

func checkLicenseFields(is *issues, req *wire.LicenseRequest) {
	if has(req.Name) && len(get(req.Name)) > 255 {
		is.add("name", "too_big", "Name must be at most 255 characters")
	}
	if has(req.UserName) && len(get(req.UserName)) > 255 {
		is.add("userName", "too_big", "userName must be at most 255 characters")
	}
	if has(req.UserEmail) && get(req.UserEmail) != "" && (len(get(req.UserEmail)) > 255 || !validEmail(get(req.UserEmail))) {
		is.add("userEmail", "invalid_string", "Invalid email")
	}
	if v, ok := req.MaxMachinesOverride.Get(); ok && v < 0 {
		is.add("maxMachinesOverride", "too_small", "maxMachinesOverride must not be negative")
	}
	if v, ok := req.MaxUsesOverride.Get(); ok && v < 0 {
		is.add("maxUsesOverride", "too_small", "maxUsesOverride must not be negative")
	}
	checkMetadata(is, req.Metadata)
}

// checkCustomKey applies docs/wire-protocol.md §13.1 to a custom license key: 1 to
// 16384 characters of UTF-8, no control characters, no leading or trailing
// whitespace. The key is then stored and compared byte for byte.
func checkCustomKey(is *issues, k string) {
	switch {
	case k == "":
		is.add("key", "too_small", "Key must not be empty")
	case !utf8.ValidString(k):
		is.add("key", "invalid_string", "Key must be valid UTF-8")
	case keyTooLong(k):
		is.add("key", "too_big", "Key must be at most %d characters", wire.MaxLicenseKeyLen)
	case strings.ContainsFunc(k, unicode.IsControl):
		is.add("key", "invalid_string", "Key must not contain control characters")
	case strings.TrimFunc(k, unicode.IsSpace) != k:
		is.add("key", "invalid_string", "Key must not start or end with whitespace")
	}
}

// checkMetadata refuses metadata over MaxMetadataBytes serialized
// (docs/wire-protocol.md §13.2). Metadata is otherwise stored as given; numbers keep
// their digits (the body is decoded with json.Number).
func checkMetadata(is *issues, md wire.Metadata) {
	if md == nil {
		return
	}
	raw, err := json.Marshal(md)
	if err != nil || len(raw) > wire.MaxMetadataBytes {
		is.add("metadata", "too_big", "Metadata must be at most %d bytes serialized", wire.MaxMetadataBytes)
	}
}

func (st *state) resolveEntitlementIDs(env string, ids []string) ([]string, *apiError) {
	out := []string{}
	for _, id := range ids {
		if st.entitlement(env, id) == nil {
			return nil, notFound("Entitlement " + id)
		}
		out = append(out, id)
	}
	return out, nil
}

// createLicense is POST /licenses and the seeding methods' path.
func (s *Server) createLicense(st *state, env string, req wire.LicenseRequest, now time.Time) (*licenseRec, *apiError) {
	var is issues
	if !has(req.ProductID) || get(req.ProductID) == "" {
		is.add("productId", "invalid_type", "Required")
	}
	if !has(req.PolicyID) || get(req.PolicyID) == "" {
		is.add("policyId", "invalid_type", "Required")
	}
	checkLicenseFields(&is, &req)
	if has(req.Key) {
		checkCustomKey(&is, get(req.Key))
	}
	if e := is.err(); e != nil {
		return nil, e
	}
	prod := st.product(env, get(req.ProductID))
	if prod == nil {
		return nil, notFound("Product")
	}
	pol := st.policy(env, get(req.PolicyID))
	if pol == nil {
		return nil, notFound("Policy")
	}
	if pol.p.ProductID != prod.id {
		return nil, validationError("policyId", "invalid_policy", "Policy belongs to another product")
	}
	ents, e := st.resolveEntitlementIDs(env, req.EntitlementIDs)
	if e != nil {
		return nil, e
	}
	key := ""
	if has(req.Key) {
		key = get(req.Key)
		if st.licenseKeys[key] != nil {
			return nil, conflict("License key is already taken")
		}
	} else {
		key = st.newLicenseKey(prod.keyPrefix)
	}
	l := &licenseRec{
		base:           st.newBase(env, now, req.Metadata),
		key:            key,
		status:         wire.StatusActive,
		productID:      prod.id,
		policyID:       pol.id,
		entitlementIDs: ents,
	}
	set(&l.name, req.Name)
	set(&l.userEmail, req.UserEmail)
	set(&l.userName, req.UserName)
	setNullable(&l.maxMachinesOverride, req.MaxMachinesOverride)
	setNullable(&l.maxUsesOverride, req.MaxUsesOverride)
	switch {
	case req.ExpiresAt.IsNull():
	case !req.ExpiresAt.IsZero():
		t, _ := req.ExpiresAt.Get()
		l.expiresAt = wire.NewTimestamp(t.Time).Time
	default:
		days := pol.p.DurationDays
		if pol.p.IsTrial && pol.p.TrialDurationDays != nil {
			days = pol.p.TrialDurationDays
		}
		if days != nil {
			l.expiresAt = now.Add(time.Duration(*days) * 24 * time.Hour)
		}
	}
	st.licenses = append(st.licenses, l)
	st.byID[l.id] = l
	st.licenseKeys[key] = l
	s.emit(env, wire.EventLicenseCreated, st.licenseView(l, now), now)
	return l, nil
}

func licenseData(c *call, l *licenseRec) wire.Data[*wire.License] {
	return wire.Data[*wire.License]{Data: c.st.licenseView(l, c.now)}
}

// licenseWithMachines is a license as GET /licenses/{id} and
// GET /licenses/by-key/{key} show it (docs/wire-protocol.md §3): with "machines", its
// live machines oldest first, always present (even as []).
type licenseWithMachines struct {
	*wire.License
	Machines []wire.Machine `json:"machines"`
}

func licenseDetail(c *call, l *licenseRec) wire.Data[licenseWithMachines] {
	v := licenseWithMachines{License: c.st.licenseView(l, c.now), Machines: []wire.Machine{}}
	for _, m := range c.st.liveMachines(l) {
		v.Machines = append(v.Machines, *c.st.machineView(m, c.now))
	}
	return wire.Data[licenseWithMachines]{Data: v}
}

func hCreateLicense(c *call) (int, any, *apiError) {
	var req wire.LicenseRequest
	if e := decodeBody(c.body, &req, false); e != nil {
		return 0, nil, e
	}
	l, e := c.s.createLicense(c.st, c.env, req, c.now)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusCreated, licenseData(c, l), nil
}

var licenseStatuses = map[string]bool{
	wire.StatusActive: true, wire.StatusSuspended: true, wire.StatusExpired: true,
	wire.StatusRevoked: true, wire.StatusBanned: true,
}

func hListLicenses(c *call) (int, any, *apiError) {
	productID, policyID := c.query.Get(wire.QueryProductID), c.query.Get(wire.QueryPolicyID)
	status := c.query.Get(wire.QueryStatus)
	if status != "" && !licenseStatuses[status] {
		return 0, nil, validationError("status", "invalid_enum_value", "Unknown status %q", status)
	}
	return listPage(c, c.st.licenses, func(l *licenseRec) bool {
		return (productID == "" || l.productID == productID) &&
			(policyID == "" || l.policyID == policyID) &&
			(status == "" || reportedStatus(l, c.now) == status)
	}, func(l *licenseRec) any { return c.st.licenseView(l, c.now) })
}

func licenseParam(c *call) (*licenseRec, *apiError) { return param[*licenseRec](c, "License") }

// hGetLicenseByKey is GET /licenses/by-key/{key}. The key arrives
// path-escaped as one segment and ServeMux unescapes it, so keys with '/',
// '%', spaces or non-ASCII letters round-trip byte for byte.
func hGetLicenseByKey(c *call) (int, any, *apiError) {
	key := c.params[0]
	if keyTooLong(key) {
		return 0, nil, keyTooLongError("key")
	}
	l := c.st.licenseKeys[key]
	if l == nil || l.env != c.env || l.deleted() {
		return 0, nil, notFound("License")
	}
	return http.StatusOK, licenseDetail(c, l), nil
}

func hUpdateLicense(c *call) (int, any, *apiError) {
	l, e := licenseParam(c)
	if e != nil {
		return 0, nil, e
	}
	var req wire.LicenseRequest
	if e := decodeBody(c.body, &req, true); e != nil {
		return 0, nil, e
	}
	var is issues
	checkLicenseFields(&is, &req)
	if e := is.err(); e != nil {
		return 0, nil, e
	}
	if has(req.PolicyID) && get(req.PolicyID) != l.policyID {
		pol := c.st.policy(c.env, get(req.PolicyID))
		if pol == nil {
			return 0, nil, notFound("Policy")
		}
		if pol.p.ProductID != l.productID {
			return 0, nil, validationError("policyId", "invalid_policy", "Policy belongs to another product")
		}
	}
	var ents []string
	if req.EntitlementIDs != nil {
		if ents, e = c.st.resolveEntitlementIDs(c.env, req.EntitlementIDs); e != nil {
			return 0, nil, e
		}
	}
	set(&l.policyID, req.PolicyID)
	if ents != nil {
		l.entitlementIDs = ents
	}
	set(&l.name, req.Name)
	set(&l.userEmail, req.UserEmail)
	set(&l.userName, req.UserName)
	setNullable(&l.maxMachinesOverride, req.MaxMachinesOverride)
	setNullable(&l.maxUsesOverride, req.MaxUsesOverride)
	if !req.ExpiresAt.IsZero() {
		l.expiresAt = time.Time{}
		if t, ok := req.ExpiresAt.Get(); ok {
			l.expiresAt = wire.NewTimestamp(t.Time).Time
		}
		l.expiredNotified = false
	}
	if req.Metadata != nil {
		l.metadata = req.Metadata
	}
	l.updatedAt = c.now
	v := c.st.licenseView(l, c.now)
	c.s.emit(l.env, wire.EventLicenseUpdated, v, c.now)
	return http.StatusOK, wire.Data[*wire.License]{Data: v}, nil
}

func hDeleteLicense(c *call) (int, any, *apiError) {
	l, e := licenseParam(c)
	if e != nil {
		return 0, nil, e
	}
	for _, m := range c.st.liveMachines(l) {
		m.deletedAt, m.updatedAt = c.now, c.now
	}
	l.deletedAt, l.updatedAt = c.now, c.now
	c.s.emit(l.env, wire.EventLicenseDeleted, c.st.licenseView(l, c.now), c.now)
	return http.StatusNoContent, nil, nil
}

// transition applies a lifecycle action (docs/wire-protocol.md §6, §11.8).
func (s *Server) transition(st *state, l *licenseRec, action string, now time.Time) *apiError {
	status := reportedStatus(l, now)
	refuse := func() *apiError {
		return conflict("Cannot %s a%s %s license", action, article(status), status)
	}
	var event string
	switch action {
	case wire.ActionSuspend:
		if status != wire.StatusActive {
			return refuse()
		}
		l.status, event = wire.StatusSuspended, wire.EventLicenseSuspended
	case wire.ActionReinstate:
		if status != wire.StatusSuspended {
			return refuse()
		}
		l.status, event = wire.StatusActive, wire.EventLicenseReinstated
	case wire.ActionRevoke:
		if status != wire.StatusActive && status != wire.StatusSuspended {
			return refuse()
		}
		l.status, event = wire.StatusRevoked, wire.EventLicenseRevoked
	case wire.ActionRenew:
		if status == wire.StatusRevoked || status == wire.StatusBanned {
			return refuse()
		}
		p := st.policyOf(l)
		if p == nil || p.p.DurationDays == nil {
			return unprocessable(wire.ErrCodeValidation, "The license's policy has no durationDays to renew by")
		}
		from := now
		if l.expiresAt.After(now) {
			from = l.expiresAt
		}
		l.expiresAt = from.Add(time.Duration(*p.p.DurationDays) * 24 * time.Hour)
		l.expiredNotified = false
		event = wire.EventLicenseRenewed
	default:
		return notFound("Action")
	}
	l.updatedAt = now
	s.emit(l.env, event, st.licenseView(l, now), now)
	return nil
}

func article(status string) string {
	if status == wire.StatusActive || status == wire.StatusExpired {
		return "n"
	}
	return ""
}

func hTransition(action string) func(c *call) (int, any, *apiError) {
	return func(c *call) (int, any, *apiError) {
		l, e := licenseParam(c)
		if e != nil {
			return 0, nil, e
		}
		if e := c.s.transition(c.st, l, action, c.now); e != nil {
			return 0, nil, e
		}
		return http.StatusOK, licenseData(c, l), nil
	}
}

// entitlementCodes decodes {"entitlementCodes": [...]} and resolves the
// codes to ids in env (404 for an unknown code).
func entitlementCodes(c *call) ([]string, *apiError) {
	var req wire.EntitlementCodesRequest
	if e := decodeBody(c.body, &req, false); e != nil {
		return nil, e
	}
	if req.EntitlementCodes == nil {
		return nil, validationError("entitlementCodes", "invalid_type", "Required")
	}
	var ids []string
	for _, code := range req.EntitlementCodes {
		e := c.st.entitlementByCode(c.env, code)
		if e == nil {
			return nil, notFound("Entitlement " + code)
		}
		ids = append(ids, e.id)
	}
	return ids, nil
}

func attachIDs(have, ids []string, attach bool) []string {
	set := map[string]bool{}
	for _, id := range ids {
		set[id] = true
	}
	var out []string
	for _, id := range have {
		if attach || !set[id] {
			out = append(out, id)
		}
		delete(set, id)
	}
	if attach {
		for _, id := range ids {
			if set[id] {
				out = append(out, id)
				delete(set, id)
			}
		}
	}
	return out
}

func hLicenseEntitlements(attach bool) func(c *call) (int, any, *apiError) {
	return func(c *call) (int, any, *apiError) {
		l, e := licenseParam(c)
		if e != nil {
			return 0, nil, e
		}
		ids, e := entitlementCodes(c)
		if e != nil {
			return 0, nil, e
		}
		l.entitlementIDs = attachIDs(l.entitlementIDs, ids, attach)
		l.updatedAt = c.now
		v := c.st.licenseView(l, c.now)
		c.s.emit(l.env, wire.EventLicenseUpdated, v, c.now)
		return http.StatusOK, wire.Data[*wire.License]{Data: v}, nil
	}
}
