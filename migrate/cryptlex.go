package migrate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/licentric/licentric-go"
)

// Size caps of a Cryptlex export, beyond the plan's (PlanOptions).
const (
	maxProductsBytes = 32 << 20
	maxCSVFieldBytes = 1 << 20
)

// Cryptlex reads a Cryptlex export: the licenses CSV of
// GET /v3/licenses/export and the products JSON of GET /v3/products. The
// CSV's header row names the fields (the Web API license object's names:
// key, productId, type, allowedActivations, validity, expiresAt, revoked,
// suspended, user.email, ...); columns are matched by name,
// case-insensitively, never by position. A UTF-8 byte-order mark and CRLF
// line ends are accepted.
type Cryptlex struct {
	// LicensesCSV is the path of the licenses CSV.
	LicensesCSV string
	// ProductsJSON is the path of the products JSON: an array of product
	// objects, or an object whose "data" or "products" is one.
	ProductsJSON string
}

// System returns SystemCryptlex.
func (c *Cryptlex) System() string { return SystemCryptlex }

func (c *Cryptlex) read(ctx context.Context, b *builder) error {
	if c.LicensesCSV == "" || c.ProductsJSON == "" {
		return errors.New("migrate: Cryptlex needs both the licenses CSV and the products JSON")
	}
	pdata, err := readFileCapped(c.ProductsJSON, maxProductsBytes)
	if err != nil {
		return err
	}
	if err := b.limits.read(int64(len(pdata))); err != nil {
		return err
	}
	f, err := os.Open(c.LicensesCSV)
	if err != nil {
		return fmt.Errorf("migrate: open licenses CSV: %w", err)
	}
	defer f.Close()
	cx := newCryptlexReader(b)
	if err := cx.readProducts(filepath.Base(c.ProductsJSON), pdata); err != nil {
		return err
	}
	if err := cx.readLicenses(ctx, filepath.Base(c.LicensesCSV), &capReader{r: f, limits: b.limits}); err != nil {
		return err
	}
	cx.finish()
	return nil
}

// readFileCapped reads a whole file of at most limit bytes.
func readFileCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("migrate: read %s: %w", filepath.Base(path), err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrSourceTooLarge, filepath.Base(path), limit)
	}
	return data, nil
}

// capReader counts what it reads against limits, and fails with
// ErrSourceTooLarge once the byte cap is passed.
type capReader struct {
	r      io.Reader
	limits *sourceLimits
}

func (c *capReader) Read(p []byte) (int, error) {
	left := c.limits.left()
	if left <= 0 {
		var one [1]byte
		if n, _ := c.r.Read(one[:]); n > 0 {
			return 0, c.limits.tooManyBytes()
		}
		return 0, io.EOF
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := c.r.Read(p)
	_ = c.limits.read(int64(n)) // within left: never over the cap
	return n, err
}

// The license types Cryptlex has.
const (
	cxNodeLocked        = "node-locked"
	cxHostedFloating    = "hosted-floating"
	cxOnPremiseFloating = "on-premise-floating"
)

// cxProduct is a product of the products JSON.
type cxProduct struct {
	rec      *Product
	name     string
	template map[string]any
	trial    map[string]any
}

// cxRow is a license row with the fields the policy synthesis needs.
type cxRow struct {
	lic         *License
	productID   string
	typ         string
	activations int // -1: unlimited
	validity    int64
	interval    string
	values      map[string]string // policy-level columns: value (row, else template)
	groupKey    string
}

type cryptlexReader struct {
	b        *builder
	products map[string]*cxProduct
	order    []*cxProduct
	rows     []*cxRow
	keys     map[string]*License
}

func newCryptlexReader(b *builder) *cryptlexReader {
	return &cryptlexReader{b: b, products: map[string]*cxProduct{}, keys: map[string]*License{}}
}

// products parses the products JSON.
func (cx *cryptlexReader) readProducts(file string, data []byte) error {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var items []map[string]json.RawMessage
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) > 0 && trimmed[0] == '[':
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return fmt.Errorf("%w: %s is not a JSON array of products: %s", ErrMalformedSource, file, jsonErr(err))
		}
	case len(trimmed) > 0 && trimmed[0] == '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &obj); err != nil {
			return fmt.Errorf("%w: %s is not JSON: %s", ErrMalformedSource, file, jsonErr(err))
		}
		list := obj["data"]
		if list == nil {
			list = obj["products"]
		}
		if list == nil {
			items = []map[string]json.RawMessage{obj}
		} else if err := json.Unmarshal(list, &items); err != nil {
			return fmt.Errorf("%w: %s: the product list is not an array of objects", ErrMalformedSource, file)
		}
	default:
		return fmt.Errorf("%w: %s is not a JSON array of products", ErrMalformedSource, file)
	}
	for i, it := range items {
		cx.product(fmt.Sprintf("%s product %d", file, i+1), it)
	}
	return nil
}

