package licentrictest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

// state is everything the server stores. It is guarded by Server.mu.
type state struct {
	seq          int64
	apiKeys      map[string]*apiKey
	products     []*productRec
	policies     []*policyRec
	licenses     []*licenseRec
	machines     []*machineRec
	entitlements []*entitlementRec
	webhooks     []*webhookRec
	byID         map[string]any // every record by id
	licenseKeys  map[string]*licenseRec
	events       map[string]*ring[wire.Event] // per environment, bounded
	validations  map[string]*valCounts
	agents       []*agentRec
	agentTokens  map[string]*agentToken // by SHA-256 of the token, hex
}

type valCounts struct{ total, ok, failed int }

type apiKey struct {
	env     string
	scopes  map[string]bool
	revoked bool
}

type base struct {
	id        string
	env       string
	seq       int64
	createdAt time.Time
	updatedAt time.Time
	deletedAt time.Time
	metadata  wire.Metadata
}

func (b *base) deleted() bool { return !b.deletedAt.IsZero() }

type productRec struct {
	base
	name, code, description, keyPrefix string
}

type policyRec struct {
	base
	p              wire.Policy // every stored field except id/timestamps/entitlements
	entitlementIDs []string
}

type licenseRec struct {
	base
	key, name, status   string // status: stored status, never "expired"
	productID, policyID string
	userEmail, userName string
	expiresAt           time.Time
	maxMachinesOverride *int
	maxUsesOverride     *int
	usesCount           int
	entitlementIDs      []string
	activated           bool // license.activated has fired
	expiredNotified     bool // license.expired has fired for the current expiresAt
}

type machineRec struct {
	base
	licenseID, fingerprint, name, platform, hostname string
	cores                                            int
	lastHeartbeatAt                                  time.Time
	deadNotified                                     bool
}

type entitlementRec struct {
	base
	code, name string
}

type webhookRec struct {
	base
	url    string
	events []string
	secret string
}

func newState(eventLogSize int) *state {
	live, test := newRing[wire.Event](eventLogSize), newRing[wire.Event](eventLogSize)
	return &state{
		apiKeys:     map[string]*apiKey{},
		byID:        map[string]any{},
		licenseKeys: map[string]*licenseRec{},
		events:      map[string]*ring[wire.Event]{EnvLive: &live, EnvTest: &test},
		validations: map[string]*valCounts{EnvLive: {}, EnvTest: {}},
		agentTokens: map[string]*agentToken{},
	}
}

func (st *state) newBase(env string, now time.Time, md wire.Metadata) base {
	st.seq++
	id := newUUID()
	for st.byID[id] != nil {
		id = newUUID()
	}
	if md == nil {
		md = wire.Metadata{}
	}
	return base{id: id, env: env, seq: st.seq, createdAt: now, updatedAt: now, metadata: md}
}

// live returns the record of type R with id if it belongs to env and is not
// deleted.
func live[R record](st *state, env, id string) (R, bool) {
	r, ok := st.byID[id].(R)
	if !ok || r.self().env != env || r.self().deleted() {
		var none R
		return none, false
	}
	return r, true
}

// lookup helpers: a record of env that is not deleted, or nil.
func (st *state) product(env, id string) *productRec {
	r, _ := live[*productRec](st, env, id)
	return r
}

func (st *state) policy(env, id string) *policyRec {
	r, _ := live[*policyRec](st, env, id)
	return r
}

func (st *state) license(env, id string) *licenseRec {
	r, _ := live[*licenseRec](st, env, id)
	return r
}

func (st *state) machine(env, id string) *machineRec {
	r, _ := live[*machineRec](st, env, id)
	return r
}

func (st *state) entitlement(env, id string) *entitlementRec {
	r, _ := live[*entitlementRec](st, env, id)
	return r
}

// policyOf returns the policy governing l, even if it was deleted since.
func (st *state) policyOf(l *licenseRec) *policyRec {
	r, _ := st.byID[l.policyID].(*policyRec)
	return r
}

func (st *state) entitlementByCode(env, code string) *entitlementRec {
	for _, e := range st.entitlements {
		if e.env == env && !e.deleted() && e.code == code {
			return e
		}
	}
	return nil
}

// codes resolves entitlement ids to the codes of the ones not deleted, sorted.
func (st *state) codes(ids []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, id := range ids {
		e, _ := st.byID[id].(*entitlementRec)
		if e == nil || e.deleted() || seen[e.code] {
			continue
		}
		seen[e.code] = true
		out = append(out, e.code)
	}
	sort.Strings(out)
	return out
}

// effectiveEntitlements is the union of the license's and its policy's codes, sorted.
func (st *state) effectiveEntitlements(l *licenseRec) []string {
	ids := append([]string{}, l.entitlementIDs...)
	if p := st.policyOf(l); p != nil {
		ids = append(ids, p.entitlementIDs...)
	}
	return st.codes(ids)
}

// liveMachines returns the machines of l that are not deleted, oldest first.
func (st *state) liveMachines(l *licenseRec) []*machineRec {
	var out []*machineRec
	for _, m := range st.machines {
		if m.licenseID == l.id && !m.deleted() {
			out = append(out, m)
		}
	}
	return out
}

