package offline

import (
	"maps"
	"slices"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/resource"
)

// File is a verified license file.
type File struct {
	// License is the license at checkout, with the snapshot of its policy in
	// License.Policy (which may be nil). License.Machines is always nil: a
	// license file carries only the machine it is for, in Machine.
	License resource.License
	// Machine is the machine the file was checked out for.
	Machine resource.Machine
	// Fingerprint is the machine fingerprint the file is bound to.
	Fingerprint string
	// Entitlements are the entitlement codes the file grants (the license's
	// and its policy's).
	Entitlements []string
	// Env is the environment the file comes from: "live" or "test".
	Env string
	// KeyID is the id of the key that signed the file.
	KeyID string
	// IssuedAt is when the file was checked out.
	IssuedAt time.Time
	// ExpiresAt is when the file itself expires (its TTL, not the license's
	// expiry): the application must check out a new file before then.
	ExpiresAt time.Time
	// TTL is the lifetime the file was checked out for.
	TTL time.Duration
	// LicenseExpired reports a license that has expired under the
	// ALLOW_ACCESS strategy: the file verifies, and the application decides
	// what an expired license may still do.
	LicenseExpired bool
}

// Remaining returns how long the file stays valid after now (never
// negative).
func (f *File) Remaining(now time.Time) time.Duration {
	return max(f.ExpiresAt.Sub(now), 0)
}

// RefreshDue reports whether at most margin of the file's lifetime remains
// at now, the moment to go online and check out a new file.
func (f *File) RefreshDue(now time.Time, margin time.Duration) bool {
	return f.Remaining(now) <= margin
}

// HasEntitlement reports whether the file grants the entitlement code.
func (f *File) HasEntitlement(code string) bool {
	return slices.Contains(f.Entitlements, code)
}

// ExpirationStrategy returns the policy's expiration strategy, or
// RESTRICT_ACCESS (the documented default) when the file carries no policy
// or a strategy this package does not know.
func (f *File) ExpirationStrategy() string {
	if f.License.Policy != nil {
		switch s := f.License.Policy.ExpirationStrategy; s {
		case wire.StrategyAllowAccess, wire.StrategyRevoke, wire.StrategyRestrictAccess:
			return s
		}
	}
	return wire.StrategyRestrictAccess
}

// clone returns a deep copy of f, so that a caller that modifies its File
// can't change what later calls return.
func (f *File) clone() *File {
	c := *f
	// One backing array for the three string lists.
	le, pe := f.License.Entitlements, []string(nil)
	if f.License.Policy != nil {
		pe = f.License.Policy.Entitlements
	}
	all := make([]string, 0, len(f.Entitlements)+len(le)+len(pe))
	c.Entitlements, all = carve(all, f.Entitlements)
	c.License.Entitlements, all = carve(all, le)
	c.License.Metadata = cloneMetadata(f.License.Metadata)
	c.Machine.Metadata = cloneMetadata(f.Machine.Metadata)
	// One backing array for the optional integers.
	var ints [6]*int
	ints[0], ints[1] = f.License.MaxMachinesOverride, f.License.MaxUsesOverride
	if p := f.License.Policy; p != nil {
		ints[2], ints[3], ints[4], ints[5] = p.MaxMachines, p.MaxUses, p.DurationDays, p.TrialDurationDays
		cp := *p
		cp.Entitlements, _ = carve(all, pe)
		cp.Metadata = cloneMetadata(p.Metadata)
		c.License.Policy = &cp
	}
	var slab []int
	for i, p := range ints {
		if p == nil {
			continue
		}
		if slab == nil {
			slab = make([]int, 0, len(ints))
		}
		slab = append(slab, *p)
		ints[i] = &slab[len(slab)-1]
	}
	c.License.MaxMachinesOverride, c.License.MaxUsesOverride = ints[0], ints[1]
	if p := c.License.Policy; p != nil {
		p.MaxMachines, p.MaxUses, p.DurationDays, p.TrialDurationDays = ints[2], ints[3], ints[4], ints[5]
	}
	return &c
}

// carve appends src to all and returns the appended part (nil for nil src)
// with its capacity capped, and the extended all.
func carve(all, src []string) (part, rest []string) {
	if src == nil {
		return nil, all
	}
	start := len(all)
	all = append(all, src...)
	return all[start:len(all):len(all)], all
}

// cloneMetadata copies a JSON object deeply.
func cloneMetadata(m resource.Metadata) resource.Metadata {
	if m == nil {
		return nil
	}
	return cloneObject(m)
}

func cloneObject(m map[string]any) map[string]any {
	c := maps.Clone(m)
	for k, v := range c {
		switch v.(type) {
		case map[string]any, []any:
			c[k] = cloneValue(v)
		}
	}
	return c
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneObject(v)
	case []any:
		c := slices.Clone(v)
		for i := range c {
			c[i] = cloneValue(c[i])
		}
		return c
	}
	return v
}
