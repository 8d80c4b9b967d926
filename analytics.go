package licentric

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/licentric/licentric-go/internal/flight"
	"github.com/licentric/licentric-go/internal/wire"
)

// DefaultAnalyticsTTL is how long AnalyticsService.Get reuses the last
// answer. The service computes analytics on every request and its docs ask
// clients to cache them for 30 to 60 seconds; 45 s sits in the middle, so a
// dashboard that refreshes every few seconds asks the service about once a
// minute and its numbers are never more than a minute old.
const DefaultAnalyticsTTL = 45 * time.Second

// AnalyticsService reads the account's analytics (GET /analytics), for the
// environment of the client's API key (which needs the analytics:read
// scope). Reach it as Client.Analytics.
//
// It keeps the last answer for DefaultAnalyticsTTL on the client's clock
// (see WithClock) and lets concurrent calls share one request; errors are
// never kept.
type AnalyticsService struct {
	client *Client

	mu     sync.Mutex
	last   *Analytics // as received; callers get copies
	lastAt time.Time  // client clock at its arrival
	// flights are the requests in flight: "cached" shared by calls that
	// accept a cached answer, "fresh" by WithFreshAnalytics calls, which
	// must not join a request that may have started before they were made.
	flights flight.Group[*Analytics]
}

// Analytics is the account's usage summary (docs /docs/api/analytics),
// computed by the service when asked. It is a value of the caller's: it
// shares nothing with the client's cache.
type Analytics struct {
	// Licenses counts the licenses that are not deleted, by status.
	Licenses LicenseCounts `json:"licenses"`
	// Machines counts the machines that are not deactivated.
	Machines MachineCounts `json:"machines"`
	// Activations holds the recent activation trend.
	Activations ActivationStats `json:"activations"`
	// Validations counts validate-key calls.
	Validations ValidationCounts `json:"validations"`

	// FromCache reports that Get answered from the client's cache.
	FromCache bool `json:"-"`
	// Age is how long ago, on the client's clock, the service computed
	// these numbers; zero for an answer just received.
	Age time.Duration `json:"-"`
}

// LicenseCounts counts licenses by status. Soft-deleted licenses are in
// none of the counts.
type LicenseCounts struct {
	// Total is every license that is not deleted.
	Total int `json:"total"`
	// Active is the licenses whose status is active.
	Active int `json:"active"`
	// Expired is the licenses past their expiry (status expired).
	Expired int `json:"expired"`
	// Suspended is the suspended licenses.
	Suspended int `json:"suspended"`
	// Revoked is the revoked licenses.
	Revoked int `json:"revoked"`
	// Banned is the banned licenses; zero when the service does not report
	// them (the documented example has no banned count).
	Banned int `json:"banned"`
}

// MachineCounts counts the machines that are not deactivated.
type MachineCounts struct {
	// Total is every machine that is not deactivated.
	Total int `json:"total"`
	// Active is the machines keeping up with their heartbeats.
	Active int `json:"active"`
	// Dead is the machines that missed their heartbeat deadline (kept under
	// the KEEP_DEAD cull strategy).
	Dead int `json:"dead"`
}

// ActivationStats describes recent machine activations.
type ActivationStats struct {
	// Trend is the activations of each of the last 7 days (UTC), oldest
	// first.
	Trend []DailyCount `json:"trend"`
}

// DailyCount is a count for one UTC day.
type DailyCount struct {
	// Date is the day, in time.DateOnly form ("2026-02-24").
	Date string `json:"date"`
	// Count is the number of events that day.
	Count int `json:"count"`
}

// ValidationCounts counts validate-key calls.
type ValidationCounts struct {
	// Total is every validation.
	Total int `json:"total"`
	// Successful is the validations that granted access.
	Successful int `json:"successful"`
	// Failed is the validations that did not.
	Failed int `json:"failed"`
}

// BillableLicenses returns how many licenses count toward the plan's
// license limit. The product's FAQ: "an active license is any license that
// has not been soft-deleted and has not expired; suspended, revoked and
// banned count". Deleted licenses are not in Total to begin with, so this is
// Total minus Expired.
func (a *Analytics) BillableLicenses() int {
	if a == nil {
		return 0
	}
	return max(a.Licenses.Total-a.Licenses.Expired, 0)
}

