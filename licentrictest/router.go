package licentrictest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/licentric/licentric-go/internal/wire"
)

type authKind int

const (
	authValidate authKind = iota // none, or a Bearer API key (validate-key)
	authAPI                      // Bearer API key only
	authLicense                  // License key only
	authEither                   // Bearer API key or License key
	authAgent                    // Bearer agent token (AGT-…) only
	authNone                     // none; an Authorization header is ignored
)

// route is one endpoint: a net/http.ServeMux pattern relative to /api/v1,
// whose wildcards reach the handler, in order, as call.params, and the
// operation that documents it in the OpenAPI document.
type route struct {
	method string
	path   string // e.g. "/licenses/{id}/checkout"
	auth   authKind
	scope  string // resource of the scope ("licenses"); "" needs none
	h      func(c *call) (int, any, *apiError)
	op     operation
}

// scopeNeeded is the scope an API key with scopes must carry for the
// route: <resource>:read for GET, <resource>:write otherwise; "" for none.
func (rt route) scopeNeeded() string {
	switch {
	case rt.scope == "":
		return ""
	case rt.method == http.MethodGet:
		return rt.scope + ":read"
	}
	return rt.scope + ":write"
}

// call is one request being handled, under the state lock.
type call struct {
	s      *Server
	st     *state
	now    time.Time
	method string
	env    string
	key    *apiKey     // Bearer auth
	lic    *licenseRec // License auth
	agent  *agentToken // agent-token auth
	params []string
	query  url.Values
	body   []byte
}

