package licentrictest

import (
	"bytes"
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
)

// route is one endpoint: a net/http.ServeMux pattern relative to /api/v1,
// whose wildcards reach the handler, in order, as call.params.
type route struct {
	method string
	path   string // e.g. "/licenses/{id}/checkout"
	auth   authKind
	scope  string // resource of the scope ("licenses"); "" needs none
	h      func(c *call) (int, any, *apiError)
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

func routes() []route {
	r := func(method, path string, auth authKind, scope string, h func(c *call) (int, any, *apiError)) route {
		return route{method: method, path: path, auth: auth, scope: scope, h: h}
	}
	lic := wire.PathLicenses + "/{id}"
	return []route{
		r("POST", wire.PathValidateKey, authValidate, "", hValidate),
		r("POST", wire.PathLicenses, authAPI, "licenses", hCreateLicense),
		r("GET", wire.PathLicenses, authAPI, "licenses", hListLicenses),
		r("GET", wire.PathLicenses+"/"+wire.SegmentByKey+"/{key}", authAPI, "licenses", hGetLicenseByKey),
		r("GET", lic, authAPI, "licenses", hGet(licenseParam, licenseDetail)),
		r("PATCH", lic, authAPI, "licenses", hUpdateLicense),
		r("DELETE", lic, authAPI, "licenses", hDeleteLicense),
		r("POST", lic+"/"+wire.ActionSuspend, authAPI, "licenses", hTransition(wire.ActionSuspend)),
		r("POST", lic+"/"+wire.ActionReinstate, authAPI, "licenses", hTransition(wire.ActionReinstate)),
		r("POST", lic+"/"+wire.ActionRevoke, authAPI, "licenses", hTransition(wire.ActionRevoke)),
		r("POST", lic+"/"+wire.ActionRenew, authAPI, "licenses", hTransition(wire.ActionRenew)),
		r("POST", lic+"/"+wire.SegmentEntitlements, authAPI, "licenses", hLicenseEntitlements(true)),
		r("DELETE", lic+"/"+wire.SegmentEntitlements, authAPI, "licenses", hLicenseEntitlements(false)),
		r("POST", lic+"/"+wire.SegmentCheckout, authEither, "licenses", hCheckout),

		r("POST", wire.PathMachines, authEither, "machines", hActivate),
		r("GET", wire.PathMachines, authAPI, "machines", hListMachines),
		r("GET", wire.PathMachines+"/{id}", authEither, "machines", hGetMachine),
		r("DELETE", wire.PathMachines+"/{id}", authEither, "machines", hDeactivate),
		r("POST", wire.PathMachines+"/{id}/"+wire.SegmentHeartbeat, authLicense, "", hHeartbeat),

		r("POST", wire.PathProducts, authAPI, "products", hCreateProduct),
		r("GET", wire.PathProducts, authAPI, "products", hListProducts),
		r("GET", wire.PathProducts+"/{id}", authAPI, "products", hGet(productParam, productData)),
		r("PATCH", wire.PathProducts+"/{id}", authAPI, "products", hUpdateProduct),
		r("DELETE", wire.PathProducts+"/{id}", authAPI, "products", hDelete(productParam)),

		r("POST", wire.PathPolicies, authAPI, "policies", hCreatePolicy),
		r("GET", wire.PathPolicies, authAPI, "policies", hListPolicies),
		r("GET", wire.PathPolicies+"/{id}", authAPI, "policies", hGet(policyParam, policyData)),
		r("PATCH", wire.PathPolicies+"/{id}", authAPI, "policies", hUpdatePolicy),
		r("DELETE", wire.PathPolicies+"/{id}", authAPI, "policies", hDelete(policyParam)),
		r("POST", wire.PathPolicies+"/{id}/"+wire.SegmentEntitlements, authAPI, "policies", hPolicyEntitlements(true)),
		r("DELETE", wire.PathPolicies+"/{id}/"+wire.SegmentEntitlements, authAPI, "policies", hPolicyEntitlements(false)),

		r("POST", wire.PathEntitlements, authAPI, "entitlements", hCreateEntitlement),
		r("GET", wire.PathEntitlements, authAPI, "entitlements", hListEntitlements),
		r("GET", wire.PathEntitlements+"/{id}", authAPI, "entitlements", hGet(entitlementParam, entitlementData)),
		r("PATCH", wire.PathEntitlements+"/{id}", authAPI, "entitlements", hUpdateEntitlement),
		r("DELETE", wire.PathEntitlements+"/{id}", authAPI, "entitlements", hDelete(entitlementParam)),

		r("POST", wire.PathWebhooks, authAPI, "webhooks", hCreateWebhook),
		r("GET", wire.PathWebhooks, authAPI, "webhooks", hListWebhooks),
		r("GET", wire.PathWebhooks+"/{id}", authAPI, "webhooks", hGet(webhookParam, webhookData)),
		r("PATCH", wire.PathWebhooks+"/{id}", authAPI, "webhooks", hUpdateWebhook),
		r("DELETE", wire.PathWebhooks+"/{id}", authAPI, "webhooks", hDelete(webhookParam)),

		r("GET", wire.PathSigningKey, authAPI, "", hSigningKey),
		r("GET", wire.PathAnalytics, authAPI, "analytics", hAnalytics),

		r("POST", wire.PathAgents, authAPI, "agents", hCreateAgent),
		r("GET", wire.PathAgents, authAPI, "agents", hListAgents),
		r("GET", wire.PathAgents+"/{id}", authAPI, "agents", hGet(agentParam, agentData)),
		r("DELETE", wire.PathAgents+"/{id}", authAPI, "agents", hDeleteAgent),
		r("PUT", wire.PathAgents+"/{id}/"+wire.SegmentMeters+"/{name}", authAPI, "agents", hPutMeter),
		r("POST", wire.PathAuthorize, authAPI, "agents", hAuthorize),
		r("POST", wire.PathVerify, authAgent, "", hVerify),
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
		if rt.scope != "" && len(k.scopes) > 0 {
			need := rt.scope + ":write"
			if rt.method == http.MethodGet {
				need = rt.scope + ":read"
			}
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