func (cx *cryptlexReader) product(origin string, it map[string]json.RawMessage) {
	id := rawString(it["id"])
	pr := &Product{Record: Record{Kind: KindProduct, SourceID: id, Origin: origin}}
	cx.b.plan.Products = append(cx.b.plan.Products, pr)
	if id == "" {
		pr.SourceID = origin
		pr.reject("missing_id", "the product has no id")
		return
	}
	slugName := strings.TrimSpace(rawString(it["name"]))
	display := strings.TrimSpace(rawString(it["displayName"]))
	name := display
	if name == "" {
		name = slugName
	}
	if name == "" {
		pr.warn("missing_name", "the product has no name or displayName; its id is used")
		name = id
	}
	pr.Name = fitName(&pr.Record, "name", name)
	switch {
	case validProductCode(slugName):
		pr.Code = slugName
	default:
		pr.Code = slug(name, maxProductCodeLen)
		pr.codeGenerated = true
		if slugName != "" {
			pr.warn("code_changed", "name %q is not a valid product code; %q is used", truncate(slugName, 60), pr.Code)
		}
	}
	md := licentric.Metadata{}
	rawMeta := cxMetadata(&pr.Record, it["metadata"], md)
	desc := rawString(it["description"])
	if len(desc) > 1000 {
		pr.warn("description_moved", "the description is longer than 1000 bytes: it is kept in metadata.description")
		md["description"] = desc
	} else {
		pr.Description = desc
	}
	if k := rawString(it["publicKey"]); k != "" {
		pr.warn("public_key_dropped", "Cryptlex's public key does not transfer: applications must verify with Licentric")
	}
	src := sourceMeta(SystemCryptlex, id)
	if slugName != "" {
		src["name"] = slugName
	}
	if rawMeta != "" {
		src["metadata"] = rawMeta
	}
	md[SourceKey] = src
	pr.Metadata = md
	p := &cxProduct{rec: pr, name: pr.Name}
	if t := rawObject(it["licenseTemplate"]); t != nil {
		p.template = t
	}
	if t := rawObject(it["trialPolicy"]); t != nil {
		p.trial = t
	}
	if cx.products[id] == nil {
		cx.products[id] = p
		cx.order = append(cx.order, p)
	}
}

// cxMetadata copies Cryptlex [{key, value, visible}] metadata into md; a
// repeated key: the last wins, with a warning. Metadata that is not such a
// list is returned as text, for metadata._source.
func cxMetadata(r *Record, raw json.RawMessage, md licentric.Metadata) (unreadable string) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return ""
	}
	var items []struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	}
	if err := json.Unmarshal(raw, &items); err != nil {
		r.warn("metadata_unreadable", "metadata is not a list of {key, value}: kept as text in metadata._source.metadata")
		return truncate(string(raw), 4096)
	}
	seen := map[string]bool{}
	for _, it := range items {
		if it.Key == "" {
			continue
		}
		if it.Key == SourceKey {
			r.warn("metadata_reserved", "metadata key %q is reserved by the importer; the value is dropped", SourceKey)
			continue
		}
		if seen[it.Key] {
			r.warn("metadata_repeated", "metadata key %q is repeated; the last value is kept", truncate(it.Key, 60))
		}
		seen[it.Key] = true
		md[it.Key] = it.Value
	}
	return ""
}

// knownColumns are the CSV columns the importer reads (lowercased).
var knownColumns = map[string]bool{
	"key": true, "productid": true, "type": true, "allowedactivations": true, "validity": true,
	"subscriptioninterval": true, "expiresat": true, "revoked": true, "suspended": true,
	"user.email": true, "user.firstname": true, "user.lastname": true, "user.company": true,
	"metadata": true, "meterattributes": true,
}

