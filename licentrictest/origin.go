package licentrictest

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/licentric/licentric-go/internal/wire"
)

// Browsers are the one client on the user's machine that can be made to
// talk to the server by someone else: any page can send requests to
// http://127.0.0.1:PORT, and a page whose own name is made to resolve to
// 127.0.0.1 (DNS rebinding) can even read the answers. Two checks keep
// them out:
//
//   - On the server's own socket, the Host header must be a loopback name
//     of this server: 127.0.0.1:PORT, localhost:PORT or [::1]:PORT (the bare
//     names on port 80). A rebinding page sends its own name and is refused.
//   - The control API refuses any request a browser marks as coming from a
//     page: one with an Origin header, or with Sec-Fetch-Site other than
//     "none" (an address typed by the user). Tools (curl, Python, Go) send
//     neither.
//
// Both answer 403 FORBIDDEN in the error envelope, before anything else
// happens: no rate budget, no log entry, no state change. Requests that
// never crossed the socket (Transport, WithInMemory, ServeHTTP called by
// the caller's own server) have no Host to check.

// loopbackHosts returns the Host values a server listening on port accepts.
func loopbackHosts(port int) map[string]bool {
	p := strconv.Itoa(port)
	hosts := map[string]bool{}
	for _, h := range []string{"127.0.0.1", "localhost", "[::1]"} {
		hosts[h+":"+p] = true
		if port == 80 {
			hosts[h] = true
		}
	}
	return hosts
}

// listenerHandler is the handler of the server's own socket: ServeHTTP
// behind the Host check.
func (s *Server) listenerHandler(port int) http.Handler {
	hosts := loopbackHosts(port)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hosts[strings.ToLower(r.Host)] {
			s.refuse(w, r, "Host %q is not this server's: use 127.0.0.1:%d, localhost:%d or [::1]:%d",
				clip(r.Host), port, port, port)
			return
		}
		s.ServeHTTP(w, r)
	})
}

// fromBrowserPage reports whether a browser marked r as sent by a page.
func fromBrowserPage(r *http.Request) bool {
	if _, ok := r.Header["Origin"]; ok {
		return true
	}
	site := r.Header.Get("Sec-Fetch-Site")
	return site != "" && site != "none"
}

// refuse answers 403 FORBIDDEN in the error envelope, with a request id
// and, on the API, the rate-limit headers of the request's window (not
// counted).
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, format string, args ...any) {
	discardBody(w, r)
	w.Header().Set(wire.HeaderRequestID, "req_"+randomHex(12))
	w.Header().Set("Date", s.Now().UTC().Format(http.TimeFormat))
	if rel, ok := relPath(r); ok {
		tier := wire.TierOf(r.Method, rel)
		setRateHeaders(w.Header(), s.limits.check(tier, s.bucket(tier, r), s.clock.now(), false))
	}
	writeError(w, errf(http.StatusForbidden, wire.ErrCodeForbidden, format, args...))
}
