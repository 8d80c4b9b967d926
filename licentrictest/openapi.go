package licentrictest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/licentric/licentric-go/internal/wire"
)

// OpenAPIVersion is the version of the OpenAPI Specification the server's
// document follows.
const OpenAPIVersion = "3.1.0"

// OpenAPI returns the OpenAPI 3.1 document of every operation the server
// answers under /api/v1, as GET /api/v1/openapi.json serves it (indented
// here): paths, methods, parameters, request bodies, every status each
// operation can answer with its schema, the error envelope, the
// X-Request-Id, X-RateLimit-* and Retry-After headers, the three security
// schemes and which operation takes which, and the webhook deliveries.
//
// The document is generated from the router's own table and the Go types
// the server encodes and decodes, and a test validates every request and
// response of the package's tests against it, so it cannot drift from the
// server. Every server serves the same document; its server URL is
// relative (/api/v1), so it resolves against wherever it was fetched from.
// It panics only on a defect in the route table, which those tests catch.
func OpenAPI() []byte {
	doc, err := openAPIDoc()
	if err != nil {
		panic(err.Error()) // a defect in the route table, caught by the tests
	}
	var out bytes.Buffer
	_ = json.Indent(&out, doc, "", "  ")
	out.WriteByte('\n')
	return out.Bytes()
}

// OpenAPIURL returns the URL of the server's OpenAPI document,
// URL + "/api/v1/openapi.json".
func (s *Server) OpenAPIURL() string { return s.URL + wire.APIPrefix + wire.PathOpenAPI }

// openAPIBuilt holds the compact document, built once: it depends only on
// the code.
var openAPIBuilt struct {
	once sync.Once
	doc  []byte
	err  error
}

// openAPIDoc returns the compact document.
func openAPIDoc() ([]byte, error) {
	openAPIBuilt.once.Do(func() {
		d, err := buildOpenAPI(routes())
		if err == nil {
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			err = enc.Encode(d)
			openAPIBuilt.doc = bytes.TrimSpace(b.Bytes())
		}
		openAPIBuilt.err = err
	})
	return openAPIBuilt.doc, openAPIBuilt.err
}

// hOpenAPI is GET /openapi.json.
func hOpenAPI(*call) (int, any, *apiError) {
	doc, err := openAPIDoc()
	if err != nil {
		return 0, nil, errf(http.StatusInternalServerError, wire.ErrCodeInternal, "Internal server error")
	}
	return http.StatusOK, json.RawMessage(doc), nil
}

// operation documents one route of the router's table: everything the
// document says about it that the route's method, path, auth and scope
// don't already say.
type operation struct {
	id      string // operationId
	tag     string
	summary string
	desc    string
	// body is a zero value of the request body's Go type (nil: none);
	// bodyName and required make a create variant of a type that also
	// serves updates; bodyOptional lets the body be left out.
	body         any
	bodyName     string
	required     []string
	bodyOptional bool
	// status and resp are the success status and a zero value of its
	// body's Go type (nil with 204 No Content).
	status int
	resp   any
	query  []queryParam
	// fails are the operation's own error answers; 400, 401, 403, 429
	// and 500 are added from the route's auth and scope.
	fails []failure
}

// queryParam is a query parameter.
type queryParam struct {
	name   string
	desc   string
	schema *schema
}

// failure is an error answer: a status and the codes it carries.
type failure struct {
	status int
	codes  []string
	desc   string
}

func notFoundFailure(what string) failure {
	return failure{http.StatusNotFound, []string{wire.ErrCodeNotFound}, what}
}

func conflictFailure(desc string, codes ...string) failure {
	if len(codes) == 0 {
		codes = []string{wire.ErrCodeConflict}
	}
	return failure{http.StatusConflict, codes, desc}
}

func unprocessableFailure(desc string, codes ...string) failure {
	return failure{http.StatusUnprocessableEntity, codes, desc}
}

// pageParams are the query parameters of every list.
var pageParams = []queryParam{
	{wire.QueryCursor, "The id of the last item of the previous page (its pagination.nextCursor); leave it out for the first page. An unknown cursor is a 400.",
		&schema{Type: "string"}},
	{wire.QueryLimit, "Page size.", &schema{Type: "integer", Minimum: intp64(1), Maximum: intp64(wire.MaxPageLimit), Default: wire.DefaultPageLimit}},
}

func listParams(extra ...queryParam) []queryParam { return append(slices.Clone(pageParams), extra...) }

