package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/clock"
)

// KeygenVersion is the Keygen API version the importer asks for and whose
// field names it expects; older shapes (owner as user at ≤ 1.5,
// fingerprintUniquenessStrategy at ≤ 1.3) are read too.
const KeygenVersion = "1.8"

// DefaultKeygenURL is Keygen's hosted API.
const DefaultKeygenURL = "https://api.keygen.sh"

// Size caps of a Keygen export, beyond the plan's (PlanOptions).
const (
	maxKeygenPageBytes = 64 << 20
	maxKeygenFiles     = 200_000
	maxKeygenPages     = 1_000_000
)

// Keygen reads a Keygen account: either a directory of saved list
// responses (Dir), or the Keygen API itself (BaseURL, Account, Token).
//
// In a directory, every *.json file (subdirectories included, in path
// order) is one JSON:API list response as Keygen sends it:
// {"data": [...], "links": {...}}, from GET /products, /entitlements,
// /policies, /users, /licenses and /machines, and the entitlement lists
// GET /policies/{id}/entitlements and GET /licenses/{id}/entitlements. A
// record's "type" tells what it is; an entitlement list's links.self tells
// which policy or license it belongs to. Save the responses unchanged.
//
// Through the API, the importer pages every list by links.next (page size
// 100) with Keygen-Version 1.8 and the token as a Bearer credential. It
// follows links.next and redirects only within BaseURL's origin (scheme,
// host and port), so the token goes nowhere else. Plain http is refused off
// loopback.
type Keygen struct {
	// Dir is a directory of saved Keygen list responses.
	Dir string

	// BaseURL is the Keygen API; empty means DefaultKeygenURL.
	BaseURL string
	// Account is the Keygen account id or slug.
	Account string
	// Token is a Keygen admin or product token (read access suffices).
	Token string
	// HTTPClient sends the API requests; nil is a client with a 60 s
	// timeout per request.
	HTTPClient *http.Client
	// Clock times the waits between retries; nil is the wall clock.
	Clock clock.Clock

	// SkipDeadMachines leaves out machines whose heartbeatStatus is DEAD;
	// by default they are imported.
	SkipDeadMachines bool
	// EmailMetadataKey, when set, names a license metadata key whose value
	// is taken as the licensee's email when the license has no owner.
	EmailMetadataKey string
}

// System returns SystemKeygen.
func (k *Keygen) System() string { return SystemKeygen }

func (k *Keygen) read(ctx context.Context, b *builder) error {
	kg := newKeygenData(b.limits)
	switch {
	case k.Dir != "" && (k.Account != "" || k.Token != ""):
		return errors.New("migrate: Keygen takes either a directory or an API account, not both")
	case k.Dir != "":
		if err := kg.readDir(ctx, k.Dir); err != nil {
			return err
		}
	case k.Account != "":
		if err := k.fetch(ctx, kg); err != nil {
			return err
		}
	default:
		return errors.New("migrate: Keygen needs a directory (Dir) or an account (Account and Token)")
	}
	kg.mapAll(b, k)
	return nil
}

// kgResource is a JSON:API resource object.
type kgResource struct {
	ID            string                     `json:"id"`
	Type          string                     `json:"type"`
	Attributes    map[string]json.RawMessage `json:"attributes"`
	Relationships map[string]kgRelationship  `json:"relationships"`

	origin  string
	subList bool // read from an entitlement list of a policy or license
}

type kgRelationship struct {
	Data json.RawMessage            `json:"data"`
	Meta map[string]json.RawMessage `json:"meta"`
}

// kgPage is a parsed JSON:API document.
type kgPage struct {
	Resources []*kgResource
	Self      string
	Next      string
}

