package licentrictest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

type authKind int

const (
	authValidate authKind = iota // none, or a Bearer API key (validate-key)
	authAPI                      // Bearer API key only
	authLicense                  // License key only
	authEither                   // Bearer API key or License key
)

// route is one endpoint. In path, "*" matches one segment, passed to h in
// call.params.
type route struct {
	method string
	path   []string
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
	params []string
	query  url.Values
	body   []byte
}

func routes() []route {
	r := func(method, path string, auth authKind, scope string, h func(c *call) (int, any, *apiError)) route {
		return route{method: method, path: strings.Split(strings.Trim(path, "/"), "/"), auth: auth, scope: scope, h: h}
	}
	return []route{
		r("POST", wire.PathValidateKey, authValidate, "", hValidate),
		r("POST", wire.PathLicenses, authAPI, "licenses", hCreateLicense),
		r("GET", wire.PathLicenses, authAPI, "licenses", hListLicenses),
		r("GET", wire.PathLicenses+"/"+wire.SegmentByKey+"/*", authAPI, "licenses", hGetLicenseByKey),
		r("GET", wire.PathLicenses+"/*", authAPI, "licenses", hGet(licenseParam, licenseData)),
		r("PATCH", wire.PathLicenses+"/*", authAPI, "licenses", hUpdateLicense),
		r("DELETE", wire.PathLicenses+"/*", authAPI, "licenses", hDeleteLicense),
		r("POST", wire.PathLicenses+"/*/"+wire.ActionSuspend, authAPI, "licenses", hTransition(wire.ActionSuspend)),
		r("POST", wire.PathLicenses+"/*/"+wire.ActionReinstate, authAPI, "licenses", hTransition(wire.ActionReinstate)),
		r("POST", wire.PathLicenses+"/*/"+wire.ActionRevoke, authAPI, "licenses", hTransition(wire.ActionRevoke)),
		r("POST", wire.PathLicenses+"/*/"+wire.ActionRenew, authAPI, "licenses", hTransition(wire.ActionRenew)),
		r("POST", wire.PathLicenses+"/*/"+wire.SegmentEntitlements, authAPI, "licenses", hLicenseEntitlements(true)),
		r("DELETE", wire.PathLicenses+"/*/"+wire.SegmentEntitlements, authAPI, "licenses", hLicenseEntitlements(false)),
		r("POST", wire.PathLicenses+"/*/"+wire.SegmentCheckout, authEither, "licenses", hCheckout),

		r("POST", wire.PathMachines, authEither, "machines", hActivate),
		r("GET", wire.PathMachines, authAPI, "machines", hListMachines),
		r("GET", wire.PathMachines+"/*", authEither, "machines", hGetMachine),
		r("DELETE", wire.PathMachines+"/*", authEither, "machines", hDeactivate),
		r("POST", wire.PathMachines+"/*/"+wire.SegmentHeartbeat, authLicense, "", hHeartbeat),

		r("POST", wire.PathProducts, authAPI, "products", hCreateProduct),
		r("GET", wire.PathProducts, authAPI, "products", hListProducts),
		r("GET", wire.PathProducts+"/*", authAPI, "products", hGet(productParam, productData)),
		r("PATCH", wire.PathProducts+"/*", authAPI, "products", hUpdateProduct),
		r("DELETE", wire.PathProducts+"/*", authAPI, "products", hDelete(productParam)),

		r("POST", wire.PathPolicies, authAPI, "policies", hCreatePolicy),
		r("GET", wire.PathPolicies, authAPI, "policies", hListPolicies),
		r("GET", wire.PathPolicies+"/*", authAPI, "policies", hGet(policyParam, policyData)),
		r("PATCH", wire.PathPolicies+"/*", authAPI, "policies", hUpdatePolicy),
		r("DELETE", wire.PathPolicies+"/*", authAPI, "policies", hDelete(policyParam)),
		r("POST", wire.PathPolicies+"/*/"+wire.SegmentEntitlements, authAPI, "policies", hPolicyEntitlements(true)),
		r("DELETE", wire.PathPolicies+"/*/"+wire.SegmentEntitlements, authAPI, "policies", hPolicyEntitlements(false)),

		r("POST", wire.PathEntitlements, authAPI, "entitlements", hCreateEntitlement),
		r("GET", wire.PathEntitlements, authAPI, "entitlements", hListEntitlements),
		r("GET", wire.PathEntitlements+"/*", authAPI, "entitlements", hGet(entitlementParam, entitlementData)),
		r("PATCH", wire.PathEntitlements+"/*", authAPI, "entitlements", hUpdateEntitlement),
		r("DELETE", wire.PathEntitlements+"/*", authAPI, "entitlements", hDelete(entitlementParam)),

		r("POST", wire.PathWebhooks, authAPI, "webhooks", hCreateWebhook),
		r("GET", wire.PathWebhooks, authAPI, "webhooks", hListWebhooks),
		r("GET", wire.PathWebhooks+"/*", authAPI, "webhooks", hGet(webhookParam, webhookData)),
		r("PATCH", wire.PathWebhooks+"/*", authAPI, "webhooks", hUpdateWebhook),
		r("DELETE", wire.PathWebhooks+"/*", authAPI, "webhooks", hDelete(webhookParam)),

		r("GET", wire.PathSigningKey, authAPI, "", hSigningKey),
		r("GET", wire.PathAnalytics, authAPI, "analytics", hAnalytics),
	}
}

