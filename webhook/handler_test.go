package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/licentric/licentric-go/internal/wire"
)

// recorder is a callback that records the events it sees.
type recorder struct {
	mu     sync.Mutex
	events []*Event
	err    error // returned by the next calls while set
}

func (r *recorder) fn(_ context.Context, e *Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return r.err
}

func (r *recorder) setErr(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

func (r *recorder) calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func newTestServer(t *testing.T, fn func(context.Context, *Event) error, opts ...HandlerOption) (*Handler, string) {
	t.Helper()
	h, err := NewHandler(fn, append([]HandlerOption{WithSecrets(testSecret), WithClock(eventClock)}, opts...)...)
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv.URL
}

// post sends body with the given signature and returns the status code.
func post(t *testing.T, url string, body []byte, sig string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if sig != "" {
		req.Header.Set(wire.HeaderWebhookSignature, sig)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func deliver(t *testing.T, url string, body []byte, secret string) int {
	t.Helper()
	req, err := NewRequest(context.Background(), url, body, secret)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func TestHandlerDelivers(t *testing.T) {
	var rec recorder
	_, url := newTestServer(t, rec.fn)
	body := eventBody("evt_1", wire.EventLicenseSuspended, licenseData)
	if got := deliver(t, url, body, testSecret); got != http.StatusOK {
		t.Fatalf("status %d, want 200", got)
	}
	if rec.calls() != 1 {
		t.Fatalf("callback ran %d times, want 1", rec.calls())
	}
	e := rec.events[0]
	if e.ID != "evt_1" || e.Type != wire.EventLicenseSuspended || e.LicenseID() != "lic_1" {
		t.Errorf("callback got %+v", e)
	}
}

func TestHandlerReplayedEventRunsOnce(t *testing.T) {
	var rec recorder
	_, url := newTestServer(t, rec.fn)
	body := eventBody("evt_1", wire.EventLicenseCreated, licenseData)
	for i := range 3 {
		if got := deliver(t, url, body, testSecret); got != http.StatusOK {
			t.Fatalf("delivery %d: status %d, want 200", i, got)
		}
	}
	if rec.calls() != 1 {
		t.Fatalf("callback ran %d times for one event id, want 1", rec.calls())
	}
	// Same id, different body (re-signed): still a duplicate.
	other := eventBody("evt_1", wire.EventLicenseUpdated, licenseData)
	if got := deliver(t, url, other, testSecret); got != http.StatusOK || rec.calls() != 1 {
		t.Fatalf("same id, other body: status %d, %d calls", got, rec.calls())
	}
}

func TestHandlerRefusesBadSignatures(t *testing.T) {
	var rec recorder
	_, url := newTestServer(t, rec.fn)
	body := eventBody("evt_1", wire.EventLicenseCreated, licenseData)
	good := Sign(body, testSecret)
	tampered := bytes.Replace(body, []byte(`"lic_1"`), []byte(`"lic_2"`), 1)
	cases := map[string]struct {
		body []byte
		sig  string
	}{
		"forged":                     {body, Sign(body, "whsec_attacker")},
		"missing":                    {body, ""},
		"body changed after signing": {tampered, good},
		"uppercase":                  {body, strings.ToUpper(good)},
		"sha256= prefix":             {body, "sha256=" + good},
		"signed with empty key":      {body, Sign(body, "")},
	}
	for name, tc := range cases {
		if got := post(t, url, tc.body, tc.sig); got != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, got)
		}
	}
	if rec.calls() != 0 {
		t.Fatalf("callback ran %d times on refused deliveries", rec.calls())
	}
	// A refused delivery does not poison the id: the genuine one is processed.
	if got := post(t, url, body, good); got != http.StatusOK || rec.calls() != 1 {
		t.Fatalf("genuine delivery after forgeries: status %d, %d calls", got, rec.calls())
	}
}

func TestHandlerRotation(t *testing.T) {
	var rec recorder
	h, err := NewHandler(rec.fn, WithSecrets(oldSecret, newSecret), WithClock(eventClock))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	if got := deliver(t, srv.URL, eventBody("evt_old", "license.created", licenseData), oldSecret); got != 200 {
		t.Errorf("old secret: status %d", got)
	}
	if got := deliver(t, srv.URL, eventBody("evt_new", "license.created", licenseData), newSecret); got != 200 {
		t.Errorf("new secret: status %d", got)
	}
	if got := deliver(t, srv.URL, eventBody("evt_x", "license.created", licenseData), testSecret); got != 401 {
		t.Errorf("unknown secret: status %d, want 401", got)
	}
	if rec.calls() != 2 {
		t.Errorf("callback ran %d times, want 2", rec.calls())
	}
}

func TestHandlerBadBody(t *testing.T) {
	var rec recorder
	_, url := newTestServer(t, rec.fn)
	for _, body := range [][]byte{[]byte("not json"), []byte(`{"type":"license.created"}`), eventBody("evt_1", "license.created", `"x"`)} {
		if got := post(t, url, body, Sign(body, testSecret)); got != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", body, got)
		}
	}
	if rec.calls() != 0 {
		t.Fatalf("callback ran on bad bodies")
	}
}

func TestHandlerWrongMethod(t *testing.T) {
	var rec recorder
	_, url := newTestServer(t, rec.fn)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodHead, http.MethodDelete} {
		req, _ := http.NewRequest(m, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
			t.Errorf("%s: status %d, Allow %q", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
}

func TestHandlerOversizeBody(t *testing.T) {
	var rec recorder
	_, url := newTestServer(t, rec.fn, WithMaxBodyBytes(200))
	small := eventBody("evt_1", "custom.x", `{}`)
	big := eventBody("evt_2", "custom.x", `{"pad":"`+strings.Repeat("x", 200)+`"}`)
	// With Content-Length.
	if got := post(t, url, big, Sign(big, testSecret)); got != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize with length: status %d, want 413", got)
	}
	// Chunked, so the length is unknown until read.
	req, _ := http.NewRequest(http.MethodPost, url, io.MultiReader(bytes.NewReader(big)))
	req.Header.Set(wire.HeaderWebhookSignature, Sign(big, testSecret))
	if req.ContentLength != 0 {
		t.Fatalf("expected a request of unknown length")
	}
	if got := do(t, req); got != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize chunked: status %d, want 413", got)
	}
	if got := post(t, url, small, Sign(small, testSecret)); got != http.StatusOK {
		t.Errorf("small body: status %d, want 200", got)
	}
	if rec.calls() != 1 {
		t.Errorf("callback ran %d times, want 1", rec.calls())
	}
	// The default cap is MaxBodyBytes.
	_, url2 := newTestServer(t, rec.fn)
	huge := eventBody("evt_3", "custom.x", `{"pad":"`+strings.Repeat("x", MaxBodyBytes)+`"}`)
	if got := post(t, url2, huge, Sign(huge, testSecret)); got != http.StatusRequestEntityTooLarge {
		t.Errorf("over the default cap: status %d, want 413", got)
	}
}

func TestHandlerCallbackErrorIsRetried(t *testing.T) {
	var rec recorder
	_, url := newTestServer(t, rec.fn)
	body := eventBody("evt_1", wire.EventLicenseExpired, licenseData)
	rec.setErr(errors.New("database down"))
	if got := deliver(t, url, body, testSecret); got != http.StatusInternalServerError {
		t.Fatalf("failing callback: status %d, want 500", got)
	}
	rec.setErr(nil)
	if got := deliver(t, url, body, testSecret); got != http.StatusOK {
		t.Fatalf("retry: status %d, want 200", got)
	}
	if got := deliver(t, url, body, testSecret); got != http.StatusOK {
		t.Fatalf("duplicate after success: status %d, want 200", got)
	}
	if rec.calls() != 2 {
		t.Fatalf("callback ran %d times, want 2 (failure, retry; not the duplicate)", rec.calls())
	}
}

func TestHandlerBoundedMemory(t *testing.T) {
	var rec recorder
	h, url := newTestServer(t, rec.fn, WithDedupSize(2))
	send := func(id string) {
		t.Helper()
		if got := deliver(t, url, eventBody(id, "license.updated", licenseData), testSecret); got != 200 {
			t.Fatalf("%s: status %d", id, got)
		}
	}
	send("evt_1")
	send("evt_2")
	send("evt_3") // evicts evt_1
	if rec.calls() != 3 {
		t.Fatalf("%d calls, want 3", rec.calls())
	}
	send("evt_3") // remembered
	send("evt_2") // remembered
	if rec.calls() != 3 {
		t.Fatalf("remembered ids ran again: %d calls, want 3", rec.calls())
	}
	send("evt_1") // forgotten: processed again, evicts evt_2
	if rec.calls() != 4 {
		t.Fatalf("evicted id not processed again: %d calls, want 4", rec.calls())
	}
	h.mu.Lock()
	n, has2 := h.seen.len(), h.seen.has("evt_2")
	h.mu.Unlock()
	if n != 2 || has2 {
		t.Fatalf("memory holds %d ids (evt_2: %v), want 2 without evt_2", n, has2)
	}
}

func TestHandlerDedupOff(t *testing.T) {
	var rec recorder
	_, url := newTestServer(t, rec.fn, WithDedupSize(0))
	body := eventBody("evt_1", "license.updated", licenseData)
	deliver(t, url, body, testSecret)
	deliver(t, url, body, testSecret)
	if rec.calls() != 2 {
		t.Fatalf("with no memory: %d calls, want 2", rec.calls())
	}
}

func TestIDRing(t *testing.T) {
	r := newIDRing(3)
	for _, id := range []string{"a", "b", "a", "c", "d", "e"} {
		r.add(id)
	}
	// "a" was added once (the repeat is ignored), then evicted by "d"; "b" by "e".
	for id, want := range map[string]bool{"a": false, "b": false, "c": true, "d": true, "e": true} {
		if r.has(id) != want {
			t.Errorf("has(%q) = %v, want %v", id, !want, want)
		}
	}
	if r.len() != 3 || len(r.ids) != 3 {
		t.Errorf("len %d, ring %d; want 3", r.len(), len(r.ids))
	}
	for i := range 1000 {
		r.add(string(rune('A' + i%50)))
	}
	if r.len() != 3 {
		t.Errorf("after many adds len %d, want 3", r.len())
	}
}

// blocking is a callback that, for each call, reports it started and waits
// for a result on its channel. It records the most calls running at once.
type blocking struct {
	started chan string
	results chan error
	active  atomic.Int32
	most    atomic.Int32
	calls   atomic.Int32
	quit    chan struct{} // closed when the test ends, so no call stays blocked
}

// newBlocking must be called after the server is created, so that its
// cleanup runs first and unblocks calls before the server closes.
func newBlocking(t *testing.T) *blocking {
	b := &blocking{started: make(chan string, 16), results: make(chan error, 16), quit: make(chan struct{})}
	t.Cleanup(func() { close(b.quit) })
	return b
}

func (b *blocking) fn(_ context.Context, e *Event) error {
	n := b.active.Add(1)
	defer b.active.Add(-1)
	for {
		m := b.most.Load()
		if n <= m || b.most.CompareAndSwap(m, n) {
			break
		}
	}
	b.calls.Add(1)
	b.started <- e.ID
	select {
	case err := <-b.results:
		return err
	case <-b.quit:
		return errors.New("test ended")
	}
}

func TestHandlerConcurrentDuplicateWaits(t *testing.T) {
	for _, firstFails := range []bool{false, true} {
		var b *blocking
		h, url := newTestServer(t, func(ctx context.Context, e *Event) error { return b.fn(ctx, e) })
		b = newBlocking(t)
		waiting := make(chan string, 1)
		h.onWait = func(id string) { waiting <- id }
		body := eventBody("evt_1", "license.updated", licenseData)

		statuses := make(chan int, 2)
		go func() { statuses <- deliver(t, url, body, testSecret) }()
		<-b.started // the first delivery is inside the callback
		go func() { statuses <- deliver(t, url, body, testSecret) }()
		select { // the second must wait for it, not run alongside
		case <-waiting:
		case id := <-b.started:
			t.Fatalf("callback ran twice at once for %s", id)
		}

		var got []int
		if firstFails {
			b.results <- errors.New("fail")
			// The waiting delivery must take over and run the callback.
			for took := false; !took; {
				select {
				case <-b.started:
					took = true
					b.results <- nil
				case s := <-statuses:
					if got = append(got, s); len(got) == 2 {
						t.Fatalf("both deliveries answered (%v) and the failed event was never retried", got)
					}
				}
			}
		} else {
			b.results <- nil
		}
		for len(got) < 2 {
			got = append(got, <-statuses)
		}
		var want []int
		if firstFails {
			want = []int{500, 200}
		} else {
			want = []int{200, 200}
		}
		if !sameStatuses(got, want) {
			t.Errorf("firstFails=%v: statuses %v, want %v in some order", firstFails, got, want)
		}
		wantCalls := int32(1)
		if firstFails {
			wantCalls = 2
		}
		if b.calls.Load() != wantCalls || b.most.Load() != 1 {
			t.Errorf("firstFails=%v: %d calls (want %d), at most %d at once (want 1)",
				firstFails, b.calls.Load(), wantCalls, b.most.Load())
		}
	}
}

func sameStatuses(got, want []int) bool {
	return len(got) == 2 && (got[0] == want[0] && got[1] == want[1] || got[0] == want[1] && got[1] == want[0])
}

func TestHandlerWaitingRequestGivesUp(t *testing.T) {
	b := newBlocking(t)
	h, err := NewHandler(b.fn, WithSecrets(testSecret), WithClock(eventClock))
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan string, 1)
	h.onWait = func(id string) { waiting <- id }
	body := eventBody("evt_1", "license.updated", licenseData)

	first := httptest.NewRecorder()
	firstDone := make(chan struct{})
	go func() {
		req, _ := NewRequest(context.Background(), "http://127.0.0.1/hook", body, testSecret)
		h.ServeHTTP(first, req)
		close(firstDone)
	}()
	<-b.started

	ctx, cancel := context.WithCancel(context.Background())
	second := httptest.NewRecorder()
	secondDone := make(chan struct{})
	go func() {
		req, _ := NewRequest(ctx, "http://127.0.0.1/hook", body, testSecret)
		h.ServeHTTP(second, req)
		close(secondDone)
	}()
	select {
	case <-waiting:
	case id := <-b.started:
		cancel()
		t.Fatalf("callback ran twice at once for %s", id)
	}
	cancel()
	<-secondDone
	if second.Code != http.StatusServiceUnavailable {
		t.Errorf("waiting request after its context ended: %d, want 503", second.Code)
	}
	b.results <- nil
	<-firstDone
	if first.Code != http.StatusOK || b.calls.Load() != 1 {
		t.Errorf("first: %d with %d calls", first.Code, b.calls.Load())
	}
}

