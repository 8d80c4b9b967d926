package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go/cache"
)

// movingClock is a settable clock.Clock.
type movingClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *movingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *movingClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *movingClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- c.Now().Add(d)
	return ch
}

func bodyAt(id string, at time.Time) []byte {
	return fmt.Appendf(nil, `{"id":%q,"type":%q,"createdAt":%q,"data":%s}`,
		id, EventLicenseSuspended, at.UTC().Format(time.RFC3339Nano), licenseData)
}

// serve runs one signed delivery through h without a network (for bulk).
func serve(t *testing.T, h http.Handler, body []byte) int {
	t.Helper()
	req, err := NewRequest(context.Background(), "http://127.0.0.1/hook", body, testSecret)
	require.NoError(t, err)
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	return rr.Code
}

// TestHandlerRefusesOldReplay: a 6-hour-old delivery,
// whose id 1,100 newer events pushed out of the dedup memory, was accepted
// and the callback ran again. It is now refused with 400 for its age.
func TestHandlerRefusesOldReplay(t *testing.T) {
	var rec recorder
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := &movingClock{t: t0}
	h, url := newTestServer(t, rec.fn, WithClock(clk))
	old := bodyAt("evt_old", t0)
	require.Equal(t, http.StatusOK, deliver(t, url, old, testSecret))
	for i := range 1100 {
		at := t0.Add(time.Duration(i) * 20 * time.Second)
		clk.set(at)
		require.Equal(t, http.StatusOK, serve(t, h, bodyAt(fmt.Sprint("evt_new_", i), at)))
	}
	require.False(t, h.seen.has("evt_old"), "the old id should have left the memory")
	clk.set(t0.Add(6 * time.Hour))
	calls := rec.calls()
	assert.Equal(t, http.StatusBadRequest, deliver(t, url, old, testSecret))
	assert.Equal(t, calls, rec.calls(), "the callback ran for a replayed delivery")
}

// TestHandlerTolerance: within the tolerance either way a delivery is
// processed; beyond it, past or future, or without createdAt, it is refused
// with 400 and the callback does not run.
func TestHandlerTolerance(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := &movingClock{t: now}
	cases := []struct {
		name string
		opts []HandlerOption
		body []byte
		want int
	}{
		{"now", nil, bodyAt("a", now), http.StatusOK},
		{"4m59s old", nil, bodyAt("b", now.Add(-DefaultTolerance+time.Second)), http.StatusOK},
		{"4m59s ahead", nil, bodyAt("c", now.Add(DefaultTolerance-time.Second)), http.StatusOK},
		{"5m01s old", nil, bodyAt("d", now.Add(-DefaultTolerance-time.Second)), http.StatusBadRequest},
		{"5m01s ahead", nil, bodyAt("e", now.Add(DefaultTolerance+time.Second)), http.StatusBadRequest},
		{"a day ahead", nil, bodyAt("f", now.Add(24*time.Hour)), http.StatusBadRequest},
		{"null createdAt", nil, eventBodyNull("g"), http.StatusBadRequest},
		{"no createdAt", nil, []byte(`{"id":"h","type":"license.created","data":null}`), http.StatusBadRequest},
		{"30m old, tolerance 1h", []HandlerOption{WithTolerance(time.Hour)}, bodyAt("i", now.Add(-30*time.Minute)), http.StatusOK},
		{"2h old, tolerance 1h", []HandlerOption{WithTolerance(time.Hour)}, bodyAt("j", now.Add(-2*time.Hour)), http.StatusBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rec recorder
			_, url := newTestServer(t, rec.fn, append([]HandlerOption{WithClock(clk)}, c.opts...)...)
			assert.Equal(t, c.want, deliver(t, url, c.body, testSecret))
			wantCalls := 0
			if c.want == http.StatusOK {
				wantCalls = 1
			}
			assert.Equal(t, wantCalls, rec.calls())
		})
	}
}

