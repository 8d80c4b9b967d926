package licentrictest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	vconfig "github.com/pb33f/libopenapi-validator/config"
	vErrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi/datamodel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go/internal/wire"
)

// The document is checked with libopenapi-validator: it validates the
// document against the OpenAPI 3.1 meta-schema, and requests and
// responses (status, headers, bodies, parameters, security) against the
// document, in strict mode (a member the document does not declare is an
// error), with JSON Schema 2020-12 as OpenAPI 3.1 uses it.

// docValidators are the validators of OpenAPI(), built once: strict
// (members the document does not declare are errors, except in the
// free-form metadata objects) and lax (for the document itself, whose
// schema is a plain object). checkExchanges serializes calls (the
// validator's caches are not documented as safe for concurrent use).
var docValidators = struct {
	once        sync.Once
	mu          sync.Mutex
	strict, lax validator.Validator
	err         error
}{}

func openAPIValidators(t testing.TB) (strict, lax validator.Validator) {
	t.Helper()
	v := &docValidators
	v.once.Do(func() {
		build := func(opts ...vconfig.Option) validator.Validator {
			doc, err := libopenapi.NewDocument(OpenAPI())
			if err != nil {
				v.err = err
				return nil
			}
			val, errs := validator.NewValidator(doc, opts...)
			if len(errs) > 0 {
				v.err = fmt.Errorf("%v", errs)
			}
			return val
		}
		v.strict = build(vconfig.WithStrictMode(), vconfig.WithStrictIgnorePaths("$.body.metadata.*", "$.body.**.metadata.*"), vconfig.WithFormatAssertions())
		v.lax = build(vconfig.WithFormatAssertions())
	})
	require.NoError(t, v.err)
	return v.strict, v.lax
}

func describe(errs []*vErrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  %s: %s", e.Message, e.Reason)
		for _, se := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n    %s at %s (%s)", se.Reason, se.FieldPath, se.KeywordLocation)
		}
	}
	return b.String()
}