// Document objects (OpenAPI 3.1), in the order they are written.
type (
	oaDoc struct {
		OpenAPI    string                 `json:"openapi"`
		Info       oaInfo                 `json:"info"`
		Servers    []oaServer             `json:"servers"`
		Tags       []oaTag                `json:"tags"`
		Paths      map[string]*oaPathItem `json:"paths"`
		Webhooks   map[string]*oaPathItem `json:"webhooks"`
		Components oaComponents           `json:"components"`
	}
	oaInfo struct {
		Title       string    `json:"title"`
		Version     string    `json:"version"`
		Description string    `json:"description"`
		License     oaLicense `json:"license"`
	}
	oaLicense struct {
		Name       string `json:"name"`
		Identifier string `json:"identifier"`
	}
	oaServer struct {
		URL         string `json:"url"`
		Description string `json:"description"`
	}
	oaTag struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	oaPathItem struct {
		Parameters []*oaParameter `json:"parameters,omitempty"`
		Get        *oaOperation   `json:"get,omitempty"`
		Put        *oaOperation   `json:"put,omitempty"`
		Post       *oaOperation   `json:"post,omitempty"`
		Delete     *oaOperation   `json:"delete,omitempty"`
		Patch      *oaOperation   `json:"patch,omitempty"`
	}
	oaOperation struct {
		OperationID string                 `json:"operationId"`
		Tags        []string               `json:"tags"`
		Summary     string                 `json:"summary"`
		Description string                 `json:"description,omitempty"`
		Security    *[]map[string][]string `json:"security,omitempty"`
		Parameters  []*oaParameter         `json:"parameters,omitempty"`
		RequestBody *oaRequestBody         `json:"requestBody,omitempty"`
		Responses   map[string]*oaResponse `json:"responses"`
		RateTier    string                 `json:"x-rate-limit-tier,omitempty"`
	}
	oaParameter struct {
		Ref         string  `json:"$ref,omitempty"`
		Name        string  `json:"name,omitempty"`
		In          string  `json:"in,omitempty"`
		Description string  `json:"description,omitempty"`
		Required    bool    `json:"required,omitempty"`
		Schema      *schema `json:"schema,omitempty"`
	}
	oaRequestBody struct {
		Description string                  `json:"description,omitempty"`
		Required    bool                    `json:"required"`
		Content     map[string]*oaMediaType `json:"content"`
	}
	oaMediaType struct {
		Schema *schema `json:"schema"`
	}
	oaResponse struct {
		Ref         string                  `json:"$ref,omitempty"`
		Description string                  `json:"description,omitempty"`
		Headers     map[string]*oaHeader    `json:"headers,omitempty"`
		Content     map[string]*oaMediaType `json:"content,omitempty"`
		// ErrorCodes lists the codes an error answer of this status
		// carries for this operation.
		ErrorCodes []string `json:"x-error-codes,omitempty"`
	}
	oaHeader struct {
		Ref         string  `json:"$ref,omitempty"`
		Description string  `json:"description,omitempty"`
		Required    bool    `json:"required,omitempty"`
		Schema      *schema `json:"schema,omitempty"`
	}
	oaComponents struct {
		Schemas         map[string]*schema           `json:"schemas"`
		Responses       map[string]*oaResponse       `json:"responses"`
		Headers         map[string]*oaHeader         `json:"headers"`
		SecuritySchemes map[string]*oaSecurityScheme `json:"securitySchemes"`
	}
	oaSecurityScheme struct {
		Type         string `json:"type"`
		Scheme       string `json:"scheme"`
		BearerFormat string `json:"bearerFormat,omitempty"`
		Description  string `json:"description"`
	}
)

// Tags group the operations.
const (
	tagLicenses     = "Licenses"
	tagMachines     = "Machines"
	tagOffline      = "Offline"
	tagProducts     = "Products"
	tagPolicies     = "Policies"
	tagEntitlements = "Entitlements"
	tagWebhooks     = "Webhooks"
	tagAnalytics    = "Analytics"
	tagAgents       = "Agents"
	tagMeta         = "Meta"
)

var tags = []oaTag{
	{tagLicenses, "Validation, license management and lifecycle."},
	{tagMachines, "Activation, heartbeats and deactivation of machines (devices)."},
	{tagOffline, "Signed license files (checkout) and the key that verifies them."},
	{tagProducts, "Products licenses are sold for."},
	{tagPolicies, "The rules licenses are issued under."},
	{tagEntitlements, "Named features a policy or a license grants."},
	{tagWebhooks, "Endpoints that receive signed event deliveries."},
	{tagAnalytics, "Counts computed on every call."},
	{tagAgents, "AI-agent identities, their short-lived tokens and usage meters."},
	{tagMeta, "This document."},
}

