package migrate

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/licentric/licentric-go"
)

// targetIndex is what the target environment holds, as far as an import
// cares.
type targetIndex struct {
	productsBySource map[string]*licentric.Product
	productsByCode   map[string]*licentric.Product
	productsByID     map[string]*licentric.Product
	entsByCode       map[string]*licentric.Entitlement
	policiesBySource map[string]*licentric.Policy
}

// ours reports whether metadata records the source record (system, id).
func ours(md licentric.Metadata, system, id string) bool {
	s, i, ok := sourceOf(md)
	return ok && s == system && i == id
}

func listAll[T any](ctx context.Context, seq func(context.Context, *licentric.ListOptions) iter.Seq2[*T, error]) ([]*T, error) {
	var out []*T
	for v, err := range seq(ctx, &licentric.ListOptions{Limit: 100}) {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// loadTarget lists the target's products, entitlements and policies.
func loadTarget(ctx context.Context, c *licentric.Client, system string) (*targetIndex, error) {
	idx := &targetIndex{
		productsBySource: map[string]*licentric.Product{}, productsByCode: map[string]*licentric.Product{},
		productsByID: map[string]*licentric.Product{}, entsByCode: map[string]*licentric.Entitlement{}, policiesBySource: map[string]*licentric.Policy{},
	}
	if err := idx.loadProducts(ctx, c, system); err != nil {
		return nil, err
	}
	if err := idx.loadEntitlements(ctx, c); err != nil {
		return nil, err
	}
	if err := idx.loadPolicies(ctx, c, system); err != nil {
		return nil, err
	}
	return idx, nil
}

func (idx *targetIndex) loadProducts(ctx context.Context, c *licentric.Client, system string) error {
	list, err := listAll(ctx, func(ctx context.Context, o *licentric.ListOptions) iter.Seq2[*licentric.Product, error] {
		return c.Products.List(ctx, o)
	})
	if err != nil {
		return fmt.Errorf("migrate: list the target's products: %w", err)
	}
	clear(idx.productsBySource)
	clear(idx.productsByCode)
	clear(idx.productsByID)
	for _, p := range list {
		if s, id, ok := sourceOf(p.Metadata); ok && s == system {
			idx.productsBySource[id] = p
		}
		idx.productsByCode[p.Code] = p
		idx.productsByID[p.ID] = p
	}
	return nil
}

func (idx *targetIndex) loadEntitlements(ctx context.Context, c *licentric.Client) error {
	list, err := listAll(ctx, func(ctx context.Context, o *licentric.ListOptions) iter.Seq2[*licentric.Entitlement, error] {
		return c.Entitlements.List(ctx, o)
	})
	if err != nil {
		return fmt.Errorf("migrate: list the target's entitlements: %w", err)
	}
	clear(idx.entsByCode)
	for _, e := range list {
		idx.entsByCode[e.Code] = e
	}
	return nil
}

func (idx *targetIndex) loadPolicies(ctx context.Context, c *licentric.Client, system string) error {
	list, err := listAll(ctx, func(ctx context.Context, o *licentric.ListOptions) iter.Seq2[*licentric.Policy, error] {
		return c.Policies.List(ctx, o)
	})
	if err != nil {
		return fmt.Errorf("migrate: list the target's policies: %w", err)
	}
	clear(idx.policiesBySource)
	for _, p := range list {
		if s, id, ok := sourceOf(p.Metadata); ok && s == system {
			idx.policiesBySource[id] = p
		}
	}
	return nil
}

// checkTarget checks the plan against the target environment: what is
// there already from this source, and what clashes with it.
func checkTarget(ctx context.Context, p *Plan, c *licentric.Client, j *Journal) error {
	p.TargetChecked = true
	p.Target = fmt.Sprintf("%s environment at %s", c.Environment(), c.BaseURL())
	idx, err := loadTarget(ctx, c, p.System)
	if err != nil {
		return err
	}
	journaled := func(r *Record) bool {
		if j == nil {
			return false
		}
		_, ok := j.Lookup(r.Kind, r.SourceID)
		return ok
	}
	pending := func(r *Record) bool { return r.Accepted() && r.Existing == "" && !journaled(r) }

	for _, pr := range p.Products {
		if !pr.Accepted() || !pr.mapped || journaled(&pr.Record) {
			continue
		}
		// Mapped by PlanOptions.ProductMap: the target must have it.
		t := idx.productsByID[pr.Existing]
		if t == nil {
			pr.Existing = ""
			pr.reject("unknown_target_product", "the product map names %s, which the target does not have", pr.mappedTo)
			continue
		}
		pr.observed = t
	}
	for _, pr := range p.Products {
		if !pending(&pr.Record) {
			continue
		}
		if t := idx.productsBySource[pr.SourceID]; t != nil {
			pr.Existing, pr.observed = t.ID, t
			continue
		}
		if t := idx.productsByCode[pr.Code]; t != nil {
			pr.Existing, pr.observed = t.ID, t
			pr.warn("product_reused", "the target has a product with code %q (%s): it is used, not created, and the policies are created under it", pr.Code, t.ID)
		}
	}
	for _, e := range p.Entitlements {
		if !pending(&e.Record) {
			continue
		}
		t := idx.entsByCode[e.Code]
		if t == nil {
			continue
		}
		e.Existing, e.observed = t.ID, t
		if !ours(t.Metadata, p.System, e.SourceID) {
			e.warn("entitlement_reused", "the target has an entitlement with code %q (%s): it is used, not created", e.Code, t.ID)
		}
	}
	for _, pol := range p.Policies {
		if !pending(&pol.Record) {
			continue
		}
		if t := idx.policiesBySource[pol.SourceID]; t != nil {
			pol.Existing, pol.observed = t.ID, t
		}
	}
	if err := checkKeys(ctx, p, c, pending); err != nil {
		return err
	}
	cascade(p)
	return nil
}

// checkKeys finds the plan's license keys in the target. It lists the
// target's licenses when that takes fewer requests than looking each key
// up, and looks them up one by one otherwise.
func checkKeys(ctx context.Context, p *Plan, c *licentric.Client, pending func(*Record) bool) error {
	var todo []*License
	for _, l := range p.Licenses {
		if pending(&l.Record) {
			todo = append(todo, l)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	byKey := map[string]*licentric.License{}
	complete := true
	pages := 0
	opts := &licentric.LicenseListOptions{ListOptions: licentric.ListOptions{Limit: 100}}
	for {
		page, err := c.Licenses.ListPage(ctx, opts)
		if err != nil {
			return fmt.Errorf("migrate: list the target's licenses: %w", err)
		}
		pages++
		for _, l := range page.Items {
			byKey[l.Key] = l
		}
		if !page.HasMore || page.NextCursor == "" {
			break
		}
		if pages >= len(todo) {
			complete = false
			break
		}
		opts.Cursor = page.NextCursor
	}
	for _, l := range todo {
		var t *licentric.License
		if complete {
			t = byKey[string(l.Key)]
		} else {
			got, err := c.Licenses.GetByKey(ctx, string(l.Key))
			switch {
			case err == nil:
				t = got
			case errors.Is(err, licentric.ErrNotFound):
			case errors.Is(err, licentric.ErrInvalidArgument):
				l.warn("key_unchecked", "the client cannot look this key up (%s); a clash shows at import", strings.TrimPrefix(err.Error(), "licentric: "))
			default:
				return fmt.Errorf("migrate: look up a license key in the target: %w", err)
			}
		}
		if t == nil {
			continue
		}
		if ours(t.Metadata, p.System, l.SourceID) {
			l.Existing, l.observed = t.ID, t
			continue
		}
		l.reject("key_taken", "the key is already used in the target by license %s, which does not come from this source record", t.ID)
	}
	return nil
}

// cascade rejects the records whose parent is rejected.
func cascade(p *Plan) {
	products := map[string]*Product{}
	for _, r := range p.Products {
		products[r.SourceID] = r
	}
	policies := map[string]*Policy{}
	for _, r := range p.Policies {
		policies[r.SourceID] = r
		if pr := products[r.ProductSource]; pr != nil && !pr.Accepted() {
			r.reject("parent_rejected", "its product %s is rejected", pr.SourceID)
		}
	}
	licenses := map[string]*License{}
	for _, r := range p.Licenses {
		licenses[r.SourceID] = r
		if pol := policies[r.PolicySource]; pol != nil && !pol.Accepted() {
			r.reject("parent_rejected", "its policy %s is rejected", pol.SourceID)
		}
	}
	for _, r := range p.Machines {
		if l := licenses[r.LicenseSource]; l != nil && !l.Accepted() {
			r.reject("parent_rejected", "its license %s is rejected", l.SourceID)
		}
	}
}
