package licentrictest

import (
	"strings"
	"sync"
	"time"
)

// DefaultRequestLogSize is how many requests, events per environment and
// webhook deliveries a Server keeps by default (WithRequestLogSize,
// WithEventLogSize).
const DefaultRequestLogSize = 10000

// maxLoggedPath caps the path and the query a Request records.
const maxLoggedPath = 2048

// Request is one request the server received.
type Request struct {
	Method string
	Path   string // relative to /api/v1, escaped, e.g. "/licenses/validate-key"; at most 2048 bytes
	Query  string // raw query; at most 2048 bytes
	Scheme string // "Bearer", "License" or ""
	Status int    // 0 when no response was sent (Drop, Hang)
	Time   time.Time
}

// ring keeps the last cap values pushed. It is not safe for concurrent use.
type ring[T any] struct {
	buf   []T
	start int // index of the oldest value once buf is full
	cap   int
}

func newRing[T any](capacity int) ring[T] { return ring[T]{cap: capacity} }

func (r *ring[T]) push(v T) {
	if r.cap <= 0 {
		return
	}
	if len(r.buf) < r.cap {
		r.buf = append(r.buf, v)
		return
	}
	r.buf[r.start] = v
	r.start = (r.start + 1) % r.cap
}

func (r *ring[T]) len() int { return len(r.buf) }

// each calls fn on every value, oldest first.
func (r *ring[T]) each(fn func(T)) {
	for _, v := range r.buf[r.start:] {
		fn(v)
	}
	for _, v := range r.buf[:r.start] {
		fn(v)
	}
}

func (r *ring[T]) reset() {
	clear(r.buf)
	r.buf, r.start = r.buf[:0], 0
}

// requestLog is the bounded log of requests.
type requestLog struct {
	mu   sync.Mutex
	ring ring[*Request]
}

func clip(s string) string {
	if len(s) > maxLoggedPath {
		return s[:maxLoggedPath]
	}
	return s
}

func (l *requestLog) add(r *Request) {
	r.Path, r.Query = clip(r.Path), clip(r.Query)
	l.mu.Lock()
	l.ring.push(r)
	l.mu.Unlock()
}

func (l *requestLog) setStatus(r *Request, status int) {
	l.mu.Lock()
	r.Status = status
	l.mu.Unlock()
}

// Requests returns the requests received since the start or the last
// ResetRequests, oldest first, as far as the log keeps them: it holds the
// last WithRequestLogSize (default 10,000) requests, so in a longer run the
// oldest are gone. Requests to the control API are not logged.
func (s *Server) Requests() []Request {
	s.reqs.mu.Lock()
	defer s.reqs.mu.Unlock()
	out := make([]Request, 0, s.reqs.ring.len())
	s.reqs.ring.each(func(r *Request) { out = append(out, *r) })
	return out
}

// CountRequests counts the retained requests (see Requests) for method
// ("" any) and path (relative to /api/v1, escaped, without query).
func (s *Server) CountRequests(method, path string) int {
	s.reqs.mu.Lock()
	defer s.reqs.mu.Unlock()
	n := 0
	s.reqs.ring.each(func(r *Request) {
		if (method == "" || strings.EqualFold(method, r.Method)) && r.Path == path {
			n++
		}
	})
	return n
}

// ResetRequests forgets the requests received so far.
func (s *Server) ResetRequests() {
	s.reqs.mu.Lock()
	s.reqs.ring.reset()
	s.reqs.mu.Unlock()
}