var routeTable = routes()

// match finds the route for method and the unescaped path segments.
func match(method string, segs []string) (*route, []string) {
	for i := range routeTable {
		rt := &routeTable[i]
		if rt.method != method || len(rt.path) != len(segs) {
			continue
		}
		var params []string
		ok := true
		for j, p := range rt.path {
			if p == "*" {
				if segs[j] == "" {
					ok = false
					break
				}
				params = append(params, segs[j])
			} else if p != segs[j] {
				ok = false
				break
			}
		}
		if ok {
			return rt, params
		}
	}
	return nil, nil
}

// relPath returns the path relative to /api/v1 and whether it was under it.
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

func splitPath(rel string) ([]string, bool) {
	parts := strings.Split(strings.TrimPrefix(rel, "/"), "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, false
		}
		parts[i] = u
	}
	return parts, true
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
		scheme, cred = h[:i], strings.TrimSpace(h[i+1:])
	}
	switch {
	case strings.EqualFold(scheme, wire.SchemeBearer):
		scheme = wire.SchemeBearer
	case strings.EqualFold(scheme, wire.SchemeLicense):
		scheme = wire.SchemeLicense
	}
	return scheme, cred
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func tierOf(method, rel string) int {
	switch {
	case method == http.MethodPost && rel == wire.PathValidateKey:
		return 0
	case method == http.MethodPost && rel == wire.PathMachines:
		return 1
	}
	return 2
}

var tierNames = [3]string{wire.TierValidation, wire.TierActivation, wire.TierManagement}
var defaultLimits = [3]int{wire.LimitValidation, wire.LimitActivation, wire.LimitManagement}

type window struct {
	start int64 // Unix seconds
	count int
}

type rateResult struct {
	limit, remaining int
	reset            int64
	retryAfter       int
	refused          bool
}