// Security scheme names.
const (
	secAPIKey     = "apiKey"
	secLicenseKey = "licenseKey"
	secAgentToken = "agentToken"
)

var securitySchemes = map[string]*oaSecurityScheme{
	secAPIKey: {Type: "http", Scheme: "bearer", BearerFormat: wire.LiveKeyPrefix + "… or " + wire.TestKeyPrefix + "…",
		Description: "API key: `Authorization: Bearer lk_live_…` or `Bearer lk_test_…`. The prefix names the key's environment " +
			"(live or test), and every resource lives in one of them. Server-side only: never ship an API key in an application. " +
			"A key may carry scopes (`licenses:read`, `licenses:write`, ...); none means full access. The scope each operation " +
			"needs is listed in its security requirement. `licentric serve` prints a full-access key of each environment."},
	secLicenseKey: {Type: "http", Scheme: wire.SchemeLicense,
		Description: "License key: `Authorization: License <LICENSE-KEY>`, what an application sends for its own license " +
			"(activate, heartbeat, deactivate, get its machine, check out its license file). The credential is everything " +
			"after the scheme and its whitespace, so a key may contain spaces. License keys are unique across both " +
			"environments, so this scheme finds the license in either."},
	secAgentToken: {Type: "http", Scheme: "bearer", BearerFormat: wire.AgentTokenPrefix + "…",
		Description: "AI-agent token: `Authorization: Bearer AGT-…` (47 characters), issued by POST /mcp/authorize; it " +
			"expires and works only for POST /mcp/verify."},
}

// Response headers, in components.headers.
const (
	hdrRetryAfter = "Retry-After"
)

var headers = map[string]*oaHeader{
	wire.HeaderRequestID: {Required: true, Description: "An opaque id of this request, also in the error envelope's requestId.",
		Schema: &schema{Type: "string"}},
	wire.HeaderRateLimitLimit: {Required: true, Description: "The limit of the request's rate tier, per 60-second window (x-rate-limit-tier).",
		Schema: &schema{Type: "integer", Minimum: intp64(0)}},
	wire.HeaderRateLimitRemaining: {Required: true, Description: "Requests left in the current window.",
		Schema: &schema{Type: "integer", Minimum: intp64(0)}},
	wire.HeaderRateLimitReset: {Required: true, Description: "Unix time (seconds) at which the current window ends. Windows are fixed, aligned to the server clock's minute.",
		Schema: &schema{Type: "integer"}},
	hdrRetryAfter: {Required: true, Description: "Whole seconds until the window ends: at least 1 for a spent tier (a fault " +
		"injected on the test server may say 0).", Schema: &schema{Type: "integer", Minimum: intp64(0)}},
}

func headerRefs(names ...string) map[string]*oaHeader {
	out := map[string]*oaHeader{}
	for _, n := range append([]string{wire.HeaderRequestID, wire.HeaderRateLimitLimit,
		wire.HeaderRateLimitRemaining, wire.HeaderRateLimitReset}, names...) {
		out[n] = &oaHeader{Ref: "#/components/headers/" + n}
	}
	return out
}

func jsonContent(s *schema) map[string]*oaMediaType {
	return map[string]*oaMediaType{wire.ContentTypeJSON: {Schema: s}}
}

// Shared error answers, in components.responses.
var commonFailures = []struct {
	name   string
	status int
	code   string
	desc   string
}{
	{"BadRequest", http.StatusBadRequest, wire.ErrCodeValidation, "VALIDATION_ERROR: the body, a query parameter or a path segment is invalid; " +
		"details.issues names each field. A body over 1 MiB is refused on every operation, without being read."},
	{"Unauthorized", http.StatusUnauthorized, wire.ErrCodeUnauthorized, "UNAUTHORIZED: the Authorization header is missing, unknown, revoked, " +
		"expired or of a scheme this operation does not take."},
	{"Forbidden", http.StatusForbidden, wire.ErrCodeForbidden, "FORBIDDEN: the API key lacks the scope the operation needs; or, on the test " +
		"server's own socket, the Host header is not one of its loopback names (127.0.0.1:PORT, localhost:PORT, [::1]:PORT)."},
	{"NotFound", http.StatusNotFound, wire.ErrCodeNotFound, "NOT_FOUND: a resource the request names does not exist in the caller's environment, " +
		"or was deleted."},
	{"RateLimited", http.StatusTooManyRequests, wire.ErrCodeRateLimited, "RATE_LIMITED: the request's rate tier is spent for this window; " +
		"retry after Retry-After seconds. A refused request uses no budget."},
	{"InternalError", http.StatusInternalServerError, wire.ErrCodeInternal, "INTERNAL_ERROR: the server failed. The live service (or a proxy " +
		"in front of it) may answer other 5xx statuses, not always in this envelope."},
}