// routes is the router's table: every operation under /api/v1, with its
// documentation. The OpenAPI document is generated from it.
func routes() []route {
	r := func(method, path string, auth authKind, scope string, h func(c *call) (int, any, *apiError), op operation) route {
		return route{method: method, path: path, auth: auth, scope: scope, h: h, op: op}
	}
	lic := wire.PathLicenses + "/{id}"
	transition := func(action, id, summary, desc string, fails ...failure) route {
		return r("POST", lic+"/"+action, authAPI, "licenses", hTransition(action), operation{
			id: id, tag: tagLicenses, summary: summary, desc: desc,
			status: 200, resp: wire.Data[wire.License]{},
			fails: append([]failure{notFoundFailure("No such license."),
				conflictFailure("The license's status does not allow it.")}, fails...),
		})
	}
	licenseNotActive := "LICENSE_NOT_ACTIVE: the license is suspended, revoked, banned, or expired under RESTRICT_ACCESS."
	return []route{
		r("POST", wire.PathValidateKey, authValidate, "", hValidate, operation{
			id: "validateKey", tag: tagLicenses, summary: "Validate a license key",
			desc: "Answers 200 for every outcome; the result's code says why a license is not valid. The checks run in order: " +
				"NOT_FOUND, BANNED/REVOKED/SUSPENDED, expiry (EXPIRED; REVOKED under REVOKE), USES_EXCEEDED, FINGERPRINT_NOT_FOUND, " +
				"HEARTBEAT_REQUIRED, ENTITLEMENTS_MISSING, MACHINE_LIMIT_EXCEEDED, VALID. Every call that finds the license " +
				"counts one use. Without Authorization the key is looked up in the live environment; with an API key, in " +
				"that key's environment (a license of the other one is NOT_FOUND).",
			body: wire.ValidateRequest{}, status: 200, resp: wire.Data[wire.Validation]{},
		}),
		r("POST", wire.PathLicenses, authAPI, "licenses", hCreateLicense, operation{
			id: "createLicense", tag: tagLicenses, summary: "Create a license",
			body: wire.LicenseRequest{}, bodyName: "LicenseCreate", required: []string{"productId", "policyId"},
			status: 201, resp: wire.Data[wire.License]{},
			fails: []failure{notFoundFailure("No such product, policy or entitlement."), conflictFailure("The custom key is taken.")},
		}),
		r("GET", wire.PathLicenses, authAPI, "licenses", hListLicenses, operation{
			id: "listLicenses", tag: tagLicenses, summary: "List licenses", desc: "Oldest first.",
			status: 200, resp: wire.List[wire.License]{},
			query: listParams(
				queryParam{wire.QueryProductID, "Only the product's licenses.", &schema{Type: "string"}},
				queryParam{wire.QueryPolicyID, "Only the policy's licenses.", &schema{Type: "string"}},
				queryParam{wire.QueryStatus, "Only licenses of this reported status.", &schema{Type: "string", Enum: enumOf(licenseStatuses)}},
			),
		}),
		r("GET", wire.PathLicenses+"/"+wire.SegmentByKey+"/{key}", authAPI, "licenses", hGetLicenseByKey, operation{
			id: "getLicenseByKey", tag: tagLicenses, summary: "Get a license by its key, with its machines",
			status: 200, resp: wire.Data[licenseWithMachines]{}, fails: []failure{notFoundFailure("No license has this key in the key's environment.")},
		}),
		r("GET", lic, authAPI, "licenses", hGet(licenseParam, licenseDetail), operation{
			id: "getLicense", tag: tagLicenses, summary: "Get a license, with its machines",
			status: 200, resp: wire.Data[licenseWithMachines]{}, fails: []failure{notFoundFailure("No such license.")},
		}),
		r("PATCH", lic, authAPI, "licenses", hUpdateLicense, operation{
			id: "updateLicense", tag: tagLicenses, summary: "Update a license",
			body: wire.LicenseRequest{}, status: 200, resp: wire.Data[wire.License]{},
			fails: []failure{notFoundFailure("No such license, policy or entitlement.")},
		}),
		r("DELETE", lic, authAPI, "licenses", hDeleteLicense, operation{
			id: "deleteLicense", tag: tagLicenses, summary: "Delete a license (soft), with its machines",
			status: 204, fails: []failure{notFoundFailure("No such license.")},
		}),
		transition(wire.ActionSuspend, "suspendLicense", "Suspend a license", "active → suspended."),
		transition(wire.ActionReinstate, "reinstateLicense", "Reinstate a suspended license", "suspended → active."),
		transition(wire.ActionRevoke, "revokeLicense", "Revoke a license for good", "active or suspended → revoked."),
		transition(wire.ActionRenew, "renewLicense", "Renew a license",
			"expiresAt becomes max(now, expiresAt) + the policy's durationDays; an expired license is active again.",
			unprocessableFailure("The policy has no durationDays.", wire.ErrCodeValidation)),
		r("POST", lic+"/"+wire.SegmentEntitlements, authAPI, "licenses", hLicenseEntitlements(true), operation{
			id: "attachLicenseEntitlements", tag: tagLicenses, summary: "Attach entitlements to a license",
			body: wire.EntitlementCodesRequest{}, status: 200, resp: wire.Data[wire.License]{},
			fails: []failure{notFoundFailure("No such license or entitlement code.")},
		}),
		r("DELETE", lic+"/"+wire.SegmentEntitlements, authAPI, "licenses", hLicenseEntitlements(false), operation{
			id: "detachLicenseEntitlements", tag: tagLicenses, summary: "Detach entitlements from a license",
			desc: "Detaching a code the license does not have is no error.",
			body: wire.EntitlementCodesRequest{}, status: 200, resp: wire.Data[wire.License]{},
			fails: []failure{notFoundFailure("No such license or entitlement code.")},
		}),
		r("POST", lic+"/"+wire.SegmentCheckout, authEither, "licenses", hCheckout, operation{
			id: "checkoutLicense", tag: tagOffline, summary: "Check out a signed license file",
			desc: "With an API key, or with the license's own key. The checks run: 400, LICENSE_NOT_ACTIVE, OFFLINE_NOT_ALLOWED, " +
				"OFFLINE_TTL_EXCEEDED, FINGERPRINT_NOT_FOUND.",
			body: wire.CheckoutRequest{}, status: 200, resp: wire.Data[wire.Checkout]{},
			fails: []failure{
				notFoundFailure("No such license (a license key reaching another license is a 404 too)."),
				unprocessableFailure(licenseNotActive+" OFFLINE_NOT_ALLOWED: the policy does not allow offline use. "+
					"OFFLINE_TTL_EXCEEDED: ttl is above the policy's offlineMaxDays. FINGERPRINT_NOT_FOUND: no machine of the "+
					"license has the fingerprint.", wire.ErrCodeLicenseNotActive, wire.ErrCodeOfflineNotAllowed,
					wire.ErrCodeOfflineTTLExceeded, wire.ErrCodeFingerprintNotFound),
			},
		}),

		r("POST", wire.PathMachines, authEither, "machines", hActivate, operation{
			id: "activateMachine", tag: tagMachines, summary: "Activate a machine",
			desc: "With the license's own key, or with an API key and licenseId. The checks run: 400, 404, LICENSE_NOT_ACTIVE, " +
				"a fingerprint already on this license (FINGERPRINT_CONFLICT with details.machineId, so a client that lost a 201 " +
				"can recover the machine), on another license under PER_POLICY or PER_ACCOUNT uniqueness (FINGERPRINT_CONFLICT), " +
				"MACHINE_LIMIT_EXCEEDED.",
			body: wire.ActivateRequest{}, status: 201, resp: wire.Data[wire.Machine]{},
			fails: []failure{
				notFoundFailure("No such license."),
				conflictFailure("The fingerprint is already activated.", wire.ErrCodeFingerprintConflict),
				unprocessableFailure(licenseNotActive+" MACHINE_LIMIT_EXCEEDED: the license has its maximum of machines.",
					wire.ErrCodeLicenseNotActive, wire.ErrCodeMachineLimit),
			},
		}),
		r("GET", wire.PathMachines, authAPI, "machines", hListMachines, operation{
			id: "listMachines", tag: tagMachines, summary: "List machines", desc: "Oldest first.",
			status: 200, resp: wire.List[wire.Machine]{},
			query: listParams(queryParam{wire.QueryLicenseID, "Only the license's machines.", &schema{Type: "string"}}),
		}),
		r("GET", wire.PathMachines+"/{id}", authEither, "machines", hGetMachine, operation{
			id: "getMachine", tag: tagMachines, summary: "Get a machine",
			status: 200, resp: wire.Data[wire.Machine]{},
			fails: []failure{notFoundFailure("No such machine (a license key reaching another license's machine is a 404 too).")},
		}),
		r("DELETE", wire.PathMachines+"/{id}", authEither, "machines", hDeactivate, operation{
			id: "deactivateMachine", tag: tagMachines, summary: "Deactivate a machine", desc: "Frees its slot at once.",
			status: 204, fails: []failure{notFoundFailure("No such machine, or already deactivated.")},
		}),
		r("POST", wire.PathMachines+"/{id}/"+wire.SegmentHeartbeat, authLicense, "", hHeartbeat, operation{
			id: "heartbeatMachine", tag: tagMachines, summary: "Send a machine's heartbeat",
			desc: "Under a policy with requireHeartbeat a machine whose last heartbeat is older than heartbeatIntervalMinutes " +
				"is dead: DEACTIVATE_DEAD deletes it (a later heartbeat is a 404), KEEP_DEAD keeps it and a heartbeat revives it.",
			status: 200, resp: wire.Data[wire.Machine]{},
			fails: []failure{notFoundFailure("No such machine of this license.")},
		}),

		r("POST", wire.PathProducts, authAPI, "products", hCreateProduct, operation{
			id: "createProduct", tag: tagProducts, summary: "Create a product",
			body: wire.ProductRequest{}, bodyName: "ProductCreate", required: []string{"name", "code"},
			status: 201, resp: wire.Data[wire.Product]{}, fails: []failure{conflictFailure("The code is taken in this environment.")},
		}),
		r("GET", wire.PathProducts, authAPI, "products", hListProducts, operation{
			id: "listProducts", tag: tagProducts, summary: "List products", status: 200, resp: wire.List[wire.Product]{}, query: listParams(),
		}),
		r("GET", wire.PathProducts+"/{id}", authAPI, "products", hGet(productParam, productData), operation{
			id: "getProduct", tag: tagProducts, summary: "Get a product",
			status: 200, resp: wire.Data[wire.Product]{}, fails: []failure{notFoundFailure("No such product.")},
		}),
		r("PATCH", wire.PathProducts+"/{id}", authAPI, "products", hUpdateProduct, operation{
			id: "updateProduct", tag: tagProducts, summary: "Update a product",
			body: wire.ProductRequest{}, status: 200, resp: wire.Data[wire.Product]{},
			fails: []failure{notFoundFailure("No such product."), conflictFailure("The code is taken in this environment.")},
		}),
		r("DELETE", wire.PathProducts+"/{id}", authAPI, "products", hDelete(productParam), operation{
			id: "deleteProduct", tag: tagProducts, summary: "Delete a product (soft)",
			status: 204, fails: []failure{notFoundFailure("No such product.")},
		}),

		r("POST", wire.PathPolicies, authAPI, "policies", hCreatePolicy, operation{
			id: "createPolicy", tag: tagPolicies, summary: "Create a policy",
			body: wire.PolicyRequest{}, bodyName: "PolicyCreate", required: []string{"productId", "name"},
			status: 201, resp: wire.Data[wire.Policy]{}, fails: []failure{notFoundFailure("No such product.")},
		}),
		r("GET", wire.PathPolicies, authAPI, "policies", hListPolicies, operation{
			id: "listPolicies", tag: tagPolicies, summary: "List policies", status: 200, resp: wire.List[wire.Policy]{},
			query: listParams(queryParam{wire.QueryProductID, "Only the product's policies.", &schema{Type: "string"}}),
		}),
		r("GET", wire.PathPolicies+"/{id}", authAPI, "policies", hGet(policyParam, policyData), operation{
			id: "getPolicy", tag: tagPolicies, summary: "Get a policy",
			status: 200, resp: wire.Data[wire.Policy]{}, fails: []failure{notFoundFailure("No such policy.")},
		}),
		r("PATCH", wire.PathPolicies+"/{id}", authAPI, "policies", hUpdatePolicy, operation{
			id: "updatePolicy", tag: tagPolicies, summary: "Update a policy",
			body: wire.PolicyRequest{}, status: 200, resp: wire.Data[wire.Policy]{}, fails: []failure{notFoundFailure("No such policy.")},
		}),
		r("DELETE", wire.PathPolicies+"/{id}", authAPI, "policies", hDelete(policyParam), operation{
			id: "deletePolicy", tag: tagPolicies, summary: "Delete a policy (soft)",
			desc:   "Its licenses keep it, shown in their snapshot with deletedAt.",
			status: 204, fails: []failure{notFoundFailure("No such policy.")},
		}),
		r("POST", wire.PathPolicies+"/{id}/"+wire.SegmentEntitlements, authAPI, "policies", hPolicyEntitlements(true), operation{
			id: "attachPolicyEntitlements", tag: tagPolicies, summary: "Attach entitlements to a policy",
			body: wire.EntitlementCodesRequest{}, status: 200, resp: wire.Data[wire.Policy]{},
			fails: []failure{notFoundFailure("No such policy or entitlement code.")},
		}),
		r("DELETE", wire.PathPolicies+"/{id}/"+wire.SegmentEntitlements, authAPI, "policies", hPolicyEntitlements(false), operation{
			id: "detachPolicyEntitlements", tag: tagPolicies, summary: "Detach entitlements from a policy",
			body: wire.EntitlementCodesRequest{}, status: 200, resp: wire.Data[wire.Policy]{},
			fails: []failure{notFoundFailure("No such policy or entitlement code.")},
		}),

		r("POST", wire.PathEntitlements, authAPI, "entitlements", hCreateEntitlement, operation{
			id: "createEntitlement", tag: tagEntitlements, summary: "Create an entitlement",
			body: wire.EntitlementRequest{}, bodyName: "EntitlementCreate", required: []string{"code", "name"},
			status: 201, resp: wire.Data[wire.Entitlement]{}, fails: []failure{conflictFailure("The code is taken in this environment.")},
		}),
		r("GET", wire.PathEntitlements, authAPI, "entitlements", hListEntitlements, operation{
			id: "listEntitlements", tag: tagEntitlements, summary: "List entitlements",
			status: 200, resp: wire.List[wire.Entitlement]{}, query: listParams(),
		}),
		r("GET", wire.PathEntitlements+"/{id}", authAPI, "entitlements", hGet(entitlementParam, entitlementData), operation{
			id: "getEntitlement", tag: tagEntitlements, summary: "Get an entitlement",
			status: 200, resp: wire.Data[wire.Entitlement]{}, fails: []failure{notFoundFailure("No such entitlement.")},
		}),
		r("PATCH", wire.PathEntitlements+"/{id}", authAPI, "entitlements", hUpdateEntitlement, operation{
			id: "updateEntitlement", tag: tagEntitlements, summary: "Update an entitlement",
			body: wire.EntitlementRequest{}, status: 200, resp: wire.Data[wire.Entitlement]{},
			fails: []failure{notFoundFailure("No such entitlement."), conflictFailure("The code is taken in this environment.")},
		}),
		r("DELETE", wire.PathEntitlements+"/{id}", authAPI, "entitlements", hDelete(entitlementParam), operation{
			id: "deleteEntitlement", tag: tagEntitlements, summary: "Delete an entitlement (soft)",
			desc: "It disappears from every entitlements list.", status: 204, fails: []failure{notFoundFailure("No such entitlement.")},
		}),

		r("POST", wire.PathWebhooks, authAPI, "webhooks", hCreateWebhook, operation{
			id: "createWebhook", tag: tagWebhooks, summary: "Register a webhook",
			desc: "The answer carries the signing secret, once.",
			body: wire.WebhookRequest{}, bodyName: "WebhookCreate", required: []string{"url"},
			status: 201, resp: wire.Data[wire.Webhook]{},
		}),
		r("GET", wire.PathWebhooks, authAPI, "webhooks", hListWebhooks, operation{
			id: "listWebhooks", tag: tagWebhooks, summary: "List webhooks", status: 200, resp: wire.List[wire.Webhook]{}, query: listParams(),
		}),
		r("GET", wire.PathWebhooks+"/{id}", authAPI, "webhooks", hGet(webhookParam, webhookData), operation{
			id: "getWebhook", tag: tagWebhooks, summary: "Get a webhook",
			status: 200, resp: wire.Data[wire.Webhook]{}, fails: []failure{notFoundFailure("No such webhook.")},
		}),
		r("PATCH", wire.PathWebhooks+"/{id}", authAPI, "webhooks", hUpdateWebhook, operation{
			id: "updateWebhook", tag: tagWebhooks, summary: "Update a webhook",
			body: wire.WebhookRequest{}, status: 200, resp: wire.Data[wire.Webhook]{}, fails: []failure{notFoundFailure("No such webhook.")},
		}),
		r("DELETE", wire.PathWebhooks+"/{id}", authAPI, "webhooks", hDelete(webhookParam), operation{
			id: "deleteWebhook", tag: tagWebhooks, summary: "Delete a webhook",
			status: 204, fails: []failure{notFoundFailure("No such webhook.")},
		}),

		r("GET", wire.PathSigningKey, authAPI, "", hSigningKey, operation{
			id: "getSigningKey", tag: tagOffline, summary: "Get the key that signs license files",
			desc:   "For tooling: an application pins the key and never fetches its trust anchor at run time.",
			status: 200, resp: wire.Data[wire.SigningKey]{},
		}),
		r("GET", wire.PathAnalytics, authAPI, "analytics", hAnalytics, operation{
			id: "getAnalytics", tag: tagAnalytics, summary: "Get analytics", status: 200, resp: wire.Data[wire.Analytics]{},
		}),

		r("POST", wire.PathAgents, authAPI, "agents", hCreateAgent, operation{
			id: "createAgent", tag: tagAgents, summary: "Create an agent identity",
			body: wire.AgentRequest{}, required: []string{"name"}, bodyName: "AgentRequest",
			status: 201, resp: wire.Data[wire.Agent]{},
		}),
		r("GET", wire.PathAgents, authAPI, "agents", hListAgents, operation{
			id: "listAgents", tag: tagAgents, summary: "List agents", status: 200, resp: wire.List[wire.Agent]{}, query: listParams(),
		}),
		r("GET", wire.PathAgents+"/{id}", authAPI, "agents", hGet(agentParam, agentData), operation{
			id: "getAgent", tag: tagAgents, summary: "Get an agent",
			status: 200, resp: wire.Data[wire.Agent]{}, fails: []failure{notFoundFailure("No such agent.")},
		}),
		r("DELETE", wire.PathAgents+"/{id}", authAPI, "agents", hDeleteAgent, operation{
			id: "deleteAgent", tag: tagAgents, summary: "Delete an agent", desc: "Its tokens stop working.",
			status: 204, fails: []failure{notFoundFailure("No such agent.")},
		}),
		r("PUT", wire.PathAgents+"/{id}/"+wire.SegmentMeters+"/{name}", authAPI, "agents", hPutMeter, operation{
			id: "putMeter", tag: tagAgents, summary: "Set a meter's limits and period",
			body: wire.MeterRequest{}, status: 200, resp: wire.Data[wire.Meter]{}, fails: []failure{notFoundFailure("No such agent.")},
		}),
		r("POST", wire.PathAuthorize, authAPI, "agents", hAuthorize, operation{
			id: "authorizeAgent", tag: tagAgents, summary: "Issue a short-lived token to an agent",
			body: wire.AuthorizeRequest{}, status: 201, resp: wire.Data[wire.AuthorizeResponse]{},
			fails: []failure{notFoundFailure("No such agent.")},
		}),
		r("POST", wire.PathVerify, authAgent, "", hVerify, operation{
			id: "verifyAgent", tag: tagAgents, summary: "Verify an agent token, and record usage",
			desc: "An invalid, revoked or expired token is a 401; a quantity past the meter's hard limit is not recorded and " +
				"comes back with meter.blocked (the vendor's middleware then answers the agent 402).",
			body: wire.VerifyRequest{}, bodyOptional: true, status: 200, resp: wire.Data[wire.VerifyResponse]{},
		}),

		r("GET", wire.PathOpenAPI, authNone, "", hOpenAPI, operation{
			id: "getOpenAPI", tag: tagMeta, summary: "This OpenAPI document",
			desc: "The test server's own; the live service publishes its own reference.", status: 200, resp: json.RawMessage(nil),
		}),
	}
}

