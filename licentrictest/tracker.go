package licentrictest

import (
	"context"
	"sync"
)

// tracker counts goroutines in flight and lets callers wait, with a
// context, until none are left. Unlike sync.WaitGroup, add may race with
// wait, and after close, add refuses.
type tracker struct {
	mu     sync.Mutex
	n      int
	zero   chan struct{}
	closed bool
}

// add registers one goroutine; it reports false after close.
func (t *tracker) add() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	if t.n == 0 {
		t.zero = make(chan struct{})
	}
	t.n++
	return true
}

func (t *tracker) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n--
	if t.n == 0 {
		close(t.zero)
	}
}

// close makes later add calls refuse.
func (t *tracker) close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
}

// wait blocks until no goroutine is in flight or ctx ends.
func (t *tracker) wait(ctx context.Context) error {
	t.mu.Lock()
	if t.n == 0 {
		t.mu.Unlock()
		return nil
	}
	ch := t.zero
	t.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