func commonFailure(status int) string {
	for _, f := range commonFailures {
		if f.status == status {
			return f.name
		}
	}
	return ""
}

// pathNouns name what a path's {id} identifies.
var pathNouns = map[string]string{
	"licenses": "license", "machines": "machine", "products": "product", "policies": "policy",
	"entitlements": "entitlement", "webhooks": "webhook", "agents": "agent",
}

func pathParam(path, name string) *oaParameter {
	p := &oaParameter{Name: name, In: "path", Required: true, Schema: &schema{Type: "string"}}
	segs := strings.Split(path, "/")
	switch name {
	case "key":
		p.Description = "The license key, path-escaped as one segment (\"/\" as %2F, \".\" and \"..\" as %2E); at most " +
			strconv.Itoa(wire.MaxLicenseKeyLen) + " characters."
	case "name":
		p.Description = "The meter's name."
		p.Schema.Pattern = meterNameRE.String()
	default:
		noun := "resource"
		for i, s := range segs {
			if s == "{"+name+"}" && i > 0 {
				noun = pathNouns[segs[i-1]]
			}
		}
		p.Description = "The " + noun + "'s id."
	}
	return p
}

// security returns the operation's security requirements.
func (rt route) security() []map[string][]string {
	scopes := []string{}
	if s := rt.scopeNeeded(); s != "" {
		scopes = []string{s}
	}
	switch rt.auth {
	case authNone:
		return []map[string][]string{}
	case authValidate:
		return []map[string][]string{{}, {secAPIKey: scopes}}
	case authAPI:
		return []map[string][]string{{secAPIKey: scopes}}
	case authLicense:
		return []map[string][]string{{secLicenseKey: {}}}
	case authEither:
		return []map[string][]string{{secAPIKey: scopes}, {secLicenseKey: {}}}
	case authAgent:
		return []map[string][]string{{secAgentToken: {}}}
	}
	panic("licentrictest: unknown auth kind")
}

var statusText = map[int]string{200: "OK", 201: "Created", 204: "No Content"}

