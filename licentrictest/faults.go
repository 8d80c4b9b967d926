package licentrictest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

// Fault makes the next Times matching requests fail as described.
type Fault struct {
	Method       string        // "" = any method
	Path         string        // "" = any; relative to /api/v1, e.g. "/licenses/validate-key"
	Times        int           // 0 means 1
	Status       int           // answer this status with the error envelope (429 adds Retry-After)
	RetryAfter   time.Duration // for Status 429/503: the Retry-After header value (whole seconds)
	Hang         bool          // hold the request until the client gives up or the server closes
	Drop         bool          // close the connection without any response, before handling
	DropResponse bool          // handle the request for real, then close the connection without a response
}

// faultQueue holds the injected faults, in order.
type faultQueue struct {
	mu     sync.Mutex
	faults []*Fault
}

// InjectFault queues f; faults match in the order they were injected.
func (s *Server) InjectFault(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults.mu.Lock()
	s.faults.faults = append(s.faults.faults, &f)
	s.faults.mu.Unlock()
}

// ClearFaults removes every queued fault.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	s.faults.faults = nil
	s.faults.mu.Unlock()
}

// take consumes one use of the first fault matching method and rel.
func (q *faultQueue) take(method, rel string) *Fault {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, f := range q.faults {
		if (f.Method == "" || strings.EqualFold(f.Method, method)) && (f.Path == "" || f.Path == rel) {
			f.Times--
			cp := *f
			if f.Times <= 0 {
				q.faults = append(q.faults[:i:i], q.faults[i+1:]...)
			}
			return &cp
		}
	}
	return nil
}

// serveFault answers a request that matched an injected fault. It returns
// the status sent (0 for none).
func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, f *Fault, rel, rid string) int {
	switch {
	case f.Drop:
		hijackClose(w)
		return 0
	case f.Hang:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		hijackClose(w)
		return 0
	case f.DropResponse:
		bw := &bufferWriter{h: http.Header{}}
		s.serve(bw, r, rel, rid)
		hijackClose(w)
		return bw.status
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	tier := wire.TierOf(r.Method, rel)
	rr := s.limits.check(tier, s.bucket(tier, r), s.clock.now(), false)
	if status == http.StatusTooManyRequests {
		rr.remaining = 0
	}
	setRateHeaders(w.Header(), rr)
	if status == http.StatusTooManyRequests || (status == http.StatusServiceUnavailable && f.RetryAfter > 0) {
		secs := int((f.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set(wire.HeaderRetryAfter, strconv.Itoa(secs))
	}
	discardBody(w, r)
	writeError(w, &apiError{status: status, code: faultCode(status), msg: fmt.Sprintf("Injected fault: %s", http.StatusText(status))})
	return status
}

func faultCode(status int) string {
	switch status {
	case 400:
		return wire.ErrCodeValidation
	case 401:
		return wire.ErrCodeUnauthorized
	case 403:
		return wire.ErrCodeForbidden
	case 404:
		return wire.ErrCodeNotFound
	case 409:
		return wire.ErrCodeConflict
	case 429:
		return wire.ErrCodeRateLimited
	}
	if status >= 500 {
		return wire.ErrCodeInternal
	}
	return "ERROR"
}

// aborter is a ResponseWriter that can end its exchange without a response
// (the in-memory transport's).
type aborter interface{ abort() }

// hijackClose ends the exchange without a response: it closes the
// connection, or fails the in-memory round trip.
func hijackClose(w http.ResponseWriter) {
	if a, ok := w.(aborter); ok {
		a.abort()
		return
	}
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
