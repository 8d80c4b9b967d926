package licentric

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/licentrictest"
)

// A creating POST is sent once on a 500 (the server may have created the
// resource) but retried on 429 (it did not).
func TestE2ECreatingPOSTRetriedOnlyOn429(t *testing.T) {
	s := licentrictest.NewServer(licentrictest.WithoutRateLimits())
	t.Cleanup(s.Close)
	c, err := NewClient(WithBaseURL(s.URL), WithHTTPClient(s.Client()), WithAPIKey(s.TestAPIKey()),
		WithRetry(RetryPolicy{MaxRetries: 3, MinWait: time.Millisecond, MaxWait: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	create := func() (*Product, error) {
		n++
		p, _, err := callData[Product](t.Context(), c, &request{
			method: http.MethodPost, path: wire.PathProducts, auth: authAPIKey,
			body: &ProductRequest{Name: Value("Pro"), Code: Value(fmt.Sprintf("pro-%d", n))},
		})
		return p, err
	}

	s.InjectFault(licentrictest.Fault{Method: http.MethodPost, Path: wire.PathProducts, Status: http.StatusInternalServerError})
	if _, err := create(); !errors.Is(err, ErrServer) {
		t.Fatalf("create on 500: %v", err)
	}
	if n := s.CountRequests(http.MethodPost, wire.PathProducts); n != 1 {
		t.Errorf("creating POST sent %d times after a 500", n)
	}

	s.ResetRequests()
	s.InjectFault(licentrictest.Fault{Method: http.MethodPost, Path: wire.PathProducts, Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	p, err := create()
	if err != nil || p.ID == "" {
		t.Fatalf("create after a 429: %+v, %v", p, err)
	}
	if n := s.CountRequests(http.MethodPost, wire.PathProducts); n != 2 {
		t.Errorf("creating POST sent %d times around a 429, want 2", n)
	}

	s.ResetRequests()
	s.InjectFault(licentrictest.Fault{Method: http.MethodPost, Path: wire.PathProducts, DropResponse: true})
	if _, err := create(); err == nil {
		t.Fatal("create with a lost response succeeded")
	}
	if n := s.CountRequests(http.MethodPost, wire.PathProducts); n != 1 {
		t.Errorf("creating POST re-sent %d times after a lost response", n)
	}
}