// parseKeygenPage parses one JSON:API document.
func parseKeygenPage(data []byte) (*kgPage, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var doc struct {
		Data   json.RawMessage            `json:"data"`
		Links  map[string]json.RawMessage `json:"links"`
		Errors []struct {
			Title  string `json:"title"`
			Detail string `json:"detail"`
			Code   string `json:"code"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: not a JSON:API document: %s", ErrMalformedSource, jsonErr(err))
	}
	if len(doc.Errors) > 0 {
		e := doc.Errors[0]
		return nil, fmt.Errorf("%w: the document is a Keygen error response: %s", ErrMalformedSource,
			truncate(strings.TrimSpace(e.Code+" "+e.Title+": "+e.Detail), 200))
	}
	p := &kgPage{Self: linkString(doc.Links["self"]), Next: linkString(doc.Links["next"])}
	raw := bytes.TrimSpace(doc.Data)
	switch {
	case len(raw) == 0:
		return nil, fmt.Errorf("%w: the document has no \"data\"", ErrMalformedSource)
	case raw[0] == '[':
		if err := json.Unmarshal(raw, &p.Resources); err != nil {
			return nil, fmt.Errorf("%w: \"data\" is not a list of resources: %s", ErrMalformedSource, jsonErr(err))
		}
	case raw[0] == '{':
		var r kgResource
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("%w: \"data\" is not a resource: %s", ErrMalformedSource, jsonErr(err))
		}
		p.Resources = []*kgResource{&r}
	case string(raw) == "null":
	default:
		return nil, fmt.Errorf("%w: \"data\" is neither a list nor a resource", ErrMalformedSource)
	}
	for i, r := range p.Resources {
		if r == nil {
			return nil, fmt.Errorf("%w: record %d is null", ErrMalformedSource, i+1)
		}
	}
	return p, nil
}

// linkString reads a JSON:API link: a string, null, or {"href": ...}.
func linkString(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		Href string `json:"href"`
	}
	if json.Unmarshal(raw, &o) == nil {
		return o.Href
	}
	return ""
}

// keygenData collects the resources of an export, de-duplicated by id.
type keygenData struct {
	byType     map[string][]*kgResource
	index      map[string]*kgResource // type + "/" + id
	policyEnts map[string][]string    // policy id → entitlement ids
	licenseEnt map[string][]string    // license id → entitlement ids
	entLists   int                    // entitlement sub-lists seen
	others     map[string]int         // resource types with no Licentric equivalent
	dupes      int
	limits     *sourceLimits // counts the records kept and the bytes read
}

// newKeygenData returns an empty export read within limits (nil: the
// default caps).
func newKeygenData(limits *sourceLimits) *keygenData {
	if limits == nil {
		limits = newSourceLimits(nil)
	}
	return &keygenData{
		byType: map[string][]*kgResource{}, index: map[string]*kgResource{},
		policyEnts: map[string][]string{}, licenseEnt: map[string][]string{}, others: map[string]int{},
		limits: limits,
	}
}

var entListPath = regexp.MustCompile(`/(policies|licenses)/([^/?#]+)/entitlements(?:[/?#]|$)`)

// owner returns which policy or license an entitlement list belongs to,
// from its self link.
func entListOwner(self string) (kind, id string) {
	if self == "" {
		return "", ""
	}
	p := self
	if u, err := url.Parse(self); err == nil {
		p = u.Path
	}
	m := entListPath.FindStringSubmatch(p)
	if m == nil {
		return "", ""
	}
	return m[1], m[2]
}

// add adds a page's resources; owner names the policy or license an
// entitlement list belongs to ("" for a top-level list).
func (kg *keygenData) add(page *kgPage, origin string, ownerKind, ownerID string) error {
	if ownerKind == "" {
		ownerKind, ownerID = entListOwner(page.Self)
	}
	if ownerKind != "" {
		kg.entLists++
	}
	for i, r := range page.Resources {
		r.origin = fmt.Sprintf("%s record %d", origin, i+1)
		typ := strings.ToLower(r.Type)
		switch typ {
		case "products", "entitlements", "policies", "licenses", "machines", "users":
		default:
			kg.others[typ]++
			continue
		}
		if typ == "entitlements" && ownerKind != "" && r.ID != "" {
			if ownerKind == "policies" {
				kg.policyEnts[ownerID] = append(kg.policyEnts[ownerID], r.ID)
			} else {
				kg.licenseEnt[ownerID] = append(kg.licenseEnt[ownerID], r.ID)
			}
		}
		r.subList = ownerKind != ""
		key := typ + "/" + r.ID
		if prev := kg.index[key]; prev != nil && r.ID != "" {
			// The same record twice: an entitlement of a sub-list, or a list
			// that moved while it was saved. Keep the newest copy, and the
			// top-level list's origin.
			switch {
			case prev.subList && !r.subList:
				*prev = *r
			case r.subList:
			default:
				kg.dupes++
				if attrTime(r, "updated").After(attrTime(prev, "updated")) {
					*prev = *r
				}
			}
			continue
		}
		if err := kg.limits.record(); err != nil {
			return err
		}
		kg.index[key] = r
		kg.byType[typ] = append(kg.byType[typ], r)
	}
	return nil
}

// readDir reads every *.json file under dir.
func (kg *keygenData) readDir(ctx context.Context, dir string) error {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.EqualFold(filepath.Ext(path), ".json") {
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, path)
		if len(files) > maxKeygenFiles {
			return fmt.Errorf("%w: more than %d files", ErrSourceTooLarge, maxKeygenFiles)
		}
		return kg.limits.read(info.Size())
	})
	if err != nil {
		if errors.Is(err, ErrSourceTooLarge) {
			return err
		}
		return fmt.Errorf("migrate: read Keygen directory: %w", err)
	}
	if len(files) == 0 {
		return fmt.Errorf("%w: no .json files in %s", ErrMalformedSource, filepath.Base(dir))
	}
	sort.Strings(files)
	for _, path := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			rel = filepath.Base(path)
		}
		rel = filepath.ToSlash(rel)
		data, err := readFileCapped(path, maxKeygenPageBytes) // within the limit counted above
		if err != nil {
			return err
		}
		page, err := parseKeygenPage(data)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		if err := kg.add(page, rel, "", ""); err != nil {
			return err
		}
	}
	return nil
}

// fetch reads the account through the Keygen API.
func (k *Keygen) fetch(ctx context.Context, kg *keygenData) error {
	base := k.BaseURL
	if base == "" {
		base = DefaultKeygenURL
	}
	bu, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || bu.Host == "" || (bu.Scheme != "https" && bu.Scheme != "http") {
		return errors.New("migrate: the Keygen URL must be an absolute http(s) URL")
	}
	if bu.Scheme == "http" && !loopback(bu.Hostname()) {
		return errors.New("migrate: the Keygen URL must use https (plain http only to loopback)")
	}
	if k.Token == "" {
		return errors.New("migrate: a Keygen token is needed (KEYGEN_TOKEN)")
	}
	api := &keygenAPI{base: bu, token: k.Token, hc: originBound(k.HTTPClient, bu), clock: clock.OrWall(k.Clock), limits: kg.limits}
	acct := "/v1/accounts/" + url.PathEscape(k.Account)
	for _, typ := range []string{"products", "entitlements", "policies", "users", "licenses", "machines"} {
		if err := api.list(ctx, kg, acct+"/"+typ, "", ""); err != nil {
			return err
		}
	}
	if len(kg.byType["entitlements"]) == 0 {
		return nil
	}
	for _, p := range kg.byType["policies"] {
		if err := api.list(ctx, kg, acct+"/policies/"+url.PathEscape(p.ID)+"/entitlements", "policies", p.ID); err != nil {
			return err
		}
	}
	for _, l := range kg.byType["licenses"] {
		if err := api.list(ctx, kg, acct+"/licenses/"+url.PathEscape(l.ID)+"/entitlements", "licenses", l.ID); err != nil {
			return err
		}
	}
	return nil
}

// maxKeygenRedirects bounds the redirects followed for one request.
const maxKeygenRedirects = 5

// Errors of the redirects originBound refuses.
var (
	errOffOriginRedirect = errors.New("redirect to another origin")
	errTooManyRedirects  = errors.New("too many redirects")
)

// originBound returns a copy of hc (nil: a client with a 60 s timeout per
// request) that follows a redirect only within base's origin, the rule
// links.next obeys too: Go's client would otherwise send the token to
// another port or scheme of the same host, or to a subdomain. The caller's
// client is not modified; its own CheckRedirect, if any, still applies.
func originBound(hc *http.Client, base *url.URL) *http.Client {
	var c http.Client
	if hc != nil {
		c = *hc
	} else {
		c.Timeout = 60 * time.Second
	}
	theirs := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !sameOrigin(req.URL, base) {
			return errOffOriginRedirect
		}
		if len(via) > maxKeygenRedirects {
			return errTooManyRedirects
		}
		if theirs != nil {
			return theirs(req, via)
		}
		return nil
	}
	return &c
}