// buildOpenAPI builds the document from the router's table. It fails on
// a route without a complete operation, a repeated operation id, or two
// routes with one method and path.
func buildOpenAPI(rts []route) (*oaDoc, error) {
	g := &schemas{defs: map[string]*schema{}, building: map[reflect.Type]bool{}, docs: fieldDocs()}
	d := &oaDoc{
		OpenAPI: OpenAPIVersion,
		Info: oaInfo{
			Title:       "Licentric API (licentrictest)",
			Version:     "v1",
			Description: infoDescription,
			License:     oaLicense{Name: "MIT", Identifier: "MIT"},
		},
		Servers: []oaServer{
			{URL: wire.APIPrefix, Description: "The server this document was fetched from (licentric serve, or licentrictest in a Go test)."},
			{URL: wire.DefaultBaseURL + wire.APIPrefix, Description: "The live Licentric service (an instance URL such as https://acme.licentric.com/api/v1 also works)."},
		},
		Tags:     tags,
		Paths:    map[string]*oaPathItem{},
		Webhooks: map[string]*oaPathItem{},
		Components: oaComponents{
			Responses:       map[string]*oaResponse{},
			Headers:         headers,
			SecuritySchemes: securitySchemes,
		},
	}
	errRef := g.of(reflect.TypeFor[errorBody]())
	for _, f := range commonFailures {
		h := headerRefs()
		if f.status == http.StatusTooManyRequests {
			h = headerRefs(hdrRetryAfter)
		}
		d.Components.Responses[f.name] = &oaResponse{Description: f.desc, Headers: h, Content: jsonContent(errRef)}
	}
	ids := map[string]bool{}
	for _, rt := range rts {
		op := rt.op
		where := rt.method + " " + rt.path
		switch {
		case op.id == "" || op.summary == "" || op.tag == "" || op.status == 0:
			return nil, fmt.Errorf("licentrictest: route %s has no documented operation (id, tag, summary and status)", where)
		case ids[op.id]:
			return nil, fmt.Errorf("licentrictest: route %s repeats operation id %q", where, op.id)
		case (op.resp == nil) != (op.status == http.StatusNoContent):
			return nil, fmt.Errorf("licentrictest: route %s: a response body goes with every status but 204", where)
		case !slices.ContainsFunc(tags, func(t oaTag) bool { return t.Name == op.tag }):
			return nil, fmt.Errorf("licentrictest: route %s: unknown tag %q", where, op.tag)
		}
		ids[op.id] = true
		o := &oaOperation{
			OperationID: op.id,
			Tags:        []string{op.tag},
			Summary:     op.summary,
			Description: op.desc,
			Responses:   map[string]*oaResponse{},
			RateTier:    wire.TierOf(rt.method, rt.path),
		}
		sec := rt.security()
		o.Security = &sec
		for _, n := range wildcards(rt.path) {
			o.Parameters = append(o.Parameters, pathParam(rt.path, n))
		}
		for _, q := range op.query {
			o.Parameters = append(o.Parameters, &oaParameter{Name: q.name, In: "query", Description: q.desc, Schema: q.schema})
		}
		if op.body != nil {
			t := reflect.TypeOf(op.body)
			s := g.of(t)
			if op.bodyName != "" {
				s = g.variant(t, op.bodyName, op.required)
			}
			o.RequestBody = &oaRequestBody{Required: !op.bodyOptional, Content: jsonContent(s)}
		}
		ok := &oaResponse{Description: statusText[op.status], Headers: headerRefs()}
		switch r := op.resp.(type) {
		case nil:
		case json.RawMessage:
			ok.Content = jsonContent(&schema{Type: "object", Description: "This document."})
		default:
			ok.Content = jsonContent(g.of(reflect.TypeOf(r)))
		}
		o.Responses[strconv.Itoa(op.status)] = ok
		fails := map[int]*failure{}
		add := func(f failure) {
			if have := fails[f.status]; have != nil {
				have.codes = append(have.codes, f.codes...)
				have.desc = strings.TrimSpace(have.desc + " " + f.desc)
				return
			}
			fails[f.status] = &f
		}
		add(failure{status: http.StatusBadRequest, codes: []string{wire.ErrCodeValidation}})
		if rt.auth != authNone {
			add(failure{status: http.StatusUnauthorized, codes: []string{wire.ErrCodeUnauthorized}})
		}
		add(failure{status: http.StatusForbidden, codes: []string{wire.ErrCodeForbidden}})
		add(failure{status: http.StatusTooManyRequests, codes: []string{wire.ErrCodeRateLimited}})
		add(failure{status: http.StatusInternalServerError, codes: []string{wire.ErrCodeInternal}})
		for _, f := range op.fails {
			add(f)
		}
		for status, f := range fails {
			slices.Sort(f.codes)
			f.codes = slices.Compact(f.codes)
			key := strconv.Itoa(status)
			if name := commonFailure(status); name != "" && f.desc == "" {
				o.Responses[key] = &oaResponse{Ref: "#/components/responses/" + name}
				continue
			}
			desc := f.desc
			if name := commonFailure(status); name != "" {
				desc = d.Components.Responses[name].Description + " " + desc
			}
			h := headerRefs()
			if status == http.StatusTooManyRequests {
				h = headerRefs(hdrRetryAfter)
			}
			o.Responses[key] = &oaResponse{Description: strings.Join(f.codes, ", ") + ": " + desc, Headers: h,
				Content: jsonContent(errRef), ErrorCodes: f.codes}
		}
		o.Responses["5XX"] = serverErrorResponse(errRef)
		item := d.Paths[rt.path]
		if item == nil {
			item = &oaPathItem{}
			d.Paths[rt.path] = item
		}
		var slot **oaOperation
		switch rt.method {
		case http.MethodGet:
			slot = &item.Get
		case http.MethodPut:
			slot = &item.Put
		case http.MethodPost:
			slot = &item.Post
		case http.MethodDelete:
			slot = &item.Delete
		case http.MethodPatch:
			slot = &item.Patch
		default:
			return nil, fmt.Errorf("licentrictest: route %s: method not documented", where)
		}
		if *slot != nil {
			return nil, fmt.Errorf("licentrictest: two routes for %s", where)
		}
		*slot = o
	}
	d.Webhooks["event"] = webhookItem(g)
	d.Components.Schemas = g.defs
	return d, nil
}

