package licentric

// Results are values: what Validate returns shares nothing with the cache
// or with other callers. clone copies a result in one allocation (a block
// holding the result, its license, policy and machine), one more for its
// entitlement codes if it has any, and deep copies of non-empty metadata
// and of the license's machines; empty metadata comes back nil.
//
// The block is as small as it can be, since a cached Validate's cost is
// mostly this allocation (BenchmarkValidateCached): codes live apart, in a
// list sized to them, rather than in a fixed array most results leave
// empty.

// answerBlock holds a copied result and the values it points to, so that
// one allocation serves them all.
type answerBlock struct {
	v    Validation
	lic  License
	pol  Policy
	mach Machine
	ints [6]int // the limits the copies point to
}

// clone returns a deep copy of v.
func (v *Validation) clone() *Validation {
	b := &answerBlock{v: *v}
	n := len(v.Entitlements)
	if v.License != nil {
		n += len(v.License.Entitlements)
		if v.License.Policy != nil {
			n += len(v.License.Policy.Entitlements)
		}
	}
	var codes []string
	if n > 0 {
		codes = make([]string, 0, n)
	}
	b.v.Entitlements, codes = copyCodes(v.Entitlements, codes)
	if v.License != nil {
		b.lic = *v.License
		b.lic.Entitlements, codes = copyCodes(v.License.Entitlements, codes)
		b.lic.Metadata = cloneMetadata(v.License.Metadata)
		if v.License.Policy != nil {
			b.pol = *v.License.Policy
			b.pol.Entitlements, _ = copyCodes(v.License.Policy.Entitlements, codes)
			b.pol.Metadata = cloneMetadata(b.pol.Metadata)
			b.pol.MaxMachines = copyInt(b.pol.MaxMachines, &b.ints[0])
			b.pol.MaxUses = copyInt(b.pol.MaxUses, &b.ints[1])
			b.pol.DurationDays = copyInt(b.pol.DurationDays, &b.ints[2])
			b.pol.TrialDurationDays = copyInt(b.pol.TrialDurationDays, &b.ints[3])
			b.lic.Policy = &b.pol
		}
		b.lic.MaxMachinesOverride = copyInt(b.lic.MaxMachinesOverride, &b.ints[4])
		b.lic.MaxUsesOverride = copyInt(b.lic.MaxUsesOverride, &b.ints[5])
		if len(v.License.Machines) > 0 {
			ms := make([]Machine, len(v.License.Machines))
			for i := range v.License.Machines {
				ms[i] = v.License.Machines[i]
				ms[i].Metadata = cloneMetadata(ms[i].Metadata)
			}
			b.lic.Machines = ms
		}
		b.v.License = &b.lic
	}
	if v.Machine != nil {
		b.mach = *v.Machine
		b.mach.Metadata = cloneMetadata(b.mach.Metadata)
		b.v.Machine = &b.mach
	}
	return &b.v
}

// copyCodes appends src to buf, which has room for it, and returns the
// copy (capacity clipped, so that an append by the caller reallocates) and
// the rest of buf. An empty src stays empty and non-nil, a nil one nil.
func copyCodes(src, buf []string) (cp, rest []string) {
	switch {
	case src == nil:
		return nil, buf
	case len(src) == 0:
		return []string{}, buf
	}
	buf = append(buf, src...)
	return buf[:len(buf):len(buf)], buf[len(buf):]
}

// copyInt copies *p into *slot and returns slot, or nil for nil.
func copyInt(p, slot *int) *int {
	if p == nil {
		return nil
	}
	*slot = *p
	return slot
}

// cloneMetadata deep-copies a JSON object (maps and slices of JSON
// values); an empty one is nil. (Small enough to inline: most metadata is
// empty.)
func cloneMetadata(m Metadata) Metadata {
	if len(m) == 0 {
		return nil
	}
	return copyMetadata(m)
}

func copyMetadata(m Metadata) Metadata {
	out := make(Metadata, len(m))
	for k, v := range m {
		out[k] = cloneJSON(v)
	}
	return out
}

func cloneJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = cloneJSON(e)
		}
		return out
	case Metadata:
		return cloneMetadata(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = cloneJSON(e)
		}
		return out
	}
	return v // strings, numbers, bools, nil: immutable
}