// metaColumns are kept in metadata._source (name in the CSV's spelling).
var metaColumns = []string{"id", "createdAt", "updatedAt", "totalActivations", "totalDeactivations", "tags", "notes",
	"additionalUserIds", "reseller"}

// policyColumns shape the synthesised policy; each row's value (or the
// product's licenseTemplate) is taken, and the policy uses the most common.
var policyColumns = []string{"expirationStrategy", "fingerprintMatchingStrategy", "serverSyncGracePeriod",
	"serverSyncInterval", "leaseDuration", "allowVmActivation", "allowContainerActivation", "userLocked",
	"allowedDeactivations", "leasingStrategy", "allowedFloatingClients", "subscriptionStartTrigger",
	"allowedIpAddresses", "disallowedIpAddresses", "allowedCountries", "disallowedCountries", "allowedIpRange"}

func init() {
	for _, c := range metaColumns {
		knownColumns[strings.ToLower(c)] = true
	}
	for _, c := range policyColumns {
		knownColumns[strings.ToLower(c)] = true
	}
}

// licenses parses the licenses CSV.
func (cx *cryptlexReader) readLicenses(ctx context.Context, file string, r io.Reader) error {
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %s is empty", ErrMalformedSource, file)
	}
	if err != nil {
		if errors.Is(err, ErrSourceTooLarge) {
			return err
		}
		return fmt.Errorf("%w: %s: the header row cannot be read: %s", ErrMalformedSource, file, csvErr(err))
	}
	cols := map[string]int{}
	var unknown []string
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		name := strings.ToLower(strings.TrimSpace(h))
		if name == "" {
			continue
		}
		if _, dup := cols[name]; dup {
			cx.b.note("duplicate_column", "%s: column %q appears twice; the first is used", file, truncate(h, 60))
			continue
		}
		cols[name] = i
		if !knownColumns[name] {
			unknown = append(unknown, truncate(strings.TrimSpace(h), 60))
		}
	}
	if _, ok := cols["key"]; !ok {
		return fmt.Errorf("%w: %s has no key column", ErrMalformedSource, file)
	}
	if _, ok := cols["productid"]; !ok && len(cx.order) != 1 {
		return fmt.Errorf("%w: %s has no productId column (needed unless the products file holds exactly one product)", ErrMalformedSource, file)
	}
	if len(unknown) > 0 {
		cx.b.note("unmapped_columns", "%s: columns not imported: %s", file, strings.Join(unknown, ", "))
	}
	row := 0
	for {
		if row%1000 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		row++
		if err := cx.b.limits.record(); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if errors.Is(err, ErrSourceTooLarge) {
			return err
		}
		line := 0
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			line = pe.StartLine
		case err != nil:
			return fmt.Errorf("migrate: read %s: %w", file, err)
		default:
			line, _ = cr.FieldPos(0)
		}
		origin := fmt.Sprintf("%s row %d (line %d)", file, row, line)
		if err != nil {
			l := &License{Record: Record{Kind: KindLicense, SourceID: fmt.Sprintf("row:%d", row), Origin: origin}}
			l.reject("malformed_row", "the row cannot be read as CSV: %s", csvErr(err))
			cx.b.plan.Licenses = append(cx.b.plan.Licenses, l)
			continue
		}
		cx.row(origin, row, cols, len(header), fields)
	}
	return nil
}

