package licentric

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/licentric/licentric-go/clock"
	"github.com/licentric/licentric-go/internal/wire"
)

// ErrBudgetExhausted reports that the client's own rate budget held a
// request back: the StaleReason of a cached result served because no unit
// was free, and the error of a call whose context ended while it waited for
// one (that error matches the context's error too).
// It matches ErrRateLimited and ErrUnavailable as well.
var ErrBudgetExhausted error = &sentinelError{msg: "licentric: client rate budget for this minute is spent", is: []error{ErrRateLimited, ErrUnavailable}}

// windowLength is the length of the service's fixed rate-limit windows.
const windowLength = 60 * time.Second

// boundaryMargin is how close to a window's end a unit taken from the
// fleet's shared budget is charged to the next window as well.
const boundaryMargin = 2 * time.Second

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

// budget keeps the client inside the service's rate limits (docs/wire-protocol.md §9,
// §11.1): fixed 60-second windows on the service's clock, whose bounds the
// client learns from the service itself rather than from its own clock,
// which may run minutes ahead or behind:
//
//   - A window is known by its X-RateLimit-Reset (the service's Unix second
//     at which it ends). It changes only when a response reports a later
//     reset, or when the client's clock shows that it has certainly ended
//     (60 s after the first answer that reported it, or the Retry-After of
//     a 429).
//   - While no window is known (at start, after an idle spell, after a 429's
//     hold) the budget sends one request, a probe, and lets the rest wait
//     for its answer, which names the window and how much of it is used.
//   - Within a known window each attempt takes a unit before it is sent;
//     the answers correct the count from X-RateLimit-Limit/Remaining (other
//     processes sharing the limit), and units still in flight when a window
//     changes count in the new one until their answers say otherwise.
//   - A 429 holds the whole tier until its Retry-After, then probes.
//
// A server that sends no rate-limit headers gets windows on the client's
// clock instead. With a Fleet, units of every tier also come from the
// fleet's shared counter of the same tier and window.
type budget struct {
	clock   clock.Clock
	maxWait time.Duration // cap on a 429's hold (the retry policy's MaxWait)
	fleet   Fleet
	logger  *slog.Logger
	obs     Observer // nil: nothing observed

	mu      sync.Mutex
	tiers   [3]tierBudget
	changed chan struct{} // closed and replaced whenever an answer changes a tier
}

type tierBudget struct {
	limit    int  // units per window; 0: no budget for the tier
	explicit bool // set by WithRateBudget: the server's limit does not raise it

	windowEnd int64     // the current window's X-RateLimit-Reset; 0: none known
	endBy     time.Time // on the client's clock, the window has ended by then
	local     bool      // the server sends no rate headers: windows on the client's clock

	// taken counts the client's units that may count in the current
	// window: those taken in it, and those in flight from earlier ones.
	taken int
	// counted is the most the server has reported counting in the window
	// (limit − remaining); beyond taken it reveals other clients. pending
	// is the client's units the server may not have counted yet: those in
	// flight at the answer that reported counted, and those taken since.
	counted  int
	pending  int
	inflight int

	blocked time.Time // a 429's hold, on the client's clock
	probing bool      // a probe is in flight
	// lastTaken is when the last unit was taken while no window was known
	// (windowEnd 0): a window later, every unit taken before it that is
	// no longer in flight has counted in a window that has ended.
	lastTaken time.Time

	// offset is the server clock's lead on the client's, from the last
	// consistent Date header (truncated to the second: up to 1 s behind).
	offset      time.Duration
	offsetKnown bool
	loggedDown  bool

	// sharedWindow is the window (windowEnd) in which the fleet's shared
	// counter last granted a unit: in it, units the other members took
	// through the counter count against the local share too.
	sharedWindow int64
}

// left is the number of units free in the current window: the limit less
// the larger of the client's own count and the server's count plus what
// the server may not have seen yet.
func (t *tierBudget) left(limit int) int { return limit - max(t.taken, t.counted+t.pending) }

// unit is one unit of the budget taken for one attempt; the zero value is
// no unit.
type unit struct {
	taken  bool
	tier   int
	window int64 // windowEnd when taken; 0 for a probe
	probe  bool
	sentAt time.Time
}

// budgetSetting is one tier's configuration from the options.
type budgetSetting struct {
	set   bool
	limit int // 0: off
}