// wildcards returns the names of the {wildcards} of a pattern, in order.
func wildcards(path string) []string {
	var names []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, seg[1:len(seg)-1])
		}
	}
	return names
}

// newMux builds the router: every endpoint under /api/v1, the control API
// under /_control, and a catch-all that answers 404 in the error envelope,
// so that ServeMux's own plain-text 404 and 405 never reach a client.
func (s *Server) newMux() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range routes() {
		mux.Handle(rt.method+" "+wire.APIPrefix+rt.path, s.endpoint(rt))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.notFound(w, r) })
	return mux
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	discardBody(w, r)
	writeError(w, errf(http.StatusNotFound, wire.ErrCodeNotFound, "No route for %s %s", r.Method, clip(r.URL.EscapedPath())))
}

// discardBody drains a small request body, so the connection can be
// reused; a large or unknown-length one is not read and the connection
// closes after the answer.
func discardBody(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	if r.ContentLength < 0 || r.ContentLength > wire.MaxBodyBytes {
		w.Header().Set("Connection", "close")
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, wire.MaxBodyBytes))
}

// endpoint adapts a route to an http.Handler: it reads the body (at most
// MaxBodyBytes; a declared Content-Length above that is refused without
// reading a byte), then authenticates and runs the handler under the state
// lock.
func (s *Server) endpoint(rt route) http.Handler {
	names := wildcards(rt.path)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != rt.method { // GET patterns also match HEAD
			s.notFound(w, r)
			return
		}
		params := make([]string, len(names))
		for i, n := range names {
			params[i] = r.PathValue(n)
		}
		var body []byte
		tooLarge := false
		switch {
		case r.ContentLength > wire.MaxBodyBytes:
			tooLarge = true
			w.Header().Set("Connection", "close")
		case r.Method != http.MethodGet && r.Body != nil:
			var err error
			body, err = io.ReadAll(io.LimitReader(r.Body, wire.MaxBodyBytes+1))
			if err != nil {
				w.Header().Set("Connection", "close")
				writeError(w, validationError("", "invalid_body", "Could not read request body"))
				return
			}
			if len(body) > wire.MaxBodyBytes {
				tooLarge, body = true, nil
				w.Header().Set("Connection", "close")
			}
		}
		status, payload, aerr := s.dispatch(r, rt, params, body, tooLarge)
		if aerr != nil {
			writeError(w, aerr)
			return
		}
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, payload)
	})
}