func (cx *cryptlexReader) row(origin string, row int, cols map[string]int, width int, fields []string) {
	get := func(name string) string {
		i, ok := cols[name]
		if !ok || i >= len(fields) {
			return ""
		}
		return fields[i]
	}
	l := &License{Record: Record{Kind: KindLicense, Origin: origin}, Status: licentric.StatusActive}
	cx.b.plan.Licenses = append(cx.b.plan.Licenses, l)
	rawKey := get("key")
	key := strings.TrimSpace(rawKey)
	id := strings.TrimSpace(get("id"))
	switch {
	case id != "":
		l.SourceID = id
	case key != "":
		l.SourceID = "key-sha256:" + hashKey(key)[:32]
	default:
		l.SourceID = fmt.Sprintf("row:%d", row)
	}
	if len(fields) != width {
		l.reject("malformed_row", "the row has %d fields, the header %d", len(fields), width)
		return
	}
	for _, f := range fields {
		if len(f) > maxCSVFieldBytes {
			l.reject("field_too_large", "a field is larger than %d bytes", maxCSVFieldBytes)
			return
		}
	}
	if key != rawKey {
		l.warn("key_trimmed", "whitespace around the license key is removed")
	}
	if code, msg := checkKey(key); code != "" {
		l.reject(code, "%s", msg)
		return
	}
	l.Key = LicenseKey(key)
	if prev := cx.keys[key]; prev != nil {
		l.reject("duplicate_key", "same license key as %s (%s)", prev.SourceID, prev.Origin)
		return
	}
	cx.keys[key] = l

	productID := strings.TrimSpace(get("productid"))
	if _, ok := cols["productid"]; !ok {
		productID = cx.order[0].rec.SourceID
	}
	p := cx.products[productID]
	if p == nil {
		l.reject("unknown_product", "product %q is not in the products file", truncate(productID, 60))
		return
	}
	l.ProductSource = productID
	if !p.rec.Accepted() {
		l.reject("parent_rejected", "its product %s is rejected", productID)
		return
	}
	fromTemplate := func(col string) string {
		if v := strings.TrimSpace(get(strings.ToLower(col))); v != "" {
			return v
		}
		return templateString(p.template, col)
	}

	typ := strings.ToLower(fromTemplate("type"))
	switch typ {
	case cxNodeLocked, cxHostedFloating, cxOnPremiseFloating:
	case "":
		l.reject("unknown_type", "the license type is empty")
		return
	default:
		l.reject("unknown_type", "license type %q is not node-locked, hosted-floating or on-premise-floating", truncate(typ, 40))
		return
	}
	activations := -1
	if s := fromTemplate("allowedActivations"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < -1 {
			l.reject("malformed_number", "allowedActivations %q is not a whole number", truncate(s, 40))
			return
		}
		if n > 0 {
			activations = n
		}
	} else {
		l.warn("unlimited_activations", "allowedActivations is empty: imported as unlimited")
	}
	var validity int64
	if s := fromTemplate("validity"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > math.MaxInt32*86400 {
			l.reject("malformed_number", "validity %q is not a number of seconds", truncate(s, 40))
			return
		}
		validity = n
	}
	interval := strings.ToUpper(fromTemplate("subscriptionInterval"))
	if interval != "" {
		if _, _, err := isoDays(interval); err != nil {
			l.reject("malformed_duration", "subscriptionInterval: %v", err)
			return
		}
	}

	revoked, ok1 := boolField(get("revoked"))
	suspended, ok2 := boolField(get("suspended"))
	if !ok1 || !ok2 {
		l.reject("unknown_status", "revoked and suspended must be true or false")
		return
	}
	src := sourceMeta(SystemCryptlex, l.SourceID)
	expires := strings.TrimSpace(get("expiresat"))
	totalActivations := strings.TrimSpace(get("totalactivations"))
	if expires != "" {
		t, err := parseTime(expires)
		if err != nil {
			l.reject("malformed_date", "expiresAt: %v", err)
			return
		}
		l.ExpiresAt = t
	} else if validity > 0 && (totalActivations == "" || totalActivations == "0") {
		days := ceilDiv(validity, 86400)
		src["pendingDurationDays"] = days
		l.warn("pending_expiry", "never activated, so its %d-day validity has not started: imported without an expiry", days)
	}
	switch {
	case revoked:
		l.Status = licentric.StatusRevoked
	case suspended:
		l.Status = licentric.StatusSuspended
	}

	if email := strings.TrimSpace(get("user.email")); email != "" {
		if validEmail(email) {
			l.UserEmail = email
		} else {
			l.warn("invalid_email", "user.email is not a valid address: kept in metadata._source.userEmail")
			src["userEmail"] = truncate(email, 255)
		}
	}
	name := strings.TrimSpace(strings.TrimSpace(get("user.firstname")) + " " + strings.TrimSpace(get("user.lastname")))
	l.UserName = fitName(&l.Record, "user name", name)

	md := licentric.Metadata{}
	if raw := cxMetadata(&l.Record, json.RawMessage(get("metadata")), md); raw != "" {
		src["metadata"] = raw
	}
	if c := strings.TrimSpace(get("user.company")); c != "" {
		md["company"] = c
	}
	for _, c := range metaColumns {
		if c == "id" {
			continue
		}
		if v := strings.TrimSpace(get(strings.ToLower(c))); v != "" {
			src[c] = v
		}
	}
	if s := strings.TrimSpace(get("meterattributes")); s != "" && s != "[]" && s != "null" {
		var meters []struct {
			Name        string `json:"name"`
			AllowedUses *int   `json:"allowedUses"`
			TotalUses   *int   `json:"totalUses"`
		}
		switch err := json.Unmarshal([]byte(s), &meters); {
		case err != nil:
			l.warn("meters_unreadable", "meterAttributes is not a list of {name, allowedUses, totalUses}: kept as text")
			src["meterAttributes"] = truncate(s, 4096)
		case len(meters) == 1 && meters[0].AllowedUses != nil && *meters[0].AllowedUses >= 0:
			l.MaxUsesOverride = intPtr(*meters[0].AllowedUses)
			src["meterAttributes"] = json.RawMessage(s)
		default:
			if len(meters) > 1 {
				l.warn("meters_kept", "%d meter attributes: Licentric counts one kind of use, so they are kept in metadata only", len(meters))
			}
			src["meterAttributes"] = json.RawMessage(s)
		}
	}
	md[SourceKey] = src
	l.Metadata = md
	if n := metadataSize(md); n > MaxMetadataBytes {
		l.reject("metadata_too_large", "metadata is %d bytes serialized, more than %d", n, MaxMetadataBytes)
		return
	}

	values := map[string]string{}
	for _, c := range policyColumns {
		values[c] = fromTemplate(c)
	}
	durKey := "validity=" + strconv.FormatInt(validity, 10)
	if interval != "" {
		durKey = "interval=" + interval
	}
	group := "policy:" + productID + ":" + typ + ":" + durKey
	if activations < 0 {
		group += ":unlimited"
	}
	cx.rows = append(cx.rows, &cxRow{lic: l, productID: productID, typ: typ, activations: activations,
		validity: validity, interval: interval, values: values, groupKey: group})
}

