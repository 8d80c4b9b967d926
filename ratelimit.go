package licentric

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

// RateLimit is the rate-limit state the server reported last for one tier.
type RateLimit struct {
	Limit     int       // requests allowed in the window
	Remaining int       // requests left in the window
	Reset     time.Time // when the window resets (zero when not reported)
}

// RateLimit returns the X-RateLimit-* headers of the latest response in tier
// (TierValidation, TierActivation or TierManagement); ok is false when no
// response of that tier carried them yet.
func (c *Client) RateLimit(tier Tier) (RateLimit, bool) {
	return c.transport.rateLimit(string(tier))
}

func parseRateLimit(h http.Header) (RateLimit, bool) {
	limit, err := strconv.Atoi(strings.TrimSpace(h.Get(wire.HeaderRateLimitLimit)))
	if err != nil || limit < 0 {
		return RateLimit{}, false
	}
	l := RateLimit{Limit: limit}
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get(wire.HeaderRateLimitRemaining))); err == nil && n >= 0 {
		l.Remaining = n
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(h.Get(wire.HeaderRateLimitReset)), 10, 64); err == nil && n > 0 && n < 1<<40 {
		l.Reset = time.Unix(n, 0).UTC()
	}
	return l, true
}

// rateLimit returns the last rate-limit headers of tier.
func (t *transport) rateLimit(tier string) (RateLimit, bool) {
	t.rateMu.Lock()
	defer t.rateMu.Unlock()
	l, ok := t.rates[tier]
	return l, ok
}
