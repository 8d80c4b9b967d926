package licentrictest

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

// limiter counts requests in fixed 60-second windows aligned to the server
// clock's Unix minute (docs/wire-protocol.md §11.1), per tier and bucket.
type limiter struct {
	mu      sync.Mutex
	limits  map[string]int // per tier; <= 0: that tier is unlimited
	off     bool           // WithoutRateLimits / SetRateLimits(false)
	windows map[string]*window
}

var defaultLimits = map[string]int{
	wire.TierValidation: wire.LimitValidation,
	wire.TierActivation: wire.LimitActivation,
	wire.TierManagement: wire.LimitManagement,
}

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

// SetRateLimits turns rate limiting on or off while the server runs. On,
// the limits are those of WithRateLimits (or the defaults); windows already
// counted are kept.
func (s *Server) SetRateLimits(enabled bool) {
	s.limits.mu.Lock()
	s.limits.off = !enabled
	s.limits.mu.Unlock()
}

// RateLimitsEnabled reports whether rate limiting is on.
func (s *Server) RateLimitsEnabled() bool {
	s.limits.mu.Lock()
	defer s.limits.mu.Unlock()
	return !s.limits.off
}

// check counts a request of tier for bucket (when count) and reports the
// headers. Retry-After is the whole seconds to the window's end on the
// server clock, at least 1; with the default flowing clock that is real
// time too.
func (l *limiter) check(tier, bucket string, now time.Time, count bool) rateResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	limit := l.limits[tier]
	unlimited := l.off || limit <= 0
	if unlimited {
		limit = defaultLimits[tier]
	}
	start := now.Unix() - mod(now.Unix(), 60)
	res := rateResult{limit: limit, reset: start + 60}
	until := time.Unix(start+60, 0).Sub(now)
	res.retryAfter = max(1, int((until+time.Second-1)/time.Second))
	if unlimited {
		res.remaining = limit
		return res
	}
	k := tier + "|" + bucket
	w := l.windows[k]
	if w == nil || w.start != start {
		w = &window{start: start}
		l.windows[k] = w
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

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// bucket is the rate-limit key of a request in tier: the client IP, or for
// MANAGEMENT the Bearer credential when it is a known, unrevoked API key or
// a live agent token (so random tokens can't mint fresh budgets).
func (s *Server) bucket(tier string, r *http.Request) string {
	ip := "ip:" + clientIP(r)
	if tier != wire.TierManagement {
		return ip
	}
	scheme, cred := parseAuth(r.Header.Get(wire.HeaderAuthorization))
	if scheme != wire.SchemeBearer || cred == "" {
		return ip
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.st.apiKeys[cred]; k != nil && !k.revoked {
		return "key:" + cred
	}
	if tok := s.st.agentToken(cred); tok != nil {
		return "agent:" + tok.hash
	}
	return ip
}
