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