// relPath returns the escaped path relative to /api/v1 and whether it was
// under it.
func relPath(r *http.Request) (string, bool) {
	p := r.URL.EscapedPath()
	if p == wire.APIPrefix {
		return "", true
	}
	if strings.HasPrefix(p, wire.APIPrefix+"/") {
		return p[len(wire.APIPrefix):], true
	}
	return p, false
}

func parseAuth(h string) (scheme, cred string) {
	h = strings.TrimSpace(h)
	if h == "" {
		return "", ""
	}
	i := strings.IndexAny(h, " \t")
	if i < 0 {
		scheme = h
	} else {
		// The credential is everything after the scheme and its
		// separating whitespace: a license key may contain spaces.
		scheme, cred = h[:i], strings.TrimLeft(h[i+1:], " \t")
	}
	switch {
	case strings.EqualFold(scheme, wire.SchemeBearer):
		scheme = wire.SchemeBearer
	case strings.EqualFold(scheme, wire.SchemeLicense):
		scheme = wire.SchemeLicense
	}
	return scheme, cred
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// bufferWriter records a response that is then thrown away (DropResponse).
type bufferWriter struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.h }
func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.buf.Write(p)
}

func isControl(r *http.Request) bool {
	p := r.URL.EscapedPath()
	return p == controlPrefix || strings.HasPrefix(p, controlPrefix+"/")
}

