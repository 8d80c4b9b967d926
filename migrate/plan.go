package migrate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/clock"
)

// Source is where a migration reads from: a *Keygen or a *Cryptlex. Both
// yield the same neutral Plan.
type Source interface {
	// System names the source system: SystemKeygen or SystemCryptlex.
	System() string
	// read parses and maps the source into b.
	read(ctx context.Context, b *builder) error
}

// PlanOptions adjust NewPlan. The zero value (or nil) is fine.
type PlanOptions struct {
	// Clock tells "now", against which derived statuses (expired) are
	// computed. Nil is the wall clock.
	Clock clock.Clock
	// Journal, when set, marks the records it holds as imported already,
	// so a re-run's plan shows what is left to do.
	Journal *Journal
	// MaxRecords caps the records read from the source; 0 is
	// DefaultMaxRecords. Raise it for a larger account, on a machine with
	// the memory: a plan needs about 7 KB of heap per record.
	MaxRecords int
	// MaxSourceBytes caps the bytes read from the source; 0 is
	// DefaultMaxSourceBytes (a plan needs about 4 bytes of heap per byte).
	MaxSourceBytes int64
	// ProductMap maps source products to products the target has: the key
	// is a source product's id or code, the value the target product's id
	// (prod_…). A mapped product is used, not created, and its policies are
	// created under it; use it where the codes differ (licentric import
	// --product-map SOURCE=TARGET_ID). A product whose code the target
	// has already is used without a map.
	ProductMap map[string]string
}

// Plan is the outcome of a dry run: every record of the source, mapped to
// Licentric, with its warnings or the reason it is rejected, checked
// against the target environment. Building it writes nothing anywhere.
//
// Apply imports a plan. A plan is not modified by Apply and may be read
// concurrently.
type Plan struct {
	// System is the source system (SystemKeygen or SystemCryptlex).
	System string
	// The records, each kind in source order.
	Products     []*Product
	Entitlements []*Entitlement
	Policies     []*Policy
	Licenses     []*License
	Machines     []*Machine
	// Notes are about the source as a whole (skipped users, unknown
	// columns, resource types that have no Licentric equivalent).
	Notes []Issue
	// TargetChecked reports that the plan was checked against a target
	// environment (NewPlan was given a client).
	TargetChecked bool
	// Target describes the checked environment ("test at https://…").
	Target string
	// Now is the time the plan's statuses were derived at.
	Now time.Time
}

// Counts are the numbers of one kind of record in a plan.
type Counts struct {
	Total    int // records read
	Accepted int // to import or imported already
	Rejected int
	Existing int // imported already (journal or target)
	Warnings int // records with at least one warning
}

// Counts returns the counts of kind k.
func (p *Plan) Counts(k Kind) Counts {
	var c Counts
	p.each(k, func(r *Record) {
		c.Total++
		if r.Accepted() {
			c.Accepted++
			if r.Existing != "" {
				c.Existing++
			}
		} else {
			c.Rejected++
		}
		if len(r.Warnings) > 0 {
			c.Warnings++
		}
	})
	return c
}

// Rejected returns the number of rejected records of every kind.
func (p *Plan) Rejected() int {
	n := 0
	for _, k := range Kinds {
		n += p.Counts(k).Rejected
	}
	return n
}

// ToImport returns the number of accepted records not imported yet.
func (p *Plan) ToImport() int {
	n := 0
	for _, k := range Kinds {
		c := p.Counts(k)
		n += c.Accepted - c.Existing
	}
	return n
}

// each calls fn for every record of kind k in order.
func (p *Plan) each(k Kind, fn func(*Record)) {
	switch k {
	case KindProduct:
		for _, r := range p.Products {
			fn(&r.Record)
		}
	case KindEntitlement:
		for _, r := range p.Entitlements {
			fn(&r.Record)
		}
	case KindPolicy:
		for _, r := range p.Policies {
			fn(&r.Record)
		}
	case KindLicense:
		for _, r := range p.Licenses {
			fn(&r.Record)
		}
	case KindMachine:
		for _, r := range p.Machines {
			fn(&r.Record)
		}
	}
}

