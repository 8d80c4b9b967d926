package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// dataClient returns the client the Fleet sends its commands through, how
// it bounds each call: by the context's deadline (ctxDeadlines), or by the
// Fleet's timeout alone (fixed), or not at all (neither). go-redis sets
// socket deadlines from its ReadTimeout and WriteTimeout (seconds by
// default), not from the context, unless ContextTimeoutEnabled is set;
// pool waits, dials and retries do honour the context. A client with
// ContextTimeoutEnabled (a *redis.Client or a Cluster client) is used as
// it is. Another *redis.Client (also a Sentinel failover client) gives a
// WithTimeout clone: the same connection pools and hooks, with the Fleet's
// timeout on each read and write. Any other client gets no help: bounded
// runs each command on a goroutine of its own that the caller leaves at
// the deadline, as it does for the clone when the caller's deadline comes
// before the Fleet's timeout.
func dataClient(rdb redis.UniversalClient, timeout time.Duration) (c redis.UniversalClient, ctxDeadlines, fixed bool) {
	switch c := rdb.(type) {
	case *redis.Client:
		if c.Options().ContextTimeoutEnabled {
			return c, true, false
		}
		return c.WithTimeout(timeout), false, true
	case *redis.ClusterClient:
		return c, c.Options().ContextTimeoutEnabled, false
	}
	return rdb, false, false
}

// call runs fn against Redis under the fleet's deadline. While Redis is
// known to be unreachable it fails at once with ErrUnavailable, except for
// one probe at a time after a pause, which rejoins (see enter). A failure
// that is Redis's, not the caller's, marks Redis unreachable. redis.Nil is
// returned as it is.
func (f *Fleet) call(ctx context.Context, fn func(ctx context.Context) error) error {
	if f.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := f.enter(ctx); err != nil {
		return err
	}
	err := f.bounded(ctx, func(ctx context.Context) error {
		// Invalidations this member could not send go first: it never
		// reads what it meant to drop.
		if f.unsent.Load() {
			if err := f.flushPending(ctx); err != nil {
				return err
			}
		}
		return fn(ctx)
	})
	if err == nil || errors.Is(err, redis.Nil) {
		if f.fails.Load() != 0 {
			f.fails.Store(0)
		}
		return err
	}
	f.failed(ctx, err)
	return fmt.Errorf("fleet: redis: %w", err)
}

// bounded runs fn under the earlier of ctx's deadline and the Fleet's
// timeout, and returns by it even when the client would not stop: a
// client that heeds the context's deadline (see dataClient) runs fn in
// the caller's goroutine, and one that stops
// at the Fleet's timeout does too unless ctx's deadline comes well before;
// otherwise fn runs apart and the caller goes at the deadline (or when ctx
// is cancelled), leaving fn to end by the Fleet's timeout. fn's results
// must be read only when it returned nil. A ctx cancelled without a
// deadline is heeded within the Fleet's timeout.
func (f *Fleet) bounded(ctx context.Context, fn func(ctx context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	if f.ctxDeadlines {
		return fn(cctx)
	}
	if f.fixedTimeout {
		// A deadline about as far as the timeout (within a tenth of it)
		// is no reason for a goroutine.
		if d, ok := ctx.Deadline(); !ok || !d.Before(time.Now().Add(f.timeout-f.timeout/10)) {
			return fn(cctx)
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- fn(cctx) }()
	select {
	case err := <-errc:
		return err
	case <-cctx.Done():
		return cctx.Err()
	}
}

// enter lets a call through when Redis is healthy. When it is not, the
// first call after the pause probes it by rejoining (reading the
// generation and replaying the invalidations it missed); every other call
// fails at once.
func (f *Fleet) enter(ctx context.Context) error {
	if !f.down.Load() {
		return nil
	}
	f.hmu.Lock()
	if !f.down.Load() {
		f.hmu.Unlock()
		return nil
	}
	if f.probing || time.Now().Before(f.retryAt) {
		f.hmu.Unlock()
		return ErrUnavailable
	}
	f.probing = true
	f.hmu.Unlock()

	err := f.rejoin(ctx)

	f.hmu.Lock()
	f.probing = false
	if err != nil {
		f.retryAt = time.Now().Add(f.backoff)
		f.backoff = min(2*f.backoff, maxBackoff)
		f.hmu.Unlock()
		return ErrUnavailable
	}
	f.backoff = minBackoff
	f.fails.Store(0)
	f.down.Store(false)
	f.hmu.Unlock()
	f.log.Info("fleet: redis reachable again; sharing results and budget", "namespace", f.ns)
	return nil
}

// failed counts err against Redis, unless it is the caller's (its context
// ended) or an answer of a working server, and marks Redis unreachable
// after tripAfter failures in a row: one call that waited too long for a
// connection in a burst does not send every member to local state, while
// a Redis that is down fails every call and trips at once.
func (f *Fleet) failed(parent context.Context, err error) {
	if parent.Err() != nil {
		return
	}
	var rerr redis.Error
	if errors.As(err, &rerr) && !transient(rerr.Error()) {
		return
	}
	if f.fails.Add(1) >= tripAfter {
		f.markDown(err)
	}
}

// transient reports whether a server's error answer means it cannot serve
// for now.
func transient(msg string) bool {
	for _, p := range []string{"LOADING", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "READONLY", "BUSY"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

func (f *Fleet) markDown(err error) {
	f.everDown.Store(true)
	f.hmu.Lock()
	was := f.down.Load()
	if !was {
		f.down.Store(true)
		f.backoff = minBackoff
		f.retryAt = time.Now().Add(f.backoff)
	}
	f.hmu.Unlock()
	if !was {
		f.log.Warn("fleet: redis unreachable; using the local cache and budget until it answers",
			"namespace", f.ns, "error", err.Error())
	}
}

// rejoin reads the generation, charges the budget units taken on the
// local share to their windows, and replays the invalidations that could
// not be sent, each under the fleet's deadline.
func (f *Fleet) rejoin(ctx context.Context) error {
	if err := f.bounded(ctx, f.syncGen); err != nil {
		return err
	}
	if err := f.flushDebts(ctx); err != nil {
		return err
	}
	return f.bounded(ctx, f.flushPending)
}

// logTampered logs, once, that an entry did not open.
func (f *Fleet) logTampered() {
	if f.tampered.CompareAndSwap(false, true) {
		f.log.Warn("fleet: ignored an entry in redis that this fleet did not seal (written without the secret, corrupted, or moved); further ones are ignored silently",
			"namespace", f.ns)
	}
}
