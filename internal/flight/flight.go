// Package flight shares one call among concurrent callers with the same
// key, like golang.org/x/sync/singleflight, with two differences that
// matter for a call that may wait for a rate window: the call runs under a
// context of its own (keeping the first caller's values, not its
// cancellation), so one caller giving up does not fail the others; and when
// every caller has given up, that context is cancelled (with the last
// caller's cause), so no abandoned call lingers.
package flight

import (
	"context"
	"sync"
)

// Group shares calls by key. The zero value is ready; it is safe for
// concurrent use.
type Group[T any] struct {
	mu sync.Mutex
	m  map[string]*call[T]
}

type call[T any] struct {
	done    chan struct{}
	val     T // shared by every caller: callers copy it
	err     error
	waiters int
	cancel  context.CancelCauseFunc
}

// Do returns the result of fn for key, calling fn once for all callers that
// arrive while it runs. The value is shared: copy it before handing it on.
// When ctx ends first, Do returns at once, unless ctx's caller was the last
// one waiting: then the call is cancelled and Do returns its error (which
// says what it was waiting for), or ctx's error.
func (g *Group[T]) Do(ctx context.Context, key string, fn func(context.Context) (T, error)) (T, error) {
	g.mu.Lock()
	if g.m == nil {
		g.m = make(map[string]*call[T])
	}
	c := g.m[key]
	if c == nil {
		cctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
		c = &call[T]{done: make(chan struct{}), cancel: cancel}
		g.m[key] = c
		go g.run(cctx, key, c, fn)
	}
	c.waiters++
	g.mu.Unlock()

	var zero T
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		g.mu.Lock()
		c.waiters--
		last := c.waiters == 0
		if last {
			c.cancel(context.Cause(ctx))
			if g.m[key] == c {
				delete(g.m, key)
			}
		}
		g.mu.Unlock()
		if last {
			<-c.done // ends at once now: its context is cancelled
			if c.err != nil {
				return zero, c.err
			}
		}
		return zero, ctx.Err()
	}
}

// Inline returns the result of fn for key, calling fn once for all
// callers that arrive while it runs, like Do, but in the goroutine of the
// first caller and under that caller's context: no goroutine is started.
// It suits a short call bounded by its context (a lookup), not one that
// may wait long: the first caller stays until fn returns, and when its
// context ends the call ends for all (the others get its error). Another
// caller returns when the call does, or with its own context's error.
// A Group used with Inline should not be used with Do.
func (g *Group[T]) Inline(ctx context.Context, key string, fn func(context.Context) (T, error)) (T, error) {
	g.mu.Lock()
	if g.m == nil {
		g.m = make(map[string]*call[T])
	}
	if c := g.m[key]; c != nil {
		c.waiters++
		g.mu.Unlock()
		select {
		case <-c.done:
			return c.val, c.err
		case <-ctx.Done():
			g.mu.Lock()
			c.waiters--
			g.mu.Unlock()
			var zero T
			return zero, ctx.Err()
		}
	}
	c := &call[T]{done: make(chan struct{}), cancel: func(error) {}, waiters: 1}
	g.m[key] = c
	g.mu.Unlock()

	val, err := fn(ctx)
	g.finish(key, c, val, err)
	return val, err
}

// Waiters reports how many callers wait on the call for key.
func (g *Group[T]) Waiters(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c := g.m[key]; c != nil {
		return c.waiters
	}
	return 0
}

func (g *Group[T]) run(ctx context.Context, key string, c *call[T], fn func(context.Context) (T, error)) {
	val, err := fn(ctx)
	g.finish(key, c, val, err)
	c.cancel(nil)
}

// finish records c's result, takes it out of the group and wakes its
// callers.
func (g *Group[T]) finish(key string, c *call[T], val T, err error) {
	g.mu.Lock()
	if g.m[key] == c {
		delete(g.m, key)
	}
	c.val, c.err = val, err
	g.mu.Unlock()
	close(c.done)
}