// NewPlan reads src in full, maps every record and, when target is not nil,
// checks the plan against the target's environment: products and
// entitlements by code, policies by their _source metadata, license keys
// already taken. It makes no write anywhere (only GET requests to the
// target, within the client's rate budget).
//
// An error means the source could not be read at all (a missing file, a
// CSV without a key column, an unreachable Keygen API, a source over the
// caps of opts, ErrSourceTooLarge)
// or the target could not be listed; a bad record is not an error, it is
// a rejection inside the plan.
func NewPlan(ctx context.Context, src Source, target *licentric.Client, opts *PlanOptions) (*Plan, error) {
	if ctx == nil {
		return nil, errors.New("migrate: nil context")
	}
	if src == nil {
		return nil, errors.New("migrate: nil source")
	}
	var o PlanOptions
	if opts != nil {
		o = *opts
	}
	clk := clock.OrWall(o.Clock)
	b := newBuilder(src.System(), clk.Now(), newSourceLimits(&o))
	if err := src.read(ctx, b); err != nil {
		return nil, err
	}
	b.finish()
	p := b.plan
	if o.Journal != nil {
		if err := o.Journal.check(p.System, "", ""); err != nil {
			return nil, err
		}
		markJournaled(p, o.Journal)
	}
	if err := mapProducts(p, o.ProductMap); err != nil {
		return nil, err
	}
	if target != nil {
		if err := checkTarget(ctx, p, target, o.Journal); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// mapProducts applies PlanOptions.ProductMap: every key must name a
// product of the source.
func mapProducts(p *Plan, m map[string]string) error {
	used := map[string]bool{}
	for _, pr := range p.Products {
		target, key := m[pr.SourceID], pr.SourceID
		if target == "" {
			target, key = m[pr.Code], pr.Code
		}
		if target == "" {
			continue
		}
		used[key] = true
		if !pr.Accepted() || pr.Existing != "" {
			continue
		}
		pr.Existing, pr.mapped, pr.mappedTo = target, true, target
		pr.warn("product_mapped", "mapped to the target's product %s: it is used, not created, and the policies are created under it", target)
	}
	for k, v := range m {
		switch {
		case v == "":
			return fmt.Errorf("%w: migrate: the product map gives no target product for %q", licentric.ErrInvalidArgument, k)
		case !used[k]:
			return fmt.Errorf("%w: migrate: the product map names %q, which is no product of the source", licentric.ErrInvalidArgument, k)
		}
	}
	return nil
}

// markJournaled marks the records the journal holds as done.
func markJournaled(p *Plan, j *Journal) {
	for _, k := range Kinds {
		p.each(k, func(r *Record) {
			if !r.Accepted() {
				return
			}
			e, ok := j.Lookup(k, r.SourceID)
			if !ok || e.State != StateDone {
				return
			}
			r.Existing = e.ID
			if e.Hash != "" && r.hash != "" && e.Hash != r.hash {
				r.Changed = true
				r.warn("source_changed", "changed in the source since it was imported as %s; the import does not update it", e.ID)
			}
		})
	}
}

// builder assembles a plan: the sources add records, finish checks the
// records against each other.
type builder struct {
	plan   *Plan
	now    time.Time
	limits *sourceLimits // what the source may read
}

// newBuilder returns a builder whose source reads within limits (nil: the
// default caps).
func newBuilder(system string, now time.Time, limits *sourceLimits) *builder {
	if limits == nil {
		limits = newSourceLimits(nil)
	}
	return &builder{
		plan:   &Plan{System: system, Now: now},
		now:    now,
		limits: limits,
	}
}

func (b *builder) note(code, format string, a ...any) {
	b.plan.Notes = append(b.plan.Notes, Issue{Code: code, Message: fmt.Sprintf(format, a...)})
}

// finish runs the checks that need every record: duplicates, references,
// rejections that cascade to dependants, fingerprint collisions, machine
// counts over a license's limit, and the records' hashes.
func (b *builder) finish() {
	p := b.plan
	b.finishProducts()

	ents := map[string]*Entitlement{}
	seenEnt := map[string]*Entitlement{}
	for _, e := range p.Entitlements {
		if prev := seenEnt[e.Code]; prev != nil && e.Accepted() {
			e.reject("duplicate_code", "entitlement code %q is also used by %s (%s)", e.Code, prev.SourceID, prev.Origin)
		}
		if e.Accepted() {
			seenEnt[e.Code] = e
			ents[e.Code] = e
		}
	}
	keepCodes := func(r *Record, codes []string) []string {
		var out []string
		for _, c := range codes {
			if ents[c] == nil {
				r.warn("entitlement_dropped", "entitlement %q is not imported, so it is not attached", c)
				continue
			}
			out = append(out, c)
		}
		return out
	}

	products := map[string]*Product{}
	for _, pr := range p.Products {
		products[pr.SourceID] = pr
	}
	policies := map[string]*Policy{}
	for _, pol := range p.Policies {
		if prev := policies[pol.SourceID]; prev != nil {
			pol.reject("duplicate_id", "policy id also appears at %s", prev.Origin)
			continue
		}
		policies[pol.SourceID] = pol
		switch pr := products[pol.ProductSource]; {
		case pr == nil:
			pol.reject("unknown_product", "product %q is not in the source", pol.ProductSource)
		case !pr.Accepted():
			pol.reject("parent_rejected", "its product %s is rejected", pr.SourceID)
		}
		pol.Entitlements = keepCodes(&pol.Record, pol.Entitlements)
	}

	licenses := map[string]*License{}
	keys := map[LicenseKey]*License{}
	for _, l := range p.Licenses {
		if prev := licenses[l.SourceID]; prev != nil {
			l.reject("duplicate_id", "license id also appears at %s", prev.Origin)
			continue
		}
		licenses[l.SourceID] = l
		pol := policies[l.PolicySource]
		switch {
		case l.Rejection != nil:
		case pol == nil:
			l.reject("unknown_policy", "policy %q is not in the source", l.PolicySource)
		case !pol.Accepted():
			l.reject("parent_rejected", "its policy %s is rejected", pol.SourceID)
		case l.ProductSource != "" && l.ProductSource != pol.ProductSource:
			l.reject("policy_product_mismatch", "its policy %s belongs to product %s, not %s", pol.SourceID, pol.ProductSource, l.ProductSource)
		}
		if pol != nil && l.ProductSource == "" {
			l.ProductSource = pol.ProductSource
		}
		if l.Accepted() {
			if prev := keys[l.Key]; prev != nil {
				l.reject("duplicate_key", "same license key as %s (%s)", prev.SourceID, prev.Origin)
			} else {
				keys[l.Key] = l
			}
		}
		own := keepCodes(&l.Record, l.Entitlements)
		if pol != nil {
			own = minus(own, pol.Entitlements)
		}
		l.Entitlements = own
	}

	// Machines: parent, then fingerprint collisions under the policy's
	// uniqueness: the first is imported, the rest are reported.
	machines := map[string]*Machine{}
	scopes := map[string]*Machine{}
	perLicense := map[*License]int{}
	for _, m := range p.Machines {
		if prev := machines[m.SourceID]; prev != nil {
			m.reject("duplicate_id", "machine id also appears at %s", prev.Origin)
			continue
		}
		machines[m.SourceID] = m
		l := licenses[m.LicenseSource]
		switch {
		case m.Rejection != nil:
			continue
		case l == nil:
			m.reject("unknown_license", "license %q is not in the source", m.LicenseSource)
			continue
		case !l.Accepted():
			m.reject("parent_rejected", "its license %s is rejected", l.SourceID)
			continue
		}
		pol := policies[l.PolicySource]
		scope := "license:" + l.SourceID
		switch pol.FingerprintUniqueness {
		case licentric.UniquePerPolicy:
			scope = "policy:" + pol.SourceID
		case licentric.UniquePerAccount:
			scope = "account"
		}
		sk := scope + "\x00" + m.Fingerprint
		if prev := scopes[sk]; prev != nil {
			m.reject("fingerprint_conflict", "fingerprint is already used by machine %s (%s) under %s uniqueness",
				prev.SourceID, prev.Origin, pol.FingerprintUniqueness)
			continue
		}
		scopes[sk] = m
		perLicense[l]++
	}
	for _, l := range p.Licenses {
		n := perLicense[l]
		if n == 0 || !l.Accepted() {
			continue
		}
		pol := policies[l.PolicySource]
		limit := pol.MaxMachines
		if l.MaxMachinesOverride != nil {
			limit = l.MaxMachinesOverride
		}
		if limit != nil && n > *limit {
			l.warn("over_limit", "has %d machines, more than its limit of %d: the limit is raised to %d so that none is dropped; lower it once they are cleaned up", n, *limit, n)
			l.MaxMachinesOverride = &n
		}
	}
	for _, l := range p.Licenses {
		if l.Accepted() && (l.MaxMachinesOverride != nil || l.MaxUsesOverride != nil) {
			if pol := policies[l.PolicySource]; pol != nil {
				pol.Overridable = true
			}
		}
	}

	for _, r := range p.Products {
		r.computeHash()
	}
	for _, r := range p.Entitlements {
		r.computeHash()
	}
	for _, r := range p.Policies {
		r.computeHash()
	}
	for _, r := range p.Licenses {
		r.computeHash()
	}
	for _, r := range p.Machines {
		r.computeHash()
	}
}

// finishProducts rejects duplicate ids and codes and makes derived codes
// unique.
func (b *builder) finishProducts() {
	taken := map[string]*Product{}
	ids := map[string]*Product{}
	for _, pr := range b.plan.Products {
		if prev := ids[pr.SourceID]; prev != nil {
			pr.reject("duplicate_id", "product id also appears at %s", prev.Origin)
			continue
		}
		ids[pr.SourceID] = pr
		if pr.codeGenerated || !pr.Accepted() {
			continue
		}
		if prev := taken[strings.ToLower(pr.Code)]; prev != nil {
			pr.reject("duplicate_code", "product code %q is also used by %s (%s)", pr.Code, prev.SourceID, prev.Origin)
			continue
		}
		taken[strings.ToLower(pr.Code)] = pr
	}
	for _, pr := range b.plan.Products {
		if !pr.codeGenerated || !pr.Accepted() {
			continue
		}
		code := uniqueCode(pr.Code, 50, func(c string) bool { return taken[strings.ToLower(c)] != nil })
		if code != pr.Code {
			pr.warn("code_deduplicated", "derived code %q is taken, %q is used instead", pr.Code, code)
			pr.Code = code
		}
		taken[strings.ToLower(code)] = pr
	}
}

// minus returns the codes of a that are not in b, in a's order.
func minus(a, b []string) []string {
	if len(a) == 0 {
		return nil
	}
	drop := map[string]bool{}
	for _, c := range b {
		drop[c] = true
	}
	var out []string
	for _, c := range a {
		if !drop[c] {
			out = append(out, c)
		}
	}
	return out
}

// sortedCodes returns codes sorted and without duplicates.
func sortedCodes(codes []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range codes {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}