// metadataSize is the serialized size of md.
func metadataSize(md licentric.Metadata) int {
	b, err := json.Marshal(md)
	if err != nil {
		return math.MaxInt
	}
	return len(b)
}

// finish synthesises the policies, one per (product, type, validity or
// subscription interval, unlimited or not) of the accepted rows, plus each
// product's trial policy.
func (cx *cryptlexReader) finish() {
	groups := map[string][]*cxRow{}
	var order []string
	for _, r := range cx.rows {
		if !r.lic.Accepted() {
			continue
		}
		if _, ok := groups[r.groupKey]; !ok {
			order = append(order, r.groupKey)
		}
		groups[r.groupKey] = append(groups[r.groupKey], r)
		r.lic.PolicySource = r.groupKey
	}
	for _, p := range cx.order {
		for _, key := range order {
			rows := groups[key]
			if rows[0].productID != p.rec.SourceID {
				continue
			}
			cx.policy(p, key, rows)
		}
		if p.trial != nil && p.rec.Accepted() {
			cx.trialPolicy(p)
		}
	}
}

func (cx *cryptlexReader) policy(p *cxProduct, key string, rows []*cxRow) {
	first := rows[0]
	pol := &Policy{
		Record:                Record{Kind: KindPolicy, SourceID: key, Origin: fmt.Sprintf("synthesised from %d license rows, first %s", len(rows), first.lic.Origin)},
		ProductSource:         p.rec.SourceID,
		Floating:              first.typ != cxNodeLocked,
		ExpirationStrategy:    licentric.StrategyRestrictAccess,
		HeartbeatCullStrategy: licentric.CullDeactivateDead,
		FingerprintUniqueness: licentric.UniquePerLicense,
		RequireFingerprint:    first.typ == cxNodeLocked,
	}
	cx.b.plan.Policies = append(cx.b.plan.Policies, pol)
	src := sourceMeta(SystemCryptlex, key)
	src["synthesised"] = true
	src["type"] = first.typ
	dur := "perpetual"
	switch {
	case first.interval != "":
		days, approx, _ := isoDays(first.interval)
		if days > 0 {
			pol.DurationDays = intPtr(days)
		}
		if approx {
			pol.warn("approximate_duration", "subscription interval %s is taken as %d days", first.interval, days)
		}
		src["subscriptionInterval"] = first.interval
		dur = first.interval
	case first.validity > 0:
		days := ceilDiv(first.validity, 86400)
		if first.validity%86400 != 0 {
			pol.warn("duration_rounded", "validity of %d seconds is not a whole number of days: %d days", first.validity, days)
		}
		pol.DurationDays = intPtr(int(days))
		src["validity"] = first.validity
		dur = fmt.Sprintf("%d days", days)
	}
	// maxMachines: the most common allowedActivations of the group.
	if first.activations >= 0 {
		counts := map[int]int{}
		for _, r := range rows {
			counts[r.activations]++
		}
		best, bestN := 0, 0
		for v, n := range counts {
			if n > bestN || n == bestN && v < best {
				best, bestN = v, n
			}
		}
		pol.MaxMachines = intPtr(best)
	}
	name := fmt.Sprintf("%s: %s, %s", p.name, first.typ, dur)
	if pol.MaxMachines == nil {
		name += ", unlimited activations"
	}
	pol.Name = fitName(&pol.Record, "name", name)

	v := func(col string) string { return modeValue(&pol.Record, col, rows) }
	if s := v("expirationStrategy"); s != "" {
		src["expirationStrategy"] = s
		if ls := strings.ToLower(s); ls == "delayed" || ls == "rolling" {
			pol.warn("expiration_start", "Cryptlex's %s expiration strategy starts the clock later; Licentric starts it at creation (expiresAt is carried as it is)", ls)
		}
	}
	if s := v("subscriptionStartTrigger"); s != "" {
		src["subscriptionStartTrigger"] = s
	}
	switch first.typ {
	case cxHostedFloating:
		pol.RequireHeartbeat = true
		pol.HeartbeatIntervalMinutes = 60
		secs := v("serverSyncInterval")
		if secs == "" {
			secs = v("leaseDuration")
		}
		if n, err := strconv.ParseInt(secs, 10, 64); err == nil && n > 0 {
			pol.HeartbeatIntervalMinutes = int(min(ceilDiv(n, 60), math.MaxInt32))
		}
	case cxOnPremiseFloating:
		pol.warn("on_premise_floating", "on-premise floating licenses are enforced by LexFloatServer on the customer's site; Licentric enforces the machine limit itself")
	}
	if s := v("fingerprintMatchingStrategy"); s != "" {
		src["fingerprintMatchingStrategy"] = s
	}
	if s := v("serverSyncGracePeriod"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		switch {
		case err != nil:
			pol.warn("malformed_number", "serverSyncGracePeriod %q is not a number: offline use is not allowed", truncate(s, 40))
		case n < 0:
			pol.OfflineAllowed, pol.OfflineMaxDays = true, maxOfflineDays
		case n > 0:
			pol.OfflineAllowed = true
			pol.OfflineMaxDays = int(min(ceilDiv(n, 86400), maxOfflineDays))
			if ceilDiv(n, 86400) > maxOfflineDays {
				pol.warn("offline_capped", "a grace period of %d days is capped at %d", ceilDiv(n, 86400), maxOfflineDays)
			}
		}
		src["serverSyncGracePeriod"] = s
	}
	notEnforced := func(col string, restrictive func(string) bool) {
		s := v(col)
		if s == "" {
			return
		}
		src[col] = s
		if restrictive(s) {
			pol.warn("not_enforced", "%s = %s is not enforced by Licentric", col, truncate(s, 60))
		}
	}
	isFalse := func(s string) bool { return strings.EqualFold(s, "false") }
	isTrue := func(s string) bool { return strings.EqualFold(s, "true") }
	set := func(s string) bool { return s != "" && s != "[]" && s != "-1" && s != "0" }
	notEnforced("allowVmActivation", isFalse)
	notEnforced("allowContainerActivation", isFalse)
	notEnforced("userLocked", isTrue)
	notEnforced("allowedDeactivations", set)
	notEnforced("leasingStrategy", func(s string) bool { return s != "" })
	notEnforced("allowedFloatingClients", set)
	for _, c := range []string{"allowedIpAddresses", "disallowedIpAddresses", "allowedCountries", "disallowedCountries", "allowedIpRange"} {
		notEnforced(c, set)
	}
	pol.Metadata = licentric.Metadata{SourceKey: src}
	// Overrides of the licenses against the policy.
	for _, r := range rows {
		if pol.MaxMachines != nil && r.activations != *pol.MaxMachines {
			r.lic.MaxMachinesOverride = intPtr(r.activations)
		}
	}
}