// reportedStatus is the status a client sees: "expired" when the stored
// status is active and expiresAt has been reached.
func reportedStatus(l *licenseRec, now time.Time) string {
	if l.status == wire.StatusActive && isExpired(l, now) {
		return wire.StatusExpired
	}
	return l.status
}

func isExpired(l *licenseRec, now time.Time) bool {
	return !l.expiresAt.IsZero() && !now.Before(l.expiresAt)
}

func machineLimit(l *licenseRec, p *policyRec) *int {
	if l.maxMachinesOverride != nil {
		return l.maxMachinesOverride
	}
	if p != nil {
		return p.p.MaxMachines
	}
	return nil
}

func usesLimit(l *licenseRec, p *policyRec) *int {
	if l.maxUsesOverride != nil {
		return l.maxUsesOverride
	}
	if p != nil {
		return p.p.MaxUses
	}
	return nil
}

// machineDead reports whether m has missed its heartbeat deadline.
func machineDead(m *machineRec, p *policyRec, now time.Time) bool {
	if p == nil || !p.p.RequireHeartbeat {
		return false
	}
	interval := time.Duration(p.p.HeartbeatIntervalMinutes) * time.Minute
	return now.Sub(m.lastHeartbeatAt) > interval
}

// Views: the wire form of each record.

func ts(t time.Time) wire.Timestamp { return wire.NewTimestamp(t) }

func meta(m wire.Metadata) wire.Metadata {
	out := wire.Metadata{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func copyInt(p *int) *int {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func (st *state) policyView(p *policyRec) *wire.Policy {
	v := p.p
	v.ID = p.id
	v.MaxMachines = copyInt(p.p.MaxMachines)
	v.MaxUses = copyInt(p.p.MaxUses)
	v.DurationDays = copyInt(p.p.DurationDays)
	v.TrialDurationDays = copyInt(p.p.TrialDurationDays)
	v.Entitlements = st.codes(p.entitlementIDs)
	v.Metadata = meta(p.metadata)
	v.CreatedAt, v.UpdatedAt, v.DeletedAt = ts(p.createdAt), ts(p.updatedAt), ts(p.deletedAt)
	return &v
}

func (st *state) licenseView(l *licenseRec, now time.Time) *wire.License {
	v := &wire.License{
		ID:                  l.id,
		Key:                 l.key,
		Name:                l.name,
		Status:              reportedStatus(l, now),
		ProductID:           l.productID,
		PolicyID:            l.policyID,
		UserEmail:           l.userEmail,
		UserName:            l.userName,
		ExpiresAt:           ts(l.expiresAt),
		MaxMachinesOverride: copyInt(l.maxMachinesOverride),
		MaxUsesOverride:     copyInt(l.maxUsesOverride),
		UsesCount:           l.usesCount,
		MachineCount:        len(st.liveMachines(l)),
		Entitlements:        st.codes(l.entitlementIDs),
		Metadata:            meta(l.metadata),
		CreatedAt:           ts(l.createdAt),
		UpdatedAt:           ts(l.updatedAt),
		DeletedAt:           ts(l.deletedAt),
	}
	if p := st.policyOf(l); p != nil {
		v.Policy = st.policyView(p)
	}
	return v
}

func (st *state) machineView(m *machineRec, now time.Time) *wire.Machine {
	status := wire.MachineActive
	if l, _ := st.byID[m.licenseID].(*licenseRec); l != nil && machineDead(m, st.policyOf(l), now) {
		status = wire.MachineDead
	}
	return &wire.Machine{
		ID:              m.id,
		LicenseID:       m.licenseID,
		Fingerprint:     m.fingerprint,
		Name:            m.name,
		Platform:        m.platform,
		Hostname:        m.hostname,
		Cores:           m.cores,
		Status:          status,
		LastHeartbeatAt: ts(m.lastHeartbeatAt),
		CreatedAt:       ts(m.createdAt),
		UpdatedAt:       ts(m.updatedAt),
		DeletedAt:       ts(m.deletedAt),
		Metadata:        meta(m.metadata),
	}
}

func (st *state) productView(p *productRec, account string) *wire.Product {
	n := 0
	for _, l := range st.licenses {
		if l.productID == p.id && !l.deleted() {
			n++
		}
	}
	return &wire.Product{
		ID: p.id, Name: p.name, Code: p.code, Description: p.description, KeyPrefix: p.keyPrefix,
		AccountID: account, LicensesCount: n,
		CreatedAt: ts(p.createdAt), UpdatedAt: ts(p.updatedAt), DeletedAt: ts(p.deletedAt),
		Metadata: meta(p.metadata),
	}
}

func entitlementView(e *entitlementRec, account string) *wire.Entitlement {
	return &wire.Entitlement{
		ID: e.id, Code: e.code, Name: e.name, AccountID: account,
		CreatedAt: ts(e.createdAt), UpdatedAt: ts(e.updatedAt), DeletedAt: ts(e.deletedAt),
		Metadata: meta(e.metadata),
	}
}

func webhookView(w *webhookRec, account string) *wire.Webhook {
	return &wire.Webhook{
		ID: w.id, URL: w.url, Events: append([]string{}, w.events...), AccountID: account,
		CreatedAt: ts(w.createdAt), UpdatedAt: ts(w.updatedAt), DeletedAt: ts(w.deletedAt),
	}
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("licentrictest: crypto/rand: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("licentrictest: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}