// rate counts a request of tier for bucket (when count) and reports the headers.
func (s *Server) rate(tier int, bucket string, now time.Time, count bool) rateResult {
	limit := s.cfg.limits[tier]
	unlimited := s.cfg.noLimits || limit <= 0
	if unlimited {
		limit = defaultLimits[tier]
	}
	start := now.Unix() - mod(now.Unix(), 60)
	res := rateResult{limit: limit, reset: start + 60}
	until := time.Unix(start+60, 0).Sub(now)
	res.retryAfter = int((until + time.Second - 1) / time.Second)
	if res.retryAfter < 1 {
		res.retryAfter = 1
	}
	if unlimited {
		res.remaining = limit
		return res
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := tierNames[tier] + "|" + bucket
	w := s.rates[k]
	if w == nil || w.start != start {
		w = &window{start: start}
		s.rates[k] = w
	}
	if count {
		if w.count >= limit {
			res.refused = true
		} else {
			w.count++
		}
	}
	res.remaining = max(0, limit-w.count)
	return res
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

func setRateHeaders(h http.Header, rr rateResult) {
	h.Set(wire.HeaderRateLimitLimit, strconv.Itoa(rr.limit))
	h.Set(wire.HeaderRateLimitRemaining, strconv.Itoa(rr.remaining))
	h.Set(wire.HeaderRateLimitReset, strconv.FormatInt(rr.reset, 10))
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

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.handlers.add() {
		hijackClose(w)
		return
	}
	defer s.handlers.done()

	rid := "req_" + randomHex(12)
	w.Header().Set(wire.HeaderRequestID, rid)
	rel, _ := relPath(r)
	scheme, _ := parseAuth(r.Header.Get(wire.HeaderAuthorization))
	logScheme := scheme
	if scheme != wire.SchemeBearer && scheme != wire.SchemeLicense {
		logScheme = ""
	}
	entry := &Request{Method: r.Method, Path: rel, Query: r.URL.RawQuery, Scheme: logScheme, Time: s.Now()}
	s.mu.Lock()
	s.reqs = append(s.reqs, entry)
	f := s.takeFault(r.Method, rel)
	s.mu.Unlock()

	setStatus := func(code int) {
		s.mu.Lock()
		entry.Status = code
		s.mu.Unlock()
	}

	if f != nil {
		switch {
		case f.Drop:
			hijackClose(w)
			return
		case f.Hang:
			select {
			case <-r.Context().Done():
			case <-s.done:
			}
			hijackClose(w)
			return
		case f.DropResponse:
			bw := &bufferWriter{h: http.Header{}}
			s.serve(bw, r, rel, rid)
			setStatus(bw.status)
			hijackClose(w)
			return
		default:
			status := f.Status
			if status == 0 {
				status = http.StatusInternalServerError
			}
			tier := tierOf(r.Method, rel)
			rr := s.rate(tier, s.bucket(tier, r), s.Now(), false)
			if status == http.StatusTooManyRequests {
				rr.remaining = 0
			}
			setRateHeaders(w.Header(), rr)
			if status == http.StatusTooManyRequests || (status == http.StatusServiceUnavailable && f.RetryAfter > 0) {
				secs := int((f.RetryAfter + time.Second - 1) / time.Second)
				w.Header().Set(wire.HeaderRetryAfter, strconv.Itoa(secs))
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 16<<20))
			writeError(w, &apiError{status: status, code: faultCode(status), msg: fmt.Sprintf("Injected fault: %s", http.StatusText(status))})
			setStatus(status)
			return
		}
	}
	sw := &statusWriter{ResponseWriter: w}
	s.serve(sw, r, rel, rid)
	setStatus(sw.status)
	s.cfg.logger.Debug("licentrictest request", "method", r.Method, "path", rel, "status", sw.status, "requestId", rid)
}

func hijackClose(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func faultCode(status int) string {
	switch status {
	case 400:
		return wire.ErrCodeValidation
	case 401:
		return wire.ErrCodeUnauthorized
	case 403:
		return wire.ErrCodeForbidden
	case 404:
		return wire.ErrCodeNotFound
	case 409:
		return wire.ErrCodeConflict
	case 429:
		return wire.ErrCodeRateLimited
	}
	if status >= 500 {
		return wire.ErrCodeInternal
	}
	return "ERROR"
}

// bucket is the rate-limit key of a request in tier.
func (s *Server) bucket(tier int, r *http.Request) string {
	ip := "ip:" + clientIP(r)
	if tier != 2 {
		return ip
	}
	scheme, cred := parseAuth(r.Header.Get(wire.HeaderAuthorization))
	if scheme == wire.SchemeBearer && cred != "" {
		s.mu.Lock()
		k := s.st.apiKeys[cred]
		s.mu.Unlock()
		if k != nil && !k.revoked {
			return "key:" + cred
		}
	}
	return ip
}

// serve answers a request for real: rate limit, routing, auth, scopes, body.
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
	now := s.Now()
	tier := tierOf(r.Method, rel)
	rr := s.rate(tier, s.bucket(tier, r), now, true)
	setRateHeaders(w.Header(), rr)
	if rr.refused {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 16<<20))
		w.Header().Set(wire.HeaderRetryAfter, strconv.Itoa(rr.retryAfter))
		writeError(w, errf(http.StatusTooManyRequests, wire.ErrCodeRateLimited,
			"Rate limit exceeded. Retry after %d seconds.", rr.retryAfter))
		return
	}

	_, under := relPath(r)
	var rt *route
	var params []string
	if under {
		if segs, ok := splitPath(rel); ok {
			rt, params = match(r.Method, segs)
		}
	}
	if rt == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 16<<20))
		writeError(w, errf(http.StatusNotFound, wire.ErrCodeNotFound, "No route for %s %s", r.Method, r.URL.Path))
		return
	}

	// Read the body before taking the lock; judge its size after auth.
	var body []byte
	tooLarge := false
	if r.Method != http.MethodGet && r.Body != nil {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, wire.MaxBodyBytes+1))
		if err != nil {
			writeError(w, validationError("", "invalid_body", "Could not read request body"))
			return
		}
		if len(body) > wire.MaxBodyBytes {
			tooLarge = true
			body = nil
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
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
}