func TestOpenAPIDocumentIsValidOpenAPI31(t *testing.T) {
	doc, err := libopenapi.NewDocument(OpenAPI())
	require.NoError(t, err)
	assert.Equal(t, "3.1.0", doc.GetVersion())
	v, errs := validator.NewValidator(doc)
	require.Empty(t, errs)
	ok, verrs := v.ValidateDocument()
	assert.True(t, ok, describe(verrs))

	// The check can fail: a document that breaks the 3.1 schema is refused.
	var m map[string]any
	require.NoError(t, json.Unmarshal(OpenAPI(), &m))
	m["paths"].(map[string]any)[wire.PathValidateKey].(map[string]any)["post"].(map[string]any)["responses"] = "none"
	bad, _ := json.Marshal(m)
	badDoc, err := libopenapi.NewDocumentWithConfiguration(bad, &datamodel.DocumentConfiguration{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	bv, _ := validator.NewValidator(badDoc)
	ok, _ = bv.ValidateDocument()
	assert.False(t, ok, "a document with responses: \"none\" passed the OpenAPI 3.1 check")
}

func TestOpenAPIServed(t *testing.T) {
	s := start(t)
	req, err := http.NewRequest("GET", s.OpenAPIURL(), nil)
	require.NoError(t, err)
	resp, err := s.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, wire.ContentTypeJSON, resp.Header.Get("Content-Type"))
	assert.Equal(t, s.URL+"/api/v1/openapi.json", s.OpenAPIURL())
	assert.JSONEq(t, string(OpenAPI()), string(body))

	// Without authentication, and an Authorization header is ignored.
	status, _ := s.raw("GET", wire.PathOpenAPI, "Bearer lk_test_nonsense")
	assert.Equal(t, http.StatusOK, status)
}

// TestOpenAPIDocumentsEveryRoute checks the document against the router's
// table both ways: every route has its operation, with the security its
// auth takes, and every operation is a route.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string                `json:"operationId"`
			Security    []map[string][]string `json:"security"`
			Responses   map[string]any        `json:"responses"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(OpenAPI(), &doc))
	n := 0
	for _, rt := range routes() {
		op, ok := doc.Paths[rt.path][strings.ToLower(rt.method)]
		if !assert.True(t, ok, "%s %s has no operation", rt.method, rt.path) {
			continue
		}
		n++
		assert.Equal(t, rt.op.id, op.OperationID)
		assert.Equal(t, rt.security(), op.Security, op.OperationID)
		assert.Contains(t, op.Responses, fmt.Sprint(rt.op.status), op.OperationID)
		if rt.auth != authNone {
			assert.Contains(t, op.Responses, "401", op.OperationID)
		}
	}
	total := 0
	for _, item := range doc.Paths {
		total += len(item)
	}
	assert.Equal(t, n, total, "operations in the document that are not routes")

	// A route without a documented operation is refused.
	extra := append(routes(), route{method: "GET", path: "/undocumented", auth: authAPI, h: hOpenAPI})
	_, err := buildOpenAPI(extra)
	require.ErrorContains(t, err, "GET /undocumented has no documented operation")
	// So is a second route for one method and path, and a repeated id.
	rts := routes()
	dup := rts[0]
	dup.op.id = "another"
	_, err = buildOpenAPI(append(rts, dup))
	require.ErrorContains(t, err, "two routes for")
	_, err = buildOpenAPI(append(rts, rts[1]))
	require.ErrorContains(t, err, "repeats operation id")
}

// exchange is one request and its response, as the client saw them.
type exchange struct {
	method, url string
	reqHeader   http.Header
	reqBody     []byte
	status      int
	respHeader  http.Header
	respBody    []byte
}

// recorder is a RoundTripper that keeps every exchange under /api/v1.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	ex   []exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		out := req.Clone(req.Context())
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.ContentLength = int64(len(body))
		req = out
	}
	resp, err := r.base.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, wire.APIPrefix+"/") {
		return resp, err
	}
	rb, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(rb))
	if err != nil {
		return resp, nil // the test reading the body sees the failure
	}
	r.mu.Lock()
	r.ex = append(r.ex, exchange{req.Method, req.URL.String(), req.Header.Clone(), body,
		resp.StatusCode, resp.Header.Clone(), rb})
	r.mu.Unlock()
	return resp, nil
}

// recordOpenAPI makes s's Client record every exchange, and checks them all
// against the document when the test ends: every response, and every
// request the server accepted (answered 2xx, 409 or 422: the checks of
// its body had passed; a 404 or 403 can come before them). A request that
// reaches no route must have been answered 404 (or 429: rate limits apply
// before routing); one that reaches a route must match its operation, so a
// route without a documented operation fails too. It returns a function
// that runs the check at once and reports how many exchanges reached each
// operation.
func recordOpenAPI(t testing.TB, s *Server) func() map[string]int {
	t.Helper()
	rec := &recorder{base: s.client.Transport}
	s.client = &http.Client{Transport: rec}
	var (
		once sync.Once
		ops  map[string]int
	)
	check := func() map[string]int {
		once.Do(func() {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			ops = checkExchanges(t, rec.ex)
		})
		return ops
	}
	t.Cleanup(func() { check() })
	return check
}

func checkExchanges(t testing.TB, exs []exchange) map[string]int {
	t.Helper()
	strict, lax := openAPIValidators(t)
	router := routeFinder()
	ops := map[string]int{}
	docValidators.mu.Lock()
	defer docValidators.mu.Unlock()
	for _, ex := range exs {
		newReq := func() *http.Request {
			r, err := http.NewRequest(ex.method, ex.url, bytes.NewReader(ex.reqBody))
			require.NoError(t, err)
			r.Header = ex.reqHeader.Clone()
			if len(ex.reqBody) == 0 {
				r.Body = http.NoBody
			}
			return r
		}
		what := fmt.Sprintf("%s %s → %d", ex.method, ex.url, ex.status)
		id := router(newReq())
		if id == "" {
			if ex.status != http.StatusNotFound && ex.status != http.StatusTooManyRequests {
				t.Errorf("OpenAPI: %s: the server answered a request that reaches no route", what)
			}
			continue
		}
		ops[id]++
		v := strict
		if id == "getOpenAPI" {
			v = lax
		}
		resp := &http.Response{StatusCode: ex.status, Header: ex.respHeader, Body: io.NopCloser(bytes.NewReader(ex.respBody)),
			Request: newReq()}
		ok, errs := v.ValidateHttpResponse(resp.Request, resp)
		if !ok && len(errs) == 1 && strings.HasSuffix(errs[0].Message, "is ambiguous") {
			// The validator refuses to resolve a path whose segments
			// decode to "." or ".." (a license key escaped as %2E): it
			// can't know which route another router would pick.
			continue
		}
		if !ok && ex.status == http.StatusNotFound && (errs[0].IsPathMissingError() || errs[0].IsOperationMissingError()) {
			// ServeMux gives DELETE /licenses/validate-key to DELETE
			// /licenses/{id} (a 404: no such license); OpenAPI matches
			// the literal path first, which has only POST.
			continue
		}
		if !ok {
			t.Errorf("OpenAPI: response of %s does not match the document:%s\n  body: %.400s", what, describe(errs), ex.respBody)
		}
		if ex.status >= 300 && ex.status != http.StatusConflict && ex.status != http.StatusUnprocessableEntity {
			continue
		}
		if ok, errs := v.ValidateHttpRequest(newReq()); !ok {
			t.Errorf("OpenAPI: %s: the server accepted a request the document refuses:%s\n  body: %.400s", what, describe(errs), ex.reqBody)
		}
	}
	return ops
}

// routeFinder returns a function that names the operation of the route
// a request reaches, as the server routes it: "" for none (an unknown
// path or method, HEAD, a path that is not clean).
func routeFinder() func(*http.Request) string {
	mux := http.NewServeMux()
	ids := map[string]string{}
	for _, rt := range routes() {
		pattern := rt.method + " " + wire.APIPrefix + rt.path
		mux.HandleFunc(pattern, func(http.ResponseWriter, *http.Request) {})
		ids[pattern] = rt.op.id
	}
	return func(r *http.Request) string {
		p := r.URL.EscapedPath()
		if r.Method == http.MethodHead || (path.Clean(p) != p) {
			return ""
		}
		_, pattern := mux.Handler(r)
		return ids[pattern]
	}
}

// TestOpenAPIRepresentativeRun drives every operation (and its usual
// failures) over loopback, as a client in another language would; every
// exchange must match the document, and every operation must be reached.
func TestOpenAPIRepresentativeRun(t *testing.T) {
	s := start(t, WithoutRateLimits())
	k := bearer(s.TestAPIKey())

	s.ok(200, "GET", wire.PathOpenAPI, "", nil)

	prod := s.ok(201, "POST", "/products", k, map[string]any{"name": "Desktop", "code": "desktop", "keyPrefix": "DSK"})
	pid := prod["id"].(string)
	s.ok(200, "GET", "/products?limit=10", k, nil)
	s.ok(200, "GET", "/products/"+pid, k, nil)
	s.ok(200, "PATCH", "/products/"+pid, k, map[string]any{"description": "The desktop app"})
	s.fail(409, "CONFLICT", "POST", "/products", k, map[string]any{"name": "Again", "code": "desktop"})

	ent := s.ok(201, "POST", "/entitlements", k, map[string]any{"code": "pro", "name": "Pro"})
	eid := ent["id"].(string)
	s.ok(200, "GET", "/entitlements", k, nil)
	s.ok(200, "GET", "/entitlements/"+eid, k, nil)
	s.ok(200, "PATCH", "/entitlements/"+eid, k, map[string]any{"name": "Professional"})

	pol := s.ok(201, "POST", "/policies", k, map[string]any{"productId": pid, "name": "Standard", "maxMachines": 1,
		"offlineAllowed": true, "offlineMaxDays": 30, "requireHeartbeat": true, "heartbeatIntervalMinutes": 60})
	polID := pol["id"].(string)
	s.ok(200, "GET", "/policies?productId="+pid, k, nil)
	s.ok(200, "GET", "/policies/"+polID, k, nil)
	s.ok(200, "PATCH", "/policies/"+polID, k, map[string]any{"name": "Standard (1 seat)"})
	s.ok(200, "POST", "/policies/"+polID+"/entitlements", k, map[string]any{"entitlementCodes": []string{"pro"}})
	s.ok(200, "DELETE", "/policies/"+polID+"/entitlements", k, map[string]any{"entitlementCodes": []string{"pro"}})

	lic := s.ok(201, "POST", "/licenses", k, map[string]any{"productId": pid, "policyId": polID, "name": "CI",
		"metadata": map[string]any{"seat": 1, "team": map[string]any{"name": "qa"}}})
	lid, key := lic["id"].(string), lic["key"].(string)
	s.ok(200, "GET", "/licenses?status=active&productId="+pid, k, nil)
	s.ok(200, "GET", "/licenses/"+lid, k, nil)
	s.ok(200, "GET", "/licenses/by-key/"+url.PathEscape(key), k, nil)
	s.ok(200, "PATCH", "/licenses/"+lid, k, map[string]any{"userName": "Ada"})
	s.ok(200, "POST", "/licenses/"+lid+"/entitlements", k, map[string]any{"entitlementCodes": []string{"pro"}})
	s.ok(200, "DELETE", "/licenses/"+lid+"/entitlements", k, map[string]any{"entitlementCodes": []string{"pro"}})

	// An application: validate without a key (looks in live: NOT_FOUND),
	// then with the test key; activate, heartbeat and check out with the
	// license key.
	assert.Equal(t, wire.CodeNotFound, s.validate("", map[string]any{"key": key})["code"])
	assert.Equal(t, wire.CodeFingerprintNotFound, s.validate(k, map[string]any{"key": key, "fingerprint": "fp-0001-aaaa"})["code"])
	m := s.activate(key, "fp-0001-aaaa")
	mid := m["id"].(string)
	s.fail(409, wire.ErrCodeFingerprintConflict, "POST", "/machines", license(key), map[string]any{"fingerprint": "fp-0001-aaaa"})
	s.fail(422, wire.ErrCodeMachineLimit, "POST", "/machines", license(key), map[string]any{"fingerprint": "fp-0002-bbbb"})
	assert.Equal(t, wire.CodeValid, s.validate(k, map[string]any{"key": key, "fingerprint": "fp-0001-aaaa"})["code"])
	s.ok(200, "POST", "/machines/"+mid+"/heartbeat", license(key), nil)
	s.ok(200, "GET", "/machines?licenseId="+lid, k, nil)
	s.ok(200, "GET", "/machines/"+mid, license(key), nil)
	s.ok(200, "POST", "/licenses/"+lid+"/checkout", license(key), map[string]any{"fingerprint": "fp-0001-aaaa", "ttl": 86400})
	s.fail(422, wire.ErrCodeOfflineTTLExceeded, "POST", "/licenses/"+lid+"/checkout", k, map[string]any{"fingerprint": "fp-0001-aaaa", "ttl": 31 * 86400})
	s.ok(200, "GET", "/keys/signing", k, nil)
	s.ok(200, "GET", "/analytics", k, nil)

	// Time passes: the heartbeat deadline goes by, and the dead machine is
	// culled (DEACTIVATE_DEAD, the default).
	s.Advance(2 * time.Hour)
	assert.Equal(t, wire.CodeFingerprintNotFound, s.validate(k, map[string]any{"key": key, "fingerprint": "fp-0001-aaaa"})["code"])
	s.fail(404, wire.ErrCodeNotFound, "POST", "/machines/"+mid+"/heartbeat", license(key), nil)
	mid = s.activate(key, "fp-0001-aaaa")["id"].(string)
	s.ok(204, "DELETE", "/machines/"+mid, license(key), nil)

	s.fail(422, wire.ErrCodeValidation, "POST", "/licenses/"+lid+"/"+wire.ActionRenew, k, nil) // no durationDays
	s.ok(200, "PATCH", "/policies/"+polID, k, map[string]any{"durationDays": 365})
	for _, action := range []string{wire.ActionSuspend, wire.ActionReinstate, wire.ActionRenew, wire.ActionRevoke} {
		s.ok(200, "POST", "/licenses/"+lid+"/"+action, k, nil)
	}
	s.fail(409, wire.ErrCodeConflict, "POST", "/licenses/"+lid+"/"+wire.ActionSuspend, k, nil)

	hook := s.ok(201, "POST", "/webhooks", k, map[string]any{"url": "http://127.0.0.1:9/hook", "events": []string{"license.created"}})
	hid := hook["id"].(string)
	s.ok(200, "GET", "/webhooks", k, nil)
	s.ok(200, "GET", "/webhooks/"+hid, k, nil)
	s.ok(200, "PATCH", "/webhooks/"+hid, k, map[string]any{"events": []string{"*"}})
	s.ok(204, "DELETE", "/webhooks/"+hid, k, nil)

	agent := s.ok(201, "POST", "/mcp/agents", k, map[string]any{"name": "support-bot", "metadata": map[string]any{"team": "cx"}})
	aid := agent["id"].(string)
	s.ok(200, "GET", "/mcp/agents", k, nil)
	s.ok(200, "GET", "/mcp/agents/"+aid, k, nil)
	s.ok(200, "PUT", "/mcp/agents/"+aid+"/meters/tokens", k, map[string]any{"period": "month", "softLimit": 5, "hardLimit": 10})
	tok := s.ok(201, "POST", "/mcp/authorize", k, map[string]any{"agentId": aid, "scopes": []string{"mcp:invoke"}})
	s.ok(200, "POST", "/mcp/verify", bearer(tok["token"].(string)), map[string]any{"meterName": "tokens", "quantity": 3})
	s.ok(200, "POST", "/mcp/verify", bearer(tok["token"].(string)), nil)
	s.ok(204, "DELETE", "/mcp/agents/"+aid, k, nil)
	s.fail(401, wire.ErrCodeUnauthorized, "POST", "/mcp/verify", bearer(tok["token"].(string)), nil)

	// The usual failures.
	s.fail(401, wire.ErrCodeUnauthorized, "GET", "/licenses", "", nil)
	s.fail(400, wire.ErrCodeValidation, "POST", "/licenses", k, map[string]any{"productId": pid})
	s.fail(404, wire.ErrCodeNotFound, "GET", "/licenses/nope", k, nil)
	s.fail(403, wire.ErrCodeForbidden, "POST", "/products", bearer(s.NewAPIKey(EnvTest, "products:read")), map[string]any{"name": "X", "code": "x"})
	s.fail(404, wire.ErrCodeNotFound, "GET", "/nothing", k, nil)

	s.ok(204, "DELETE", "/licenses/"+lid, k, nil)
	s.ok(204, "DELETE", "/policies/"+polID, k, nil)
	s.ok(204, "DELETE", "/entitlements/"+eid, k, nil)
	s.ok(204, "DELETE", "/products/"+pid, k, nil)

	ops := s.openapi()
	for _, rt := range routes() {
		assert.Positive(t, ops[rt.op.id], "operation %s (%s %s) was not reached", rt.op.id, rt.method, rt.path)
	}
}
