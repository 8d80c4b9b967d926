package licentric

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"time"
)

// The stored form of a cache entry, for stores of bytes (cache.File) and
// the fleet: a compact binary encoding, since a member that takes a
// result from Redis decodes it on the path of a Validate, and JSON's
// decoder costs as much there as the Redis round trip. (Entries that
// earlier versions wrote as JSON sit under another cacheKeyVersion and are
// never read.)
//
//	entry   = 0x02 varint(storedAt) varint(freshUntil) varint(staleUntil) body
//	body    = bool(valid) str(code) str(detail) opt(license) opt(machine) strs(entitlements)
//	license = its fields in declaration order, then opt(policy) and machines
//
// Times are Unix nanoseconds (entry times) or seconds and nanoseconds
// (resource timestamps, 0 for zero); strings and byte strings are
// uvarint(length) and bytes; a nil slice or map is uvarint(0) and one of n
// elements uvarint(n+1); *int is a presence byte and a varint; metadata is
// its JSON. TestEntryCodecCoversEveryField keeps this in step with the
// types.
const entryFormat = 0x02

// entryLimits bound what a decoder allocates for one entry.
const (
	maxEntryString = 64 << 10
	maxEntryList   = 4096
)

var errEntry = errors.New("licentric: malformed cache entry")

type entryWriter struct{ b []byte }

func (w *entryWriter) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}
func (w *entryWriter) int(v int)       { w.b = binary.AppendVarint(w.b, int64(v)) }
func (w *entryWriter) int64(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *entryWriter) uint(v uint64)   { w.b = binary.AppendUvarint(w.b, v) }
func (w *entryWriter) str(s string)    { w.uint(uint64(len(s))); w.b = append(w.b, s...) }
func (w *entryWriter) bytes(p []byte)  { w.uint(uint64(len(p))); w.b = append(w.b, p...) }
func (w *entryWriter) present(ok bool) { w.bool(ok) }

func (w *entryWriter) optInt(p *int) {
	w.present(p != nil)
	if p != nil {
		w.int(*p)
	}
}

func (w *entryWriter) strs(list []string) {
	if list == nil {
		w.uint(0)
		return
	}
	w.uint(uint64(len(list)) + 1)
	for _, s := range list {
		w.str(s)
	}
}

func (w *entryWriter) time(t Timestamp) {
	if t.IsZero() {
		w.int64(0)
		return
	}
	w.int64(t.Unix())
	w.uint(uint64(t.Nanosecond()) + 1) // a zero Timestamp has no second part
}