// ServeHTTP implements http.Handler. Every request (but the control API's)
// is logged, then meets any injected fault, then rate limiting, routing,
// auth, scopes and the endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.handlers.add() {
		hijackClose(w)
		return
	}
	defer s.handlers.done()
	if isControl(r) {
		s.serveControl(w, r)
		return
	}

	rid := "req_" + randomHex(12)
	w.Header().Set(wire.HeaderRequestID, rid)
	// Date tells the server's clock (Advance and SetNow included), as the
	// live service's Date tells its own: clients line up rate windows by it.
	w.Header().Set("Date", s.Now().UTC().Format(http.TimeFormat))
	rel, _ := relPath(r)
	scheme, _ := parseAuth(r.Header.Get(wire.HeaderAuthorization))
	if scheme != wire.SchemeBearer && scheme != wire.SchemeLicense {
		scheme = ""
	}
	entry := &Request{Method: r.Method, Path: rel, Query: r.URL.RawQuery, Scheme: scheme, Time: s.Now()}
	s.reqs.add(entry)

	if f := s.faults.take(r.Method, rel); f != nil {
		s.reqs.setStatus(entry, s.serveFault(w, r, f, rel, rid))
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	s.serve(sw, r, rel, rid)
	s.reqs.setStatus(entry, sw.status)
	// The pattern, not the path, is logged: a by-key path holds a license key.
	s.cfg.logger.Debug("licentrictest request", "method", r.Method, "route", r.Pattern, "status", sw.status, "requestId", rid)
}