func eventBodyNull(id string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"type":"license.created","createdAt":null,"data":null}`, id)
}

// TestToleranceCoversOnlyTheSignedTimestamp: createdAt is inside the
// signed body, so a replayer cannot freshen it: changing it breaks the
// signature (401), and no header moves the check.
func TestToleranceCoversOnlyTheSignedTimestamp(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var rec recorder
	_, url := newTestServer(t, rec.fn, WithClock(&movingClock{t: now}))
	old := bodyAt("evt_1", now.Add(-time.Hour))
	sig := Sign(old, testSecret)
	freshened := bodyAt("evt_1", now)
	assert.Equal(t, http.StatusUnauthorized, post(t, url, freshened, sig))
	req, err := NewRequest(context.Background(), url, old, testSecret)
	require.NoError(t, err)
	req.Header.Set("Date", now.Format(http.TimeFormat))
	req.Header.Set("X-Webhook-Timestamp", fmt.Sprint(now.Unix()))
	assert.Equal(t, http.StatusBadRequest, do(t, req))
	assert.Zero(t, rec.calls())
}

func TestEventCheckTimestamp(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		at   time.Time
		want error
	}{
		{now, nil},
		{now.Add(-DefaultTolerance), nil},
		{now.Add(DefaultTolerance), nil},
		{now.Add(-DefaultTolerance - time.Millisecond), ErrTooOld},
		{now.Add(DefaultTolerance + time.Millisecond), ErrFutureTimestamp},
		{time.Time{}, ErrNoTimestamp},
		{time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), ErrTooOld},
		{time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), ErrFutureTimestamp},
	} {
		err := Event{ID: "e", Type: EventLicenseCreated, CreatedAt: c.at}.CheckTimestamp(now, DefaultTolerance)
		if c.want == nil {
			assert.NoError(t, err, c.at)
			continue
		}
		assert.ErrorIs(t, err, c.want, c.at)
		assert.ErrorIs(t, err, ErrTimestamp, c.at)
	}
	assert.Error(t, Event{CreatedAt: now}.CheckTimestamp(now, 0))
}

func TestToleranceOptions(t *testing.T) {
	fn := func(context.Context, *Event) error { return nil }
	for name, opt := range map[string]HandlerOption{
		"zero tolerance":     WithTolerance(0),
		"negative tolerance": WithTolerance(-time.Second),
		"nil clock":          WithClock(nil),
		"nil store":          WithDedupStore(nil),
	} {
		h, err := NewHandler(fn, WithSecrets(testSecret), opt)
		assert.Error(t, err, name)
		assert.Nil(t, h, name)
	}
}

// TestHandlerDedupStoreSurvivesRestart: with WithDedupStore(cache.File), a
// processed id is remembered by a new Handler on the same file, even with
// the in-memory ring off.
func TestHandlerDedupStoreSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "webhook-ids")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := &movingClock{t: now}
	open := func() cache.Store {
		f, err := cache.NewFile(path, []byte("app secret"), cache.WithClock(clk))
		require.NoError(t, err)
		return f
	}
	body := bodyAt("evt_1", now)
	var first recorder
	_, url := newTestServer(t, first.fn, WithClock(clk), WithDedupStore(open()))
	require.Equal(t, http.StatusOK, deliver(t, url, body, testSecret))
	require.Equal(t, 1, first.calls())

	clk.set(now.Add(2 * time.Minute)) // a retry after a restart, within the tolerance
	var second recorder
	_, url2 := newTestServer(t, second.fn, WithClock(clk), WithDedupStore(open()), WithDedupSize(0))
	assert.Equal(t, http.StatusOK, deliver(t, url2, body, testSecret))
	assert.Zero(t, second.calls(), "the callback ran again after a restart")
	// Another id still runs.
	assert.Equal(t, http.StatusOK, deliver(t, url2, bodyAt("evt_2", now.Add(2*time.Minute)), testSecret))
	assert.Equal(t, 1, second.calls())
}

// ttlStore records the TTLs it is given.
type ttlStore struct {
	cache.Store
	mu   sync.Mutex
	ttls []time.Duration
	err  error
}

func (s *ttlStore) Set(key string, v []byte, ttl time.Duration) error {
	s.mu.Lock()
	s.ttls = append(s.ttls, ttl)
	s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	return s.Store.Set(key, v, ttl)
}

// TestHandlerDedupStoreTTL: ids are kept at least as long as a delivery
// with their createdAt is accepted; a failing store does not fail the
// delivery.
func TestHandlerDedupStoreTTL(t *testing.T) {
	var buf syncBuf
	for _, tol := range []time.Duration{DefaultTolerance, time.Hour} {
		s := &ttlStore{Store: cache.NewMemory(), err: nil}
		var rec recorder
		_, url := newTestServer(t, rec.fn, WithDedupStore(s), WithTolerance(tol))
		require.Equal(t, http.StatusOK, deliver(t, url, eventBody("evt_1", EventLicenseCreated, licenseData), testSecret))
		require.Len(t, s.ttls, 1)
		assert.GreaterOrEqual(t, s.ttls[0], 2*tol)
	}
	s := &ttlStore{Store: cache.NewMemory(), err: fmt.Errorf("disk full")}
	var rec recorder
	_, url := newTestServer(t, rec.fn, WithDedupStore(s), WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	assert.Equal(t, http.StatusOK, deliver(t, url, eventBody("evt_1", EventLicenseCreated, licenseData), testSecret))
	assert.Contains(t, buf.String(), "dedup store")
}

type syncBuf struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}