// sameOrigin reports whether u has base's scheme, host and port (a
// missing port is the scheme's default).
func sameOrigin(u, base *url.URL) bool {
	return strings.EqualFold(u.Scheme, base.Scheme) && strings.EqualFold(u.Hostname(), base.Hostname()) &&
		portOf(u) == portOf(base)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type keygenAPI struct {
	base   *url.URL
	token  string
	hc     *http.Client
	clock  clock.Clock
	limits *sourceLimits // every page's bytes count against it
}

// list fetches every page of the list at path.
func (a *keygenAPI) list(ctx context.Context, kg *keygenData, path, ownerKind, ownerID string) error {
	u := *a.base
	u.Path = strings.TrimRight(a.base.Path, "/") + path
	u.RawPath = ""
	u.RawQuery = "page%5Bsize%5D=100&page%5Bnumber%5D=1"
	next := u.String()
	seen := map[string]bool{}
	for n := 1; next != ""; n++ {
		if n > maxKeygenPages {
			return fmt.Errorf("%w: more than %d pages", ErrSourceTooLarge, maxKeygenPages)
		}
		if seen[next] {
			return fmt.Errorf("%w: Keygen's links.next repeats a page", ErrSource)
		}
		seen[next] = true
		cur, err := url.Parse(next)
		if err != nil {
			return fmt.Errorf("%w: a links.next is not a URL", ErrSource)
		}
		data, err := a.get(ctx, cur)
		if err != nil {
			return err
		}
		page, err := parseKeygenPage(data)
		if err != nil {
			return fmt.Errorf("GET %s: %w", describeURL(cur), err)
		}
		if err := kg.add(page, "GET "+describeURL(cur), ownerKind, ownerID); err != nil {
			return err
		}
		next = ""
		if page.Next != "" {
			nu, err := a.base.Parse(page.Next)
			if err != nil {
				return fmt.Errorf("%w: links.next is not a URL", ErrSource)
			}
			if !sameOrigin(nu, a.base) {
				return fmt.Errorf("%w: links.next points to another host; not followed", ErrSource)
			}
			next = nu.String()
		}
	}
	return nil
}

// describeURL is a URL's path and query, unescaped, for reports.
func describeURL(u *url.URL) string {
	s := u.Path
	if q, err := url.QueryUnescape(u.RawQuery); err == nil && q != "" {
		s += "?" + q
	}
	return truncate(s, 300)
}

// get fetches one page, retrying 429, 5xx and transport errors.
func (a *keygenAPI) get(ctx context.Context, u *url.URL) ([]byte, error) {
	const attempts = 6
	wait := time.Second
	var lastErr error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-a.clock.After(wait):
			}
			wait = min(wait*2, 30*time.Second)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %s", ErrSource, "bad request URL")
		}
		req.Header.Set("Authorization", "Bearer "+a.token)
		req.Header.Set("Accept", "application/vnd.api+json")
		req.Header.Set("Keygen-Version", KeygenVersion)
		resp, err := a.hc.Do(req)
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return nil, ctx.Err()
			case errors.Is(err, errOffOriginRedirect):
				return nil, fmt.Errorf("%w: GET %s: redirected to another origin; not followed (the token stays with %s)",
					ErrSource, describeURL(u), a.base.Host)
			case errors.Is(err, errTooManyRedirects):
				return nil, fmt.Errorf("%w: GET %s: more than %d redirects", ErrSource, describeURL(u), maxKeygenRedirects)
			}
			lastErr = fmt.Errorf("%w: GET %s: the request failed", ErrSource, describeURL(u))
			continue
		}
		capped := min(maxKeygenPageBytes, a.limits.left())
		data, rerr := io.ReadAll(io.LimitReader(resp.Body, capped+1))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			lastErr = fmt.Errorf("%w: GET %s: HTTP %d", ErrSource, describeURL(u), resp.StatusCode)
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				wait = min(time.Duration(s)*time.Second, 60*time.Second)
			}
			continue
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return nil, fmt.Errorf("%w: GET %s: Keygen refused the token (HTTP %d)", ErrSource, describeURL(u), resp.StatusCode)
		case resp.StatusCode != http.StatusOK:
			return nil, fmt.Errorf("%w: GET %s: HTTP %d", ErrSource, describeURL(u), resp.StatusCode)
		case rerr != nil:
			lastErr = fmt.Errorf("%w: GET %s: the response was cut off", ErrSource, describeURL(u))
			continue
		case len(data) > maxKeygenPageBytes:
			return nil, fmt.Errorf("%w: GET %s: the page is larger than %d bytes", ErrSourceTooLarge, describeURL(u), maxKeygenPageBytes)
		}
		if err := a.limits.read(int64(len(data))); err != nil {
			return nil, err
		}
		return data, nil
	}
	return nil, lastErr
}