func (w *entryWriter) metadata(m Metadata) error {
	if len(m) == 0 {
		w.uint(0)
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	w.bytes(b)
	return nil
}

func (w *entryWriter) license(l *License) error {
	w.present(l != nil)
	if l == nil {
		return nil
	}
	w.str(l.ID)
	w.str(l.Key)
	w.str(l.Name)
	w.str(l.Status)
	w.str(l.ProductID)
	w.str(l.PolicyID)
	w.str(l.UserEmail)
	w.str(l.UserName)
	w.time(l.ExpiresAt)
	w.optInt(l.MaxMachinesOverride)
	w.optInt(l.MaxUsesOverride)
	w.int(l.UsesCount)
	w.int(l.MachineCount)
	w.strs(l.Entitlements)
	if err := w.metadata(l.Metadata); err != nil {
		return err
	}
	w.time(l.CreatedAt)
	w.time(l.UpdatedAt)
	w.time(l.DeletedAt)
	if err := w.policy(l.Policy); err != nil {
		return err
	}
	if l.Machines == nil {
		w.uint(0)
		return nil
	}
	w.uint(uint64(len(l.Machines)) + 1)
	for i := range l.Machines {
		if err := w.machine(&l.Machines[i]); err != nil {
			return err
		}
	}
	return nil
}

func (w *entryWriter) policy(p *Policy) error {
	w.present(p != nil)
	if p == nil {
		return nil
	}
	w.str(p.ID)
	w.str(p.ProductID)
	w.str(p.Name)
	w.str(p.Template)
	w.optInt(p.MaxMachines)
	w.optInt(p.MaxUses)
	w.bool(p.Floating)
	w.optInt(p.DurationDays)
	w.str(p.ExpirationStrategy)
	w.bool(p.RequireHeartbeat)
	w.int(p.HeartbeatIntervalMinutes)
	w.str(p.HeartbeatCullStrategy)
	w.bool(p.RequireFingerprint)
	w.str(p.FingerprintUniqueness)
	w.bool(p.OfflineAllowed)
	w.int(p.OfflineMaxDays)
	w.bool(p.AllowMachineTransfer)
	w.bool(p.IsTrial)
	w.optInt(p.TrialDurationDays)
	w.bool(p.Overridable)
	w.strs(p.Entitlements)
	if err := w.metadata(p.Metadata); err != nil {
		return err
	}
	w.time(p.CreatedAt)
	w.time(p.UpdatedAt)
	w.time(p.DeletedAt)
	return nil
}

func (w *entryWriter) machine(m *Machine) error {
	w.present(m != nil)
	if m == nil {
		return nil
	}
	w.str(m.ID)
	w.str(m.LicenseID)
	w.str(m.Fingerprint)
	w.str(m.Name)
	w.str(m.Platform)
	w.str(m.Hostname)
	w.int(m.Cores)
	w.str(m.Status)
	w.time(m.LastHeartbeatAt)
	w.time(m.CreatedAt)
	w.time(m.UpdatedAt)
	w.time(m.DeletedAt)
	return w.metadata(m.Metadata)
}

// encode returns the stored form of e.
func (e *cacheEntry) encode() ([]byte, error) {
	w := entryWriter{b: make([]byte, 0, 512)}
	w.b = append(w.b, entryFormat)
	w.int64(e.storedAt.UnixNano())
	w.int64(e.freshUntil.UnixNano())
	w.int64(e.staleUntil.UnixNano())
	w.bool(e.v.Valid)
	w.str(string(e.v.Code))
	w.str(e.v.Detail)
	if err := w.license(e.v.License); err != nil {
		return nil, err
	}
	if err := w.machine(e.v.Machine); err != nil {
		return nil, err
	}
	w.strs(e.v.Entitlements)
	return w.b, nil
}

// entryReader reads the binary form; the first error sticks, and every
// read after it returns zero values.
type entryReader struct {
	b   []byte
	err error
}

func (r *entryReader) fail() { r.err = errEntry; r.b = nil }

func (r *entryReader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *entryReader) bool() bool {
	switch r.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail()
	return false
}

func (r *entryReader) int64() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *entryReader) int() int {
	v := r.int64()
	if v < math.MinInt || v > math.MaxInt {
		r.fail()
		return 0
	}
	return int(v)
}

func (r *entryReader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *entryReader) raw(max int) []byte {
	n := r.uint()
	if r.err != nil || n > uint64(max) || n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *entryReader) str() string { return string(r.raw(maxEntryString)) }

func (r *entryReader) present() bool { return r.bool() }

func (r *entryReader) optInt() *int {
	if !r.present() {
		return nil
	}
	v := r.int()
	return &v
}

// count reads a list's length: -1 for nil.
func (r *entryReader) count() int {
	n := r.uint()
	if r.err != nil || n > maxEntryList+1 || n > uint64(len(r.b))+1 {
		if n != 0 {
			r.fail()
		}
		return -1
	}
	return int(n) - 1
}

func (r *entryReader) strs() []string {
	n := r.count()
	if n < 0 {
		return nil
	}
	list := make([]string, n)
	for i := range list {
		list[i] = r.str()
	}
	return list
}

func (r *entryReader) time() Timestamp {
	s := r.int64()
	if s == 0 || r.err != nil {
		return Timestamp{}
	}
	ns := r.uint()
	if ns == 0 || ns > 1e9 {
		r.fail()
		return Timestamp{}
	}
	t := time.Unix(s, int64(ns-1)).UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		r.fail()
		return Timestamp{}
	}
	return Timestamp{Time: t}
}

