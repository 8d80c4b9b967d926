package clock_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go/clock"
)

func TestWallNowMoves(t *testing.T) {
	var c clock.Clock = clock.Wall{}
	a := c.Now()
	<-c.After(time.Millisecond)
	assert.True(t, c.Now().After(a))
}

func TestFuncReadsItsFunction(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := clock.Func(func() time.Time { return at })
	require.Equal(t, at, c.Now())
	select {
	case <-c.After(0):
	case <-time.After(5 * time.Second):
		t.Fatal("After(0) did not fire")
	}
}

func TestOrWall(t *testing.T) {
	assert.Equal(t, clock.Wall{}, clock.OrWall(nil))
	f := clock.Func(time.Now)
	assert.NotNil(t, clock.OrWall(f))
}
