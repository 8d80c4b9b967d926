package licentrictest

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go/internal/wire"
)

// TestSynctestBubble shows licentrictest inside a testing/synctest bubble
// (Go 1.25+): a server started WithInMemory in the bubble, a client on its
// in-memory transport, and webhook deliveries through HandlerTransport all
// run on the bubble's clock, with no WithClock anywhere. time.Sleep lets
// 14 days pass at once: the rate window resets, the license expires, the
// server clock's After fires and webhook retries run their backoff. It
// takes microseconds to milliseconds of real time.
func TestSynctestBubble(t *testing.T) {
	realStart := time.Now()
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		attempts := map[string]int{}
		receiver := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			id := r.Header.Get("X-Webhook-Id")
			attempts[id]++
			if attempts[id] == 1 {
				w.WriteHeader(500) // every event needs a retry
			}
		})
		srv := NewServer(WithInMemory(), WithRateLimits(2, 10, 120),
			WithWebhookTransport(HandlerTransport(receiver)), WithWebhookBackoff(time.Minute))
		defer srv.Close()
		s := &tsrv{Server: srv, t: t}
		start := srv.Now()
		s.ok(201, "POST", "/webhooks", bearer(srv.TestAPIKey()), map[string]any{"url": "http://127.0.0.1/hook", "events": []string{"license.expired"}})
		fx := s.seed(Seed{Policy: PolicyRequest{RequireFingerprint: wire.Value(false), DurationDays: wire.Value(14)}})
		body := map[string]any{"key": fx.License.Key}
		api := bearer(srv.TestAPIKey())

		assert.Equal(t, "VALID", s.validate(api, body)["code"])
		assert.Equal(t, "VALID", s.validate(api, body)["code"])
		st, h, _ := s.do("POST", "/licenses/validate-key", api, body)
		require.Equal(t, 429, st)
		retry, err := strconv.Atoi(h.Get("Retry-After"))
		require.NoError(t, err)
		time.Sleep(time.Duration(retry) * time.Second) // the bubble's clock: no real wait
		assert.Equal(t, "VALID", s.validate(api, body)["code"], "the window ended on the bubble's clock")

		fired := srv.Clock().After(14 * 24 * time.Hour)
		time.Sleep(14 * 24 * time.Hour)
		synctest.Wait()
		select {
		case <-fired:
		default:
			t.Fatal("Clock().After(14 days) did not fire after 14 days of bubble time")
		}
		assert.Equal(t, "EXPIRED", s.validate(api, body)["code"])
		assert.GreaterOrEqual(t, srv.Now().Sub(start), 14*24*time.Hour)

		// license.expired was delivered, failed once and was retried after
		// the (bubble-time) backoff.
		time.Sleep(time.Hour)
		synctest.Wait()
		var statuses []int
		for _, d := range srv.Deliveries() {
			statuses = append(statuses, d.Status)
		}
		assert.Equal(t, []int{500, 200}, statuses)
	})
	t.Logf("14 days in a synctest bubble took %v of real time", time.Since(realStart))
}

// TestSynctestNewServerInBubble: starting and closing servers inside a
// bubble leaves no goroutine behind (synctest.Test would fail).
func TestSynctestNewServerInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithInMemory())
		_ = srv.Clock().After(time.Hour)
		resp, err := srv.Client().Post(srv.URL+"/api/v1/licenses/validate-key", "application/json", strings.NewReader(`{"key":"x"}`))
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		srv.Close()
	})
}
