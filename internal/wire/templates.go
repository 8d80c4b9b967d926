package wire

import "strings"

// Route is one endpoint: an HTTP method and a path template relative to
// APIPrefix, whose "{name}" segments each stand for one path segment (an id,
// a license key, a meter name). A template never holds an identifier or a
// key, so it can name a request in telemetry (OpenTelemetry's url.template)
// without revealing what it was about.
type Route struct {
	Method   string
	Template string
}

// Path template wildcards.
const (
	WildcardID   = "{id}"
	WildcardKey  = "{key}"
	WildcardName = "{name}"
)

// routes lists every endpoint of the API (docs/wire-protocol.md §2, §6, §7, §12).
var routes = func() []Route {
	var rs []Route
	add := func(method, template string) { rs = append(rs, Route{Method: method, Template: template}) }
	crud := func(collection string) {
		id := collection + "/" + WildcardID
		add("POST", collection)
		add("GET", collection)
		add("GET", id)
		add("PATCH", id)
		add("DELETE", id)
	}
	lic := PathLicenses + "/" + WildcardID
	add("POST", PathValidateKey)
	crud(PathLicenses)
	add("GET", PathLicenses+"/"+SegmentByKey+"/"+WildcardKey)
	for _, action := range []string{ActionSuspend, ActionReinstate, ActionRevoke, ActionRenew, SegmentCheckout} {
		add("POST", lic+"/"+action)
	}
	add("POST", lic+"/"+SegmentEntitlements)
	add("DELETE", lic+"/"+SegmentEntitlements)

	machine := PathMachines + "/" + WildcardID
	add("POST", PathMachines)
	add("GET", PathMachines)
	add("GET", machine)
	add("DELETE", machine)
	add("POST", machine+"/"+SegmentHeartbeat)

	crud(PathProducts)
	crud(PathPolicies)
	add("POST", PathPolicies+"/"+WildcardID+"/"+SegmentEntitlements)
	add("DELETE", PathPolicies+"/"+WildcardID+"/"+SegmentEntitlements)
	crud(PathEntitlements)
	crud(PathWebhooks)

	add("GET", PathSigningKey)
	add("GET", PathAnalytics)

	agent := PathAgents + "/" + WildcardID
	add("POST", PathAgents)
	add("GET", PathAgents)
	add("GET", agent)
	add("DELETE", agent)
	add("PUT", agent+"/"+SegmentMeters+"/"+WildcardName)
	add("POST", PathAuthorize)
	add("POST", PathVerify)
	return rs
}()

// Routes returns every endpoint of the API, in a new slice.
func Routes() []Route { return append([]Route(nil), routes...) }

// TemplateOf returns the template of the route that a request of method to
// path (escaped, relative to APIPrefix, without a query) matches: "GET" and
// "/licenses/by-key/LIC-1234-…" give "/licenses/by-key/{key}". Where two
// routes match, the one with a literal segment further left wins (as in
// net/http.ServeMux: "/licenses/validate-key" over "/licenses/{id}"). ok is
// false when no route matches.
func TemplateOf(method, path string) (template string, ok bool) {
	best, bestScore := "", -1
	for i := range routes {
		rt := &routes[i]
		if rt.Method != method {
			continue
		}
		if score, match := matchTemplate(rt.Template, path); match && score > bestScore {
			best, bestScore = rt.Template, score
		}
	}
	return best, bestScore >= 0
}

// matchTemplate reports whether path matches template segment by segment
// (a wildcard matches any one non-empty segment) and scores the match: a
// bit per literal segment, the leftmost the most significant.
func matchTemplate(template, path string) (score int, ok bool) {
	if !strings.HasPrefix(path, "/") {
		return 0, false
	}
	t, p := template[1:], path[1:]
	for {
		ts, trest, tmore := strings.Cut(t, "/")
		ps, prest, pmore := strings.Cut(p, "/")
		if tmore != pmore {
			return 0, false
		}
		score <<= 1
		switch {
		case len(ts) > 1 && ts[0] == '{' && ts[len(ts)-1] == '}':
			if ps == "" {
				return 0, false
			}
		case ts != ps:
			return 0, false
		default:
			score |= 1
		}
		if !tmore {
			return score, true
		}
		t, p = trest, prest
	}
}
