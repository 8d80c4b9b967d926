package migrate

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
)

// statusCounter is a RoundTripper that counts the answers it sees.
type statusCounter struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen map[int]int
	n    atomic.Int64
}

func (s *statusCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	s.n.Add(1)
	if err == nil {
		s.mu.Lock()
		s.seen[resp.StatusCode]++
		s.mu.Unlock()
	}
	return resp, err
}

// TestRateStaysInBudget imports 300 licenses against licentrictest with
// its real limits (120 management requests a minute) and a flowing clock,
// through a client with its default rate budget. The import never receives
// a 429, and every full minute window in the middle of the run carries at
// least 90% of the ceiling. It takes about two minutes, so it runs only
// with LICENTRIC_SLOW_TESTS=1.
func TestRateStaysInBudget(t *testing.T) {
	if os.Getenv("LICENTRIC_SLOW_TESTS") != "1" {
		t.Skip("takes about two minutes at 120 requests a minute: set LICENTRIC_SLOW_TESTS=1")
	}
	const licenses = 300
	dir := t.TempDir()
	genKeygenMachines(t, dir, licenses, 0)
	srv := licentrictest.NewServer() // real limits, clock flowing with real time
	t.Cleanup(srv.Close)
	counter := &statusCounter{next: http.DefaultTransport.(*http.Transport).Clone(), seen: map[int]int{}}
	// The client's defaults: its rate budget and retry policy.
	c, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithAPIKey(srv.TestAPIKey()),
		licentric.WithHTTPClient(&http.Client{Transport: counter, Timeout: 30 * time.Second}))
	require.NoError(t, err)

	start := time.Now()
	path := filepath.Join(t.TempDir(), "journal")
	j := openJournal(t, path)
	p, err := NewPlan(context.Background(), &Keygen{Dir: dir}, c, &PlanOptions{Journal: j})
	require.NoError(t, err)
	res, err := Apply(context.Background(), c, p, j)
	require.NoError(t, err)
	elapsed := time.Since(start)
	require.Zero(t, res.Failed())
	assert.Zero(t, counter.seen[http.StatusTooManyRequests], "429s received")

	// Requests per server window (fixed, aligned to the Unix minute).
	perWindow := map[int64]int{}
	first, last := int64(-1), int64(-1)
	for _, r := range srv.Requests() {
		w := r.Time.Unix() / 60
		perWindow[w]++
		if first < 0 || w < first {
			first = w
		}
		if w > last {
			last = w
		}
	}
	total := int(counter.n.Load())
	t.Logf("%d licenses, %d requests in %s: %.1f requests/min overall; per window: %v",
		licenses, total, elapsed.Round(time.Second), float64(total)/elapsed.Minutes(), perWindow)
	full := 0
	for w := first + 1; w < last; w++ {
		full++
		assert.GreaterOrEqual(t, perWindow[w], 108, "window %d carries less than 90%% of the ceiling", w)
		assert.LessOrEqual(t, perWindow[w], 120, "window %d", w)
	}
	require.Positive(t, full, "the run spans at least one full window")
	checkAgainstPlan(t, c, p, path)
}