func (s *Server) dispatch(r *http.Request, rt *route, params []string, body []byte, tooLarge bool) (int, any, *apiError) {
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

func (s *Server) authenticate(c *call, rt *route, header string) *apiError {
	scheme, cred := parseAuth(header)
	switch scheme {
	case "":
		if rt.auth == authValidate {
			c.env = EnvLive
			return nil
		}
		return unauthorized("Missing Authorization header")
	case wire.SchemeBearer:
		if rt.auth == authLicense {
			return unauthorized("This endpoint needs license-key authorization (Authorization: License <key>)")
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
		if rt.auth == authValidate || rt.auth == authAPI {
			return unauthorized("This endpoint needs an API key (Authorization: Bearer <key>)")
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

// Request is one request the server received.
type Request struct {
	Method string
	Path   string // relative to /api/v1, e.g. "/licenses/validate-key"
	Query  string // raw query
	Scheme string // "Bearer", "License" or ""
	Status int    // 0 when no response was sent (Drop, Hang)
	Time   time.Time
}

// Requests returns every request received since the start or the last
// ResetRequests, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.reqs))
	for i, r := range s.reqs {
		out[i] = *r
	}
	return out
}

// CountRequests counts the requests received for method ("" any) and path
// (relative to /api/v1, without query).
func (s *Server) CountRequests(method, path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.reqs {
		if (method == "" || strings.EqualFold(method, r.Method)) && r.Path == path {
			n++
		}
	}
	return n
}

// ResetRequests forgets the requests received so far.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	s.reqs = nil
	s.mu.Unlock()
}

// Fault makes the next Times matching requests fail as described.
type Fault struct {
	Method       string        // "" = any method
	Path         string        // "" = any; relative to /api/v1, e.g. "/licenses/validate-key"
	Times        int           // 0 means 1
	Status       int           // answer this status with the error envelope (429 adds Retry-After)
	RetryAfter   time.Duration // for Status 429/503: the Retry-After header value (whole seconds)
	Hang         bool          // hold the request until the client gives up or the server closes
	Drop         bool          // close the connection without any response, before handling
	DropResponse bool          // handle the request for real, then close the connection without a response
}

// InjectFault queues f; faults match in the order they were injected.
func (s *Server) InjectFault(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	s.faults = append(s.faults, &f)
	s.mu.Unlock()
}

// ClearFaults removes every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// takeFault consumes one use of the first fault matching; s.mu is held.
func (s *Server) takeFault(method, rel string) *Fault {
	for i, f := range s.faults {
		if (f.Method == "" || strings.EqualFold(f.Method, method)) && (f.Path == "" || f.Path == rel) {
			f.Times--
			cp := *f
			if f.Times <= 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
			return &cp
		}
	}
	return nil
}