// serve answers a request for real: rate limit, then the router.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, rel, rid string) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.cfg.logger.Error("licentrictest: handler panic", "panic", fmt.Sprint(v), "requestId", rid)
			writeError(w, errf(http.StatusInternalServerError, wire.ErrCodeInternal, "Internal server error"))
		}
	}()
	tier := wire.TierOf(r.Method, rel)
	rr := s.limits.check(tier, s.bucket(tier, r), s.clock.now(), true)
	setRateHeaders(w.Header(), rr)
	if rr.refused {
		discardBody(w, r)
		w.Header().Set(wire.HeaderRetryAfter, strconv.Itoa(rr.retryAfter))
		writeError(w, errf(http.StatusTooManyRequests, wire.ErrCodeRateLimited,
			"Rate limit exceeded. Retry after %d seconds.", rr.retryAfter))
		return
	}
	serveMux(s.mux, w, r, s.notFound)
}

// serveMux runs mux, except for the requests ServeMux would answer itself
// (a redirect to the cleaned path, 400 for "*", CONNECT): those get
// notFound, so every answer is in the error envelope.
func serveMux(mux *http.ServeMux, w http.ResponseWriter, r *http.Request, notFound http.HandlerFunc) {
	p := r.URL.EscapedPath()
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	if _, pattern := mux.Handler(r); pattern == "" || clean != p || r.Method == http.MethodConnect || r.RequestURI == "*" {
		notFound(w, r)
		return
	}
	mux.ServeHTTP(w, r)
}

