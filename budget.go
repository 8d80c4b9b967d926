package licentric

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

// ErrBudgetExhausted is the StaleReason of a cached result served because
// the client's own rate budget for validations was spent (see
// WithRateBudget). It matches ErrRateLimited as well.
var ErrBudgetExhausted = fmt.Errorf("%w: client rate budget for this minute is spent", ErrRateLimited)

// windowSeconds is the length of the service's fixed rate-limit windows.
const windowSeconds = 60

// maxResetAhead bounds how far ahead of the client's clock a reported
// X-RateLimit-Reset may lie and still be believed.
const maxResetAhead = 2 * windowSeconds * time.Second

// budgetTiers are the tiers in the order of budget.tiers.
var budgetTiers = [3]string{wire.TierValidation, wire.TierActivation, wire.TierManagement}

func tierIndex(tier string) int {
	for i, t := range budgetTiers {
		if t == tier {
			return i
		}
	}
	return -1
}

// rateBudget keeps the client inside the service's rate limits: fixed
// windows aligned to the Unix minute of the client's clock, as the server
// counts them (contract §11.1). Each attempt takes one unit before it is
// sent and waits, on the clock, for the next window when none is left.
// Responses correct the count from their X-RateLimit-* headers (the
// server's limit, how much of the window others used, a server clock
// ahead of the client's), and a 429's Retry-After holds every attempt of
// the tier back.
type rateBudget struct {
	clock   Clock
	maxWait time.Duration // cap on a Retry-After hold (the retry policy's MaxWait)

	mu    sync.Mutex
	tiers [3]tierBudget
}

type tierBudget struct {
	limit     int   // units per window; 0: no budget for the tier
	explicit  bool  // limit set by WithRateBudget: the server's limit does not raise it
	windowEnd int64 // Unix seconds at which the current window ends; 0: none yet
	// taken counts the client's units that may count in the current
	// window: those taken in it, and those still in flight from earlier
	// windows (the server may count them in this one).
	taken int
	// counted is the most the server has reported counting in the current
	// window (X-RateLimit-Limit − X-RateLimit-Remaining). Beyond taken, it
	// reveals other clients sharing the limit (other processes on the same
	// IP address or API key).
	counted  int
	inflight int // units taken whose response has not been observed
	blocked  time.Time
}

// left is the number of units free in the current window. Counting the
// client's own requests once (taken) and the server's view once (counted)
// uses the whole limit when the client is alone and backs off by what
// others use when it is not.
func (t *tierBudget) left() int {
	return t.limit - max(t.taken, t.counted)
}

// roll starts the window that contains now, if the current one is over.
// Units still in flight count in the new window (the server may count them
// there) until their responses show otherwise: so every unit in flight is
// always part of taken.
func (t *tierBudget) roll(now time.Time) {
	s := now.Unix()
	if t.windowEnd != 0 && s < t.windowEnd {
		return
	}
	t.windowEnd = s - mod(s, windowSeconds) + windowSeconds
	t.taken, t.counted = t.inflight, 0
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// budgetToken records a unit taken for one attempt. The zero value is no
// unit.
type budgetToken struct {
	taken  bool
	tier   int   // index into rateBudget.tiers
	window int64 // windowEnd when taken
}

var noToken = budgetToken{}

// take takes a unit of tier at now if one is free. Otherwise it returns
// when to try again.
func (b *rateBudget) take(i int) (budgetToken, time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := &b.tiers[i]
	if t.limit <= 0 {
		return noToken, time.Time{}, true
	}
	now := b.clock.Now()
	t.roll(now)
	switch {
	case now.Before(t.blocked):
		return noToken, t.blocked, false
	case t.left() <= 0:
		return noToken, time.Unix(t.windowEnd, 0), false
	}
	t.taken++
	t.inflight++
	return budgetToken{taken: true, tier: i, window: t.windowEnd}, time.Time{}, true
}

// tryTake takes a unit of tier without waiting; ok is false when the tier's
// budget is spent (or held back by a 429) at the moment.
func (b *rateBudget) tryTake(tier string) (budgetToken, bool) {
	i := tierIndex(tier)
	if b == nil || i < 0 {
		return noToken, true
	}
	tok, _, ok := b.take(i)
	return tok, ok
}

// wait takes a unit of tier, waiting on the clock until one is free or ctx
// ends (then it returns ctx's error and takes nothing).
func (b *rateBudget) wait(ctx context.Context, tier string) (budgetToken, error) {
	i := tierIndex(tier)
	if b == nil || i < 0 {
		return noToken, nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return noToken, err
		}
		tok, until, ok := b.take(i)
		if ok {
			return tok, nil
		}
		select {
		case <-ctx.Done():
			return noToken, ctx.Err()
		case <-b.clock.After(until.Sub(b.clock.Now())):
		}
	}
}

