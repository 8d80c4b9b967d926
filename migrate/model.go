package migrate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/licentric/licentric-go"
)

// Kind is the kind of a planned record. Apply creates them in the order of
// Kinds: products, entitlements, policies, licenses, machines.
type Kind string

// The kinds of record a plan holds.
const (
	KindProduct     Kind = "product"
	KindEntitlement Kind = "entitlement"
	KindPolicy      Kind = "policy"
	KindLicense     Kind = "license"
	KindMachine     Kind = "machine"
)

// Kinds lists every kind in dependency order.
var Kinds = [...]Kind{KindProduct, KindEntitlement, KindPolicy, KindLicense, KindMachine}

// plural is the kind's plural, for reports.
func (k Kind) plural() string {
	switch k {
	case KindPolicy:
		return "policies"
	case KindEntitlement:
		return "entitlements"
	}
	return string(k) + "s"
}

// The source systems.
const (
	SystemKeygen   = "keygen"
	SystemCryptlex = "cryptlex"
)

// SourceKey is the metadata key under which every imported record carries
// where it came from: {"system": "keygen", "id": "<source id>", ...}. Apply
// recognises its own earlier work by it, so a re-run never duplicates.
const SourceKey = "_source"

// Issue is a warning about a record or the reason it is rejected. Code is
// stable and machine-readable (see the package documentation for the list);
// Message is for people and never holds a license key or a credential.
type Issue struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Record is what every planned record has: where it came from, what the
// mapping noticed, and whether it is imported.
type Record struct {
	// Kind is the record's kind.
	Kind Kind
	// SourceID is the record's id in the source system (a Keygen id, a
	// Cryptlex id, or a synthesised id such as "policy:<product>:..." for
	// the policies a Cryptlex import derives).
	SourceID string
	// Origin tells a person where the record is: "licenses.csv row 4
	// (line 5)", "licenses-2.json record 3", or an API page.
	Origin string
	// Warnings lists what the mapping changed, dropped or guessed.
	Warnings []Issue
	// Rejection is why the record is not imported; nil when it is.
	Rejection *Issue
	// Existing is the Licentric id of the record when the plan found it
	// imported already (in the journal, or in the target by its _source
	// metadata); Apply then leaves it alone.
	Existing string
	// Changed reports a record already imported whose source changed since
	// (its journal hash differs). Apply does not update it.
	Changed bool

	hash string // of the mapped fields, for the journal
	// observed is the record as the plan found it in the target (a
	// *licentric.License or *licentric.Policy), when Existing came from the
	// target rather than the journal: Apply finishes what may be missing.
	observed any
}

// Accepted reports whether the record is imported (not rejected).
func (r *Record) Accepted() bool { return r.Rejection == nil }

func (r *Record) warn(code, format string, a ...any) {
	r.Warnings = append(r.Warnings, Issue{Code: code, Message: fmt.Sprintf(format, a...)})
}

// reject rejects r; the first reason is kept.
func (r *Record) reject(code, format string, a ...any) {
	if r.Rejection == nil {
		r.Rejection = &Issue{Code: code, Message: fmt.Sprintf(format, a...)}
	}
}

// Product is a planned product.
type Product struct {
	Record
	Name        string
	Code        string
	Description string
	Metadata    licentric.Metadata

	// codeGenerated: the code was derived (from the name), so a clash
	// inside the plan picks another one instead of rejecting.
	codeGenerated bool
	// mapped: PlanOptions.ProductMap names the target product (mappedTo).
	mapped   bool
	mappedTo string
}

// Entitlement is a planned entitlement.
type Entitlement struct {
	Record
	Code     string
	Name     string
	Metadata licentric.Metadata
}

