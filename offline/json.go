package offline

import (
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/licentric/licentric-go/resource"
)

// This file holds a small JSON reader for the envelope and the payload.
// encoding/json allocates once per string field; a license file holds dozens
// of them, and Verify is on the hot path of applications that check their
// file on every request. The reader works on a string and returns unescaped
// strings as substrings of it, so decoding a payload allocates only for maps,
// slices and pointers. It accepts exactly RFC 8259 JSON; object keys match
// field names exactly (encoding/json would also match them case-insensitively).

// maxDepth bounds the nesting of arrays and objects.
const maxDepth = 64

type reader struct {
	s     string
	i     int
	depth int
	err   string // first error; "" while none
}

func (r *reader) fail(msg string) {
	if r.err == "" {
		r.err = msg
	}
	r.i = len(r.s) // stop every loop
}

func (r *reader) ws() {
	for r.i < len(r.s) {
		c := r.s[r.i]
		if c > ' ' || (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			return
		}
		r.i++
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (r *reader) peek() byte {
	r.ws()
	if r.i < len(r.s) {
		return r.s[r.i]
	}
	return 0
}

func (r *reader) expect(c byte) {
	if r.peek() != c {
		r.fail("unexpected character")
		return
	}
	r.i++
}

// end checks that nothing but whitespace follows the top-level value.
func (r *reader) end() {
	r.ws()
	if r.err == "" && r.i < len(r.s) {
		r.fail("data after the JSON value")
	}
}

// null consumes a null literal if one comes next.
func (r *reader) null() bool {
	if r.peek() == 'n' {
		r.literal("null")
		return true
	}
	return false
}

func (r *reader) literal(lit string) {
	if len(r.s)-r.i < len(lit) || r.s[r.i:r.i+len(lit)] != lit {
		r.fail("invalid literal")
		return
	}
	r.i += len(lit)
}

// Objects are read with:
//
//	for more := r.objectStart(); more; more = r.objectNext() {
//		switch r.key() { ... }
//	}
func (r *reader) objectStart() bool { return r.open('{', '}') }

// key reads an object key and the colon after it.
func (r *reader) key() string {
	if r.peek() != '"' {
		r.fail("object key is not a string")
		return ""
	}
	k := r.strBody()
	if r.i < len(r.s) && r.s[r.i] == ':' { // the usual compact form
		r.i++
		return k
	}
	r.expect(':')
	return k
}

func (r *reader) objectNext() bool { return r.next('}', "expected , or } in object") }

func (r *reader) arrayStart() bool { return r.open('[', ']') }

func (r *reader) arrayNext() bool { return r.next(']', "expected , or ] in array") }

// open reads the opening delimiter of an object or array and reports
// whether a member follows; it reads the closing one too if none does.
func (r *reader) open(opening, closing byte) bool {
	r.expect(opening)
	if r.err != "" {
		return false
	}
	if r.depth++; r.depth > maxDepth {
		r.fail("nesting too deep")
		return false
	}
	if r.peek() == closing {
		r.i++
		r.depth--
		return false
	}
	return true
}

// next reads the comma or closing delimiter after a member and reports
// whether another member follows.
func (r *reader) next(closing byte, failure string) bool {
	switch r.peek() {
	case ',':
		r.i++
		return true
	case closing:
		r.i++
		r.depth--
		return false
	}
	r.fail(failure)
	return false
}

// str reads a JSON string, or null as "" (as encoding/json leaves a string
// field empty for null). Without escapes the result shares r.s's memory.
func (r *reader) str() string {
	switch r.peek() {
	case '"':
		return r.strBody()
	case 'n':
		r.literal("null")
		return ""
	}
	r.fail("expected a string")
	return ""
}

// strBody reads a string whose opening quote is at r.i.
func (r *reader) strBody() string {
	r.i++
	start := r.i
	r.i += plainRun(r.s[r.i:])
	if r.i >= len(r.s) {
		r.fail("unterminated string")
		return ""
	}
	switch c := r.s[r.i]; {
	case c == '"':
		v := r.s[start:r.i]
		r.i++
		return v
	case c == '\\':
		return r.escaped(start)
	}
	r.fail("control character in string")
	return ""
}

// plainRun returns the length of the prefix of s free of '"', '\\' and
// control characters. It tests eight bytes at a time: base64 fields make up
// most of a license file.
func plainRun(s string) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		q := x ^ ('"' * ones)
		b := x ^ ('\\' * ones)
		// A byte below 0x20, or equal to '"' or '\\' (their XOR is zero),
		// sets its high bit in special.
		special := ((x - 0x20*ones) &^ x) | ((q - ones) &^ q) | ((b - ones) &^ b)
		if special&highs != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return i
}

// escaped finishes a string that contains escapes, from its start.
func (r *reader) escaped(start int) string {
	buf := make([]byte, 0, r.i-start+16)
	buf = append(buf, r.s[start:r.i]...)
	for r.i < len(r.s) {
		c := r.s[r.i]
		switch {
		case c == '"':
			r.i++
			return string(buf)
		case c < 0x20:
			r.fail("control character in string")
			return ""
		case c != '\\':
			buf = append(buf, c)
			r.i++
			continue
		}
		if r.i+1 >= len(r.s) {
			break
		}
		e := r.s[r.i+1]
		r.i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			ru := r.hex4()
			if utf16.IsSurrogate(ru) {
				ru2 := rune(-1)
				if len(r.s)-r.i >= 6 && r.s[r.i] == '\\' && r.s[r.i+1] == 'u' {
					save := r.i
					r.i += 2
					ru2 = r.hex4()
					if dec := utf16.DecodeRune(ru, ru2); dec != utf8.RuneError {
						ru = dec
					} else {
						r.i = save
						ru = utf8.RuneError
					}
				} else {
					ru = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, ru)
		default:
			r.fail("invalid escape in string")
			return ""
		}
	}
	r.fail("unterminated string")
	return ""
}

func (r *reader) hex4() rune {
	if len(r.s)-r.i < 4 {
		r.fail("invalid \\u escape")
		return 0
	}
	var v rune
	for _, c := range []byte(r.s[r.i : r.i+4]) {
		v <<= 4
		switch {
		case '0' <= c && c <= '9':
			v |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			v |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			v |= rune(c - 'A' + 10)
		default:
			r.fail("invalid \\u escape")
			return 0
		}
	}
	r.i += 4
	return v
}

// number scans a JSON number and returns its text and whether it is an
// integer (no fraction or exponent).
func (r *reader) number() (text string, integer bool) {
	r.ws()
	start := r.i
	integer = true
	if r.i < len(r.s) && r.s[r.i] == '-' {
		r.i++
	}
	switch {
	case r.i < len(r.s) && r.s[r.i] == '0':
		r.i++
	case r.i < len(r.s) && '1' <= r.s[r.i] && r.s[r.i] <= '9':
		r.digits()
	default:
		r.fail("invalid number")
		return "", false
	}
	if r.i < len(r.s) && r.s[r.i] == '.' {
		integer = false
		r.i++
		if r.digits() == 0 {
			r.fail("invalid number")
			return "", false
		}
	}
	if r.i < len(r.s) && (r.s[r.i] == 'e' || r.s[r.i] == 'E') {
		integer = false
		r.i++
		if r.i < len(r.s) && (r.s[r.i] == '+' || r.s[r.i] == '-') {
			r.i++
		}
		if r.digits() == 0 {
			r.fail("invalid number")
			return "", false
		}
	}
	return r.s[start:r.i], integer
}

func (r *reader) digits() int {
	n := 0
	for r.i < len(r.s) && '0' <= r.s[r.i] && r.s[r.i] <= '9' {
		r.i++
		n++
	}
	return n
}

// int reads a JSON integer that fits an int, or null as 0.
func (r *reader) int() int {
	if r.null() {
		return 0
	}
	text, integer := r.number()
	if r.err != "" {
		return 0
	}
	if !integer {
		r.fail("number is not an integer")
		return 0
	}
	n, err := strconv.ParseInt(text, 10, 0)
	if err != nil {
		r.fail("integer out of range")
		return 0
	}
	return int(n)
}

// intPtr reads null or an integer. Pointers are carved from one small slab
// per payload so that they don't cost an allocation each.
func (r *reader) intPtr(slab *[]int) *int {
	if r.null() {
		return nil
	}
	n := r.int()
	if r.err != "" {
		return nil
	}
	if len(*slab) == cap(*slab) {
		*slab = make([]int, 0, 8)
	}
	*slab = append(*slab, n)
	return &(*slab)[len(*slab)-1]
}

// bool reads true, false, or null as false.
func (r *reader) bool() bool {
	switch r.peek() {
	case 'n':
		r.literal("null")
		return false
	case 't':
		r.literal("true")
		return true
	case 'f':
		r.literal("false")
		return false
	}
	r.fail("expected a boolean")
	return false
}

// time reads null (the zero Timestamp) or an RFC 3339 string.
func (r *reader) time() resource.Timestamp {
	if r.null() {
		return resource.Timestamp{}
	}
	s := r.str()
	if r.err != "" {
		return resource.Timestamp{}
	}
	if t, ok := parseWireTime(s); ok {
		return resource.Timestamp{Time: t}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		r.fail("timestamp is not RFC 3339")
		return resource.Timestamp{}
	}
	return resource.Timestamp{Time: t.UTC()}
}

// strings reads null or an array of strings.
func (r *reader) strings() []string {
	if r.null() {
		return nil
	}
	out := make([]string, 0, 4)
	for more := r.arrayStart(); more; more = r.arrayNext() {
		out = append(out, r.str())
	}
	if r.err != "" {
		return nil
	}
	return out
}

// metadata reads null or an object of arbitrary JSON values, decoded as
// encoding/json decodes into any.
func (r *reader) metadata() resource.Metadata {
	if r.null() {
		return nil
	}
	if r.peek() != '{' {
		r.fail("metadata is not an object")
		return nil
	}
	m, _ := r.value().(map[string]any)
	return m
}

// value reads any JSON value: nil, bool, float64, string, []any or
// map[string]any.
func (r *reader) value() any {
	switch c := r.peek(); {
	case c == '{':
		m := make(map[string]any)
		for more := r.objectStart(); more; more = r.objectNext() {
			k := r.key()
			m[k] = r.value()
		}
		return m
	case c == '[':
		a := make([]any, 0)
		for more := r.arrayStart(); more; more = r.arrayNext() {
			a = append(a, r.value())
		}
		return a
	case c == '"':
		return r.str()
	case c == 't' || c == 'f':
		return r.bool()
	case c == 'n':
		r.literal("null")
		return nil
	default:
		text, _ := r.number()
		if r.err != "" {
			return nil
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			r.fail("number out of range")
			return nil
		}
		return f
	}
}

// skip reads and discards any JSON value (an unknown field).
func (r *reader) skip() {
	switch c := r.peek(); {
	case c == '{':
		for more := r.objectStart(); more; more = r.objectNext() {
			r.key()
			r.skip()
		}
	case c == '[':
		for more := r.arrayStart(); more; more = r.arrayNext() {
			r.skip()
		}
	case c == '"':
		r.str()
	case c == 't' || c == 'f':
		r.bool()
	case c == 'n':
		r.literal("null")
	default:
		r.number()
	}
}

// decodePayload decodes the payload JSON. Unknown fields are ignored;
// known fields of the wrong type, and invalid JSON, are errors.
func decodePayload(s string, p *Payload) string {
	r := reader{s: s}
	var slab []int
	if r.peek() != '{' {
		return "payload is not a JSON object"
	}
	for more := r.objectStart(); more; more = r.objectNext() {
		switch r.key() {
		case "v":
			p.V = r.int()
		case "env":
			p.Env = r.str()
		case "issuedAt":
			p.IssuedAt = r.time()
		case "expiresAt":
			p.ExpiresAt = r.time()
		case "ttl":
			p.TTL = r.int()
		case "fingerprint":
			p.Fingerprint = r.str()
		case "license":
			r.license(&p.License, &slab)
		case "machine":
			r.machine(&p.Machine)
		case "entitlements":
			p.Entitlements = r.strings()
		default:
			r.skip()
		}
	}
	r.end()
	return r.err
}

func (r *reader) license(l *resource.License, slab *[]int) {
	if r.null() {
		*l = resource.License{}
		return
	}
	for more := r.objectStart(); more; more = r.objectNext() {
		switch r.key() {
		case "id":
			l.ID = r.str()
		case "key":
			l.Key = r.str()
		case "name":
			l.Name = r.str()
		case "status":
			l.Status = r.str()
		case "productId":
			l.ProductID = r.str()
		case "policyId":
			l.PolicyID = r.str()
		case "userEmail":
			l.UserEmail = r.str()
		case "userName":
			l.UserName = r.str()
		case "expiresAt":
			l.ExpiresAt = r.time()
		case "maxMachinesOverride":
			l.MaxMachinesOverride = r.intPtr(slab)
		case "maxUsesOverride":
			l.MaxUsesOverride = r.intPtr(slab)
		case "usesCount":
			l.UsesCount = r.int()
		case "machineCount":
			l.MachineCount = r.int()
		case "entitlements":
			l.Entitlements = r.strings()
		case "metadata":
			l.Metadata = r.metadata()
		case "createdAt":
			l.CreatedAt = r.time()
		case "updatedAt":
			l.UpdatedAt = r.time()
		case "deletedAt":
			l.DeletedAt = r.time()
		case "policy":
			if r.null() {
				l.Policy = nil
				continue
			}
			if l.Policy == nil {
				l.Policy = new(resource.Policy)
			}
			r.policy(l.Policy, slab)
		case "machines":
			// A license file carries the license without its machines
			// (docs/wire-protocol.md §3; the file's own machine is Payload.Machine), so
			// a "machines" member is read and dropped like an unknown one:
			// File.License.Machines is always nil.
			r.skip()
		default:
			r.skip()
		}
	}
}

func (r *reader) policy(p *resource.Policy, slab *[]int) {
	for more := r.objectStart(); more; more = r.objectNext() {
		switch r.key() {
		case "id":
			p.ID = r.str()
		case "productId":
			p.ProductID = r.str()
		case "name":
			p.Name = r.str()
		case "template":
			p.Template = r.str()
		case "maxMachines":
			p.MaxMachines = r.intPtr(slab)
		case "maxUses":
			p.MaxUses = r.intPtr(slab)
		case "floating":
			p.Floating = r.bool()
		case "durationDays":
			p.DurationDays = r.intPtr(slab)
		case "expirationStrategy":
			p.ExpirationStrategy = r.str()
		case "requireHeartbeat":
			p.RequireHeartbeat = r.bool()
		case "heartbeatIntervalMinutes":
			p.HeartbeatIntervalMinutes = r.int()
		case "heartbeatCullStrategy":
			p.HeartbeatCullStrategy = r.str()
		case "requireFingerprint":
			p.RequireFingerprint = r.bool()
		case "fingerprintUniqueness":
			p.FingerprintUniqueness = r.str()
		case "offlineAllowed":
			p.OfflineAllowed = r.bool()
		case "offlineMaxDays":
			p.OfflineMaxDays = r.int()
		case "allowMachineTransfer":
			p.AllowMachineTransfer = r.bool()
		case "isTrial":
			p.IsTrial = r.bool()
		case "trialDurationDays":
			p.TrialDurationDays = r.intPtr(slab)
		case "overridable":
			p.Overridable = r.bool()
		case "entitlements":
			p.Entitlements = r.strings()
		case "metadata":
			p.Metadata = r.metadata()
		case "createdAt":
			p.CreatedAt = r.time()
		case "updatedAt":
			p.UpdatedAt = r.time()
		case "deletedAt":
			p.DeletedAt = r.time()
		default:
			r.skip()
		}
	}
}

func (r *reader) machine(m *resource.Machine) {
	if r.null() {
		*m = resource.Machine{}
		return
	}
	for more := r.objectStart(); more; more = r.objectNext() {
		switch r.key() {
		case "id":
			m.ID = r.str()
		case "licenseId":
			m.LicenseID = r.str()
		case "fingerprint":
			m.Fingerprint = r.str()
		case "name":
			m.Name = r.str()
		case "platform":
			m.Platform = r.str()
		case "hostname":
			m.Hostname = r.str()
		case "cores":
			m.Cores = r.int()
		case "status":
			m.Status = r.str()
		case "lastHeartbeatAt":
			m.LastHeartbeatAt = r.time()
		case "createdAt":
			m.CreatedAt = r.time()
		case "updatedAt":
			m.UpdatedAt = r.time()
		case "deletedAt":
			m.DeletedAt = r.time()
		case "metadata":
			m.Metadata = r.metadata()
		default:
			r.skip()
		}
	}
}

// parseWireTime parses the wire's own layout, "2006-01-02T15:04:05.000Z",
// about ten times faster than time.Parse. Anything else (including invalid
// dates) reports false and is left to time.Parse.
func parseWireTime(s string) (time.Time, bool) {
	if len(s) != len(resource.TimeLayout) || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
		s[13] != ':' || s[16] != ':' || s[19] != '.' || s[23] != 'Z' {
		return time.Time{}, false
	}
	num := func(a, b int) int {
		n := 0
		for _, c := range []byte(s[a:b]) {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec, ms := num(11, 13), num(14, 16), num(17, 19), num(20, 23)
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 ||
		minute < 0 || minute > 59 || sec < 0 || sec > 59 || ms < 0 {
		return time.Time{}, false
	}
	if day > daysIn(time.Month(month), year) {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, ms*int(time.Millisecond), time.UTC), true
}

func daysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}
