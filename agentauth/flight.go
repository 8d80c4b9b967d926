package agentauth

import (
	"context"
	"sync"

	"github.com/licentric/licentric-go"
)

// flightGroup shares one verification among concurrent requests with the
// same token. The call runs under a context of its own (keeping the first
// request's values, not its cancellation), so one agent hanging up does
// not fail the others; when every request has given up, that context is
// cancelled, so no abandoned call lingers.
type flightGroup struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done    chan struct{}
	val     *licentric.Verification // shared: callers copy it
	err     error
	waiters int
	cancel  context.CancelCauseFunc
}

// do returns the result of fn for key, calling fn once for all callers
// that arrive while it runs. It returns ctx's error as soon as ctx ends.
func (g *flightGroup) do(ctx context.Context, key string, fn func(context.Context) (*licentric.Verification, error)) (*licentric.Verification, error) {
	g.mu.Lock()
	if g.m == nil {
		g.m = make(map[string]*flight)
	}
	f := g.m[key]
	if f == nil {
		fctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		g.m[key] = f
		go g.run(fctx, key, f, fn)
	}
	f.waiters++
	g.mu.Unlock()

	select {
	case <-f.done:
		return f.val.Clone(), f.err
	case <-ctx.Done():
		g.mu.Lock()
		f.waiters--
		last := f.waiters == 0
		if last {
			f.cancel(context.Cause(ctx))
			if g.m[key] == f {
				delete(g.m, key)
			}
		}
		g.mu.Unlock()
		if last {
			<-f.done // ends at once: its context is cancelled
		}
		return nil, ctx.Err()
	}
}

func (g *flightGroup) run(ctx context.Context, key string, f *flight, fn func(context.Context) (*licentric.Verification, error)) {
	val, err := fn(ctx)
	g.mu.Lock()
	if g.m[key] == f {
		delete(g.m, key)
	}
	f.val, f.err = val, err
	g.mu.Unlock()
	close(f.done)
	f.cancel(nil)
}