// giveBack returns a unit that was taken but never used.
func (b *rateBudget) giveBack(tok budgetToken) {
	if b == nil || !tok.taken {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// Every unit in flight counts in the current window (see roll), so a
	// unit never used leaves it.
	t := &b.tiers[tok.tier]
	if t.limit > 0 {
		t.roll(b.clock.Now())
	}
	t.inflight = max(0, t.inflight-1)
	t.taken = max(0, t.taken-1)
}

// observe settles the unit of an attempt that got resp (nil after a
// transport error) and corrects the tier from resp's headers.
func (b *rateBudget) observe(tok budgetToken, tier string, resp *http.Response) {
	i := tierIndex(tier)
	if b == nil || i < 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := &b.tiers[i]
	now := b.clock.Now()
	if t.limit > 0 {
		// Roll first: a unit in flight at the roll counts in the new window
		// until its response says where the server counted it.
		t.roll(now)
	}
	if tok.taken {
		t.inflight = max(0, t.inflight-1)
	}
	if t.limit <= 0 || resp == nil {
		return
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		// The service refused: hold the tier back for Retry-After (capped by
		// the retry policy's MaxWait, like every wait of a retry), or until
		// the reported reset.
		until := time.Time{}
		if d, ok := parseRetryAfter(resp.Header.Get(wire.HeaderRetryAfter), now); ok {
			until = now.Add(min(d, b.maxWait))
		} else if l, ok := parseRateLimit(resp.Header); ok && !l.Reset.IsZero() && l.Reset.Sub(now) <= maxResetAhead {
			until = now.Add(min(l.Reset.Sub(now), b.maxWait))
		} else {
			until = now.Add(min(time.Unix(t.windowEnd, 0).Sub(now), b.maxWait))
		}
		if until.After(t.blocked) {
			t.blocked = until
		}
		return
	}
	l, ok := parseRateLimit(resp.Header)
	if !ok {
		return
	}
	if l.Limit > 0 && !t.explicit {
		t.limit = l.Limit
	}
	if l.Reset.IsZero() || l.Limit <= 0 {
		return
	}
	reset := l.Reset.Unix()
	counted := max(0, l.Limit-l.Remaining)
	switch {
	case reset == t.windowEnd:
		t.counted = max(t.counted, counted)
	case reset > t.windowEnd && l.Reset.Sub(now) <= maxResetAhead:
		// The server's clock is ahead: its window is already the next one.
		t.windowEnd = reset
		t.taken, t.counted = t.inflight, counted
	case tok.taken && tok.window < t.windowEnd && reset < t.windowEnd:
		// Taken in an earlier window, in flight when this one began, and
		// counted in an earlier one after all.
		t.taken = max(0, t.taken-1)
	}
}

// budgetSetting is one tier's configuration from the options.
type budgetSetting struct {
	set   bool
	limit int // 0: off
}

// newRateBudget builds the budget from the options' settings; nil when
// every tier is off.
func newRateBudget(clock Clock, maxWait time.Duration, settings [3]budgetSetting) *rateBudget {
	b := &rateBudget{clock: clock, maxWait: maxWait}
	defaults := [3]int{wire.LimitValidation, wire.LimitActivation, wire.LimitManagement}
	on := false
	for i := range b.tiers {
		limit := defaults[i]
		if settings[i].set {
			limit = settings[i].limit
			b.tiers[i].explicit = true
		}
		b.tiers[i].limit = limit
		on = on || limit > 0
	}
	if !on {
		return nil
	}
	return b
}

// WithRateBudget sets the client's budget for tier (TierValidation,
// TierActivation or TierManagement) to perMinute requests per fixed
// one-minute window. By default the budget of each tier is the service's
// documented limit (60 validations, 10 activations, 120 management
// requests a minute), raised or lowered to the X-RateLimit-Limit the
// service reports; a budget set here is never raised. A perMinute of 0
// turns the tier's budget off; a negative one is refused.
//
// Every request (and every retry) takes one unit before it is sent; with
// none left it waits for the next window, within its context. Lower the
// budget when several processes share one IP address (validation and
// activation are limited per IP) or one API key.
func WithRateBudget(tier string, perMinute int) Option {
	return func(c *Client) error {
		i := tierIndex(tier)
		if i < 0 {
			return fmt.Errorf("%w: unknown rate-limit tier %q", ErrInvalidArgument, sanitize(tier, 32))
		}
		if perMinute < 0 {
			return fmt.Errorf("%w: rate budget must not be negative", ErrInvalidArgument)
		}
		c.budgetSettings[i] = budgetSetting{set: true, limit: perMinute}
		return nil
	}
}

// WithoutRateBudget turns the client-side rate budget off for every tier:
// requests are sent at once, and the service's 429 answers (retried as the
// retry policy says) are the only limit.
func WithoutRateBudget() Option {
	return func(c *Client) error {
		for i := range c.budgetSettings {
			c.budgetSettings[i] = budgetSetting{set: true}
		}
		return nil
	}
}