func (s *Server) dispatch(r *http.Request, rt route, params []string, body []byte, tooLarge bool) (int, any, *apiError) {
	now := s.lock()
	defer s.unlock()
	c := &call{s: s, st: s.st, now: now, method: r.Method, params: params, query: r.URL.Query(), body: body}
	if e := s.authenticate(c, rt, r.Header.Get(wire.HeaderAuthorization)); e != nil {
		return 0, nil, e
	}
	if tooLarge {
		return 0, nil, validationError("", "too_big", "Request body exceeds %d bytes", wire.MaxBodyBytes)
	}
	return rt.h(c)
}

func unauthorized(msg string) *apiError {
	return errf(http.StatusUnauthorized, wire.ErrCodeUnauthorized, "%s", msg)
}

// keyTooLong reports a license key longer than the contract allows (§13.1).
func keyTooLong(key string) bool {
	return len(key) > wire.MaxLicenseKeyLen && utf8.RuneCountInString(key) > wire.MaxLicenseKeyLen
}

func keyTooLongError(field string) *apiError {
	return validationError(field, "too_big", "License keys are at most %d characters", wire.MaxLicenseKeyLen)
}

func (s *Server) authenticate(c *call, rt route, header string) *apiError {
	if rt.auth == authNone {
		return nil
	}
	scheme, cred := parseAuth(header)
	switch scheme {
	case "":
		if rt.auth == authValidate {
			c.env = EnvLive
			return nil
		}
		return unauthorized("Missing Authorization header")
	case wire.SchemeBearer:
		switch rt.auth {
		case authLicense:
			return unauthorized("This endpoint needs license-key authorization (Authorization: License <key>)")
		case authAgent:
			tok := c.st.agentToken(cred)
			if tok == nil || !tok.usable(c.st, c.now) {
				return unauthorized("Invalid or expired agent credential")
			}
			c.agent, c.env = tok, tok.env
			return nil
		}
		k := c.st.apiKeys[cred]
		if cred == "" || k == nil || k.revoked {
			return unauthorized("Invalid or expired API key")
		}
		c.key, c.env = k, k.env
		if need := rt.scopeNeeded(); need != "" && len(k.scopes) > 0 {
			if !k.scopes[need] {
				return errf(http.StatusForbidden, wire.ErrCodeForbidden, "API key lacks the %s scope", need)
			}
		}
		return nil
	case wire.SchemeLicense:
		if rt.auth != authLicense && rt.auth != authEither {
			return unauthorized("This endpoint needs an API key (Authorization: Bearer <key>)")
		}
		if keyTooLong(cred) {
			return keyTooLongError("")
		}
		l := c.st.licenseKeys[cred]
		if cred == "" || l == nil || l.deleted() {
			return unauthorized("Invalid license key")
		}
		c.lic, c.env = l, l.env
		return nil
	}
	return unauthorized("Unsupported authorization scheme")
}