func (r *entryReader) metadata() Metadata {
	b := r.raw(maxEntryString)
	if len(b) == 0 || r.err != nil {
		return nil
	}
	var m Metadata
	if json.Unmarshal(b, &m) != nil {
		r.fail()
		return nil
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

func (r *entryReader) license() *License {
	if !r.present() {
		return nil
	}
	l := &License{}
	l.ID = r.str()
	l.Key = r.str()
	l.Name = r.str()
	l.Status = r.str()
	l.ProductID = r.str()
	l.PolicyID = r.str()
	l.UserEmail = r.str()
	l.UserName = r.str()
	l.ExpiresAt = r.time()
	l.MaxMachinesOverride = r.optInt()
	l.MaxUsesOverride = r.optInt()
	l.UsesCount = r.int()
	l.MachineCount = r.int()
	l.Entitlements = r.strs()
	l.Metadata = r.metadata()
	l.CreatedAt = r.time()
	l.UpdatedAt = r.time()
	l.DeletedAt = r.time()
	l.Policy = r.policy()
	if n := r.count(); n >= 0 {
		l.Machines = make([]Machine, n)
		for i := range l.Machines {
			if m := r.machine(); m != nil {
				l.Machines[i] = *m
			} else {
				r.fail()
			}
		}
	}
	return l
}

func (r *entryReader) policy() *Policy {
	if !r.present() {
		return nil
	}
	p := &Policy{}
	p.ID = r.str()
	p.ProductID = r.str()
	p.Name = r.str()
	p.Template = r.str()
	p.MaxMachines = r.optInt()
	p.MaxUses = r.optInt()
	p.Floating = r.bool()
	p.DurationDays = r.optInt()
	p.ExpirationStrategy = r.str()
	p.RequireHeartbeat = r.bool()
	p.HeartbeatIntervalMinutes = r.int()
	p.HeartbeatCullStrategy = r.str()
	p.RequireFingerprint = r.bool()
	p.FingerprintUniqueness = r.str()
	p.OfflineAllowed = r.bool()
	p.OfflineMaxDays = r.int()
	p.AllowMachineTransfer = r.bool()
	p.IsTrial = r.bool()
	p.TrialDurationDays = r.optInt()
	p.Overridable = r.bool()
	p.Entitlements = r.strs()
	p.Metadata = r.metadata()
	p.CreatedAt = r.time()
	p.UpdatedAt = r.time()
	p.DeletedAt = r.time()
	return p
}

func (r *entryReader) machine() *Machine {
	if !r.present() {
		return nil
	}
	m := &Machine{}
	m.ID = r.str()
	m.LicenseID = r.str()
	m.Fingerprint = r.str()
	m.Name = r.str()
	m.Platform = r.str()
	m.Hostname = r.str()
	m.Cores = r.int()
	m.Status = r.str()
	m.LastHeartbeatAt = r.time()
	m.CreatedAt = r.time()
	m.UpdatedAt = r.time()
	m.DeletedAt = r.time()
	m.Metadata = r.metadata()
	return m
}

// decodeEntry decodes a stored entry; nil when b is not one, or holds a
// result that fails the checks a service's answer must pass.
func decodeEntry(b []byte) *cacheEntry {
	r := entryReader{b: b}
	if r.byte() != entryFormat {
		return nil
	}
	storedAt, freshUntil, staleUntil := r.int64(), r.int64(), r.int64()
	body := validationBody{Valid: r.bool(), Code: r.str(), Detail: r.str()}
	body.License = r.license()
	body.Machine = r.machine()
	body.Entitlements = r.strs()
	if r.err != nil || len(r.b) != 0 {
		return nil
	}
	v, err := body.validation()
	if err != nil {
		return nil
	}
	return &cacheEntry{
		v:          *v,
		storedAt:   time.Unix(0, storedAt),
		freshUntil: time.Unix(0, freshUntil),
		staleUntil: time.Unix(0, staleUntil),
	}
}
