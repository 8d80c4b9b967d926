package flight

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConcurrentCallersShareOneCall(t *testing.T) {
	var g Group[int]
	var calls atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	results := make([]int, 50)
	for i := range results {
		wg.Go(func() {
			v, err := g.Do(t.Context(), "k", func(context.Context) (int, error) {
				calls.Add(1)
				<-release
				return 7, nil
			})
			assert.NoError(t, err)
			results[i] = v
		})
	}
	for g.Waiters("k") < len(results) {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	assert.Equal(t, int32(1), calls.Load())
	for _, v := range results {
		assert.Equal(t, 7, v)
	}
}

func TestLastCallerLeavingCancelsTheCallWithItsCause(t *testing.T) {
	var g Group[int]
	cause := errors.New("budget")
	ctx, cancel := context.WithCancelCause(t.Context())
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := g.Do(ctx, "k", func(cctx context.Context) (int, error) {
			close(started)
			<-cctx.Done()
			return 0, context.Cause(cctx)
		})
		done <- err
	}()
	<-started
	cancel(cause)
	require.ErrorIs(t, <-done, cause, "the call's own error, carrying the caller's cause")
	assert.Zero(t, g.Waiters("k"))
}

func TestOneCallerLeavingDoesNotFailTheOthers(t *testing.T) {
	var g Group[string]
	release := make(chan struct{})
	fn := func(context.Context) (string, error) { <-release; return "ok", nil }
	ctx, cancel := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() { _, err := g.Do(ctx, "k", fn); first <- err }()
	for g.Waiters("k") < 1 {
		runtime.Gosched()
	}
	second := make(chan string, 1)
	go func() { v, _ := g.Do(t.Context(), "k", fn); second <- v }()
	for g.Waiters("k") < 2 {
		runtime.Gosched()
	}
	cancel()
	assert.ErrorIs(t, <-first, context.Canceled)
	close(release)
	assert.Equal(t, "ok", <-second)
}

type ctxKey struct{}

// Inline runs the call in the first caller's goroutine, under its context,
// once for every caller that arrives meanwhile.
func TestInlineSharesOneCallUnderTheFirstCallersContext(t *testing.T) {
	var g Group[int]
	var calls atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	leaderCtx := context.WithValue(t.Context(), ctxKey{}, "first")
	leader := make(chan int, 1)
	go func() {
		v, err := g.Inline(leaderCtx, "k", func(ctx context.Context) (int, error) {
			calls.Add(1)
			assert.Equal(t, "first", ctx.Value(ctxKey{}), "not the first caller's context")
			close(started)
			<-release
			return 7, nil
		})
		assert.NoError(t, err)
		leader <- v
	}()
	<-started
	var wg sync.WaitGroup
	results := make([]int, 20)
	for i := range results {
		wg.Go(func() {
			v, err := g.Inline(t.Context(), "k", func(context.Context) (int, error) {
				calls.Add(1)
				return 0, nil
			})
			assert.NoError(t, err)
			results[i] = v
		})
	}
	for g.Waiters("k") < len(results)+1 {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	assert.Equal(t, 7, <-leader)
	assert.Equal(t, int32(1), calls.Load())
	for _, v := range results {
		assert.Equal(t, 7, v)
	}
}

// The first caller's context ending ends the call for all; another
// caller's ending lets only that one go.
func TestInlineEndsWithTheFirstCallersContext(t *testing.T) {
	var g Group[int]
	ctx, cancel := context.WithCancel(t.Context())
	started := make(chan struct{})
	leader := make(chan error, 1)
	go func() {
		_, err := g.Inline(ctx, "k", func(ctx context.Context) (int, error) {
			close(started)
			<-ctx.Done()
			return 0, ctx.Err()
		})
		leader <- err
	}()
	<-started

	gone, leave := context.WithCancel(t.Context())
	leave()
	_, err := g.Inline(gone, "k", func(context.Context) (int, error) { return 1, nil })
	require.ErrorIs(t, err, context.Canceled, "a caller that gives up returns at once")

	follower := make(chan error, 1)
	go func() {
		_, err := g.Inline(t.Context(), "k", func(context.Context) (int, error) { return 1, nil })
		follower <- err
	}()
	for g.Waiters("k") < 2 {
		runtime.Gosched()
	}
	cancel()
	require.ErrorIs(t, <-leader, context.Canceled)
	require.ErrorIs(t, <-follower, context.Canceled, "the others get the first caller's error")
	assert.Zero(t, g.Waiters("k"))
}