// clone returns a copy of a that shares nothing with it.
func (a *Analytics) clone() *Analytics {
	out := *a
	out.Activations.Trend = slices.Clone(a.Activations.Trend)
	return &out
}

// An AnalyticsOption changes how one AnalyticsService.Get call uses the
// client's cache.
type AnalyticsOption struct {
	maxAge time.Duration
	set    bool
}

// WithFreshAnalytics makes Get ask the service even when the client holds
// a recent answer; the new answer then replaces the cached one.
func WithFreshAnalytics() AnalyticsOption { return AnalyticsOption{maxAge: 0, set: true} }

// WithAnalyticsMaxAge makes Get accept a cached answer only when it is
// younger than d; d <= 0 is WithFreshAnalytics. A d beyond
// DefaultAnalyticsTTL changes nothing: answers are not kept longer.
func WithAnalyticsMaxAge(d time.Duration) AnalyticsOption {
	return AnalyticsOption{maxAge: max(d, 0), set: true}
}

// Get returns the account's analytics. An answer younger than
// DefaultAnalyticsTTL (on the client's clock) is served from the client's
// cache with FromCache set; WithFreshAnalytics asks the service anyway.
// Concurrent calls share one request. Errors match the usual sentinels
// (ErrUnauthorized, ErrForbidden without analytics:read, ErrNoAPIKey
// without a key, ...) and are never cached.
func (s *AnalyticsService) Get(ctx context.Context, opts ...AnalyticsOption) (*Analytics, error) {
	if ctx == nil {
		return nil, fmt.Errorf("%w: nil context", ErrInvalidArgument)
	}
	maxAge := DefaultAnalyticsTTL
	for _, o := range opts {
		if o.set {
			maxAge = min(maxAge, o.maxAge)
		}
	}
	s.mu.Lock()
	if a := s.fresh(maxAge); a != nil {
		s.mu.Unlock()
		return a, nil
	}
	s.mu.Unlock()
	key := "cached"
	if maxAge <= 0 {
		key = "fresh"
	}
	a, err := s.flights.Do(ctx, key, func(ctx context.Context) (*Analytics, error) {
		// A request that ended between the look above and this one has
		// just stored its answer: it serves, rather than a second request.
		s.mu.Lock()
		a := s.fresh(maxAge)
		s.mu.Unlock()
		if a != nil {
			return a, nil
		}
		return s.ask(ctx)
	})
	if err != nil {
		return nil, err
	}
	return a.clone(), nil
}

// fresh returns a copy of the cached answer if it is younger than maxAge.
// s.mu is held.
func (s *AnalyticsService) fresh(maxAge time.Duration) *Analytics {
	if s.last == nil || maxAge <= 0 {
		return nil
	}
	age := s.client.cfg.clock.Now().Sub(s.lastAt)
	if age < 0 || age >= maxAge {
		// A clock that went back is not trusted to say the answer is fresh.
		return nil
	}
	out := s.last.clone()
	out.FromCache, out.Age = true, age
	return out
}

// ask sends one GET /analytics and keeps its answer.
func (s *AnalyticsService) ask(ctx context.Context) (*Analytics, error) {
	a, _, err := callData[Analytics](ctx, s.client, &request{method: http.MethodGet, path: wire.PathAnalytics, auth: authAPIKey})
	if err == nil {
		err = checkAnalytics(a)
	}
	if err != nil {
		return nil, err
	}
	a.FromCache, a.Age = false, 0
	s.mu.Lock()
	s.last, s.lastAt = a, s.client.cfg.clock.Now()
	s.mu.Unlock()
	return a, nil
}

// checkAnalytics refuses an answer with impossible numbers.
func checkAnalytics(a *Analytics) error {
	l, m, v := a.Licenses, a.Machines, a.Validations
	for _, n := range []int{l.Total, l.Active, l.Expired, l.Suspended, l.Revoked, l.Banned, m.Total, m.Active, m.Dead, v.Total, v.Successful, v.Failed} {
		if n < 0 {
			return fmt.Errorf("%w: GET %s: negative count", ErrMalformedResponse, wire.PathAnalytics)
		}
	}
	for _, d := range a.Activations.Trend {
		if d.Count < 0 {
			return fmt.Errorf("%w: GET %s: negative count", ErrMalformedResponse, wire.PathAnalytics)
		}
	}
	return nil
}