func TestHandlerManyConcurrentDuplicates(t *testing.T) {
	var calls, active, overlap atomic.Int32
	fn := func(context.Context, *Event) error {
		if active.Add(1) > 1 {
			overlap.Add(1)
		}
		defer active.Add(-1)
		calls.Add(1)
		return nil
	}
	_, url := newTestServer(t, fn)
	body := eventBody("evt_1", "machine.heartbeat", machineData)
	var wg sync.WaitGroup
	var bad atomic.Int32
	for range 20 {
		wg.Go(func() {
			req, err := NewRequest(context.Background(), url, body, testSecret)
			if err != nil {
				bad.Add(1)
				return
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				bad.Add(1)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				bad.Add(1)
			}
		})
	}
	wg.Wait()
	if bad.Load() != 0 || calls.Load() != 1 || overlap.Load() != 0 {
		t.Fatalf("%d failed deliveries, %d calls (want 1), %d overlaps", bad.Load(), calls.Load(), overlap.Load())
	}
}

func TestHandlerPanicReleasesID(t *testing.T) {
	panicking := true
	var calls int
	h, err := NewHandler(func(context.Context, *Event) error {
		calls++
		if panicking {
			panic("boom")
		}
		return nil
	}, WithSecrets(testSecret), WithClock(eventClock))
	if err != nil {
		t.Fatal(err)
	}
	body := eventBody("evt_1", "license.updated", licenseData)
	serve := func() (code int, panicked bool) {
		defer func() {
			if recover() != nil {
				panicked = true
			}
		}()
		req, _ := NewRequest(context.Background(), "http://127.0.0.1/hook", body, testSecret)
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, req)
		return rr.Code, false
	}
	if _, panicked := serve(); !panicked {
		t.Fatal("the callback's panic did not propagate")
	}
	panicking = false
	if code, _ := serve(); code != http.StatusOK || calls != 2 {
		t.Fatalf("after a panic: status %d, %d calls; want 200, 2", code, calls)
	}
}