// Policy is a planned policy. Nil pointers are "none": MaxMachines nil is
// unlimited, DurationDays nil is perpetual.
type Policy struct {
	Record
	// ProductSource is the SourceID of the policy's product.
	ProductSource            string
	Name                     string
	MaxMachines              *int
	MaxUses                  *int
	Floating                 bool
	DurationDays             *int
	ExpirationStrategy       string
	RequireHeartbeat         bool
	HeartbeatIntervalMinutes int
	HeartbeatCullStrategy    string
	RequireFingerprint       bool
	FingerprintUniqueness    string
	OfflineAllowed           bool
	OfflineMaxDays           int // 0: the server's default (only when OfflineAllowed is false)
	IsTrial                  bool
	TrialDurationDays        *int
	Overridable              bool
	// Entitlements are the codes every license of the policy has.
	Entitlements []string
	Metadata     licentric.Metadata
}

// LicenseKey is a license key. It is a secret of the licensee: its String,
// Format and MarshalJSON methods redact it, so printing a plan never shows
// it. Convert it with string(k) where the key itself is needed.
type LicenseKey string

// String returns a redacted form of the key.
func (k LicenseKey) String() string { return fmt.Sprintf("[license key, %d bytes]", len(k)) }

// GoString returns the redacted form too.
func (k LicenseKey) GoString() string { return k.String() }

// Format writes the redacted form for every verb.
func (k LicenseKey) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// MarshalJSON writes the redacted form.
func (k LicenseKey) MarshalJSON() ([]byte, error) { return json.Marshal(k.String()) }

// License is a planned license.
type License struct {
	Record
	// PolicySource and ProductSource are the SourceIDs of its policy and
	// product.
	PolicySource  string
	ProductSource string
	// Key is the license key, byte-exact.
	Key       LicenseKey
	Name      string
	UserEmail string
	UserName  string
	// ExpiresAt is the license's expiry; zero: never.
	ExpiresAt time.Time
	// Status is the status the license gets: active, suspended or revoked
	// (expired follows from ExpiresAt). A status the API cannot set (banned)
	// is mapped before it lands here, with a warning.
	Status              string
	MaxMachinesOverride *int
	MaxUsesOverride     *int
	// Entitlements are the license's own codes, beyond its policy's.
	Entitlements []string
	Metadata     licentric.Metadata
}

// Machine is a planned machine, activated with the API key.
type Machine struct {
	Record
	// LicenseSource is the SourceID of its license.
	LicenseSource string
	Fingerprint   string
	Name          string
	Platform      string
	Hostname      string
	Cores         int
	Metadata      licentric.Metadata
}

// hashOf returns a short hash of a record's mapped fields (the Record
// header excluded), so a re-run can tell a source record that changed.
func hashOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func (p *Product) computeHash() {
	p.hash = hashOf([]any{p.Name, p.Code, p.Description, p.Metadata})
}

func (e *Entitlement) computeHash() {
	e.hash = hashOf([]any{e.Code, e.Name, e.Metadata})
}

func (p *Policy) computeHash() {
	c := *p
	c.Record = Record{}
	p.hash = hashOf(c)
}

func (l *License) computeHash() {
	l.hash = hashOf([]any{l.PolicySource, l.ProductSource, hashKey(string(l.Key)), l.Name, l.UserEmail, l.UserName,
		l.ExpiresAt.UTC().Format(time.RFC3339Nano), l.Status, l.MaxMachinesOverride, l.MaxUsesOverride,
		l.Entitlements, l.Metadata})
}

func (m *Machine) computeHash() {
	c := *m
	c.Record = Record{}
	m.hash = hashOf(c)
}

// hashKey returns the SHA-256 of a license key in hex: an identifier for a
// key that does not reveal it.
func hashKey(k string) string {
	sum := sha256.Sum256([]byte(k))
	return hex.EncodeToString(sum[:])
}

// sourceMeta builds the _source object of a record.
func sourceMeta(system, id string) map[string]any {
	return map[string]any{"system": system, "id": id}
}

// sourceOf returns the (system, id) recorded in metadata, if any.
func sourceOf(md licentric.Metadata) (system, id string, ok bool) {
	if md == nil {
		return "", "", false
	}
	m, isMap := md[SourceKey].(map[string]any)
	if !isMap {
		return "", "", false
	}
	system, _ = m["system"].(string)
	id, _ = m["id"].(string)
	return system, id, system != "" && id != ""
}