// modeValue is the most common non-empty value of a policy column among
// rows (ties: the first seen); a disagreement is a warning.
func modeValue(r *Record, col string, rows []*cxRow) string {
	counts := map[string]int{}
	var order []string
	for _, row := range rows {
		s := row.values[col]
		if s == "" {
			continue
		}
		if counts[s] == 0 {
			order = append(order, s)
		}
		counts[s]++
	}
	if len(order) == 0 {
		return ""
	}
	best := order[0]
	for _, s := range order {
		if counts[s] > counts[best] {
			best = s
		}
	}
	if len(order) > 1 {
		r.warn("rows_disagree", "the license rows disagree on %s; the most common value %q is used", col, truncate(best, 60))
	}
	return best
}

func (cx *cryptlexReader) trialPolicy(p *cxProduct) {
	t := p.trial
	id := "trial:" + p.rec.SourceID
	pol := &Policy{
		Record:                Record{Kind: KindPolicy, SourceID: id, Origin: p.rec.Origin + " trialPolicy"},
		ProductSource:         p.rec.SourceID,
		Name:                  fitName(&Record{}, "name", p.name+": trial"),
		ExpirationStrategy:    licentric.StrategyRestrictAccess,
		HeartbeatCullStrategy: licentric.CullDeactivateDead,
		FingerprintUniqueness: licentric.UniquePerLicense,
		RequireFingerprint:    true,
		IsTrial:               true,
		MaxMachines:           intPtr(1),
	}
	src := sourceMeta(SystemCryptlex, id)
	src["synthesised"] = true
	if n, ok := templateInt(t, "trialLength"); ok && n > 0 {
		pol.TrialDurationDays = intPtr(int(min(n, math.MaxInt32)))
		pol.DurationDays = intPtr(int(min(n, math.MaxInt32)))
	}
	if n, ok := templateInt(t, "allowedActivations"); ok {
		if n > 0 {
			pol.MaxMachines = intPtr(int(min(n, math.MaxInt32)))
		} else {
			pol.MaxMachines = nil
		}
	}
	if typ := strings.ToLower(templateString(t, "type")); typ != "" {
		src["type"] = typ
		pol.Floating = typ == cxHostedFloating || typ == cxOnPremiseFloating
		pol.RequireFingerprint = typ == cxNodeLocked
	}
	pol.Metadata = licentric.Metadata{SourceKey: src}
	cx.b.plan.Policies = append(cx.b.plan.Policies, pol)
}

// templateString reads a field of a licenseTemplate or trialPolicy object
// as text.
func templateString(t map[string]any, field string) string {
	if t == nil {
		return ""
	}
	for k, v := range t {
		if !strings.EqualFold(k, field) {
			continue
		}
		switch x := v.(type) {
		case string:
			return strings.TrimSpace(x)
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			return strconv.FormatBool(x)
		case nil:
			return ""
		default:
			b, _ := json.Marshal(x)
			return string(b)
		}
	}
	return ""
}

func templateInt(t map[string]any, field string) (int64, bool) {
	s := templateString(t, field)
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// rawString decodes a JSON string (or a number, as text); "" otherwise.
func rawString(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// rawObject decodes a JSON object; nil for anything else.
func rawObject(raw json.RawMessage) map[string]any {
	if len(raw) == 0 {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// jsonErr describes a JSON syntax error without quoting the input.
func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("unexpected %s at byte %d", te.Value, te.Offset)
	}
	return "invalid JSON"
}

// csvErr describes a CSV error without quoting the row.
func csvErr(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("%v at line %d, column %d", pe.Err, pe.Line, pe.Column)
	}
	return "unreadable"
}

// sortedKeys returns m's keys sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