func TestNewHandlerOptions(t *testing.T) {
	fn := func(context.Context, *Event) error { return nil }
	cases := map[string]struct {
		fn   func(context.Context, *Event) error
		opts []HandlerOption
		want error // nil: any error
	}{
		"no secrets":        {fn, nil, ErrNoSecret},
		"empty WithSecrets": {fn, []HandlerOption{WithSecrets()}, ErrNoSecret},
		"empty secret":      {fn, []HandlerOption{WithSecrets("")}, ErrNoSecret},
		"one empty secret":  {fn, []HandlerOption{WithSecrets(testSecret, "")}, ErrNoSecret},
		"nil callback":      {nil, []HandlerOption{WithSecrets(testSecret)}, nil},
		"negative dedup":    {fn, []HandlerOption{WithSecrets(testSecret), WithDedupSize(-1)}, nil},
		"zero max body":     {fn, []HandlerOption{WithSecrets(testSecret), WithMaxBodyBytes(0)}, nil},
	}
	for name, tc := range cases {
		h, err := NewHandler(tc.fn, tc.opts...)
		if err == nil || h != nil {
			t.Errorf("%s: NewHandler = %v, %v; want an error", name, h, err)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	if _, err := NewHandler(fn, WithSecrets(testSecret), WithLogger(nil), nil); err != nil {
		t.Errorf("nil logger and nil option: %v", err)
	}
}

func TestHandlerLogsWithoutSecrets(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var rec recorder
	_, url := newTestServer(t, rec.fn, WithLogger(logger))
	body := eventBody("evt_1", "license.created", licenseData)
	post(t, url, body, Sign(body, "whsec_attacker"))
	post(t, url, body, strings.ToUpper(Sign(body, testSecret)))
	rec.setErr(errors.New("db down"))
	deliver(t, url, body, testSecret)
	rec.setErr(nil)
	// Headers that disagree with the body: the body wins, a warning is logged.
	req, _ := NewRequest(context.Background(), url, body, testSecret)
	req.Header.Set(wire.HeaderWebhookID, "evt_other")
	if got := do(t, req); got != 200 || rec.events[len(rec.events)-1].ID != "evt_1" {
		t.Fatalf("mismatched id header: status %d", got)
	}
	logs := buf.String()
	for _, want := range []string{"signature refused", "callback failed", "db down", "id header differs"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	assertNoLeak(t, logs, testSecret, Sign(body, testSecret), "ABCD-EFGH-IJKL")
}
