package licentrictest

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

// controlPrefix is where the control API is mounted, outside /api/v1.
const controlPrefix = "/_control"

// maxAdvanceSeconds bounds one control-API advance (100 years).
const maxAdvanceSeconds = 100 * 366 * 24 * 3600

// ControlURL returns the base URL of the control API, URL + "/_control".
// It drives a server running as its own process (licentric serve) from
// tests in any language:
//
//	POST {control}/advance?seconds=N            -> {"now": "<timestamp>"}
//	POST {control}/ratelimits?enabled=0|1       -> {"enabled": bool}
//	POST {control}/keys?env=test|live&scopes=a,b -> {"key": "lk_test_…"}
//	POST {control}/ban?licenseId=ID             -> {"licenseId": ID, "status": "banned"}
//	GET  {control}/requests                     -> [{"method", "path", "status"}, ...]
//
// Every answer is JSON with status 200; a bad parameter is a 400 and an
// unknown license a 404, in the API's error envelope, and so is an unknown
// control path. keys without scopes makes a full-access key; scopes must be
// known scope names. requests lists what Requests retains, oldest first.
// The control API has no authentication: like the whole server it listens
// only on loopback, so only processes on this machine reach it. Browsers
// on this machine are kept out: the control API refuses any request that
// carries an Origin header or a Sec-Fetch-Site other than "none" (a web
// page's), and the server's socket refuses a Host other than its loopback
// names (DNS rebinding); both answer 403 FORBIDDEN and change nothing.
// Control requests are not rate limited, not logged and meet no injected
// fault.
func (s *Server) ControlURL() string { return s.URL + controlPrefix }

func (s *Server) newControlMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+controlPrefix+"/advance", s.ctlAdvance)
	mux.HandleFunc("POST "+controlPrefix+"/ratelimits", s.ctlRateLimits)
	mux.HandleFunc("POST "+controlPrefix+"/keys", s.ctlKeys)
	mux.HandleFunc("POST "+controlPrefix+"/ban", s.ctlBan)
	mux.HandleFunc("GET "+controlPrefix+"/requests", s.ctlRequests)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.notFound(w, r) })
	return mux
}

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	if fromBrowserPage(r) {
		s.refuse(w, r, "The control API refuses requests from web pages (Origin or Sec-Fetch-Site was sent)")
		return
	}
	if r.Method == http.MethodHead {
		s.notFound(w, r)
		return
	}
	discardBody(w, r)
	serveMux(s.ctl, w, r, s.notFound)
}

func ctlBad(w http.ResponseWriter, field, format string, args ...any) {
	writeError(w, validationError(field, "invalid_query", format, args...))
}

func (s *Server) ctlAdvance(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.URL.Query().Get("seconds"), 10, 64)
	if err != nil || n < 0 || n > maxAdvanceSeconds {
		ctlBad(w, "seconds", "seconds must be an integer from 0 to %d", maxAdvanceSeconds)
		return
	}
	s.Advance(time.Duration(n) * time.Second)
	writeJSON(w, http.StatusOK, map[string]any{"now": ts(s.Now())})
}

func (s *Server) ctlRateLimits(w http.ResponseWriter, r *http.Request) {
	var on bool
	switch r.URL.Query().Get("enabled") {
	case "1", "true":
		on = true
	case "0", "false":
	default:
		ctlBad(w, "enabled", "enabled must be 0 or 1")
		return
	}
	s.SetRateLimits(on)
	writeJSON(w, http.StatusOK, map[string]any{"enabled": on})
}

func (s *Server) ctlKeys(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	env := q.Get("env")
	if env != EnvLive && env != EnvTest {
		ctlBad(w, "env", "env must be test or live")
		return
	}
	known := map[string]bool{}
	for _, sc := range wire.Scopes() {
		known[sc] = true
	}
	var scopes []string
	if raw := q.Get("scopes"); raw != "" {
		for _, sc := range strings.Split(raw, ",") {
			sc = strings.TrimSpace(sc)
			if !known[sc] {
				ctlBad(w, "scopes", "Unknown scope %q", clip(sc))
				return
			}
			scopes = append(scopes, sc)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"key": s.newAPIKey(env, scopes)})
}

func (s *Server) ctlBan(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("licenseId")
	if id == "" {
		ctlBad(w, "licenseId", "licenseId is required")
		return
	}
	for _, env := range []string{EnvTest, EnvLive} {
		if err := s.BanLicense(env, id); err == nil {
			writeJSON(w, http.StatusOK, map[string]any{"licenseId": id, "status": wire.StatusBanned})
			return
		}
	}
	writeError(w, notFound("License"))
}

type ctlRequest struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
}

func (s *Server) ctlRequests(w http.ResponseWriter, r *http.Request) {
	out := []ctlRequest{}
	for _, rq := range s.Requests() {
		out = append(out, ctlRequest{Method: rq.Method, Path: rq.Path, Status: rq.Status})
	}
	writeJSON(w, http.StatusOK, out)
}