// --- attribute access ---

func attr(r *kgResource, name string) json.RawMessage {
	raw := r.Attributes[name]
	if len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	return raw
}

func attrString(r *kgResource, name string) (string, bool) {
	raw := attr(r, name)
	if raw == nil {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func attrInt(r *kgResource, name string) (int64, bool) {
	raw := attr(r, name)
	if raw == nil {
		return 0, false
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

func attrBool(r *kgResource, name string) bool {
	raw := attr(r, name)
	var b bool
	return raw != nil && json.Unmarshal(raw, &b) == nil && b
}

func attrTime(r *kgResource, name string) time.Time {
	s, _ := attrString(r, name)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func attrObject(r *kgResource, name string) map[string]any {
	raw := attr(r, name)
	if raw == nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

func attrValue(r *kgResource, name string) any {
	raw := attr(r, name)
	if raw == nil {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	return v
}

// relID returns the id of a to-one relationship.
func relID(r *kgResource, name string) string {
	rel, ok := r.Relationships[name]
	if !ok {
		return ""
	}
	var d struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(rel.Data, &d) != nil {
		return ""
	}
	return d.ID
}

func relCount(r *kgResource, name string) int64 {
	rel, ok := r.Relationships[name]
	if !ok {
		return 0
	}
	var n int64
	if json.Unmarshal(rel.Meta["count"], &n) != nil {
		return 0
	}
	return n
}

// copyRest copies the attributes not in skip (and not null) into dst.
func copyRest(r *kgResource, dst map[string]any, skip map[string]bool) {
	for _, name := range sortedKeys(r.Attributes) {
		if skip[name] {
			continue
		}
		if v := attrValue(r, name); v != nil {
			dst[name] = v
		}
	}
}

func keygenMetadata(r *kgResource, rec *Record) licentric.Metadata {
	md := licentric.Metadata{}
	for k, v := range attrObject(r, "metadata") {
		if k == SourceKey {
			rec.warn("metadata_reserved", "metadata key %q is reserved by the importer; the value is dropped", SourceKey)
			continue
		}
		md[k] = v
	}
	return md
}

// --- mapping ---

type kgPolicy struct {
	rec   *Policy
	basis string
}

func (kg *keygenData) mapAll(b *builder, k *Keygen) {
	for typ, n := range kg.others {
		b.note("unmapped_type", "%d %s record(s) have no Licentric equivalent and are not imported", n, typ)
	}
	if kg.dupes > 0 {
		b.note("duplicate_records", "%d record(s) appear more than once; the most recently updated copy is used", kg.dupes)
	}
	entCodes := map[string]string{} // entitlement id → code
	for _, r := range kg.byType["products"] {
		kg.mapProduct(b, r)
	}
	for _, r := range kg.byType["entitlements"] {
		if e := kg.mapEntitlement(b, r); e != nil && e.Accepted() {
			entCodes[r.ID] = e.Code
		}
	}
	policies := map[string]*kgPolicy{}
	for _, r := range kg.byType["policies"] {
		policies[r.ID] = kg.mapPolicy(b, r, entCodes)
	}
	if len(kg.byType["entitlements"]) > 0 && kg.entLists == 0 {
		b.note("no_entitlement_lists", "no /policies/{id}/entitlements or /licenses/{id}/entitlements lists were found: no entitlements are attached")
	}
	users := map[string]*kgResource{}
	for _, u := range kg.byType["users"] {
		users[u.ID] = u
	}
	owners := map[string]bool{}
	for _, r := range kg.byType["licenses"] {
		if id := kg.mapLicense(b, k, r, policies, users, entCodes); id != "" {
			owners[id] = true
		}
	}
	admins, unused := 0, 0
	for _, u := range kg.byType["users"] {
		role, _ := attrString(u, "role")
		switch {
		case role != "" && role != "user":
			admins++
		case !owners[u.ID]:
			unused++
		}
	}
	if n := len(kg.byType["users"]); n > 0 {
		b.note("users", "%d user(s): %d folded into their licenses' userEmail and userName; %d with another role than user and %d without a license are not imported (Licentric has no users)",
			n, len(owners), admins, unused)
	}
	dead := 0
	for _, r := range kg.byType["machines"] {
		if st, _ := attrString(r, "heartbeatStatus"); k.SkipDeadMachines && strings.EqualFold(st, "DEAD") {
			dead++
			continue
		}
		kg.mapMachine(b, r)
	}
	if dead > 0 {
		b.note("dead_machines_skipped", "%d dead machine(s) skipped, as asked", dead)
	}
}

func (kg *keygenData) mapProduct(b *builder, r *kgResource) {
	pr := &Product{Record: Record{Kind: KindProduct, SourceID: r.ID, Origin: r.origin}}
	b.plan.Products = append(b.plan.Products, pr)
	if r.ID == "" {
		pr.SourceID = r.origin
		pr.reject("missing_id", "the record has no id")
		return
	}
	name, _ := attrString(r, "name")
	name = strings.TrimSpace(name)
	if name == "" {
		pr.warn("missing_name", "the product has no name; its id is used")
		name = r.ID
	}
	pr.Name = fitName(&pr.Record, "name", name)
	code, hasCode := attrString(r, "code")
	switch {
	case hasCode && validProductCode(code):
		pr.Code = code
	case hasCode && code != "":
		pr.Code = slug(code, maxProductCodeLen)
		pr.codeGenerated = true
		pr.warn("code_changed", "code %q is not a valid Licentric product code; %q is used", truncate(code, 60), pr.Code)
	default:
		pr.Code = slug(name, maxProductCodeLen)
		pr.codeGenerated = true
	}
	md := keygenMetadata(r, &pr.Record)
	for _, f := range []string{"url", "platforms", "distributionStrategy"} {
		v := attrValue(r, f)
		if v == nil {
			continue
		}
		if _, taken := md[f]; taken {
			pr.warn("metadata_collision", "attribute %s is not merged into metadata: metadata has a %q key already", f, f)
			continue
		}
		md[f] = v
	}
	src := sourceMeta(SystemKeygen, r.ID)
	if t, ok := attrString(r, "created"); ok {
		src["created"] = t
	}
	md[SourceKey] = src
	pr.Metadata = md
}

func (kg *keygenData) mapEntitlement(b *builder, r *kgResource) *Entitlement {
	e := &Entitlement{Record: Record{Kind: KindEntitlement, SourceID: r.ID, Origin: r.origin}}
	b.plan.Entitlements = append(b.plan.Entitlements, e)
	if r.ID == "" {
		e.SourceID = r.origin
		e.reject("missing_id", "the record has no id")
		return e
	}
	raw, _ := attrString(r, "code")
	code, ok := entitlementCode(raw)
	if !ok {
		e.reject("invalid_code", "entitlement code %q cannot be made a Licentric code", truncate(raw, 60))
		return e
	}
	if code != raw {
		e.warn("code_changed", "code %q becomes %q (Licentric codes are a-z, 0-9, _ and -): update the application's entitlement checks", truncate(raw, 60), code)
	}
	e.Code = code
	name, _ := attrString(r, "name")
	if strings.TrimSpace(name) == "" {
		name = code
	}
	e.Name = fitName(&e.Record, "name", strings.TrimSpace(name))
	md := keygenMetadata(r, &e.Record)
	src := sourceMeta(SystemKeygen, r.ID)
	if raw != code {
		src["code"] = raw
	}
	md[SourceKey] = src
	e.Metadata = md
	return e
}

var checkInDays = map[string]int64{"DAY": 1, "WEEK": 7, "MONTH": 30, "YEAR": 365}

var trialName = regexp.MustCompile(`(?i)trial|eval`)

// policyMapped are the policy attributes with a Licentric field; the rest
// go to metadata._source.
var policyMapped = map[string]bool{
	"name": true, "duration": true, "floating": true, "maxMachines": true, "maxUses": true,
	"expirationStrategy": true, "requireHeartbeat": true, "heartbeatDuration": true,
	"heartbeatCullStrategy": true, "machineUniquenessStrategy": true, "fingerprintUniquenessStrategy": true,
	"requireFingerprintScope": true, "metadata": true, "updated": true, "permissions": true,
}

func (kg *keygenData) mapPolicy(b *builder, r *kgResource, entCodes map[string]string) *kgPolicy {
	pol := &Policy{Record: Record{Kind: KindPolicy, SourceID: r.ID, Origin: r.origin}}
	b.plan.Policies = append(b.plan.Policies, pol)
	out := &kgPolicy{rec: pol}
	if r.ID == "" {
		pol.SourceID = r.origin
		pol.reject("missing_id", "the record has no id")
		return out
	}
	pol.ProductSource = relID(r, "product")
	name, _ := attrString(r, "name")
	if strings.TrimSpace(name) == "" {
		name = "Policy " + r.ID
	}
	pol.Name = fitName(&pol.Record, "name", strings.TrimSpace(name))
	pol.Floating = attrBool(r, "floating")
	if n, ok := attrInt(r, "maxMachines"); ok && n >= 0 {
		pol.MaxMachines = intPtr(int(min(n, math.MaxInt32)))
	}
	if !pol.Floating {
		pol.MaxMachines = intPtr(1)
	}
	if n, ok := attrInt(r, "maxUses"); ok && n >= 0 {
		pol.MaxUses = intPtr(int(min(n, math.MaxInt32)))
	}
	if secs, ok := attrInt(r, "duration"); ok {
		if secs <= 0 {
			pol.warn("invalid_duration", "duration %d is not positive: imported as perpetual", secs)
		} else {
			days := ceilDiv(secs, 86400)
			if secs%86400 != 0 {
				pol.warn("duration_rounded", "duration of %d seconds is not a whole number of days: %d days", secs, days)
			}
			pol.DurationDays = intPtr(int(min(days, math.MaxInt32)))
		}
	}
	strategy, _ := attrString(r, "expirationStrategy")
	switch strings.ToUpper(strategy) {
	case "", "RESTRICT_ACCESS":
		pol.ExpirationStrategy = licentric.StrategyRestrictAccess
	case "REVOKE_ACCESS":
		pol.ExpirationStrategy = licentric.StrategyRevoke
	case "ALLOW_ACCESS":
		pol.ExpirationStrategy = licentric.StrategyAllowAccess
	case "MAINTAIN_ACCESS":
		pol.ExpirationStrategy = licentric.StrategyAllowAccess
		pol.warn("lossy_expiration", "MAINTAIN_ACCESS becomes ALLOW_ACCESS: expired licenses keep validating, but Licentric has no upgrade block")
	default:
		pol.ExpirationStrategy = licentric.StrategyRestrictAccess
		pol.warn("unknown_expiration", "expiration strategy %q is unknown: RESTRICT_ACCESS is used", truncate(strategy, 40))
	}
	out.basis, _ = attrString(r, "expirationBasis")
	pol.RequireHeartbeat = attrBool(r, "requireHeartbeat")
	hb := int64(600)
	if n, ok := attrInt(r, "heartbeatDuration"); ok && n > 0 {
		hb = n
	}
	pol.HeartbeatIntervalMinutes = int(min(ceilDiv(hb, 60), math.MaxInt32))
	pol.HeartbeatCullStrategy = licentric.CullDeactivateDead
	if s, _ := attrString(r, "heartbeatCullStrategy"); strings.EqualFold(s, "KEEP_DEAD") {
		pol.HeartbeatCullStrategy = licentric.CullKeepDead
		pol.warn("keep_dead", "KEEP_DEAD: dead machines keep their slot, and a heartbeat revives them in Licentric")
	}
	if s, _ := attrString(r, "heartbeatResurrectionStrategy"); s != "" && !strings.EqualFold(s, "NO_REVIVE") {
		pol.warn("resurrection", "heartbeat resurrection strategy %s is not enforced by Licentric", truncate(s, 40))
	}
	uniq, ok := attrString(r, "machineUniquenessStrategy")
	if !ok {
		uniq, _ = attrString(r, "fingerprintUniquenessStrategy")
	}
	switch strings.ToUpper(uniq) {
	case "UNIQUE_PER_ACCOUNT":
		pol.FingerprintUniqueness = licentric.UniquePerAccount
	case "", "UNIQUE_PER_LICENSE":
		pol.FingerprintUniqueness = licentric.UniquePerLicense
	case "UNIQUE_PER_POLICY":
		pol.FingerprintUniqueness = licentric.UniquePerPolicy
	case "UNIQUE_PER_PRODUCT":
		pol.FingerprintUniqueness = licentric.UniquePerPolicy
		pol.warn("uniqueness_loosened", "UNIQUE_PER_PRODUCT has no equivalent: PER_POLICY is used (looser when the product has several policies)")
	default:
		pol.FingerprintUniqueness = licentric.UniquePerLicense
		pol.warn("unknown_uniqueness", "machine uniqueness %q is unknown: PER_LICENSE is used", truncate(uniq, 40))
	}
	pol.RequireFingerprint = attrBool(r, "requireFingerprintScope")
	if s, ok := attrString(r, "scheme"); ok && s != "" {
		pol.OfflineAllowed = true
		pol.OfflineMaxDays = maxOfflineDays
		if attrBool(r, "requireCheckIn") {
			unit, _ := attrString(r, "checkInInterval")
			count, ok := attrInt(r, "checkInIntervalCount")
			if d, known := checkInDays[strings.ToUpper(unit)]; known && ok && count > 0 {
				pol.OfflineMaxDays = int(min(d*count, maxOfflineDays))
				if d*count > maxOfflineDays {
					pol.warn("offline_capped", "a check-in interval of %d days is capped at %d", d*count, maxOfflineDays)
				}
			}
		}
	}
	md := keygenMetadata(r, &pol.Record)
	if tr, _ := md["trial"].(bool); tr || trialName.MatchString(pol.Name) {
		pol.IsTrial = true
		pol.TrialDurationDays = pol.DurationDays
	}
	if s, _ := attrString(r, "overageStrategy"); strings.HasPrefix(strings.ToUpper(s), "ALLOW_") {
		pol.warn("overage", "overage strategy %s: Licentric refuses activations past maxMachines", s)
	}
	if attrBool(r, "usePool") {
		pol.warn("use_pool", "usePool (key pools) has no Licentric equivalent")
	}
	if s, _ := attrString(r, "authenticationStrategy"); strings.EqualFold(s, "NONE") {
		pol.warn("authentication_none", "authentication strategy NONE: Licentric's client calls always authenticate with the license key")
	}
	for _, id := range kg.policyEnts[r.ID] {
		if c := entCodes[id]; c != "" {
			pol.Entitlements = append(pol.Entitlements, c)
		}
	}
	pol.Entitlements = sortedCodes(pol.Entitlements)
	src := sourceMeta(SystemKeygen, r.ID)
	copyRest(r, src, policyMapped)
	md[SourceKey] = src
	pol.Metadata = md
	return out
}

// licenseMapped are the license attributes with a Licentric field or
// dropped on purpose; the rest go to metadata._source.
var licenseMapped = map[string]bool{
	"key": true, "name": true, "expiry": true, "suspended": true, "maxMachines": true, "maxUses": true,
	"metadata": true, "permissions": true, "updated": true,
}

// mapLicense maps a license and returns the id of its owner, if any.
func (kg *keygenData) mapLicense(b *builder, k *Keygen, r *kgResource, policies map[string]*kgPolicy,
	users map[string]*kgResource, entCodes map[string]string) (owner string) {
	l := &License{Record: Record{Kind: KindLicense, SourceID: r.ID, Origin: r.origin}, Status: licentric.StatusActive}
	b.plan.Licenses = append(b.plan.Licenses, l)
	if r.ID == "" {
		l.SourceID = r.origin
		l.reject("missing_id", "the record has no id")
		return ""
	}
	l.PolicySource = relID(r, "policy")
	l.ProductSource = relID(r, "product")
	key, hasKey := attrString(r, "key")
	if !hasKey {
		l.reject("no_key", "the license has no key (a legacy encrypted license): it cannot be migrated")
		return ""
	}
	if code, msg := checkKey(key); code != "" {
		l.reject(code, "%s", msg)
		return ""
	}
	l.Key = LicenseKey(key)
	if name, ok := attrString(r, "name"); ok {
		l.Name = fitName(&l.Record, "name", name)
	}
	md := keygenMetadata(r, &l.Record)
	src := sourceMeta(SystemKeygen, r.ID)
	copyRest(r, src, licenseMapped)

	ownerID := relID(r, "owner")
	if ownerID == "" {
		ownerID = relID(r, "user") // API ≤ 1.5
	}
	ownerBanned := false
	switch u := users[ownerID]; {
	case ownerID == "":
		if key := k.EmailMetadataKey; key != "" {
			if s, ok := md[key].(string); ok && validEmail(strings.TrimSpace(s)) {
				l.UserEmail = strings.TrimSpace(s)
			}
		}
	case u == nil:
		l.warn("owner_not_found", "owner %s is not among the users read: no email is set", ownerID)
		src["ownerId"] = ownerID
	default:
		email, _ := attrString(u, "email")
		email = strings.TrimSpace(email)
		switch {
		case email == "":
		case validEmail(email):
			l.UserEmail = email
		default:
			l.warn("invalid_email", "the owner's email is not a valid address: kept in metadata._source.userEmail")
			src["userEmail"] = truncate(email, 255)
		}
		first, okF := attrString(u, "firstName")
		last, okL := attrString(u, "lastName")
		if okF && okL {
			l.UserName = fitName(&l.Record, "user name", strings.TrimSpace(strings.TrimSpace(first)+" "+strings.TrimSpace(last)))
		}
		st, _ := attrString(u, "status")
		ownerBanned = strings.EqualFold(st, "BANNED")
		src["ownerId"] = ownerID
	}
	if id := relID(r, "group"); id != "" {
		src["groupId"] = id
	}
	if n := relCount(r, "users"); n > 0 {
		src["usersCount"] = n
		l.warn("additional_users", "%d additional user(s) are not carried over (Licentric licenses have one licensee)", n)
	}
	if n, ok := attrInt(r, "uses"); ok && n > 0 {
		l.warn("uses_not_carried", "%d recorded uses are kept in metadata._source.uses; Licentric starts counting at 0", n)
	}

	if s, ok := attrString(r, "expiry"); ok {
		t, err := parseTime(s)
		if err != nil {
			l.reject("malformed_date", "expiry: %v", err)
			return ownerID
		}
		l.ExpiresAt = t
	}
	kp := policies[l.PolicySource]
	if kp != nil && l.ExpiresAt.IsZero() && kp.basis != "" && !strings.EqualFold(kp.basis, "FROM_CREATION") && kp.rec.DurationDays != nil {
		src["pendingDurationDays"] = *kp.rec.DurationDays
		l.warn("pending_expiry", "its policy's expiration basis %s has not started the clock: imported without an expiry", kp.basis)
	}

	switch {
	case ownerBanned:
		l.Status = licentric.StatusSuspended
		src["status"] = "BANNED"
		l.warn("banned_as_suspended", "the owner is banned; the API cannot ban, so the license is imported suspended")
	case attrBool(r, "suspended"):
		l.Status = licentric.StatusSuspended
	}
	if kp != nil {
		pol := kp.rec
		if n, ok := attrInt(r, "maxMachines"); ok && n >= 0 {
			v := int(min(n, math.MaxInt32))
			if !sameInt(&v, pol.MaxMachines) {
				l.MaxMachinesOverride = &v
			}
		}
		if n, ok := attrInt(r, "maxUses"); ok && n >= 0 {
			v := int(min(n, math.MaxInt32))
			if !sameInt(&v, pol.MaxUses) {
				l.MaxUsesOverride = &v
			}
		}
	}
	for _, id := range kg.licenseEnt[r.ID] {
		if c := entCodes[id]; c != "" {
			l.Entitlements = append(l.Entitlements, c)
		}
	}
	l.Entitlements = sortedCodes(l.Entitlements)
	md[SourceKey] = src
	l.Metadata = md
	if n := metadataSize(md); n > MaxMetadataBytes {
		l.reject("metadata_too_large", "metadata is %d bytes serialized, more than %d", n, MaxMetadataBytes)
	}
	return ownerID
}

// machineMapped are the machine attributes with a Licentric field.
var machineMapped = map[string]bool{
	"fingerprint": true, "name": true, "platform": true, "hostname": true, "cores": true, "metadata": true,
	"updated": true, "requireHeartbeat": true, "heartbeatDuration": true, "nextHeartbeat": true,
}

func (kg *keygenData) mapMachine(b *builder, r *kgResource) {
	m := &Machine{Record: Record{Kind: KindMachine, SourceID: r.ID, Origin: r.origin}}
	b.plan.Machines = append(b.plan.Machines, m)
	if r.ID == "" {
		m.SourceID = r.origin
		m.reject("missing_id", "the record has no id")
		return
	}
	m.LicenseSource = relID(r, "license")
	fp, _ := attrString(r, "fingerprint")
	switch {
	case len(fp) < minFingerprintLen:
		m.reject("invalid_fingerprint", "the fingerprint is shorter than %d characters", minFingerprintLen)
		return
	case len(fp) > maxFingerprintLen:
		m.reject("invalid_fingerprint", "the fingerprint is longer than %d characters", maxFingerprintLen)
		return
	}
	m.Fingerprint = fp
	if s, ok := attrString(r, "name"); ok {
		m.Name = fitName(&m.Record, "name", s)
	}
	md := keygenMetadata(r, &m.Record)
	src := sourceMeta(SystemKeygen, r.ID)
	if s, ok := attrString(r, "platform"); ok {
		p, known := platform(s)
		if !known {
			m.warn("unknown_platform", "platform %q is not one of Licentric's: kept in metadata._source.platform", truncate(s, 40))
			src["platform"] = s
		}
		m.Platform = p
	}
	if s, ok := attrString(r, "hostname"); ok {
		if len(s) > maxNameLen {
			m.warn("truncated", "hostname is longer than %d bytes: kept in metadata._source.hostname", maxNameLen)
			src["hostname"] = s
		} else {
			m.Hostname = s
		}
	}
	if n, ok := attrInt(r, "cores"); ok && n > 0 {
		m.Cores = int(min(n, math.MaxInt32))
	}
	copyRest(r, src, machineMapped)
	if id := relID(r, "owner"); id != "" {
		src["ownerId"] = id
	}
	md[SourceKey] = src
	m.Metadata = md
	if n := metadataSize(md); n > MaxMetadataBytes {
		m.reject("metadata_too_large", "metadata is %d bytes serialized, more than %d", n, MaxMetadataBytes)
	}
}