// newBudget builds the budget from the options; nil when every tier is off.
func newBudget(clk clock.Clock, maxWait time.Duration, settings [3]budgetSetting, f Fleet, logger *slog.Logger) *budget {
	b := &budget{clock: clk, maxWait: maxWait, fleet: f, logger: logger, changed: make(chan struct{})}
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

// take takes a unit of tier for an attempt about to be sent, waiting on the
// clock (or for an answer that changes the tier) until one is free. With
// noWait it fails at once instead. A wait that outlives ctx fails with an
// error matching both ErrBudgetExhausted and ctx's error.
func (b *budget) take(ctx context.Context, tier string, noWait bool) (unit, error) {
	i := tierIndex(tier)
	if b == nil || i < 0 {
		return unit{}, nil
	}
	var waitFrom time.Time // when an observed wait began
	if b.obs != nil {
		defer func() {
			if !waitFrom.IsZero() {
				b.obs.BudgetWait(ctx, Tier(tier), max(b.clock.Now().Sub(waitFrom), 0))
			}
		}()
	}
	for first := true; ; first = false {
		if ctx.Err() != nil {
			if first {
				return unit{}, ctxError(ctx) // ended before it waited for anything
			}
			return unit{}, fmt.Errorf("%w: %w", ErrBudgetExhausted, ctxError(ctx))
		}
		u, until, wake, ok := b.tryTake(i)
		if ok && b.fleet != nil {
			ok, until = b.takeShared(ctx, u)
			if !ok {
				b.giveBack(u)
			}
		}
		if ok {
			return u, nil
		}
		if noWait {
			return unit{}, ErrBudgetExhausted
		}
		if b.obs != nil && waitFrom.IsZero() {
			waitFrom = b.clock.Now()
		}
		var timer <-chan time.Time
		if !until.IsZero() {
			timer = b.clock.After(until.Sub(b.clock.Now()))
		}
		select {
		case <-ctx.Done():
			return unit{}, fmt.Errorf("%w: %w", ErrBudgetExhausted, ctxError(ctx))
		case <-timer:
		case <-wake:
		}
	}
}

// tryTake takes a unit of tier i if one is free now. Otherwise it returns
// when to look again (zero: only when wake is closed).
func (b *budget) tryTake(i int) (u unit, until time.Time, wake <-chan struct{}, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := &b.tiers[i]
	if t.limit <= 0 {
		return unit{}, time.Time{}, nil, true
	}
	now := b.clock.Now()
	b.expire(t, now)
	limit := t.limit
	switch {
	case now.Before(t.blocked):
		return unit{}, t.blocked, b.changed, false
	case t.windowEnd == 0 && t.probing:
		// A probe is out; its answer will name the window. Look again at
		// the latest when the retry policy would have given up waiting.
		return unit{}, now.Add(b.maxWait), b.changed, false
	case t.windowEnd == 0:
		if t.left(limit) <= 0 {
			return unit{}, t.lastTaken.Add(windowLength), b.changed, false
		}
		t.lastTaken = now
		t.probing = true
		t.taken++
		t.pending++
		t.inflight++
		return unit{taken: true, tier: i, probe: true}, time.Time{}, nil, true
	case t.left(limit) <= 0:
		return unit{}, t.endBy, b.changed, false
	}
	t.taken++
	t.pending++
	t.inflight++
	return unit{taken: true, tier: i, window: t.windowEnd}, time.Time{}, nil, true
}

// expire forgets a window that has certainly ended on the client's clock:
// the next unit is a probe (or, without rate headers, starts a window on
// the client's clock). A clock that moved back brings endBy within reach.
func (b *budget) expire(t *tierBudget, now time.Time) {
	if t.windowEnd == 0 {
		// No answer has named a window (an outage: every attempt failed
		// without one). Units taken a window ago or more count in no
		// window that is still open; without this, a long outage would
		// use the tier up for good.
		if t.taken > t.inflight && !now.Before(t.lastTaken.Add(windowLength)) {
			t.taken, t.counted, t.pending = t.inflight, 0, t.inflight
		}
		return
	}
	if t.endBy.Sub(now) > windowLength {
		t.endBy = now.Add(windowLength)
	}
	if now.Before(t.endBy) {
		return
	}
	if t.local {
		b.localWindow(t, now)
		return
	}
	t.windowEnd = 0
	t.taken, t.counted, t.pending = t.inflight, 0, t.inflight
}

// localWindow starts the client-clock window that contains now.
func (b *budget) localWindow(t *tierBudget, now time.Time) {
	s := now.Unix()
	end := s - mod(s, int64(windowLength/time.Second)) + int64(windowLength/time.Second)
	if end != t.windowEnd {
		t.taken, t.counted, t.pending = t.inflight, 0, t.inflight
	}
	t.windowEnd, t.endBy, t.local = end, time.Unix(end, 0), true
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// takeShared takes u's unit from the fleet's shared counter too, for every
// unit (a Fleet whose backend is down answers at once and charges the units
// it could not count when the backend is back). When the fleet fails, the
// client keeps to its local share of the limit; ok false means the shared
// window (or the local share) is spent (until: when to look again).
func (b *budget) takeShared(ctx context.Context, u unit) (ok bool, until time.Time) {
	b.mu.Lock()
	t := &b.tiers[u.tier]
	now := b.clock.Now()
	window, limit, endBy := u.window, t.limit, t.endBy
	chargePrev := false
	if window == 0 {
		// A probe: key it by the window the service's clock is in, as
		// the last Date told its lead (or by the client's clock).
		est := now
		if t.offsetKnown {
			est = now.Add(t.offset + time.Second/2)
		}
		s := est.Unix()
		window = s - mod(s, 60) + 60
		endBy = now.Add(time.Unix(window, 0).Sub(est))
		// Just past a boundary by the estimate, it may still be before it.
		chargePrev = est.Sub(time.Unix(window-60, 0)) < boundaryMargin
	}
	b.mu.Unlock()
	if chargePrev {
		fctx, cancel := context.WithTimeout(ctx, fleetTimeout)
		_, _ = b.fleet.TakeBudget(fctx, budgetTiers[u.tier], time.Unix(window-60, 0), limit)
		cancel()
	}

	fctx, cancel := context.WithTimeout(ctx, fleetTimeout)
	got, err := b.fleet.TakeBudget(fctx, budgetTiers[u.tier], time.Unix(window, 0), limit)
	if (err != nil || got) && endBy.Sub(now) < boundaryMargin {
		// Sent this close to the window's end, the request may land in the
		// next one, where the other members cannot see it: charge both.
		// Also when the fleet failed: a unit sent on the local share is
		// owed to both windows when the fleet is back.
		// (A Fleet that cannot count the unit now owes it to the window.)
		_, _ = b.fleet.TakeBudget(fctx, budgetTiers[u.tier], time.Unix(window+60, 0), limit)
	}
	cancel()
	if err != nil && ctx.Err() == nil && b.obs != nil {
		b.obs.FleetFallback(ctx, FleetOpBudget)
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return false, time.Time{} // take reports the context's end
		}
		if !t.loggedDown {
			t.loggedDown = true
			b.logger.Warn("licentric: fleet budget unavailable; using the local share", "error", err.Error())
		}
		// Keep to the local share; this unit counts in taken already. In
		// a window the shared counter granted units in (the fleet failed
		// during it), what the service counted from the other members
		// counts against the share as well: they may have taken the rest
		// of the limit through the counter. In a window this member has
		// spent on its own, only its own units do: every member keeps to
		// its share. The service's own count is never to be passed.
		share := max(1, b.fleet.LocalShare(t.limit))
		used := t.taken
		if u.window == 0 || t.sharedWindow >= window {
			used = max(used, t.counted+t.pending)
		}
		if used > share || t.counted+t.pending > t.limit {
			return false, endBy
		}
		return true, time.Time{}
	}
	t.sharedWindow = max(t.sharedWindow, window)
	if t.loggedDown {
		t.loggedDown = false
		b.logger.Info("licentric: fleet budget available again")
	}
	if !got {
		return false, endBy
	}
	return true, time.Time{}
}

// giveBack returns a unit that was taken but never sent.
func (b *budget) giveBack(u unit) {
	if b == nil || !u.taken {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := &b.tiers[u.tier]
	t.inflight = max(0, t.inflight-1)
	t.taken = max(0, t.taken-1)
	t.pending = max(0, t.pending-1)
	if u.probe {
		t.probing = false
	}
	b.broadcast()
}

// broadcast wakes every take waiting for an answer.
func (b *budget) broadcast() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// observe settles the unit of an attempt that got resp (nil after a
// transport error) and learns the tier's window from resp's headers.
func (b *budget) observe(u unit, tier string, resp *http.Response) {
	i := tierIndex(tier)
	if b == nil || i < 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	defer b.broadcast()
	t := &b.tiers[i]
	if u.taken {
		t.inflight = max(0, t.inflight-1)
		if u.probe {
			t.probing = false
		}
	}
	if t.limit <= 0 || resp == nil {
		return
	}
	now := b.clock.Now()
	l, hasRate := parseRateLimit(resp.Header)
	if hasRate && l.Limit > 0 && !t.explicit {
		t.limit = l.Limit
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		// The service refused: hold the tier until Retry-After (capped by
		// the retry policy's MaxWait, like every wait of a retry), then
		// probe. The window is full, and it ends by the Retry-After.
		hold := windowLength
		if d, ok := parseRetryAfter(resp.Header.Get(wire.HeaderRetryAfter), now); ok {
			hold = d
		}
		hold = min(hold, b.maxWait)
		if until := now.Add(hold); until.After(t.blocked) {
			t.blocked = until
		}
		if hasRate && !l.Reset.IsZero() && l.Reset.Unix() >= t.windowEnd {
			if l.Reset.Unix() > t.windowEnd {
				t.taken = t.inflight
			}
			t.windowEnd, t.local = l.Reset.Unix(), false
			t.counted, t.pending = t.limit, t.inflight
		}
		t.endBy = now.Add(hold)
		return
	}
	if !hasRate || l.Reset.IsZero() || l.Limit <= 0 {
		if t.windowEnd == 0 || t.local {
			b.localWindow(t, now)
		}
		return
	}
	reset := l.Reset.Unix()
	counted := max(0, l.Limit-l.Remaining)
	endBy, offset, dated := windowEndByDate(now, reset, resp.Header.Get("Date"))
	if dated {
		t.offset, t.offsetKnown = offset, true
	}
	own := 0
	if u.taken {
		own = 1 // this answer's unit counted in its window
	}
	switch {
	case t.windowEnd == 0 || t.local || reset > t.windowEnd:
		t.windowEnd, t.local, t.endBy = reset, false, endBy
		t.taken, t.counted, t.pending = t.inflight+own, counted, t.inflight
	case reset == t.windowEnd:
		t.counted = max(t.counted, counted)
		t.pending = t.inflight
		if endBy.Before(t.endBy) {
			t.endBy = endBy
		}
	case u.taken && u.window < t.windowEnd:
		// Taken before this window began, in flight when it did, and
		// counted in an earlier one after all.
		t.taken = max(0, t.taken-1)
	}
}

// windowEndByDate bounds, on the client's clock, the end of the window that ends
// at reset on the server's, for an answer received at now: within 60 s of
// now (the server answered inside that window), and sooner by what the
// answer's Date header tells of the server's time, when it is consistent
// with reset (a Date truncated to the second shows at most the time left).
// It also returns the server clock's offset from the client's as the Date
// tells it (ok false without a consistent Date).
func windowEndByDate(now time.Time, reset int64, date string) (endBy time.Time, offset time.Duration, ok bool) {
	endBy = now.Add(windowLength)
	if date == "" {
		return endBy, 0, false
	}
	d, err := http.ParseTime(date)
	if err != nil {
		return endBy, 0, false
	}
	left := reset - d.Unix()
	if left <= 0 || left > int64(windowLength/time.Second) {
		return endBy, 0, false // the Date is from another clock than the limiter's
	}
	return minTime(endBy, now.Add(time.Duration(left)*time.Second)), d.Sub(now), true
}

// WithRateBudget sets the client's budget for tier (TierValidation,
// TierActivation or TierManagement) to perMinute requests per fixed
// one-minute window of the service. By default the budget of each tier is
// the service's documented limit (60 validations, 10 activations, 120
// management requests a minute), raised or lowered to the X-RateLimit-Limit
// the service reports; a budget set here is never raised. A perMinute of 0
// turns the tier's budget off; a negative one is refused.
//
// Every request (and every retry) takes one unit before it is sent; with
// none left it waits for the next window, within its context. The windows
// are the service's, learned from its X-RateLimit-Reset headers, so a
// client clock that runs ahead or behind does not send into a 429. Lower
// the budget when several processes share one IP address (validation and
// activation are limited per IP) or one API key, or share it with WithFleet.
func WithRateBudget(tier Tier, perMinute int) Option {
	return func(c *config) error {
		i := tierIndex(string(tier))
		if i < 0 {
			return fmt.Errorf("%w: unknown rate-limit tier %q", ErrInvalidArgument, sanitize(string(tier), 32))
		}
		if perMinute < 0 {
			return fmt.Errorf("%w: rate budget must not be negative", ErrInvalidArgument)
		}
		c.budgets[i] = budgetSetting{set: true, limit: perMinute}
		return nil
	}
}

// WithoutRateBudget turns the client-side rate budget off for every tier:
// requests are sent at once, and the service's 429 answers (retried as the
// retry policy says) are the only limit. It wins over WithRateBudget
// wherever either appears among the options.
func WithoutRateBudget() Option {
	return func(c *config) error {
		c.budgetOff = true
		return nil
	}
}