// serverErrorResponse is the 5XX answer of every operation.
func serverErrorResponse(errRef *schema) *oaResponse {
	h := headerRefs()
	h[hdrRetryAfter] = &oaHeader{Description: "Seconds to wait before retrying, when the server says.",
		Schema: &schema{Type: "integer", Minimum: intp64(0)}}
	return &oaResponse{
		Description: "Another server error. The live service, or a proxy in front of it, may answer 502, 503 or 504, not " +
			"always in this envelope; retry with backoff. The test server sends them only as injected faults, in this " +
			"envelope, with Retry-After on a 503 when the fault sets one.",
		Headers: h,
		Content: jsonContent(errRef),
	}
}

// webhookItem documents the deliveries the server sends to a registered
// webhook.
func webhookItem(g *schemas) *oaPathItem {
	hdr := func(name, desc string, s *schema) *oaParameter {
		return &oaParameter{Name: name, In: "header", Required: true, Description: desc, Schema: s}
	}
	return &oaPathItem{Post: &oaOperation{
		OperationID: "webhookEvent",
		Tags:        []string{tagWebhooks},
		Summary:     "An event delivered to a registered webhook",
		Description: "The server POSTs each event a webhook subscribed to (or \"*\") to its URL, signed with the webhook's secret. " +
			"Success is any 2xx within 10 s; otherwise it tries again, up to 3 attempts in all (waits of 1 s and 2 s; a test server " +
			"may shorten them). Delivery is at least once and in no guaranteed order: deduplicate on the event id.",
		Parameters: []*oaParameter{
			hdr(wire.HeaderWebhookSignature, "Lowercase hex of HMAC-SHA256 over the raw body, keyed with the webhook's secret "+
				"(the whole whsec_… string, as bytes). Compare in constant time.", &schema{Type: "string", Pattern: "^[0-9a-f]{64}$"}),
			hdr(wire.HeaderWebhookID, "The event's id, as in the body.", &schema{Type: "string"}),
			hdr(wire.HeaderWebhookEvent, "The event's type, as in the body.", &schema{Type: "string", Enum: enumList(wire.EventTypes()...)}),
		},
		RequestBody: &oaRequestBody{Required: true, Content: jsonContent(g.of(reflect.TypeFor[wire.Event]()))},
		Responses: map[string]*oaResponse{
			"2XX": {Description: "Delivered. Any other answer, or none within 10 s, is a failed attempt."},
		},
	}}
}

const infoDescription = "The Licentric REST API as the test server serves it: `licentric serve` (any language) and the Go " +
	"package `licentrictest`. It follows the live service's wire protocol; docs/licentrictest.md in the SDK's repository " +
	"lists where the test server differs, and docs/wire-protocol.md describes the protocol.\n\n" +
	"**Authentication.** Three schemes (components.securitySchemes): an API key (`Bearer lk_live_…`/`lk_test_…`) for " +
	"management, a license key (`License <KEY>`) for what an application does with its own license, and an agent token " +
	"(`Bearer AGT-…`) for /mcp/verify. POST /licenses/validate-key takes no authentication, or an API key.\n\n" +
	"**Environments.** Every resource lives in `live` or `test`; an API key's prefix names its environment. validate-key " +
	"without Authorization looks the key up in `live`; with an API key, in that key's environment. So a license seeded " +
	"in `test` (the default of `licentric serve --seed` and of licentrictest.Seed) is NOT_FOUND to an application " +
	"that validates without a key: seed it with \"env\": \"live\", or validate with the test key.\n\n" +
	"**Envelopes.** A resource comes as `{\"data\": ...}`, a list as `{\"data\": [...], \"pagination\": {\"nextCursor\", " +
	"\"hasMore\"}}`, an error as `{\"error\", \"code\", \"status\", \"requestId\", \"details\"?}` with the status of each " +
	"operation's error answers listed in its x-error-codes. validate-key answers 200 for every outcome: the result's " +
	"`code` says why a license is not valid.\n\n" +
	"**Rate limits.** Three tiers (each operation's x-rate-limit-tier): VALIDATION 60/min and ACTIVATION 10/min per " +
	"client IP, MANAGEMENT 120/min per API key. Every answer carries X-RateLimit-Limit, -Remaining and -Reset; a 429 " +
	"adds Retry-After.\n\n" +
	"**Time.** Timestamps are RFC 3339 UTC with milliseconds. The test server's clock can be moved (its control API), " +
	"so they and X-RateLimit-Reset follow that clock, not the wall clock."
